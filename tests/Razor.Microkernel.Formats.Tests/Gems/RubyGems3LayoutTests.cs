using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text;
using Razor.Microkernel.Formats.Gems;
using Razor.Microkernel.Formats.Layers;
using Razor.Microkernel.TestSupport;
using static Razor.Microkernel.Formats.Tests.Gems.GemBuilder;

namespace Razor.Microkernel.Formats.Tests.Gems;

/// <summary>
/// The RubyGems 3 layout against Debian's RubyGems (3.3) installing the same gems one after the other into one
/// folder: the whole gem home, byte for byte and mode for mode — specifications, wrappers, plugin loaders, cache, the
/// empty folders.
/// </summary>
public class RubyGems3LayoutTests
{
    private const UnixFileMode Exe = (UnixFileMode)0x1ED;
    private const long Epoch = 1326000000; // GemBuilder.Env's SOURCE_DATE_EPOCH

    private static string Ruby(string code) => Tool.Run("ruby", ["-e", code]).EnsureSuccess("ruby -e").StdOut;

    /// <summary>Each entry below <paramref name="folder"/>: type, mode, and content hash or link target.</summary>
    private static string Tree(string folder)
    {
        var lines = new List<string>();
        foreach (var entry in Directory.EnumerateFileSystemEntries(folder, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var info = new FileInfo(entry);
            var mode = Convert.ToString((int)File.GetUnixFileMode(entry), 8);
            var what = info.LinkTarget is { } target ? $"link -> {target}"
                : Directory.Exists(entry) ? $"dir {mode}"
                : $"file {mode} {Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(entry)))}";
            lines.Add($"{Path.GetRelativePath(folder, entry)} {what}");
        }

        return string.Join('\n', lines);
    }

    /// <summary>Installs <paramref name="gems"/> in order with Debian's gem, and with the SDK in the RubyGems 3 layout, and
    /// returns both gem homes.</summary>
    private static (string Debian, string Ours) InstallBoth(TempFolder tmp, IReadOnlyList<string> gems)
    {
        // The gem home on RubyGems' own gem path, as the target's gem home is: a gem installed earlier is known to a
        // later install (which then leaves a newer version's plugin loader alone).
        var debian = tmp["debian"];
        var env = Env(tmp.Path);
        env["GEM_PATH"] = debian;
        foreach (var gem in gems)
        {
            Tool.Run("gem", ["install", "--local", "--install-dir", debian, "--bindir", debian + "/bin", "--ignore-dependencies", "--no-document", gem],
                tmp.Path, env).EnsureSuccess("gem install " + Path.GetFileName(gem));
        }

        var options = new GemInstallOptions
        {
            Layout = GemLayout.RubyGems3,
            GemDir = "gemhome",
            BinDir = "gemhome/bin",
            RubyPath = Ruby("print Gem.ruby"),
            RubyVersion = Ruby("print RUBY_VERSION"),
            RubyGemsVersion = Ruby("print Gem::VERSION"),
            ModificationTime = Epoch,
            CheckDependencies = false,
        };
        var root = GemInstallerTests.InstallToFolder(tmp, gems.Select(g => GemSource.FromFile(g)), options);
        return (debian, Path.Combine(root, "gemhome"));
    }

    private static void AssertSameGemHome(string debian, string ours)
    {
        // Text first, so a difference shows where it is; then every entry's type, mode and bytes.
        foreach (var file in Directory.EnumerateFiles(debian, "*", SearchOption.AllDirectories).Where(f => !f.EndsWith(".gem", StringComparison.Ordinal)))
        {
            var mine = Path.Combine(ours, Path.GetRelativePath(debian, file));
            Assert.True(File.Exists(mine), $"{Path.GetRelativePath(debian, file)} is missing from ours");
            Assert.Equal(File.ReadAllText(file), File.ReadAllText(mine));
        }

        Assert.Equal(Tree(debian), Tree(ours));
    }

    [Fact]
    public void Install_RubyGems3Layout_IsDebiansGemInstallByteForByte()
    {
        using var tmp = new TempFolder("rmk-rg3");
        var d = tmp.Path;
        var alpha = Build(d, "rmkalpha", "1.0.0",
        [
            new("lib/rmkalpha.rb", "module Rmkalpha\n  VERSION = '1.0.0'\nend\n"),
            new("lib/rubygems_plugin.rb", "# alpha 1.0.0's plugin\n"),
            new("bin/alpha", "#!/usr/bin/env ruby -w\nputs 'alpha'\n", Exe),
            new("bin/alpha-opts", "#!/usr/local/bin/ruby1.8 -w   -KU\r\nputs 'opts'\n"),
            new("bin/alpha-sh", "#!/bin/sh\necho sh\n", Exe),
            new("bin/alpha-bare", "puts 'no shebang'\n"),
            new("README", "Alpha\n", (UnixFileMode)0x180),
        ], """
              s.executables = ['alpha', 'alpha-opts', 'alpha-sh', 'alpha-bare']
              s.authors = ['Zoë Tester', 'Émile 😀']
              s.description = "Quotes \" and \\ , tab\t, newline\n, #{'#'}{not} interpolated, é 😀 \u0001"
              s.extra_rdoc_files = ['README']
              s.rdoc_options = ['--main', 'README']
              s.requirements = ['a C compiler', 'patience']
              s.post_install_message = "Thanks!\n"
              s.metadata = { 'source_code_uri' => 'https://example.com/src', 'changelog_uri' => 'https://example.com/log' }
              s.required_ruby_version = '>= 1.8.7'
              s.required_rubygems_version = '>= 1.3.6'
              s.add_runtime_dependency 'rmkbeta', '~> 2.0', '>= 2.0.1'
              s.add_development_dependency 'rake', '>= 0'
            """);
        var alphaOld = Build(d, "rmkalpha", "0.9.0",
            [new("lib/rmkalpha.rb", "module Rmkalpha\nend\n"), new("lib/rubygems_plugin.rb", "# alpha 0.9.0's plugin\n")]);
        var bundler = Build(d, "bundler", "99.0.0",
            [new("lib/bundler.rb", "module Bundler\nend\n"), new("exe/bundle", "#!/usr/bin/env ruby\nputs 'bundle'\n", Exe)],
            "  s.bindir = 'exe'\n  s.executables = ['bundle']");
        var linux = Build(d, "rmkdelta", "1.0",
            [new("lib/rmkdelta.rb", "module Rmkdelta\nend\n"), new("ext/rmkdelta_ext.rb", "# ext\n")],
            "  s.platform = 'x86-linux'\n  s.require_paths = ['lib', 'ext']");

        // Installed newest first, as a user might list them: 0.9.0 must not replace 1.0.0's plugin loader.
        var (debian, ours) = InstallBoth(tmp, [alpha, alphaOld, bundler, linux]);
        AssertSameGemHome(debian, ours);
        Assert.Equal("require_relative '../gems/rmkalpha-1.0.0/lib/rubygems_plugin.rb'\n", File.ReadAllText(Path.Combine(ours, "plugins/rmkalpha_plugin.rb")));
        Assert.Contains("Gem.use_gemdeps", File.ReadAllText(Path.Combine(ours, "bin/alpha")));
        Assert.DoesNotContain("Gem.use_gemdeps", File.ReadAllText(Path.Combine(ours, "bin/bundle")));
    }

    [Fact]
    public void Install_RubyGems3Layout_OldMetadataIsReadAsPsychReadsIt()
    {
        using var tmp = new TempFolder("rmk-rg3-old");

        // Syck-era metadata: a midnight date with a positive offset (Psych keeps the day written), no bindir (RubyGems 3
        // resets it to bin), a !binary description whose bytes are not ASCII, an e-mail list, an old-style dependency
        // (version_requirements, no type), an old gem's test_suite_file.
        var description = Convert.ToBase64String(Encoding.UTF8.GetBytes("Caf\u00e9 au lait"));
        var yaml = $"""
            --- !ruby/object:Gem::Specification
            name: oldie
            version: !ruby/object:Gem::Version
              version: 0.1.2
            platform: ruby
            authors:
            - Old Timer
            date: 2012-02-07 00:00:00 +01:00
            description: !binary |
              {description}
            email:
            - old@example.com
            - timer@example.com
            executables:
            - oldie
            dependencies:
            - !ruby/object:Gem::Dependency
              name: rake
              version_requirements: !ruby/object:Gem::Requirement
                requirements:
                - - ">="
                  - !ruby/object:Gem::Version
                    version: 0.8.7
                version:
            files:
            - bin/oldie
            - lib/oldie.rb
            require_paths:
            - lib
            rubygems_version: 1.3.7
            specification_version: 2
            summary: An old gem
            test_suite_file: test/suite.rb
            """;
        var gem = tmp.Write("oldie-0.1.2.gem", Handmade(yaml, w =>
        {
            AddFile(w, "lib/oldie.rb", "module Oldie\nend\n");
            AddFile(w, "bin/oldie", "#!/usr/bin/env ruby\nputs 'old'\n", 0x1A4);
            AddFile(w, "test/suite.rb", "# tests\n");
        }));

        var (debian, ours) = InstallBoth(tmp, [gem]);
        AssertSameGemHome(debian, ours);
        var spec = File.ReadAllText(Path.Combine(ours, "specifications/oldie-0.1.2.gemspec"));
        Assert.Contains("s.date = \"2012-02-07\"", spec);
        Assert.Contains("s.description = \"Caf\\xC3\\xA9 au lait\".freeze", spec);
        Assert.True(File.Exists(Path.Combine(ours, "bin/oldie")));
    }

    [Fact]
    public void Install_RubyGems3Layout_RefusesWhatRubyGems3Refuses()
    {
        // Without specification_version RubyGems 3 loads -1 and refuses the gem (verify_spec); so does this layout.
        using var tmp = new TempFolder("rmk-rg3-refused");
        var gem = tmp.Write("nospec-1.0.gem", Handmade(MinimalYaml("nospec").Replace("specification_version: 4\n", "", StringComparison.Ordinal),
            w => AddFile(w, "lib/nospec.rb", "")));
        var debian = Tool.Run("gem", ["install", "--local", "--install-dir", tmp["debian"], "--ignore-dependencies", "--no-document", gem], tmp.Path, Env(tmp.Path));
        Assert.NotEqual(0, debian.ExitCode);
        Assert.Contains("invalid specification_version", debian.StdErr + debian.StdOut);
        using var w = new LayerWriter(new MemoryStream());
        var e = Assert.Throws<GemUnsupportedException>(() => GemInstaller.Install([GemSource.FromFile(gem)], w,
            new GemInstallOptions { Layout = GemLayout.RubyGems3, RubyVersion = "3.1.2", RubyGemsVersion = "3.3.15" }));
        Assert.Contains("invalid specification_version, which RubyGems 3 refuses", e.Message);
        Assert.Equal(0, w.EntryCount);

        // RubyGems 1.8 installed it.
        GemInstaller.Install([GemSource.FromFile(gem)], w);
    }

    [Fact]
    public void Dump_IsRubysStringDump()
    {
        string[] samples =
        [
            "plain", "quote \" backslash \\ hash # #{x} #$y #@z #", "tab\t nl\n cr\r ff\f vt\v bs\b bel\a esc\u001b nul\0 us\u001f del\u007f",
            "é ü ß Ω", "😀 𝄞", "\u00a0 \u200b \u2028 \ufeff \ue000", "",
        ];
        var input = string.Join('\n', samples.Select(s => Convert.ToBase64String(Encoding.UTF8.GetBytes(s))));
        var expected = Tool.Run("ruby", ["-e", "STDIN.read.split(\"\\n\", -1).each { |l| puts l.unpack1('m').force_encoding('UTF-8').dump }"],
            stdin: Encoding.ASCII.GetBytes(input)).EnsureSuccess("ruby dump").StdOut;
        Assert.Equal(expected, string.Concat(samples.Select(s => RubyString.Dump(s) + "\n")));

        byte[] binary = [0x43, 0x61, 0x66, 0xc3, 0xa9, 0xff, 0x00, 0x22];
        var binaryExpected = Tool.Run("ruby", ["-e", $"print [{string.Join(',', binary)}].pack('C*').dump"]).EnsureSuccess("ruby dump").StdOut;
        Assert.Equal(binaryExpected, RubyString.DumpBinary(binary));
    }

    [Theory]
    [InlineData("1.8.15", GemLayout.RubyGems18)]
    [InlineData("1.3.7", GemLayout.RubyGems18)]
    [InlineData("3.3.15", GemLayout.RubyGems3)]
    [InlineData("3.0", GemLayout.RubyGems3)]
    public void Layout_FollowsTheRubyGemsVersion(string version, GemLayout layout)
    {
        Assert.True(GemLayouts.TryFor(version, out var l));
        Assert.Equal(layout, l);
    }

    [Theory]
    [InlineData("2.7.8")]
    [InlineData("4.0.0")]
    [InlineData("three")]
    [InlineData("")]
    public void Layout_OtherRubyGemsVersionsHaveNone(string version) => Assert.False(GemLayouts.TryFor(version, out _));

    [Fact]
    public void Install_RubyGems3Layout_PrebuiltExtensionsAlsoGoToTheExtensionFolder()
    {
        using var tmp = new TempFolder("rmk-rg3-ext");
        var native = Build(tmp.Path, "native", "1.0",
            [new("lib/native.rb", "require 'native_ext'\n"), new("ext/extconf.rb", "require 'mkmf'\ncreate_makefile('native_ext')\n")],
            "  s.extensions = ['ext/extconf.rb']");
        tmp.Write("prebuilt/native_ext.so", "ELF");
        var root = GemInstallerTests.InstallToFolder(tmp, [GemSource.FromFile(native, tmp["prebuilt"])],
            new GemInstallOptions { Layout = GemLayout.RubyGems3, RubyVersion = "3.1.2", RubyGemsVersion = "3.3.15", GemDir = "g", ExtensionApiVersion = "3.1.0", ModificationTime = Epoch });
        Assert.Equal("ELF", File.ReadAllText(Path.Combine(root, "g/gems/native-1.0/lib/native_ext.so")));
        Assert.Equal("ELF", File.ReadAllText(Path.Combine(root, "g/extensions/x86-linux/3.1.0/native-1.0/native_ext.so")));
        Assert.Equal(0, new FileInfo(Path.Combine(root, "g/extensions/x86-linux/3.1.0/native-1.0/gem.build_complete")).Length);
        var spec = File.ReadAllText(Path.Combine(root, "g/specifications/native-1.0.gemspec"));
        Assert.StartsWith("# -*- encoding: utf-8 -*-\n# stub: native 1.0 ruby lib\n# stub: ext/extconf.rb\n", spec, StringComparison.Ordinal);
    }

    [Fact]
    public void BootInstallCommand_UsesTheOptionsOfTheTargetsRubyGems()
    {
        Assert.Contains("--no-ri --no-rdoc", GemInstaller.BootInstallCommand(new GemInstallOptions(), "stage"));
        var rg3 = GemInstaller.BootInstallCommand(new GemInstallOptions { Layout = GemLayout.RubyGems3 }, "stage");
        Assert.Contains("--no-document", rg3);
        Assert.DoesNotContain("--no-ri", rg3);
    }
}
