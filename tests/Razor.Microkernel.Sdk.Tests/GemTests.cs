using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using Razor.Microkernel.TestSupport;
using static Razor.Microkernel.TestSupport.GemParts;

namespace Razor.Microkernel.Sdk.Tests;

/// <summary>Gems and RubyGems through `dotnet build`, checked by loading them with Debian's ruby.</summary>
public class GemTests(Xunit.Abstractions.ITestOutputHelper output)
{
    /// <summary>Builds a pure-Ruby gem with Debian's `gem build` and returns its path.</summary>
    /// <remarks><paramref name="deps"/> is any further gemspec text (dependencies, platform, extensions); the
    /// executable prints "ran NAME VERSION".</remarks>
    internal static string BuildGem(TestProject p, string name, string version, string deps = "", bool executable = false)
    {
        var dir = p[$"gemsrc/{name}-{version}"];
        Directory.CreateDirectory(Path.Combine(dir, "lib"));
        var module = $"{char.ToUpperInvariant(name[0])}{name[1..].Replace("_", "")}";
        File.WriteAllText(Path.Combine(dir, "lib", name + ".rb"), $"module {module}\n  VERSION = '{version}'\nend\n");
        if (executable)
        {
            Directory.CreateDirectory(Path.Combine(dir, "bin"));
            File.WriteAllText(Path.Combine(dir, "bin", name), $"#!/usr/bin/env ruby\nrequire '{name}'\nputs 'ran {name} ' + {module}::VERSION\n");
        }

        File.WriteAllText(Path.Combine(dir, name + ".gemspec"), $$"""
            Gem::Specification.new do |s|
              s.name = "{{name}}"
              s.version = "{{version}}"
              s.summary = "test gem {{name}}"
              s.authors = ["Test"]
              s.files = Dir["lib/**/*.rb"] + Dir["bin/*"]
              s.require_paths = ["lib"]
              {{(executable ? $"s.executables = [\"{name}\"]" : "")}}
              {{deps}}
            end
            """);
        Tool.Run("gem", ["build", name + ".gemspec"], dir).EnsureSuccess("gem build");
        var gem = Directory.GetFiles(dir, $"{name}-{version}*.gem").Single(); // NAME-VERSION[-PLATFORM].gem
        var target = p["gems/" + Path.GetFileName(gem)];
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        File.Copy(gem, target, overwrite: true);
        return target;
    }

    /// <summary>Each file and folder below <paramref name="folder"/> with its mode and, for files, its SHA-256.</summary>
    internal static SortedDictionary<string, string> Tree(string folder)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in Directory.EnumerateFileSystemEntries(folder, "*", SearchOption.AllDirectories))
        {
            var mode = Convert.ToString((int)File.GetUnixFileMode(entry), 8);
            result[Path.GetRelativePath(folder, entry)] = Directory.Exists(entry)
                ? $"dir {mode}"
                : $"file {mode} {Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(entry)))}";
        }

        return result;
    }

    private static string Lines(SortedDictionary<string, string> tree) => string.Join('\n', tree.Select(e => $"{e.Key} {e.Value}"));

    [Fact]
    public void Gems_InstalledLayout_LoadsWithDebiansRuby_AndWrappersRun()
    {
        var p = SdkHarness.CreateProject("gems");
        BuildGem(p, "daemons", "1.1.4", executable: true);
        BuildGem(p, "daemons", "1.0.7", executable: true); // two versions of one gem, as RubyGems allows
        BuildGem(p, "stomp", "1.1.10", "s.add_runtime_dependency 'daemons', '>= 1.0'");
        BuildGem(p, "facter", "1.6.4", "s.platform = 'x86-linux'"); // the target's platform: FULLNAME gets -x86-linux
        p.WithProject("<ItemGroup><Gem Include=\"gems/*.gem\" /></ItemGroup>");
        p.Build().AssertSuccess();
        using var root = new TempFolder("rmk-gems");
        Tool.Run("tar", "-xpzf", p.Overlay, "-C", root.Path).EnsureSuccess("tar -xzf");

        // Golden: Debian's RubyGems installing the same files writes the same gems/ and cache/, file for file, content and mode.
        var debian = root["debian"];
        var gemFiles = Directory.GetFiles(p["gems"], "*.gem").Order(StringComparer.Ordinal).ToArray();
        var clean = new Dictionary<string, string?> { ["HOME"] = root.Path, ["GEM_HOME"] = null, ["GEM_PATH"] = null, ["RUBYOPT"] = null };
        Tool.Run("gem", ["install", "--local", "--install-dir", debian, "--bindir", debian + "/bin", "--ignore-dependencies", "--no-document", .. gemFiles],
            root.Path, clean).EnsureSuccess("Debian gem install");
        foreach (var sub in new[] { "gems", "cache" })
        {
            Assert.Equal(Lines(Tree(Path.Combine(debian, sub))), Lines(Tree(root["usr/local/lib/ruby/gems/1.8/" + sub])));
        }

        Assert.Contains("facter-1.6.4-x86-linux", Directory.GetDirectories(root["usr/local/lib/ruby/gems/1.8/gems"]).Select(Path.GetFileName));
        var gemHome = root["usr/local/lib/ruby/gems/1.8"];
        Assert.True(File.Exists(Path.Combine(gemHome, "specifications", "stomp-1.1.10.gemspec")));
        Assert.True(File.Exists(Path.Combine(gemHome, "cache", "daemons-1.1.4.gem")));
        Assert.True(Directory.Exists(Path.Combine(gemHome, "doc")));
        var env = new Dictionary<string, string?> { ["GEM_HOME"] = gemHome, ["GEM_PATH"] = gemHome };
        var load = Tool.Run("ruby", ["-e", "require 'rubygems'; require 'stomp'; require 'daemons'; puts Stomp::VERSION; puts Gem::Specification.find_by_name('stomp').dependencies.map(&:to_s).join(',')"], environment: env);
        load.EnsureSuccess("ruby require");
        Assert.Contains("1.1.10", load.StdOut);
        Assert.Contains("daemons (>= 1.0", load.StdOut);
        var wrapper = Tool.Run("ruby", [root["usr/local/bin/daemons"]], environment: env).EnsureSuccess("ruby wrapper");
        Assert.Contains("ran daemons 1.1.4", wrapper.StdOut);
        Assert.Contains("ran daemons 1.0.7", Tool.Run("ruby", [root["usr/local/bin/daemons"], "_1.0.7_"], environment: env).EnsureSuccess("ruby wrapper _1.0.7_").StdOut);
        var list = Tool.Run("gem", ["list", "--local"], root.Path, new Dictionary<string, string?>(clean) { ["GEM_HOME"] = gemHome, ["GEM_PATH"] = gemHome })
            .EnsureSuccess("gem list").StdOut;
        Assert.Contains("daemons (1.1.4, 1.0.7)", list);
        Assert.Contains("stomp (1.1.10)", list);
        Assert.Contains("facter (1.6.4 x86-linux)", list);
        Assert.Matches(@"-rwxr-xr-x root/root .* usr/local/bin/daemons", Tool.Run("tar", "-tvzf", p.Overlay).StdOut);
        Assert.StartsWith("#!/usr/local/bin/ruby", File.ReadAllText(root["usr/local/bin/daemons"]));
    }

    [Fact]
    public void Gems_UnmetDependency_IsOneCodedErrorListingIt()
    {
        var p = SdkHarness.CreateProject("gemdeps");
        BuildGem(p, "stomp", "1.1.10", "s.add_runtime_dependency 'daemons', '~> 1.1'\n  s.add_runtime_dependency 'json_pure', '>= 1.5'");
        p.WithProject("<ItemGroup><Gem Include=\"gems/*.gem\" /></ItemGroup>");
        var r = p.Build().AssertFailureWith("RMK2014");

        // One error (MSBuild repeats it in its summary), listing both.
        var errors = r.Output.Split('\n').Where(l => l.Contains("error RMK", StringComparison.Ordinal))
            .Select(l => l[l.IndexOf("error RMK", StringComparison.Ordinal)..].Trim()).Distinct().ToList();
        var error = Assert.Single(errors);
        Assert.Contains("stomp-1.1.10 requires daemons (~> 1.1)", error);
        Assert.Contains("stomp-1.1.10 requires json_pure (>= 1.5)", error);
        Assert.False(File.Exists(p.Overlay));
    }

    [Fact]
    public void Gems_Incremental_AddingAGemRerunsOnlyTheGemLayerAndThePack()
    {
        var p = SdkHarness.CreateProject("gemsinc");
        p.Write("motd", "x\n");
        BuildGem(p, "daemons", "1.1.4");
        p.WithProject("<ItemGroup><OverlayFile Include=\"motd\" Destination=\"/etc/motd\" /><Gem Include=\"gems/*.gem\" /></ItemGroup>");
        p.Build().AssertSuccess();
        Assert.Empty(p.Build().AssertSuccess().TargetsRun);
        BuildGem(p, "json_pure", "1.6.1");
        var third = p.Build().AssertSuccess();
        Assert.Equal(new[] { "RmkGemsLayer", "RmkPackOverlay" }.ToHashSet(), third.TargetsRun.ToHashSet());
    }

    [Fact]
    public void Gems_BootTime_StagesTheGemsAndTheBootHookInstallsThem()
    {
        var p = SdkHarness.CreateProject("gemsboot");
        BuildGem(p, "daemons", "1.1.4");
        BuildGem(p, "stomp", "1.1.10", "s.add_runtime_dependency 'daemons', '>= 1.0'");
        p.WithProject("<PropertyGroup><GemInstallMode>BootTime</GemInstallMode></PropertyGroup><ItemGroup><Gem Include=\"gems/*.gem\" /></ItemGroup>");
        p.Build().AssertSuccess();
        using var root = new TempFolder("rmk-gemsboot");
        Tool.Run("tar", "-xzf", p.Overlay, "-C", root.Path).EnsureSuccess("tar -xzf");
        var staged = root["usr/local/share/microkernel/gems"];
        Assert.Equal(["daemons-1.1.4.gem", "stomp-1.1.10.gem"], Directory.GetFiles(staged).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.False(Directory.Exists(root["usr/local/lib/ruby/gems/1.8/gems"]), "BootTime must not preinstall");
        var hook = File.ReadAllText(root["usr/local/etc/init.d/microkernel-setup"]);
        Assert.Contains("(cd /usr/local/share/microkernel/gems && /usr/local/bin/gem install --local --no-ri --no-rdoc --install-dir /usr/local/lib/ruby/gems/1.8 --bindir /usr/local/bin *.gem)", hook);

        // The staged files install with a real RubyGems (Debian's; its option for "no docs" is --no-document).
        var target = root["installed"];
        Tool.Run("sh", ["-c", $"cd {staged} && gem install --local --no-document --install-dir {target} --bindir {target}/bin *.gem"])
            .EnsureSuccess("gem install of the staged gems");
        Assert.True(Directory.Exists(Path.Combine(target, "gems", "stomp-1.1.10")));
    }

    [Fact]
    public void Gems_UnknownInstallMode_IsACodedError()
    {
        var p = SdkHarness.CreateProject("gemsmode");
        BuildGem(p, "daemons", "1.1.4");
        p.WithProject("<PropertyGroup><GemInstallMode>Later</GemInstallMode></PropertyGroup><ItemGroup><Gem Include=\"gems/*.gem\" /></ItemGroup>");
        p.Build().AssertFailureWith("RMK4006");
    }

    [Fact]
    public void Gems_Corrupt_IsACodedErrorNamingTheGem()
    {
        var p = SdkHarness.CreateProject("gembad");
        var gem = BuildGem(p, "daemons", "1.1.4");
        var bytes = File.ReadAllBytes(gem);
        p.WithProject("<ItemGroup><Gem Include=\"gems/*.gem\" /></ItemGroup>");
        foreach (var cut in new[] { bytes.Length / 3, bytes.Length / 2, bytes.Length - 600, bytes.Length - 1024 })
        {
            File.WriteAllBytes(gem, bytes[..cut]);
            var r = p.Build();
            Assert.False(r.Succeeded, $"a gem cut at {cut} of {bytes.Length} was accepted");
            Assert.True(r.Codes.Overlaps(["RMK3201", "RMK3202"]), r.Output[^3000..]);
            Assert.Contains("daemons-1.1.4.gem", r.Output);
            Assert.False(File.Exists(p.Overlay));
        }
    }

    /// <summary>A RubyGems source tarball of 1.8.15's shape (setup.rb, lib/, bin/gem, bin/update_rubygems).</summary>
    internal static byte[] RubyGemsTarball() => TestArchives.Tgz(
        TestArchives.Dir("rubygems-1.8.15/"),
        TestArchives.File("rubygems-1.8.15/setup.rb", "# setup\n"),
        TestArchives.File("rubygems-1.8.15/lib/rubygems.rb", "module Gem; VERSION = '1.8.15'; end\n"),
        TestArchives.File("rubygems-1.8.15/lib/rubygems/version.rb", "# version\n"),
        TestArchives.File("rubygems-1.8.15/bin/gem", "#!/usr/bin/env ruby\nrequire 'rubygems'\n", 0x1ED),
        TestArchives.File("rubygems-1.8.15/bin/update_rubygems", "#!/usr/bin/env ruby\n", 0x1ED));

    [Fact]
    public void Gems_RubyVersionGemHomeGemBinDirAndRubyPath_PlaceEverything()
    {
        var p = SdkHarness.CreateProject("gemprops");
        BuildGem(p, "daemons", "1.1.4", executable: true);
        BuildGem(p, "stomp", "1.2.0", "s.required_ruby_version = '>= 1.8.7'");
        p.Write("rubygems-1.8.15.tgz", RubyGemsTarball());
        const string items = "<ItemGroup><RubyGems Include=\"rubygems-1.8.15.tgz\" /><Gem Include=\"gems/*.gem\" /></ItemGroup>";

        // The issue's own value, 1.8: the default folders; the series is checked as its last release, 1.8.7
        // (RubyGems' setup.rb and stomp's required_ruby_version both need it).
        p.WithProject("<PropertyGroup><RubyVersion>1.8</RubyVersion></PropertyGroup>" + items);
        p.Build().AssertSuccess();
        var listing = Tool.Run("tar", "-tvzf", p.Overlay).EnsureSuccess("tar -tvzf").StdOut;
        Assert.Matches(@"-rw-r--r-- root/root .* usr/local/lib/ruby/site_ruby/1\.8/rubygems\.rb\n", listing);
        Assert.Matches(@"-rw-r--r-- root/root .* usr/local/lib/ruby/site_ruby/1\.8/rubygems/version\.rb\n", listing);
        Assert.Matches(@"-rwxr-xr-x root/root .* usr/local/bin/gem\n", listing);
        Assert.Matches(@"-rw-r--r-- root/root .* usr/local/lib/ruby/gems/1\.8/specifications/daemons-1\.1\.4\.gemspec\n", listing);
        Assert.DoesNotContain("update_rubygems", listing);
        Assert.DoesNotContain("setup.rb", listing);

        // Every location overridden.
        p.WithProject("""
            <PropertyGroup>
              <RubyVersion>1.9.3</RubyVersion>
              <GemHome>/opt/gems</GemHome>
              <GemBinDir>/opt/bin</GemBinDir>
              <RubyPath>/opt/ruby/bin/ruby19</RubyPath>
            </PropertyGroup>
            """ + items);
        p.Build().AssertSuccess();
        using var root = new TempFolder("rmk-gemprops");
        Tool.Run("tar", "-xpzf", p.Overlay, "-C", root.Path).EnsureSuccess("tar -xzf");
        Assert.True(File.Exists(root["opt/gems/gems/daemons-1.1.4/lib/daemons.rb"]));
        Assert.True(File.Exists(root["opt/gems/specifications/daemons-1.1.4.gemspec"]));
        Assert.True(File.Exists(root["opt/gems/cache/daemons-1.1.4.gem"]));
        Assert.True(Directory.Exists(root["opt/gems/doc"]));
        Assert.True(File.Exists(root["usr/local/lib/ruby/site_ruby/1.9.1/rubygems.rb"])); // Ruby 1.9's library folder is 1.9.1
        Assert.False(Directory.Exists(root["usr/local/lib/ruby/gems"]));
        Assert.False(Directory.Exists(root["usr/local/lib/ruby/site_ruby/1.8"]));
        Assert.Equal("#!/opt/ruby/bin/ruby19\nrequire 'rubygems'\n", File.ReadAllText(root["opt/bin/gem"]));
        Assert.StartsWith("#!/opt/ruby/bin/ruby19\n", File.ReadAllText(root["opt/bin/daemons"]), StringComparison.Ordinal);
        Assert.False(File.Exists(root["usr/local/bin/daemons"]));
        Assert.False(File.Exists(root["usr/local/bin/gem"]));
        var env = new Dictionary<string, string?> { ["GEM_HOME"] = root["opt/gems"], ["GEM_PATH"] = root["opt/gems"] };
        Assert.Contains("ran daemons 1.1.4", Tool.Run("ruby", [root["opt/bin/daemons"]], environment: env).EnsureSuccess("wrapper").StdOut);

        p.WithProject("<PropertyGroup><RubyVersion>one.eight</RubyVersion></PropertyGroup>" + items);
        p.Build().AssertFailureWith("RMK4005");
    }

    /// <summary>Rewrites a gem made by <see cref="BuildGem"/>: <paramref name="data"/> adds entries to its data.tar.gz,
    /// <paramref name="dataGz"/> or <paramref name="metadataGz"/> replace a part. checksums.yaml.gz is kept only when
    /// <paramref name="keepChecksums"/> (a real gem altered in transit keeps its old digests).</summary>
    private static void Tamper(string gem, Action<TarWriter>? data = null, byte[]? dataGz = null, byte[]? metadataGz = null, bool keepChecksums = false)
    {
        var parts = new List<(string Name, byte[] Bytes)>();
        using (var reader = new TarReader(new MemoryStream(File.ReadAllBytes(gem))))
        {
            while (reader.GetNextEntry(copyData: true) is { } e)
            {
                var ms = new MemoryStream();
                e.DataStream?.CopyTo(ms);
                parts.Add((e.Name, ms.ToArray()));
            }
        }

        byte[] NewData(byte[] old)
        {
            if (dataGz is not null)
            {
                return dataGz;
            }

            var tar = new MemoryStream();
            using (var w = new TarWriter(tar, TarEntryFormat.Ustar, leaveOpen: true))
            {
                using var r = new TarReader(new GZipStream(new MemoryStream(old), CompressionMode.Decompress));
                while (r.GetNextEntry(copyData: true) is { } e)
                {
                    w.WriteEntry(e);
                }

                data?.Invoke(w);
            }

            return TestArchives.Gzip(tar.ToArray());
        }

        var outer = new MemoryStream();
        using (var w = new TarWriter(outer, TarEntryFormat.Ustar, leaveOpen: true))
        {
            foreach (var (name, bytes) in parts.Where(x => keepChecksums || x.Name != "checksums.yaml.gz"))
            {
                var content = name switch
                {
                    "data.tar.gz" => NewData(bytes),
                    "metadata.gz" => metadataGz ?? bytes,
                    _ => bytes,
                };
                w.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content), Mode = (UnixFileMode)0x1A4 });
            }
        }

        File.WriteAllBytes(gem, outer.ToArray());
    }

    private static void AddEntry(TarWriter w, TarEntryType type, string name, string content = "x", string? link = null)
    {
        var e = new UstarTarEntry(type, name) { Mode = (UnixFileMode)0x1A4 };
        if (link is null)
        {
            e.DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content));
        }
        else
        {
            e.LinkName = link;
        }

        w.WriteEntry(e);
    }

    /// <summary>Every gem the SDK refuses, through `dotnet build`: one coded error naming the Gem item and the entry
    /// (or the offending value), and no gems layer and no overlay.</summary>
    [Theory]
    [InlineData("dotdot", "RMK3203", "../../evil.rb")]
    [InlineData("absolute", "RMK3203", "/etc/evil")]
    [InlineData("symlink-out", "RMK3203", "lib/out")]
    [InlineData("hardlink-out", "RMK3203", "lib/hard")]
    [InlineData("duplicate-kinds", "RMK3203", "lib/daemons.rb")]
    [InlineData("symlink-chain", "RMK3203", "lib/w2")]
    [InlineData("binary-checksum", "RMK3202", "data.tar.gz")]
    [InlineData("checksums-unusable", "RMK3207", "lists no digest")]
    [InlineData("checksum", "RMK3202", "data.tar.gz")]
    [InlineData("bad-gzip", "RMK3201", "data.tar.gz")]
    [InlineData("bad-yaml", "RMK3201", "metadata.gz")]
    [InlineData("native", "RMK3204", "ext/extconf.rb")]
    [InlineData("platform", "RMK3204", "x86_64-darwin")]
    [InlineData("ruby-version", "RMK3204", "requires Ruby version >= 1.9.2")]
    [InlineData("rubygems-version", "RMK3204", "requires RubyGems version >= 9.0")]
    public void Gems_Refused_IsACodedErrorNamingTheGemAndTheEntry(string kind, string code, string named)
    {
        var p = SdkHarness.CreateProject("gemrefused-" + kind);
        var spec = kind switch
        {
            "native" => "s.extensions = ['ext/extconf.rb']\n  s.files += ['ext/extconf.rb']",
            "platform" => "s.platform = 'x86_64-darwin'",
            "ruby-version" => "s.required_ruby_version = '>= 1.9.2'",
            "rubygems-version" => "s.required_rubygems_version = '>= 9.0'",
            _ => "",
        };
        if (kind == "native")
        {
            p.Write("gemsrc/daemons-1.1.4/ext/extconf.rb", "require 'mkmf'\ncreate_makefile('daemons_ext')\n");
        }

        var gem = BuildGem(p, "daemons", "1.1.4", spec);
        switch (kind)
        {
            case "dotdot": Tamper(gem, w => AddEntry(w, TarEntryType.RegularFile, "../../evil.rb")); break;
            case "absolute": Tamper(gem, w => AddEntry(w, TarEntryType.RegularFile, "/etc/evil")); break;
            case "symlink-out": Tamper(gem, w => AddEntry(w, TarEntryType.SymbolicLink, "lib/out", link: "../../../../../etc/passwd")); break;
            case "hardlink-out": Tamper(gem, w => AddEntry(w, TarEntryType.HardLink, "lib/hard", link: "../../etc/shadow")); break;
            case "duplicate-kinds": Tamper(gem, w => AddEntry(w, TarEntryType.SymbolicLink, "./lib/daemons.rb", link: "other.rb")); break;
            case "symlink-chain":
                // Each link looks inside by its name; followed as the target follows them, lib/w2 is the gems folder.
                Tamper(gem, w =>
                {
                    AddEntry(w, TarEntryType.SymbolicLink, "lib/d/x", link: "..");
                    AddEntry(w, TarEntryType.SymbolicLink, "lib/w1", link: "d/x/..");
                    AddEntry(w, TarEntryType.SymbolicLink, "lib/w2", link: "w1/..");
                    AddEntry(w, TarEntryType.SymbolicLink, "lib/a", link: "w2/../../../../etc");
                });
                break;
            case "binary-checksum":
            {
                // Digests as RubyGems 2.1–2.4 wrote them (!binary names and values), then the data altered.
                var parts = Parts(File.ReadAllBytes(gem)).Where(x => x.Name != "checksums.yaml.gz").ToList();
                var sums = ("checksums.yaml.gz", TestArchives.Gzip(Encoding.UTF8.GetBytes(ChecksumsYaml(parts, ChecksumStyle.BinaryKeysAndValues, "SHA1", "SHA512"))));
                var altered = parts.Select(x => x.Name == "data.tar.gz" ? (x.Name, AppendToData(x.Bytes, w => AddEntry(w, TarEntryType.RegularFile, "lib/evil.rb"))) : x);
                File.WriteAllBytes(gem, Outer([.. altered, sums]));
                break;
            }

            case "checksums-unusable":
                File.WriteAllBytes(gem, Outer([.. Parts(File.ReadAllBytes(gem)).Where(x => x.Name != "checksums.yaml.gz"),
                    ("checksums.yaml.gz", TestArchives.Gzip("--- {}\n"u8.ToArray()))]));
                break;
            case "checksum": Tamper(gem, w => AddEntry(w, TarEntryType.RegularFile, "lib/extra.rb"), keepChecksums: true); break;
            case "bad-gzip": Tamper(gem, dataGz: [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3, 4, 5]); break;
            case "bad-yaml": Tamper(gem, metadataGz: TestArchives.Gzip(Encoding.UTF8.GetBytes("--- !ruby/object:Gem::Specification\nname: [\n"))); break;
        }

        p.WithProject("<ItemGroup><Gem Include=\"gems/*.gem\" /></ItemGroup>");
        var r = p.Build().AssertFailureWith(code);
        var error = r.Output.Split('\n').First(l => l.Contains($"error {code}", StringComparison.Ordinal));
        Assert.Contains("gems/" + Path.GetFileName(gem), error);
        Assert.Contains(named, error);
        Assert.Contains("Microkernel.proj", error); // placed at the project file that gives the Gem item
        Assert.False(File.Exists(p.Overlay));
        Assert.DoesNotContain(p.Files(), f => f.EndsWith("layers/gems.tar", StringComparison.Ordinal));
    }

    /// <summary>Issue 14, item 2: a chain of symlinks that each look inside the gem by their text, but followed as the
    /// target follows them lead out of it. The issue's own chain (`lib/x -> ..`, `lib/w1 -> x/..`, …, `lib/a -> w9/etc`)
    /// is refused at its first link, which names the gem's folder itself (RubyGems refuses that link too); the same chain
    /// one folder deeper (`lib/d/x -> ..` is `lib`) passes every per-link check, and is refused at `lib/w2`, the first
    /// link that resolves outside the gem. Each build fails naming the gem and the link, and the previous good build's
    /// overlay and gems layer stay byte-identical.</summary>
    [Theory]
    [InlineData("lib/x", "lib/x")]
    [InlineData("lib/d/x", "lib/w2")]
    public void Gems_SymlinkChainLeavingTheGem_IsRefused_AndThePreviousOutputStays(string x, string named)
    {
        var p = SdkHarness.CreateProject("gemchain");
        var gem = BuildGem(p, "daemons", "1.1.8");
        p.WithProject("<ItemGroup><Gem Include=\"gems/*.gem\" /></ItemGroup>");
        p.Build().AssertSuccess();
        var overlay = File.ReadAllBytes(p.Overlay);
        var layer = File.ReadAllBytes(p["obj/Debug/layers/gems.tar"]);

        Tamper(gem, w =>
        {
            AddEntry(w, TarEntryType.SymbolicLink, x, link: "..");
            AddEntry(w, TarEntryType.SymbolicLink, "lib/w1", link: x["lib/".Length..] + "/..");
            for (var i = 2; i <= 9; i++)
            {
                AddEntry(w, TarEntryType.SymbolicLink, $"lib/w{i}", link: $"w{i - 1}/..");
            }

            AddEntry(w, TarEntryType.SymbolicLink, "lib/a", link: "w9/etc");
        });
        var error = p.Build().AssertFailureWith("RMK3203").Output.Split('\n').First(l => l.Contains("error RMK3203", StringComparison.Ordinal));
        Assert.Contains("gems/daemons-1.1.8.gem", error);
        Assert.True(error.Contains($"'{named}'", StringComparison.Ordinal), error);
        Assert.Equal(overlay, File.ReadAllBytes(p.Overlay));
        Assert.Equal(layer, File.ReadAllBytes(p["obj/Debug/layers/gems.tar"]));
    }

    [Fact]
    public void Gems_NativeExtension_WithPrebuiltExtensions_IsInstalledWithTheBuiltFiles()
    {
        var p = SdkHarness.CreateProject("gemnative");
        p.Write("gemsrc/native-1.0/ext/extconf.rb", "require 'mkmf'\ncreate_makefile('native_ext')\n");
        BuildGem(p, "native", "1.0", "s.extensions = ['ext/extconf.rb']\n  s.files += ['ext/extconf.rb']");
        p.Write("prebuilt/native_ext.so", "\u007fELF built for i486\n");
        p.Write("prebuilt/native/helper.so", "\u007fELF helper\n");
        p.WithProject("<ItemGroup><Gem Include=\"gems/*.gem\" PrebuiltExtensions=\"prebuilt\" /></ItemGroup>");
        p.Build().AssertSuccess();
        var listing = Tool.Run("tar", "-tvzf", p.Overlay).EnsureSuccess("tar -tvzf").StdOut;
        Assert.Contains(" usr/local/lib/ruby/gems/1.8/gems/native-1.0/lib/native_ext.so\n", listing);
        Assert.Contains(" usr/local/lib/ruby/gems/1.8/gems/native-1.0/lib/native/helper.so\n", listing);
        Assert.Contains(" usr/local/lib/ruby/gems/1.8/gems/native-1.0/ext/extconf.rb\n", listing);

        // A PrebuiltExtensions folder that does not exist is refused, naming it.
        p.WithProject("<ItemGroup><Gem Include=\"gems/*.gem\" PrebuiltExtensions=\"nowhere\" /></ItemGroup>");
        Assert.Contains("nowhere", p.Build().AssertFailureWith("RMK3204").Output);
    }

    [Theory]
    [InlineData("two-rubygems", "RMK2016")]
    [InlineData("bad-rubygems", "RMK3206")]
    [InlineData("gem-command-clash", "RMK2015")]
    public void Gems_RubyGemsItemErrors_AreCoded(string kind, string code)
    {
        var p = SdkHarness.CreateProject("rubygems-" + kind);
        p.Write("rubygems-1.8.15.tgz", RubyGemsTarball());
        var items = kind switch
        {
            "two-rubygems" => "<RubyGems Include=\"rubygems-1.8.15.tgz;other/rubygems-1.8.15.tgz\" />",
            "bad-rubygems" => "<RubyGems Include=\"bad.tgz\" />",
            _ => "<RubyGems Include=\"rubygems-1.8.15.tgz\" /><Gem Include=\"gems/*.gem\" />",
        };
        if (kind == "two-rubygems")
        {
            p.Write("other/rubygems-1.8.15.tgz", RubyGemsTarball());
        }
        else if (kind == "bad-rubygems")
        {
            p.Write("bad.tgz", TestArchives.Tgz(TestArchives.File("notrubygems/README", "x\n")));
        }
        else
        {
            // A gem with an executable called gem: its wrapper and RubyGems' own command are the same file.
            p.Write("gemsrc/gemclash-1.0/bin/gem", "#!/usr/bin/env ruby\nputs 'not rubygems'\n");
            BuildGem(p, "gemclash", "1.0", "s.executables = ['gem']");
        }

        p.WithProject($"<ItemGroup>{items}</ItemGroup>");
        p.Build().AssertFailureWith(code);
        Assert.False(File.Exists(p.Overlay));
    }
    /// <summary>The shapes of real gems the SDK once refused or installed differently from `gem install` (issue 13), each
    /// made here with `gem build` and reshaped, all in one `dotnet build`; the gem folders and bindir must match what
    /// Debian's `gem install --local` writes for the same files, and the gemspecs load in Ruby with the metadata as
    /// Ruby reads it.</summary>
    [Fact]
    public void Gems_RealWorldShapes_InstallAsDebianGemInstallsThem()
    {
        var p = SdkHarness.CreateProject("gemshapes");

        // json_pure 1.5–2.2 (Razor's json_pure-1.6.5 among them): files listed twice, as x and ./x; the last copy wins.
        p.Write("gemsrc/json_pure-1.6.5/tests/test_json.rb", "# first\n");
        var json = BuildGem(p, "json_pure", "1.6.5", "s.files += ['tests/test_json.rb']");
        File.WriteAllBytes(json, Rewrite(json, (n, b) => (n, n != "data.tar.gz" ? b : AppendToData(b, w =>
        {
            AddEntry(w, TarEntryType.RegularFile, "./tests/test_json.rb", "# second\n");
            AddEntry(w, TarEntryType.RegularFile, "lib//json_pure.rb", "module JsonPure\n  VERSION = 'again'\nend\n");
        }))));

        // RubyGems 2.1–2.4 (choice-0.1.7, tilt-1.3.5 …): checksums.yaml.gz with !binary algorithm names and digests.
        var choice = BuildGem(p, "choice", "0.1.7");
        var choiceParts = Parts(File.ReadAllBytes(choice)).Where(x => x.Name != "checksums.yaml.gz").ToList();
        File.WriteAllBytes(choice, Outer([.. choiceParts,
            ("checksums.yaml.gz", TestArchives.Gzip(Encoding.UTF8.GetBytes(ChecksumsYaml(choiceParts, ChecksumStyle.BinaryKeysAndValues, "SHA1", "SHA512"))))]));

        // Syck (cucumber-0.8.0, newrelic_rpm …): a literal block whose first line holds only spaces.
        const string message = "post_install_message: |+\n  \n  (::) U P G R A D I N G (::)\n  \n  Thank you for installing cucumber.\n  \n";
        var cucumber = BuildGem(p, "cucumber", "0.8.0");
        File.WriteAllBytes(cucumber, Rewrite(cucumber, (n, b) => (n, n != "metadata.gz" ? b
            : TestArchives.Gzip(Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(Gunzip(b)).Replace("post_install_message:\n", message, StringComparison.Ordinal))))));

        // RubyGems' bin_and_img: an executable that is a symlink.
        p.Write("gemsrc/linked-0.1.0/lib/ext/hello", "#!/usr/bin/env ruby\nputs 'hello through the link'\n");
        Directory.CreateDirectory(p["gemsrc/linked-0.1.0/exe"]);
        File.CreateSymbolicLink(p["gemsrc/linked-0.1.0/exe/hello"], "../lib/ext/hello");
        BuildGem(p, "linked", "0.1.0", "s.files += ['lib/ext/hello', 'exe/hello']\n  s.bindir = 'exe'\n  s.executables = ['hello']");

        // Early gems: the specification as an uncompressed metadata entry.
        var early = BuildGem(p, "early", "1.0.0");
        File.WriteAllBytes(early, Rewrite(early, (n, b) => n == "metadata.gz" ? ("metadata", Gunzip(b)) : (n, b)));

        // RubyGems 0.8: the pre-0.9 format (a Ruby script with the files base64-embedded), which 1.8 and 3.x still install.
        p.Write("gems/oldie-0.1.0.gem", OldFormat("oldie", "0.1.0",
            [("lib/oldie.rb", "module Oldie; end\n", 420), ("bin/oldie", "#!/usr/bin/env ruby\nputs 'old'\n", 493)], "bindir: bin\nexecutables:\n  - oldie\n"));

        p.WithProject("<ItemGroup><Gem Include=\"gems/*.gem\" /></ItemGroup>");
        p.Build().AssertSuccess();
        using var root = new TempFolder("rmk-gemshapes");
        Tool.Run("tar", "-xpzf", p.Overlay, "-C", root.Path).EnsureSuccess("tar -xzf");
        var gemFiles = Directory.GetFiles(p["gems"], "*.gem").Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(6, gemFiles.Length);
        var debian = root["debian"];
        var clean = new Dictionary<string, string?> { ["HOME"] = root.Path, ["GEM_HOME"] = null, ["GEM_PATH"] = null, ["RUBYOPT"] = null };
        Tool.Run("gem", ["install", "--local", "--install-dir", debian, "--bindir", debian + "/bin", "--ignore-dependencies", "--no-document", .. gemFiles],
            root.Path, clean).EnsureSuccess("Debian gem install");
        var gemHome = root["usr/local/lib/ruby/gems/1.8"];
        Assert.Equal(GemParts.Tree(Path.Combine(debian, "gems")), GemParts.Tree(Path.Combine(gemHome, "gems")));
        Assert.Equal(["hello", "oldie"], Directory.GetFiles(Path.Combine(debian, "bin")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(["hello", "oldie"], Directory.GetFiles(root["usr/local/bin"]).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Contains("exe/hello -> ../lib/ext/hello", GemParts.Tree(Path.Combine(gemHome, "gems")));
        Assert.Equal("# second\n", File.ReadAllText(Path.Combine(gemHome, "gems/json_pure-1.6.5/tests/test_json.rb")));

        var env = new Dictionary<string, string?>(clean) { ["GEM_HOME"] = gemHome, ["GEM_PATH"] = gemHome };
        Assert.Equal("hello through the link", Tool.Run("ruby", [root["usr/local/bin/hello"]], root.Path, env).EnsureSuccess("the symlinked executable's wrapper").StdOut.Trim());
        const string load = "puts Gem::Specification.load(ARGV[0]).post_install_message.inspect; puts Gem::Specification.from_yaml(ARGV[1]).post_install_message.inspect";
        var yaml = Encoding.UTF8.GetString(Gunzip(Parts(File.ReadAllBytes(cucumber)).Single(x => x.Name == "metadata.gz").Bytes));
        var messages = Tool.Run("ruby", ["-e", load, Path.Combine(gemHome, "specifications/cucumber-0.8.0.gemspec"), yaml], root.Path, env)
            .EnsureSuccess("gemspec load").StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, messages.Length);
        Assert.Equal(messages[1], messages[0]); // our gemspec carries the message Ruby reads from the Syck YAML
        Assert.Contains("U P G R A D I N G", messages[0]);
    }

    /// <summary>A gem of about a kilobyte whose metadata nests aliases ten deep (the "billion laughs"): the build
    /// fails with a coded error, quickly and within bounded memory, and the overlay of the previous good build stays
    /// byte-identical.</summary>
    [Fact]
    public void Gems_AliasBomb_FailsPromptlyWithinBoundedMemory_AndKeepsThePreviousOverlay()
    {
        var p = SdkHarness.CreateProject("gembomb");
        var gem = BuildGem(p, "daemons", "1.1.8");
        p.WithProject("<ItemGroup><Gem Include=\"gems/*.gem\" /></ItemGroup>");
        p.Build().AssertSuccess();
        var before = File.ReadAllBytes(p.Overlay);

        var yaml = new StringBuilder("--- !ruby/object:Gem::Specification\nname: daemons\nversion: !ruby/object:Gem::Version\n  version: 1.1.8\n");
        yaml.Append("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for (var i = 1; i < 10; i++)
        {
            yaml.Append($"a{i}: &a{i} [").AppendJoin(", ", Enumerable.Repeat($"*a{i - 1}", 10)).Append("]\n");
        }

        yaml.Append("files: *a9\nmetadata: {? *a9 : x}\n");
        File.WriteAllBytes(gem, Rewrite(gem, (n, b) => (n, n == "metadata.gz" ? TestArchives.Gzip(Encoding.UTF8.GetBytes(yaml.ToString())) : b)));
        Assert.True(new FileInfo(gem).Length < 8192, $"{new FileInfo(gem).Length} bytes");
        Assert.True(yaml.Length < 1024, $"{yaml.Length} bytes of YAML");

        ProcessTreePeak? peak = null;
        var r = p.Run(timeout: TimeSpan.FromMinutes(3), onStarted: proc => peak = ProcessTreePeak.Watch(proc));
        peak!.Dispose();
        Assert.DoesNotContain("[timed out]", r.Output);
        r.AssertFailureWith("RMK3205");
        Assert.Contains("aliases counted each time they are used", r.Output);
        output.WriteLine($"alias bomb build: {peak.PeakBytes >> 20} MB peak over {peak.Processes} processes");
        // The sampler saw the build (a dotnet build's resident set alone is tens of MB): a bound of nothing proves nothing.
        Assert.True(peak.Processes > 0 && peak.PeakBytes > 20L << 20, $"the sampler measured {peak.PeakBytes >> 20} MB over {peak.Processes} processes");
        Assert.True(peak.PeakBytes < 300L << 20, $"the build's processes peaked at {peak.PeakBytes >> 20} MB together ({peak.Processes} processes)");
        Assert.Equal(before, File.ReadAllBytes(p.Overlay));
    }
}

