using System.Formats.Tar;
using System.Text.RegularExpressions;
using Razor.Microkernel.TestSupport;
using Razor.Microkernel.TestSupport.Mirror;

namespace Razor.Microkernel.Sdk.Tests;

/// <summary>
/// samples/RazorMicrokernel in its offline form: a local mirror folder of stand-in extensions made with
/// mksquashfs, and local stand-ins for MCollective, RubyGems and the four gems at the versions Razor shipped (built
/// with `gem build`; json_pure in the shape the real 1.6.5 has, its data listing files twice). The overlay is checked
/// entry by entry against what the manual procedure leaves for those steps, and its gems against Debian's gem install.
/// </summary>
public sealed class RazorMicrokernelSampleTests : IDisposable
{
    private readonly TempFolder _inputs = new("rmk-seed");

    public void Dispose() => _inputs.Dispose();

    /// <summary>The gems Razor's microkernel installed, at the versions it shipped.</summary>
    internal static readonly (string Name, string Version)[] RazorGems = [("daemons", "1.1.8"), ("json_pure", "1.6.5"), ("stomp", "1.2.0"), ("facter", "1.6.8")];

    /// <summary>A stand-in gem; json_pure gets the shape of the real 1.6.5 (and of every json/json_pure from 1.5.3 to
    /// 2.2.0): its data lists test files twice, as <c>tests/x.rb</c> and <c>./tests/x.rb</c>.</summary>
    private static string StandIn(TestProject p, string name, string version)
    {
        if (name != "json_pure")
        {
            return GemTests.BuildGem(p, name, version, executable: name is "facter" or "stomp");
        }

        p.Write($"gemsrc/json_pure-{version}/tests/test_json_string_matching.rb", "# the first copy\n");
        var gem = GemTests.BuildGem(p, name, version, "s.files += ['tests/test_json_string_matching.rb']");
        File.WriteAllBytes(gem, GemParts.Rewrite(gem, (n, b) => (n, n != "data.tar.gz" ? b : GemParts.AppendToData(b, w =>
            w.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, "./tests/test_json_string_matching.rb")
            {
                DataStream = new MemoryStream("# the second copy, which gem install keeps\n"u8.ToArray()),
                Mode = (UnixFileMode)0x1A4,
            })))));
        return gem;
    }

    private (string Mirror, string Downloads) MakeInputs(TestProject p)
    {
        var mirror = _inputs["mirror"];
        var builder = new TinyCoreMirrorBuilder(mirror);
        void Ext(string name, string? dep, params (string Path, string Content)[] files)
        {
            var tree = _inputs[$"src/{name}"];
            foreach (var (path, content) in files)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(tree, path))!);
                File.WriteAllText(Path.Combine(tree, path), content);
            }

            builder.AddSquashfs(name + ".tcz", tree, dep);
        }

        Ext("gdbm", null, ("usr/local/lib/libgdbm.so.3", "gdbm"));
        Ext("ruby", "gdbm.tcz\n", ("usr/local/bin/ruby", "ruby 1.8.7"), ("usr/local/lib/ruby/1.8/fileutils.rb", "# fileutils"));
        Ext("bash", null, ("usr/local/bin/bash", "bash"));
        Ext("dmidecode", null, ("usr/local/sbin/dmidecode", "dmidecode"));
        Ext("lshw", null, ("usr/local/sbin/lshw", "lshw"));
        Ext("scsi-3.0.21-tinycore", null, ("usr/local/lib/modules/3.0.21-tinycore/kernel/drivers/scsi/sd_mod.ko.gz", "sd"));
        Ext("libssl-0.9.8", null, ("usr/local/lib/libssl.so.0.9.8", "ssl"));
        Ext("firmware-bnx2", null, ("usr/local/lib/firmware/bnx2/bnx2-mips-09-6.2.1a.fw", "fw"));
        Ext("util-linux", null, ("usr/local/bin/lscpu", "lscpu"), ("usr/local/sbin/sfdisk", "sfdisk"), ("usr/local/bin/mount", "mount"), ("usr/local/sbin/fdisk", "fdisk"));
        Ext("openssh", "libssl-0.9.8.tcz", ("usr/local/etc/ssh/ssh_config.example", "# ssh_config\n"), ("usr/local/etc/ssh/sshd_config.example", "# sshd_config\n"),
            ("usr/local/etc/init.d/openssh", "#!/bin/sh\n"), ("usr/local/sbin/sshd", "sshd"));

        var downloads = _inputs["downloads"];
        Directory.CreateDirectory(downloads);
        File.WriteAllBytes(Path.Combine(downloads, "mcollective-1.2.1.tgz"), TestArchives.Tgz(
            TestArchives.Dir("mcollective-1.2.1/"),
            TestArchives.File("mcollective-1.2.1/mcollectived.rb", "#!/usr/bin/env ruby\nrequire 'mcollective'\n", 0x1A4),
            TestArchives.File("mcollective-1.2.1/lib/mcollective.rb", "module MCollective; end\n"),
            TestArchives.File("mcollective-1.2.1/plugins/mcollective/connector/stomp.rb", "# stomp connector\n"),
            TestArchives.File("mcollective-1.2.1/etc/server.cfg.dist", "topicprefix = /topic/\n")));
        File.WriteAllBytes(Path.Combine(downloads, "rubygems-1.8.15.tgz"), TestArchives.Tgz(
            TestArchives.Dir("rubygems-1.8.15/"),
            TestArchives.File("rubygems-1.8.15/setup.rb", "# setup\n"),
            TestArchives.File("rubygems-1.8.15/lib/rubygems.rb", "module Gem; VERSION = '1.8.15'; end\n"),
            TestArchives.File("rubygems-1.8.15/lib/rubygems/version.rb", "# version\n"),
            TestArchives.File("rubygems-1.8.15/bin/gem", "#!/usr/bin/env ruby\nrequire 'rubygems'\n", 0x1ED)));
        foreach (var (name, version) in RazorGems)
        {
            File.Copy(StandIn(p, name, version), Path.Combine(downloads, $"{name}-{version}.gem"), overwrite: true);
        }

        // Part 2's release ISO where the mirror keeps superseded point releases.
        var release = Path.Combine(mirror, "4.x", "x86", "archive", "4.5.2");
        Directory.CreateDirectory(release);
        File.Copy(IsoTests.MakeCoreIso(p), Path.Combine(release, "Core-4.5.2.iso"));
        return (mirror, downloads);
    }

    private static List<string> Entries(TestProject p) => Tool.Run("tar", "-tvzf", p.Overlay).EnsureSuccess("tar -tvzf").StdOut
        .Split('\n', StringSplitOptions.RemoveEmptyEntries)
        .Select(l => Regex.Match(l, @"^(\S+) (\S+)\s+\S+ \S+ \S+ (.*)$"))
        .Select(m => $"{m.Groups[1].Value} {m.Groups[2].Value} {m.Groups[3].Value}")
        .ToList();

    [Fact]
    public void Sample_OfflineForm_BuildsTheProceduresOverlay_EntryByEntry()
    {
        var p = SampleTests.CopySample("RazorMicrokernel");
        var (mirror, downloads) = MakeInputs(p);
        var env = new Dictionary<string, string?> { ["MCOLLECTIVE_PSK"] = "a-real-psk-of-24-chars!!", ["MCOLLECTIVE_STOMP_PASSWORD"] = "a-real-password-16+" };
        var r = p.Run("build", [$"-p:TczMirror={mirror}", $"-p:RazorDownloadsFolder={downloads}", "-p:MicrokernelCacheDirectory=cache"], env).AssertSuccess();
        Assert.DoesNotContain("warning", r.Output.Split('\n').Where(l => l.Contains("RMK", StringComparison.Ordinal)).FirstOrDefault() ?? "", StringComparison.Ordinal);
        var entries = Entries(p);

        string[] expected =
        [
            // 1. tce-load -wi of the extensions: their files and tce-load's markers
            "-rw-r--r-- root/root usr/local/bin/ruby",
            "-rw-r--r-- root/root usr/local/lib/libgdbm.so.3",
            "-rw-r--r-- root/root usr/local/bin/bash",
            "-rw-r--r-- root/root usr/local/sbin/dmidecode",
            "-rw-r--r-- root/root usr/local/sbin/lshw",
            "-rw-r--r-- root/root usr/local/lib/modules/3.0.21-tinycore/kernel/drivers/scsi/sd_mod.ko.gz",
            "-rw-r--r-- root/root usr/local/lib/libssl.so.0.9.8",
            "-rw-r--r-- root/root usr/local/lib/firmware/bnx2/bnx2-mips-09-6.2.1a.fw",
            "drwxrwxr-x root/staff usr/local/tce.installed/",
            "-rw-r--r-- root/root usr/local/tce.installed/ruby",
            "-rw-r--r-- root/root usr/local/tce.installed/gdbm",
            "-rw-r--r-- root/root usr/local/tce.installed/scsi-3.0.21-tinycore",
            "-rw-r--r-- root/root usr/local/tce.installed/firmware-bnx2",
            // 2. lscpu and sfdisk from util-linux, under /tmp/tcloop/util-linux and linked
            "-rw-r--r-- root/root tmp/tcloop/util-linux/usr/local/bin/lscpu",
            "-rw-r--r-- root/root tmp/tcloop/util-linux/usr/local/sbin/sfdisk",
            "lrwxrwxrwx root/root usr/local/bin/lscpu -> /tmp/tcloop/util-linux/usr/local/bin/lscpu",
            "lrwxrwxrwx root/root usr/local/sbin/sfdisk -> /tmp/tcloop/util-linux/usr/local/sbin/sfdisk",
            // 3. MCollective
            "-rwxr-xr-x root/root usr/local/tce.installed/mcollective-1.2.1/mcollectived.rb",
            "-rw-r--r-- root/root usr/local/tce.installed/mcollective-1.2.1/plugins/mcollective/connector/stomp.rb",
            "lrwxrwxrwx root/root usr/local/mcollective -> /usr/local/tce.installed/mcollective-1.2.1",
            "lrwxrwxrwx root/root usr/local/sbin/mcollectived -> /usr/local/mcollective/mcollectived.rb",
            // 4. server.cfg and the facts file
            "-rw-r----- root/root usr/local/etc/mcollective/server.cfg",
            "-rw-r--r-- root/root usr/local/etc/mcollective/facts.yaml",
            // 5. RubyGems and the gems
            "-rw-r--r-- root/root usr/local/lib/ruby/site_ruby/1.8/rubygems.rb",
            "-rwxr-xr-x root/root usr/local/bin/gem",
            "drwxr-xr-x root/root usr/local/lib/ruby/gems/1.8/gems/daemons-1.1.8/",
            "drwxr-xr-x root/root usr/local/lib/ruby/gems/1.8/gems/json_pure-1.6.5/",
            "drwxr-xr-x root/root usr/local/lib/ruby/gems/1.8/gems/stomp-1.2.0/",
            "drwxr-xr-x root/root usr/local/lib/ruby/gems/1.8/gems/facter-1.6.8/",
            "-rw-r--r-- root/root usr/local/lib/ruby/gems/1.8/specifications/facter-1.6.8.gemspec",
            "-rw-r--r-- root/root usr/local/lib/ruby/gems/1.8/cache/stomp-1.2.0.gem",
            "-rwxr-xr-x root/root usr/local/bin/facter",
            "-rwxr-xr-x root/root usr/local/bin/stomp",
            // 6. development: openssh, its configuration from the examples, sshd at boot
            "-rw-r--r-- root/root usr/local/etc/ssh/ssh_config",
            "-rw-r--r-- root/root usr/local/etc/ssh/sshd_config",
            "-rw-r--r-- root/root usr/local/tce.installed/openssh",
            // the boot hook that replaces what tce-load does at boot for pre-installed extensions
            "-rwxrwxr-x root/staff opt/bootsync.sh",
            "-rwxr-xr-x root/root usr/local/etc/init.d/microkernel-setup",
        ];
        var missing = expected.Where(e => !entries.Contains(e)).ToList();
        Assert.True(missing.Count == 0, "missing or different:\n" + string.Join("\n", missing) + "\n--- overlay:\n" + string.Join("\n", entries));

        // What the procedure avoided: the rest of util-linux.
        Assert.DoesNotContain(entries, e => e.EndsWith("/mount", StringComparison.Ordinal) || e.EndsWith("/fdisk", StringComparison.Ordinal));
        var cfg = Tool.Run("tar", "-xzOf", p.Overlay, "usr/local/etc/mcollective/server.cfg").StdOut;
        Assert.Contains("plugin.stomp.host = razor-server\n", cfg);
        var hook = Tool.Run("tar", "-xzOf", p.Overlay, "usr/local/etc/init.d/microkernel-setup").StdOut;
        Assert.Contains("/usr/local/etc/init.d/openssh start", hook);

        // The gems, json_pure's twice-listed file included, exactly as Debian's gem install leaves them.
        using (var root = new TempFolder("rmk-seed-gems"))
        {
            Tool.Run("tar", "-xpzf", p.Overlay, "-C", root.Path).EnsureSuccess("tar -x");
            var debian = root["debian"];
            var gems = RazorGems.Select(g => Path.Combine(downloads, $"{g.Name}-{g.Version}.gem")).ToArray();
            Tool.Run("gem", ["install", "--local", "--install-dir", debian, "--bindir", debian + "/bin", "--ignore-dependencies", "--no-document", .. gems],
                root.Path, new Dictionary<string, string?> { ["HOME"] = root.Path, ["GEM_HOME"] = null, ["GEM_PATH"] = null }).EnsureSuccess("Debian gem install");
            Assert.Equal(GemParts.Tree(Path.Combine(debian, "gems")), GemParts.Tree(root["usr/local/lib/ruby/gems/1.8/gems"]));
            Assert.Equal("# the second copy, which gem install keeps\n",
                File.ReadAllText(root["usr/local/lib/ruby/gems/1.8/gems/json_pure-1.6.5/tests/test_json_string_matching.rb"]));
        }

        // Part 2: the ISO from the mirror's release ISO, with the overlay appended to core.gz.
        var iso = Path.Combine(p.OutDir, "rz_mk_dev-image.0.9.3.iso");
        Assert.True(File.Exists(iso), "no ISO");
        using (var x = new TempFolder("rmk-seed-iso"))
        {
            Tool.Run("xorriso", "-osirrox", "on", "-indev", iso, "-extract", "/", x.Path).EnsureSuccess("osirrox extract");
            Assert.Contains("iso_version: 0.9.3\n", File.ReadAllText(x["iso-metadata.yaml"]));
            var core = new FileInfo(p["core-tree/boot/core.gz"]).Length;
            var listing = Tool.Run("sh", ["-c", $"tail -c +{core + 1} {x["boot/core.gz"]} | gzip -dc | cpio -itv --quiet"]).EnsureSuccess("cpio -itv").StdOut;
            Assert.Contains(" usr/local/etc/mcollective/server.cfg\n", listing);
            Assert.Contains(" usr/local/sbin/mcollectived -> /usr/local/mcollective/mcollectived.rb\n", listing);
        }

        // A second build does nothing; Production leaves openssh out.
        Assert.Empty(p.Run("build", [$"-p:TczMirror={mirror}", $"-p:RazorDownloadsFolder={downloads}", "-p:MicrokernelCacheDirectory=cache"], env).AssertSuccess().TargetsRun);
        p.Run("build", [$"-p:TczMirror={mirror}", $"-p:RazorDownloadsFolder={downloads}", "-p:MicrokernelCacheDirectory=cache", "-p:MicrokernelFlavor=Production"], env).AssertSuccess();
        Assert.DoesNotContain(Entries(p), e => e.Contains("ssh", StringComparison.Ordinal));
        Assert.True(File.Exists(Path.Combine(p.OutDir, "rz_mk_prod-image.0.9.3.iso")), "no production ISO");
    }

    /// <summary>A user who drops other versions (and more gems, another RubyGems) into the sample's downloads/ folder
    /// gets a build with them, without editing the project; a Razor gem the folder lacks is still downloaded.</summary>
    [Fact]
    public void Sample_DownloadsFolder_TakesWhateverVersionsItHolds()
    {
        var p = SampleTests.CopySample("RazorMicrokernel");
        var (mirror, inputs) = MakeInputs(p);
        var downloads = p["downloads"]; // the sample's own folder: no RazorDownloadsFolder given
        Directory.CreateDirectory(downloads);
        File.Copy(Path.Combine(inputs, "mcollective-1.2.1.tgz"), Path.Combine(downloads, "mcollective-1.2.1.tgz"));
        File.WriteAllBytes(Path.Combine(downloads, "rubygems-1.8.24.tgz"), TestArchives.Tgz(
            TestArchives.Dir("rubygems-1.8.24/"),
            TestArchives.File("rubygems-1.8.24/setup.rb", "# setup\n"),
            TestArchives.File("rubygems-1.8.24/lib/rubygems.rb", "module Gem; VERSION = '1.8.24'; end\n"),
            TestArchives.File("rubygems-1.8.24/bin/gem", "#!/usr/bin/env ruby\nrequire 'rubygems'\n", 0x1ED)));
        foreach (var (name, version) in new[] { ("daemons", "1.1.9"), ("json_pure", "1.7.7"), ("stomp", "1.2.2"), ("facter", "1.7.5"), ("rmkextra", "0.1.0") })
        {
            File.Copy(StandIn(p, name, version), Path.Combine(downloads, $"{name}-{version}.gem"), overwrite: true);
        }

        // Everything is local: no item of this build is a URL.
        string[] args = [$"-p:TczMirror={mirror}", "-p:MicrokernelCacheDirectory=cache", "-p:MicrokernelIso=false"];
        var env = new Dictionary<string, string?> { ["MCOLLECTIVE_PSK"] = "a-real-psk-of-24-chars!!", ["MCOLLECTIVE_STOMP_PASSWORD"] = "a-real-password-16+" };
        p.Run("build", args, env).AssertSuccess();
        var entries = Entries(p);
        foreach (var gem in new[] { "daemons-1.1.9", "json_pure-1.7.7", "stomp-1.2.2", "facter-1.7.5", "rmkextra-0.1.0" })
        {
            Assert.Contains($"drwxr-xr-x root/root usr/local/lib/ruby/gems/1.8/gems/{gem}/", entries);
        }

        Assert.DoesNotContain(entries, e => RazorGems.Any(g => e.Contains($"{g.Name}-{g.Version}", StringComparison.Ordinal)));
        var spec = Tool.Run("tar", "-xzOf", p.Overlay, "usr/local/lib/ruby/gems/1.8/specifications/facter-1.7.5.gemspec").EnsureSuccess("tar -xO").StdOut;
        Assert.Contains("s.rubygems_version = \"1.8.24\"", spec); // RubyGemsVersion follows the tarball found

        // Without a facter in the folder, the sample's facter-1.6.8 URL comes back: offline (the extensions are cached
        // by now) and not cached, it is RMK1004.
        File.Delete(Path.Combine(downloads, "facter-1.7.5.gem"));
        var r = p.Run("build", [.. args, "-p:MicrokernelOffline=true"], env).AssertFailureWith("RMK1004");
        Assert.Contains("facter-1.6.8.gem", r.Output);
    }
}
