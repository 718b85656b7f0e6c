using System.Security.Cryptography;
using Razor.Microkernel.Formats.Gems;
using Razor.Microkernel.Formats.Layers;
using Razor.Microkernel.TestSupport;
using static Razor.Microkernel.Formats.Tests.Gems.GemBuilder;

namespace Razor.Microkernel.Formats.Tests.Gems;

/// <summary>Gems built once per class with Debian's <c>gem build</c>.</summary>
public sealed class BuiltGems : IDisposable
{
    private const UnixFileMode Exe = (UnixFileMode)0x1ED;

    public BuiltGems()
    {
        var d = Folder.Path;
        AlphaOld = Build(d, "alpha", "0.9.0",
        [
            new("lib/alpha.rb", "module Alpha\n  VERSION = '0.9.0'\nend\n"),
            new("bin/alpha", "#!/usr/bin/env ruby -w\nrequire 'alpha'\nputs \"alpha ran #{Alpha::VERSION}\"\n", Exe),
        ], "  s.executables = ['alpha']");
        Alpha = Build(d, "alpha", "1.0.0",
        [
            new("lib/alpha.rb", "require 'alpha/util'\nmodule Alpha\n  VERSION = '1.0.0'\nend\n"),
            new("lib/alpha/util.rb", "module Alpha\n  module Util\n  end\nend\n"),
            new("bin/alpha", "#!/usr/bin/env ruby -w\nrequire 'alpha'\nputs \"alpha ran #{Alpha::VERSION}\"\n", Exe),
            new("bin/alpha-plain", "#!/usr/bin/ruby\nputs 'plain'\n"), // 0644 in the gem: installed +x
            new("data/tool.sh", "#!/bin/sh\necho tool\n", Exe),
            new("README", "Alpha \u00e9\n", (UnixFileMode)0x180),
        ], "  s.executables = ['alpha', 'alpha-plain']\n  s.description = \"Alpha: \\\"quoted\\\", tab\\t, \\u00e9, \\#{not} interpolated\"\n  s.extra_rdoc_files = ['README']");
        Beta = Build(d, "beta", "2.1.0",
        [
            new("lib/beta.rb", "require 'alpha'\nmodule Beta\n  VERSION = '2.1.0'\nend\n"),
        ], "  s.add_runtime_dependency 'alpha', '~> 1.0', '>= 1.0.0'\n  s.add_development_dependency 'rake', '>= 0'");
        Gamma = Build(d, "gamma", "0.3.0.pre1",
        [
            new("lib/gamma.rb", "require 'beta'\nmodule Gamma\n  VERSION = '0.3.0.pre1'\nend\n"),
        ], "  s.add_dependency 'beta', '>= 2'\n  s.required_ruby_version = '>= 1.8.7'");
        Delta = Build(d, "delta", "1.0", [new("lib/delta.rb", "module Delta\nend\n")], "  s.platform = 'x86-linux'");
    }

    public TempFolder Folder { get; } = new("rmk-gems");

    public string AlphaOld { get; }

    public string Alpha { get; }

    public string Beta { get; }

    public string Gamma { get; }

    /// <summary>An x86-linux gem (the target's platform).</summary>
    public string Delta { get; }

    public IReadOnlyList<string> All => [AlphaOld, Alpha, Beta, Gamma, Delta];

    public void Dispose() => Folder.Dispose();
}

public class GemInstallerTests(BuiltGems built) : IClassFixture<BuiltGems>
{
    private const string GemDir = "usr/local/lib/ruby/gems/1.8";

    internal static string InstallToFolder(TempFolder tmp, IEnumerable<GemSource> gems, GemInstallOptions? options = null, string name = "layer")
    {
        var layer = tmp[name + ".tar"];
        using (var w = new LayerWriter(File.Create(layer)))
        {
            GemInstaller.Install(gems.ToList(), w, options ?? new GemInstallOptions { ModificationTime = 1326000000 });
            w.Finish();
        }

        var root = tmp[name];
        Directory.CreateDirectory(root);
        Tool.Run("tar", "-xpf", layer, "-C", root).EnsureSuccess("tar -x");
        return root;
    }

    private static SortedDictionary<string, string> Tree(string folder)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in Directory.EnumerateFileSystemEntries(folder, "*", SearchOption.AllDirectories))
        {
            var rel = Path.GetRelativePath(folder, entry);
            var mode = OperatingSystem.IsWindows() ? "?" : Convert.ToString((int)File.GetUnixFileMode(entry), 8);
            result[rel] = Directory.Exists(entry)
                ? $"dir {mode}"
                : $"file {mode} {Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(entry)))}";
        }

        return result;
    }

    [Fact]
    public void Install_GemsAndCacheMatchDebianGemInstall()
    {
        using var tmp = new TempFolder();
        var debian = tmp["debian"];
        Tool.Run("gem", ["install", "--local", "--install-dir", debian, "--bindir", debian + "/bin", "--ignore-dependencies", "--no-document", .. built.All],
            tmp.Path, Env(tmp.Path)).EnsureSuccess("gem install");
        var ours = Path.Combine(InstallToFolder(tmp, built.All.Select(p => GemSource.FromFile(p))), GemDir);
        foreach (var sub in new[] { "gems", "cache" })
        {
            var expected = Tree(Path.Combine(debian, sub));
            var actual = Tree(Path.Combine(ours, sub));
            Assert.Equal(string.Join('\n', expected.Select(p => $"{p.Key} {p.Value}")), string.Join('\n', actual.Select(p => $"{p.Key} {p.Value}")));
        }

        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(ours, "doc")));
        Assert.Equal(
            ["alpha-0.9.0.gemspec", "alpha-1.0.0.gemspec", "beta-2.1.0.gemspec", "delta-1.0-x86-linux.gemspec", "gamma-0.3.0.pre1.gemspec"],
            Directory.GetFiles(Path.Combine(ours, "specifications")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Install_DebianRubyLoadsOurLayout()
    {
        using var tmp = new TempFolder();
        var root = InstallToFolder(tmp, built.All.Select(p => GemSource.FromFile(p)));
        var gemHome = Path.Combine(root, GemDir);
        var env = Env(tmp.Path);
        env["GEM_HOME"] = gemHome;
        env["GEM_PATH"] = gemHome;

        // delta is an x86-linux gem, which an x86_64 host does not activate: it is checked by gem list and load only.
        var required = Tool.Run("ruby", ["-e", "require 'beta'; gem 'gamma', '>= 0.a'; require 'gamma'; puts [Alpha::VERSION, Beta::VERSION, Gamma::VERSION].join(' ')"], tmp.Path, env)
            .EnsureSuccess("ruby require").StdOut;
        Assert.Equal("1.0.0 2.1.0 0.3.0.pre1", required.Trim());

        var list = Tool.Run("gem", ["list", "--local"], tmp.Path, env).EnsureSuccess("gem list").StdOut;
        Assert.Contains("alpha (1.0.0, 0.9.0)", list);
        Assert.Contains("beta (2.1.0)", list);
        Assert.Contains("gamma (0.3.0.pre1)", list);
        Assert.Contains("delta (1.0 x86-linux)", list);

        const string load = """
            Dir[File.join(ARGV[0], '*.gemspec')].sort.each do |f|
              s = Gem::Specification.load(f) or abort "cannot load #{f}"
              deps = s.dependencies.map { |d| "#{d.name}:#{d.type}:#{d.requirement}" }.join(';')
              puts [s.full_name, s.executables.join(','), deps, s.description.to_s].join('|')
            end
            """;
        var specs = Tool.Run("ruby", ["-e", load, Path.Combine(gemHome, "specifications")], tmp.Path, env).EnsureSuccess("Specification.load").StdOut;
        Assert.Equal(
            """
            alpha-0.9.0|alpha||
            alpha-1.0.0|alpha,alpha-plain||Alpha: "quoted", tab	, é, #{not} interpolated
            beta-2.1.0||alpha:runtime:~> 1.0, >= 1.0.0;rake:development:>= 0|
            delta-1.0-x86-linux|||
            gamma-0.3.0.pre1||beta:runtime:>= 2|

            """, specs.Replace("\r", "", StringComparison.Ordinal));

        var wrapper = Path.Combine(root, "usr/local/bin/alpha");
        Assert.StartsWith("#!/usr/local/bin/ruby -w\n", File.ReadAllText(wrapper), StringComparison.Ordinal);
        Assert.StartsWith("#!/usr/local/bin/ruby\n", File.ReadAllText(Path.Combine(root, "usr/local/bin/alpha-plain")), StringComparison.Ordinal);
        Assert.Equal("alpha ran 1.0.0", Tool.Run("ruby", [wrapper], tmp.Path, env).EnsureSuccess("wrapper").StdOut.Trim());
        Assert.Equal("alpha ran 0.9.0", Tool.Run("ruby", [wrapper, "_0.9.0_"], tmp.Path, env).EnsureSuccess("wrapper _0.9.0_").StdOut.Trim());
        Assert.Equal("plain", Tool.Run("ruby", [Path.Combine(root, "usr/local/bin/alpha-plain")], tmp.Path, env).EnsureSuccess("wrapper").StdOut.Trim());
    }

    [Fact]
    public void Install_LayerEntriesAreRootOwnedWithFixedTimes()
    {
        using var tmp = new TempFolder();
        InstallToFolder(tmp, [GemSource.FromFile(built.Alpha)]);
        var entries = LayerReader.ReadAll(tmp["layer.tar"]);
        Assert.All(entries.Where(e => !e.Implicit), e => Assert.Equal((Ownership.Root, 1326000000L), (e.Attributes.Owner, e.Attributes.ModificationTime)));
        Assert.Equal(0x1ED, entries.Single(e => e.Path == "usr/local/bin/alpha").Attributes.Mode);
        Assert.Equal(0x1ED, entries.Single(e => e.Path == GemDir + "/gems/alpha-1.0.0/bin/alpha-plain").Attributes.Mode);
        Assert.Equal(0x180, entries.Single(e => e.Path == GemDir + "/gems/alpha-1.0.0/README").Attributes.Mode);
        Assert.Contains(entries, e => e.Path == GemDir + "/doc" && e.IsDirectory && !e.Implicit);
    }

    [Fact]
    public void Install_UnmetDependenciesAreListedTogether()
    {
        using var tmp = new TempFolder();
        using var w = new LayerWriter(new MemoryStream());
        var e = Assert.Throws<GemDependencyException>(() =>
            GemInstaller.Install([GemSource.FromFile(built.AlphaOld), GemSource.FromFile(built.Beta), GemSource.FromFile(built.Gamma)], w));
        Assert.Equal(["beta-2.1.0 requires alpha (~> 1.0, >= 1.0.0)"], e.Unmet.Select(u => u.ToString()));

        var e2 = Assert.Throws<GemDependencyException>(() => GemInstaller.Install([GemSource.FromFile(built.Gamma)], w));
        Assert.Equal(["gamma-0.3.0.pre1 requires beta (>= 2)"], e2.Unmet.Select(u => u.ToString()));
    }

    [Fact]
    public void Install_ForeignPlatformIsRefused()
    {
        using var tmp = new TempFolder();
        var darwin = Build(tmp.Path, "delta", "1.0", [new("lib/delta.rb", "")], "  s.platform = 'x86_64-darwin'");
        using var w = new LayerWriter(new MemoryStream());
        var e = Assert.Throws<GemUnsupportedException>(() => GemInstaller.Install([GemSource.FromFile(darwin)], w));
        Assert.Contains("x86_64-darwin", e.Message);
        Assert.Equal(darwin, e.Gem);
    }

    [Fact]
    public void Install_RequiredRubyVersionIsCheckedAgainstTheTarget()
    {
        using var tmp = new TempFolder();
        var modern = Build(tmp.Path, "modern", "1.0", [new("lib/modern.rb", "")], "  s.required_ruby_version = '>= 1.9.2'");
        using var w = new LayerWriter(new MemoryStream());
        var e = Assert.Throws<GemUnsupportedException>(() => GemInstaller.Install([GemSource.FromFile(modern)], w));
        Assert.Contains("requires Ruby version >= 1.9.2", e.Message);
        GemInstaller.Install([GemSource.FromFile(modern)], w, new GemInstallOptions { RubyVersion = "1.9.3" });
    }

    [Fact]
    public void Install_RequiredRubyGemsVersionIsCheckedAgainstTheTarget()
    {
        using var tmp = new TempFolder();
        var newer = Build(tmp.Path, "newer", "1.0", [new("lib/newer.rb", "")], "  s.required_rubygems_version = '>= 1.8.20'");
        using var w = new LayerWriter(new MemoryStream());
        var e = Assert.Throws<GemUnsupportedException>(() => GemInstaller.Install([GemSource.FromFile(newer)], w));
        Assert.Contains("requires RubyGems version >= 1.8.20; the target has 1.8.15", e.Message);
        Assert.Equal(0, w.EntryCount);
        GemInstaller.Install([GemSource.FromFile(newer)], w, new GemInstallOptions { RubyGemsVersion = "1.8.24" });
    }

    [Fact]
    public void Install_NativeExtensionsNeedPrebuiltFiles()
    {
        using var tmp = new TempFolder();
        var native = Build(tmp.Path, "native", "1.0",
            [new("lib/native.rb", "require 'native_ext'\n"), new("ext/extconf.rb", "require 'mkmf'\ncreate_makefile('native_ext')\n")],
            "  s.extensions = ['ext/extconf.rb']");
        using (var w = new LayerWriter(new MemoryStream()))
        {
            var e = Assert.Throws<GemUnsupportedException>(() => GemInstaller.Install([GemSource.FromFile(native)], w));
            Assert.Equal("ext/extconf.rb", e.Entry);
        }

        var prebuilt = tmp["prebuilt"];
        tmp.Write("prebuilt/native_ext.so", "ELF");
        var root = InstallToFolder(tmp, [GemSource.FromFile(native, prebuilt)]);
        Assert.Equal("ELF", File.ReadAllText(Path.Combine(root, GemDir, "gems/native-1.0/lib/native_ext.so")));
    }

    [Fact]
    public void Install_SameGemsGiveSameBytes()
    {
        byte[] Make()
        {
            var ms = new MemoryStream();
            using (var w = new LayerWriter(ms, leaveOpen: true))
            {
                GemInstaller.Install(built.All.Select(p => GemSource.FromFile(p)).ToList(), w, new GemInstallOptions { ModificationTime = 5 });
                w.Finish();
            }

            return ms.ToArray();
        }

        Assert.Equal(Make(), Make());
    }

    [Fact]
    public void Install_SameGemTwiceIsRefused()
    {
        using var w = new LayerWriter(new MemoryStream());
        Assert.Throws<GemUnsupportedException>(() => GemInstaller.Install([GemSource.FromFile(built.Alpha), GemSource.FromFile(built.Alpha)], w));
    }
}
