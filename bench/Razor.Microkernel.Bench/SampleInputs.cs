using Razor.Microkernel.TestSupport;
using Razor.Microkernel.TestSupport.Mirror;

namespace Razor.Microkernel.Bench;

/// <summary>One generated input: its file name, what it unpacks to, and its size as served.</summary>
internal sealed record SampleInput(string Name, int Files, long ContentBytes, long ServedBytes);

/// <summary>
/// Stand-ins for everything samples/RazorMicrokernel downloads, at roughly the real sizes, generated from a seed:
/// a Tiny Core 4.x mirror folder (<c>4.x/x86/tcz/</c>) of extensions made with mksquashfs (gzip, 4 KiB blocks, as
/// Tiny Core builds them) with their <c>.md5.txt</c> and <c>.dep</c> files, and a <c>downloads/</c> folder with the
/// MCollective and RubyGems source tarballs and the four gems (made with <c>gem build</c>). File contents come from
/// <see cref="ContentGenerator"/>: Ruby-like code, English-like prose, ELF-like binaries and incompressible bytes
/// (firmware, gzipped kernel modules), so that mksquashfs, gzip and deflate see data like the real data.
/// </summary>
internal static class SampleInputs
{
    public const string Downloads = "downloads";

    /// <summary>The extensions the sample names (its TczExtension items, the Development flavor), in item order.</summary>
    public static readonly string[] SampleExtensions =
        ["ruby", "bash", "dmidecode", "lshw", "scsi-3.0.21-tinycore", "libssl-0.9.8", "firmware-bnx2", "util-linux", "openssh"];

    public static readonly string[] DownloadFiles =
        ["mcollective-1.2.1.tgz", "rubygems-1.8.15.tgz", "daemons-1.1.4.gem", "json_pure-1.6.1.gem", "stomp-1.2.0.gem", "facter-1.6.4.gem"];

    /// <summary>Writes the mirror under <paramref name="www"/> (the folder the loopback server serves), using
    /// <paramref name="scratch"/> for the source trees. <paramref name="scale"/> multiplies every size.</summary>
    public static List<SampleInput> Generate(string www, string scratch, ulong seed, double scale)
    {
        var gen = new ContentGenerator(seed);
        var mirror = new TinyCoreMirrorBuilder(www);
        var inputs = new List<SampleInput>();
        var downloads = Path.Combine(www, Downloads);
        Directory.CreateDirectory(downloads);

        void Extension(string name, string? deps, Action<Tree> fill)
        {
            var tree = new Tree(Path.Combine(scratch, "tcz", name), gen, scale);
            fill(tree);
            var bytes = mirror.AddSquashfs(name + ".tcz", tree.Root, deps);
            inputs.Add(new SampleInput(name + ".tcz", tree.Files, tree.Bytes, bytes.Length));
        }

        // 1. The standard extensions and their .dep trees (ruby ~3 MB as squashfs, as in Tiny Core 4.x).
        Extension("ruby", "gdbm.tcz\nreadline.tcz\nlibssl-0.9.8.tcz\n", t =>
        {
            t.File("usr/local/bin/ruby", ContentKind.Binary, 9_000, Exec);
            foreach (var tool in new[] { "irb", "erb", "rdoc", "ri", "testrb" })
            {
                t.File($"usr/local/bin/{tool}", ContentKind.Code, 700, Exec);
            }

            t.Library("usr/local/lib", "libruby", "1.8.7", 1_500_000);
            var lib = t.Folders("usr/local/lib/ruby/1.8", 80, 2);
            t.Many(lib, ".rb", ContentKind.Code, 3_600_000, 200, 60_000, Plain);
            t.Many(t.Folders("usr/local/lib/ruby/1.8/i686-linux", 12, 1), ".so", ContentKind.Binary, 1_000_000, 8_000, 200_000, Exec);
            t.Many(["usr/local/lib/ruby/1.8/i686-linux"], ".h", ContentKind.Code, 300_000, 500, 40_000, Plain);
            t.File("usr/local/lib/ruby/1.8/i686-linux/rbconfig.rb", ContentKind.Code, 9_000, Plain);
        });
        Extension("gdbm", null, t => t.Library("usr/local/lib", "libgdbm", "3.0.0", 60_000));
        Extension("readline", "ncurses.tcz\n", t =>
        {
            t.Library("usr/local/lib", "libreadline", "6.1", 250_000);
            t.Library("usr/local/lib", "libhistory", "6.1", 40_000);
        });
        Extension("ncurses", null, t =>
        {
            t.Library("usr/local/lib", "libncurses", "5.7", 300_000);
            foreach (var l in new[] { "libform", "libmenu", "libpanel" })
            {
                t.Library("usr/local/lib", l, "5.7", 50_000);
            }

            t.Many(t.Folders("usr/local/share/terminfo", 20, 1), "", ContentKind.Binary, 400_000, 800, 4_000, Plain);
        });
        Extension("bash", "ncurses.tcz\n", t =>
        {
            t.File("usr/local/bin/bash", ContentKind.Binary, 700_000, Exec);
            t.File("usr/local/bin/bashbug", ContentKind.Code, 7_000, Exec);
        });
        Extension("dmidecode", null, t =>
        {
            t.File("usr/local/sbin/dmidecode", ContentKind.Binary, 90_000, Exec);
            foreach (var tool in new[] { "biosdecode", "ownership", "vpddecode" })
            {
                t.File($"usr/local/sbin/{tool}", ContentKind.Binary, 18_000, Exec);
            }
        });
        Extension("lshw", null, t =>
        {
            t.File("usr/local/sbin/lshw", ContentKind.Binary, 1_000_000, Exec);
            t.File("usr/local/share/lshw/pci.ids", ContentKind.Prose, 600_000, Plain);
            t.File("usr/local/share/lshw/usb.ids", ContentKind.Prose, 400_000, Plain);
            t.File("usr/local/share/lshw/oui.txt", ContentKind.Prose, 1_200_000, Plain);
            t.File("usr/local/share/lshw/manuf.txt", ContentKind.Prose, 500_000, Plain);
        });
        Extension("scsi-3.0.21-tinycore", null, t =>
            t.Many(t.Folders("usr/local/lib/modules/3.0.21-tinycore/kernel/drivers/scsi", 10, 1), ".ko.gz", ContentKind.Random, 1_500_000, 5_000, 80_000, Plain));
        Extension("libssl-0.9.8", null, t =>
        {
            t.Library("usr/local/lib", "libssl", "0.9.8", 300_000);
            t.Library("usr/local/lib", "libcrypto", "0.9.8", 1_400_000);
        });
        Extension("firmware-bnx2", null, t =>
        {
            t.File("usr/local/lib/firmware/bnx2/bnx2-mips-09-6.2.1a.fw", ContentKind.Random, 110_000, Plain);
            t.Many(["usr/local/lib/firmware/bnx2"], ".fw", ContentKind.Random, 1_100_000, 20_000, 200_000, Plain);
        });
        Extension("util-linux", null, t =>
        {
            t.File("usr/local/bin/lscpu", ContentKind.Binary, 50_000, Exec);
            t.File("usr/local/sbin/sfdisk", ContentKind.Binary, 80_000, Exec);
            t.Many(["usr/local/bin"], "", ContentKind.Binary, 1_200_000, 10_000, 100_000, Exec);
            t.Many(["usr/local/sbin"], "", ContentKind.Binary, 800_000, 10_000, 100_000, Exec);
            foreach (var l in new[] { "libblkid", "libuuid", "libmount" })
            {
                t.Library("usr/local/lib", l, "1.1.0", 130_000);
            }
        });
        Extension("openssh", "libssl-0.9.8.tcz\n", t =>
        {
            foreach (var (tool, size) in new[] { ("ssh", 400_000), ("scp", 60_000), ("sftp", 100_000), ("ssh-add", 150_000), ("ssh-agent", 150_000),
                ("ssh-keygen", 180_000), ("ssh-keyscan", 150_000) })
            {
                t.File($"usr/local/bin/{tool}", ContentKind.Binary, size, Exec);
            }

            t.File("usr/local/sbin/sshd", ContentKind.Binary, 450_000, Exec);
            t.File("usr/local/lib/openssh/sftp-server", ContentKind.Binary, 80_000, Exec);
            t.File("usr/local/lib/openssh/ssh-keysign", ContentKind.Binary, 160_000, Exec);
            t.File("usr/local/etc/ssh/ssh_config.example", ContentKind.Prose, 1_500, Plain);
            t.File("usr/local/etc/ssh/sshd_config.example", ContentKind.Prose, 3_200, Plain);
            t.File("usr/local/etc/ssh/moduli", ContentKind.Prose, 130_000, Plain);
            t.File("usr/local/etc/init.d/openssh", ContentKind.Code, 900, Exec);
        });

        // 3. MCollective 1.2.1 and 5. RubyGems 1.8.15: source tarballs with one top folder.
        Tarball("mcollective-1.2.1", t =>
        {
            t.File("mcollective-1.2.1/mcollectived.rb", ContentKind.Code, 2_000, Exec);
            t.Many(["mcollective-1.2.1/bin"], "", ContentKind.Code, 40_000, 1_000, 8_000, Exec);
            t.Many(t.Folders("mcollective-1.2.1/lib/mcollective", 16, 1), ".rb", ContentKind.Code, 1_000_000, 300, 30_000, Plain);
            var plugins = new[] { "agent", "audit", "connector", "facts", "registration", "security", "application", "util" }
                .Select(d => "mcollective-1.2.1/plugins/mcollective/" + d).ToArray();
            t.Many(plugins, ".rb", ContentKind.Code, 400_000, 300, 20_000, Plain);
            foreach (var dist in new[] { "server.cfg.dist", "client.cfg.dist", "facts.yaml.dist", "rpc-help.erb" })
            {
                t.File($"mcollective-1.2.1/etc/{dist}", ContentKind.Code, 1_000, Plain);
            }

            t.Many(t.Folders("mcollective-1.2.1/doc", 6, 1), ".html", ContentKind.Prose, 400_000, 1_000, 40_000, Plain);
            t.Many(t.Folders("mcollective-1.2.1/spec", 6, 1), ".rb", ContentKind.Code, 200_000, 500, 15_000, Plain);
        }, gen, scale, downloads, scratch, inputs);
        Tarball("rubygems-1.8.15", t =>
        {
            t.File("rubygems-1.8.15/setup.rb", ContentKind.Code, 1_000, Plain);
            t.File("rubygems-1.8.15/bin/gem", ContentKind.Code, 600, Exec);
            t.File("rubygems-1.8.15/bin/update_rubygems", ContentKind.Code, 900, Exec);
            t.File("rubygems-1.8.15/lib/rubygems.rb", ContentKind.Code, 35_000, Plain);
            t.File("rubygems-1.8.15/lib/ubygems.rb", ContentKind.Code, 300, Plain);
            t.Many(t.Folders("rubygems-1.8.15/lib/rubygems", 6, 1), ".rb", ContentKind.Code, 700_000, 300, 30_000, Plain);
            t.Many(["rubygems-1.8.15/test/rubygems"], ".rb", ContentKind.Code, 500_000, 500, 30_000, Plain);
            t.File("rubygems-1.8.15/History.txt", ContentKind.Prose, 150_000, Plain);
            t.File("rubygems-1.8.15/LICENSE.txt", ContentKind.Prose, 2_500, Plain);
        }, gen, scale, downloads, scratch, inputs);

        // 5. The four gems, pure Ruby, built with the real `gem build`.
        Gem("daemons", "1.1.4", false, t =>
        {
            t.Many(["lib/daemons"], ".rb", ContentKind.Code, 100_000, 500, 20_000, Plain);
            t.Many(["examples/run", "examples/call", "examples/daemonize"], ".rb", ContentKind.Code, 40_000, 300, 3_000, Plain);
            t.File("README", ContentKind.Prose, 20_000, Plain);
        }, gen, scale, downloads, scratch, inputs);
        Gem("json_pure", "1.6.1", false, t =>
        {
            t.Many(["lib/json", "lib/json/pure", "lib/json/add", "lib/json/ext"], ".rb", ContentKind.Code, 150_000, 300, 20_000, Plain);
            t.Many(["tests"], ".rb", ContentKind.Code, 100_000, 500, 10_000, Plain);
            t.Many(["tests/fixtures"], ".json", ContentKind.Prose, 200_000, 30, 5_000, Plain);
            t.Many(["benchmarks", "benchmarks/data-p4-3GHz-ruby18", "tools"], ".rb", ContentKind.Code, 100_000, 500, 10_000, Plain);
            t.Many(["data/example"], ".html", ContentKind.Prose, 100_000, 2_000, 40_000, Plain);
            t.File("CHANGES", ContentKind.Prose, 15_000, Plain);
        }, gen, scale, downloads, scratch, inputs);
        Gem("stomp", "1.2.0", false, t =>
        {
            t.Many(["lib/stomp"], ".rb", ContentKind.Code, 120_000, 500, 25_000, Plain);
            t.Many(["spec", "spec/stomp"], ".rb", ContentKind.Code, 60_000, 500, 10_000, Plain);
            t.Many(["examples"], ".rb", ContentKind.Code, 30_000, 300, 3_000, Plain);
            t.File("CHANGELOG.rdoc", ContentKind.Prose, 10_000, Plain);
        }, gen, scale, downloads, scratch, inputs);
        Gem("facter", "1.6.4", true, t =>
        {
            t.Many(["lib/facter"], ".rb", ContentKind.Code, 500_000, 300, 15_000, Plain);
            t.Many(["lib/facter/util"], ".rb", ContentKind.Code, 150_000, 300, 15_000, Plain);
            t.Many(t.Folders("spec", 6, 1), ".rb", ContentKind.Code, 300_000, 300, 15_000, Plain);
            t.File("etc/facter.conf", ContentKind.Code, 300, Plain);
            t.File("install.rb", ContentKind.Code, 12_000, Plain);
            t.File("CHANGELOG", ContentKind.Prose, 80_000, Plain);
        }, gen, scale, downloads, scratch, inputs);

        return inputs;
    }

    private const int Plain = 0x1A4; // 0644

    private const int Exec = 0x1ED; // 0755

    private static void Tarball(string top, Action<Tree> fill, ContentGenerator gen, double scale, string downloads, string scratch, List<SampleInput> inputs)
    {
        var tree = new Tree(Path.Combine(scratch, "tgz", top), gen, scale);
        fill(tree);
        var target = Path.Combine(downloads, top + ".tgz");
        Tool.Run("tar", ["--sort=name", "--owner=0", "--group=0", "--numeric-owner", "--mtime=@1325376000", "-I", "gzip -n", "-cf", target, "-C", tree.Root, top])
            .EnsureSuccess("tar");
        inputs.Add(new SampleInput(top + ".tgz", tree.Files, tree.Bytes, new FileInfo(target).Length));
    }

    private static void Gem(string name, string version, bool executable, Action<Tree> fill, ContentGenerator gen, double scale, string downloads,
        string scratch, List<SampleInput> inputs)
    {
        var tree = new Tree(Path.Combine(scratch, "gems", name), gen, scale);
        tree.File($"lib/{name}.rb", ContentKind.Code, 2_000, Plain);
        if (executable)
        {
            tree.File($"bin/{name}", ContentKind.Code, 1_500, Exec);
        }

        fill(tree);
        File.WriteAllText(Path.Combine(tree.Root, name + ".gemspec"), $$"""
            Gem::Specification.new do |s|
              s.name = "{{name}}"
              s.version = "{{version}}"
              s.summary = "stand-in for {{name}} {{version}}"
              s.authors = ["Razor.Microkernel.Sdk benchmark"]
              s.files = Dir["**/*"].reject { |f| File.directory?(f) || f.end_with?(".gemspec") }.sort
              s.require_paths = ["lib"]
              {{(executable ? $"s.executables = [\"{name}\"]" : "")}}
            end
            """);
        Tool.Run("gem", ["build", name + ".gemspec"], tree.Root, new Dictionary<string, string?> { ["SOURCE_DATE_EPOCH"] = "1325376000" }).EnsureSuccess("gem build");
        var target = Path.Combine(downloads, $"{name}-{version}.gem");
        File.Move(Path.Combine(tree.Root, $"{name}-{version}.gem"), target);
        inputs.Add(new SampleInput(Path.GetFileName(target), tree.Files, tree.Bytes, new FileInfo(target).Length));
    }

    /// <summary>A source folder being filled with generated files.</summary>
    private sealed class Tree(string root, ContentGenerator gen, double scale)
    {
        private readonly HashSet<string> _taken = new(StringComparer.Ordinal);

        public string Root { get; } = root;

        public int Files { get; private set; }

        public long Bytes { get; private set; }

        private long Scaled(long size) => Math.Max(1, (long)(size * scale));

        /// <summary>Up to <paramref name="count"/> folders below <paramref name="prefix"/>, at most <paramref name="maxDepth"/> deep.</summary>
        public string[] Folders(string prefix, int count, int maxDepth)
        {
            var list = new List<string> { prefix };
            for (var i = 1; i < count; i++)
            {
                var p = prefix;
                var depth = 1 + gen.Random.Next(maxDepth);
                for (var d = 0; d < depth; d++)
                {
                    p += "/" + gen.Word();
                }

                list.Add(p);
            }

            return [.. list.Distinct(StringComparer.Ordinal)];
        }

        public void File(string relative, ContentKind kind, long size, int mode) => Write(relative, kind, Scaled(size), mode);

        /// <summary>Files of log-uniform sizes in [min, max] in random folders of <paramref name="dirs"/>, until
        /// <paramref name="budget"/> bytes (scaled) are written.</summary>
        public void Many(string[] dirs, string extension, ContentKind kind, long budget, long min, long max, int mode)
        {
            var total = Scaled(budget);
            long used = 0;
            while (used < total)
            {
                var name = gen.Word() + (gen.Random.Next(3) == 0 ? "_" + gen.Word() : "") + extension;
                var path = $"{dirs[gen.Random.Next(dirs.Length)]}/{name}";
                if (dirs.Any(d => d == path || d.StartsWith(path + "/", StringComparison.Ordinal)) || !_taken.Add(path))
                {
                    continue;
                }

                var size = Math.Min(gen.Random.LogUniform(min, max), total - used);
                Write(path, kind, size, mode);
                used += size;
            }
        }

        /// <summary>A shared object with its <c>.so.MAJOR</c> and <c>.so</c> links.</summary>
        public void Library(string dir, string name, string version, long size)
        {
            File($"{dir}/{name}.so.{version}", ContentKind.Binary, size, Exec);
            var major = version.Split('.')[0];
            Link($"{dir}/{name}.so.{major}", $"{name}.so.{version}");
            Link($"{dir}/{name}.so", $"{name}.so.{major}");
        }

        private void Link(string relative, string target)
        {
            var full = Path.Combine(Root, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            if (!Path.Exists(full))
            {
                System.IO.File.CreateSymbolicLink(full, target);
            }
        }

        private void Write(string relative, ContentKind kind, long size, int mode)
        {
            _taken.Add(relative);
            var full = Path.Combine(Root, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            using (var file = new FileStream(full, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
            using (var content = gen.Open(kind, size))
            {
                content.CopyTo(file, 1 << 16);
            }

            System.IO.File.SetUnixFileMode(full, (UnixFileMode)mode);
            Files++;
            Bytes += size;
        }
    }
}
