using System.Formats.Tar;
using System.Text;
using Razor.Microkernel.Formats.Gems;
using Razor.Microkernel.TestSupport;
using static Razor.Microkernel.Formats.Tests.Gems.GemBuilder;
using static Razor.Microkernel.TestSupport.GemParts;

namespace Razor.Microkernel.Formats.Tests.Gems;

/// <summary>
/// The classes of real gems the reader once refused or installed differently from <c>gem install</c> (the Razor
/// microkernel's json_pure-1.6.5 among them), each as a gem made here with Debian's <c>gem build</c> and then shaped
/// like the real ones, and each installed both by the SDK and by Debian's <c>gem install --local</c>: the gem
/// folders must be the same, file for file, mode for mode, link for link.
/// </summary>
public sealed class RealWorldGemTests : IDisposable
{
    private const string GemDir = "usr/local/lib/ruby/gems/1.8";
    private readonly TempFolder _tmp = new("rmk-realgems");

    public void Dispose() => _tmp.Dispose();

    private string Base(string name, string extraSpec = "", params GemFile[] more)
        => Build(_tmp.Path, name, "1.0.0",
            [new("lib/" + name + ".rb", $"module M\n  NAME = '{name}'\nend\n"), new("tests/a_test.rb", "# first\n"), .. more], extraSpec);

    private string Save(string name, byte[] gem)
    {
        var path = _tmp["rewritten/" + name];
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, gem);
        return path;
    }

    /// <summary>Installs <paramref name="gem"/> with the SDK and with Debian's RubyGems; returns both gem folders' trees
    /// and both bindirs' listings.</summary>
    private (string Ours, string Debian, string OurBin, string DebianBin) InstallBoth(string gem, string fullName)
    {
        var name = Path.GetFileNameWithoutExtension(gem);
        var debian = _tmp["debian-" + name];
        DebianInstall(_tmp.Path, debian, gem).EnsureSuccess("Debian gem install of " + name);
        var root = GemInstallerTests.InstallToFolder(_tmp, [GemSource.FromFile(gem)], new GemInstallOptions { ModificationTime = 1326000000, RubyVersion = "3.1.2" }, "ours-" + name);
        static string Bin(string dir) => Directory.Exists(dir) ? string.Join(',', Directory.GetFiles(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal)) : "";
        return (Tree(Path.Combine(root, GemDir, "gems", fullName)), Tree(Path.Combine(debian, "gems", fullName)),
            Bin(Path.Combine(root, "usr/local/bin")), Bin(Path.Combine(debian, "bin")));
    }

    [Fact]
    public void DuplicateEntries_AnySpellingOfOnePath_LastCopyWinsWithItsMode_AsDebianGemInstall()
    {
        // json_pure 1.5–2.2 list tests/x.rb and again ./tests/x.rb; here every spelling RubyGems' expand_path folds.
        var gem = Base("dupes");
        var dupes = Save("dupes-1.0.0.gem", Rewrite(gem, (n, b) => (n, n == "data.tar.gz" ? AppendToData(b, w =>
        {
            AddFile(w, "./tests/a_test.rb", "# second\n", 0x1ED);
            AddFile(w, "lib//dupes.rb", "module M\n  NAME = 'second'\nend\n", 0x180);
            AddFile(w, "lib/./dupes.rb", "module M\n  NAME = 'third'\nend\n", 0x1A4);
            AddFile(w, "tests/../lib/extra.rb", "# extra\n");
            AddFile(w, "lib/extra.rb", "# extra, last\n", 0x1E4);
        }) : b)));

        var package = GemPackage.Read(File.OpenRead(dupes), dupes);
        Assert.Equal(["lib/dupes.rb", "tests/a_test.rb", "lib/extra.rb"], package.DataEntries.Select(e => e.Path));
        Assert.Equal(("module M\n  NAME = 'third'\nend\n", 0x1A4), (Encoding.UTF8.GetString(package.DataEntries[0].Content), package.DataEntries[0].Mode));

        var (ours, debian, _, _) = InstallBoth(dupes, "dupes-1.0.0");
        Assert.Equal(debian, ours);
        Assert.Contains("tests/a_test.rb 755", ours);
        Assert.Contains("lib/extra.rb 744", ours);
    }

    [Theory]
    [InlineData(nameof(ChecksumStyle.Plain), "SHA256", "SHA512")]
    [InlineData(nameof(ChecksumStyle.BinaryValues), "SHA1", "SHA512")]
    [InlineData(nameof(ChecksumStyle.BinaryKeysAndValues), "SHA1", "SHA512")]
    public void Checksums_InEveryFormRubyGemsWrote_AreAllVerified_AndATamperedPartIsRefusedAsDebianRefusesIt(string how, string first, string second)
    {
        var style = Enum.Parse<ChecksumStyle>(how);
        var gem = Base("sums");
        var parts = Parts(File.ReadAllBytes(gem)).Where(p => p.Name != "checksums.yaml.gz").ToList();
        byte[] WithChecksums(IReadOnlyList<(string Name, byte[] Bytes)> digested, IReadOnlyList<(string Name, byte[] Bytes)> shipped)
            => Outer([.. shipped, ("checksums.yaml.gz", Gzip(Encoding.UTF8.GetBytes(ChecksumsYaml(digested, style, first, second))))]);

        var good = Save($"sums-good-{style}.gem", WithChecksums(parts, parts));
        var package = GemPackage.Read(File.OpenRead(good), good);
        Assert.Equal(4, package.VerifiedDigests); // two algorithms × metadata.gz and data.tar.gz: none skipped
        var (ours, debian, _, _) = InstallBoth(good, "sums-1.0.0");
        Assert.Equal(debian, ours);

        // data.tar.gz altered after the digests were written: both refuse.
        var altered = parts.Select(p => p.Name == "data.tar.gz" ? (p.Name, AppendToData(p.Bytes, w => AddFile(w, "lib/evil.rb", "evil"))) : p).ToList();
        var bad = Save($"sums-bad-{style}.gem", WithChecksums(parts, altered));
        var e = Assert.Throws<GemChecksumException>(() => GemPackage.Read(File.OpenRead(bad), bad));
        Assert.Equal(("data.tar.gz", first), (e.Entry, e.Algorithm));
        var refused = DebianInstall(_tmp.Path, _tmp["debian-bad-" + style], bad);
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("checksum mismatch for data.tar.gz", refused.StdErr + refused.StdOut);
    }

    [Theory]
    [InlineData("---\nSHA3_256:\n  data.tar.gz: 00\n", "SHA3_256")]
    [InlineData("---\nSHA512:\n  data.tar.gz.sig: 00\n", "data.tar.gz.sig")]
    [InlineData("--- {}\n", "no digest")]
    [InlineData("---\n", "not a mapping")]
    [InlineData("---\n!binary \"U0hBNTEy\":\n  data.tar.gz: !binary |-\n    %%%not base64\n", "not base64")]
    [InlineData("---\nSHA512: [a, b]\n", "not a mapping")]
    public void Checksums_ThatCannotVerifyTheGem_AreRefusedNeverSkipped(string yaml, string named)
    {
        var gem = Base("unusable");
        var bytes = Outer([.. Parts(File.ReadAllBytes(gem)).Where(p => p.Name != "checksums.yaml.gz"), ("checksums.yaml.gz", Gzip(Encoding.UTF8.GetBytes(yaml)))]);
        var e = Assert.Throws<GemChecksumsUnusableException>(() => GemPackage.Read(new MemoryStream(bytes), "unusable.gem"));
        Assert.Contains(named, e.Message);
        Assert.Equal("checksums.yaml.gz", e.Entry);
    }

    [Fact]
    public void Metadata_SyckBlockScalarsWhoseFirstLinesHoldOnlySpaces_ReadAsRubyReadsThem_AndInstallAsDebianInstalls()
    {
        // cucumber 0.8, newrelic_rpm, polyglot 0.3.2 (RubyGems 1.3.7–1.8 on Ruby 1.8): Syck kept the indentation on
        // blank lines of literal blocks, also on the first one.
        var gem = Base("syckish");
        var yaml = Encoding.UTF8.GetString(Gunzip(Parts(File.ReadAllBytes(gem)).Single(p => p.Name == "metadata.gz").Bytes));
        var syck = yaml
            .Replace("post_install_message:\n", "post_install_message: |+\n  \n  (::) U P G R A D I N G (::)\n  \n    indented line\n  \n\n", StringComparison.Ordinal)
            .Replace("requirements: []\n", "requirements:\n- |\n    \n    first requirement\n- |-\n   \n   \n", StringComparison.Ordinal)
            .Replace("summary: The syckish gem\n", "summary: |-\n  \n  The syckish gem\n", StringComparison.Ordinal);
        Assert.All(["post_install_message: |+\n  \n", "- |\n    \n", "- |-\n   \n", "summary: |-\n  \n"], t => Assert.Contains(t, syck));
        var syckGem = Save("syckish-1.0.0.gem", Rewrite(gem, (n, b) => (n, n == "metadata.gz" ? Gzip(Encoding.UTF8.GetBytes(syck)) : b)));

        var spec = GemPackage.Read(File.OpenRead(syckGem), syckGem).Specification;
        const string script = """
            s = Gem::Specification.from_yaml(File.read(ARGV[0]))
            print [s.post_install_message, s.requirements.join('|'), s.summary].map(&:inspect).join("\n")
            """;
        var ruby = Tool.Run("ruby", ["-e", script, WriteYaml(syck)]).EnsureSuccess("Ruby's Gem::Specification.from_yaml").StdOut;
        var ours = string.Join('\n', new[] { spec.Get("post_install_message") as string, string.Join('|', ((IEnumerable<object?>)spec.Get("requirements")!).Cast<string>()), spec.Summary }
            .Select(RubyInspect));
        Assert.Equal(ruby, ours);
        Assert.Equal("\n(::) U P G R A D I N G (::)\n\n  indented line\n\n\n", spec.Get("post_install_message"));

        var (tree, debian, _, _) = InstallBoth(syckGem, "syckish-1.0.0");
        Assert.Equal(debian, tree);
    }

    private string WriteYaml(string yaml)
    {
        var path = _tmp["syck-" + Guid.NewGuid().ToString("N")[..8] + ".yaml"];
        File.WriteAllText(path, yaml);
        return path;
    }

    /// <summary>Ruby's String#inspect for the ASCII text these tests use.</summary>
    private static string RubyInspect(string? s)
        => s is null ? "nil" : "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal) + "\"";

    [Fact]
    public void SymlinkedExecutable_GetsItsWrapper_AsDebianGemInstall()
    {
        // RubyGems' own bin_and_img fixture: exe/hello -> ../lib/ext/hello, the file itself 0644 in the gem.
        var gem = Build(_tmp.Path, "linked", "1.0.0",
        [
            new("lib/ext/hello", "#!/usr/bin/env ruby\nputs 'hello from the linked executable'\n"),
            new("exe/hello", "", LinkTarget: "../lib/ext/hello"),
            new("exe/plain", "#!/usr/bin/env ruby\nputs 'plain'\n"),
        ], "  s.bindir = 'exe'\n  s.executables = ['hello', 'plain']");

        // gem build refuses an executable that names nothing, so it is added to the metadata afterwards.
        gem = Save("linked-1.0.0.gem", Rewrite(gem, (n, b) => (n, n != "metadata.gz" ? b
            : Gzip(Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(Gunzip(b)).Replace("- plain\n", "- plain\n- missing\n", StringComparison.Ordinal))))));
        Assert.Equal(["hello", "plain", "missing"], GemPackage.Read(File.OpenRead(gem), gem).Specification.Executables);
        var (ours, debian, ourBin, debianBin) = InstallBoth(gem, "linked-1.0.0");
        Assert.Equal(debian, ours);
        Assert.Contains("exe/hello -> ../lib/ext/hello", ours);
        Assert.Contains("lib/ext/hello 644", ours); // FileUtils.chmod does not follow the link: the file keeps its mode
        Assert.Equal("hello,plain", debianBin); // "missing" names nothing: RubyGems warns and writes no wrapper
        Assert.Equal(debianBin, ourBin);

        var root = GemInstallerTests.InstallToFolder(_tmp, [GemSource.FromFile(gem)], new GemInstallOptions { RubyVersion = "3.1.2", RubyPath = "/usr/bin/ruby" }, "run-linked");
        var env = Env(_tmp.Path);
        env["GEM_HOME"] = env["GEM_PATH"] = Path.Combine(root, GemDir);
        Assert.Equal("hello from the linked executable", Tool.Run("ruby", [Path.Combine(root, "usr/local/bin/hello")], _tmp.Path, env).EnsureSuccess("wrapper").StdOut.Trim());
    }

    [Fact]
    public void UncompressedMetadata_OfEarlyGems_IsRead_AsDebianGemInstallReadsIt()
    {
        var gem = Base("early");
        var early = Save("early-1.0.0.gem", Rewrite(gem, (n, b) => n == "metadata.gz" ? ("metadata", Gunzip(b)) : (n, b)));
        Assert.DoesNotContain(Parts(File.ReadAllBytes(early)), p => p.Name == "metadata.gz");
        Assert.Equal("early-1.0.0", GemPackage.Read(File.OpenRead(early), early).Specification.FullName);
        var (ours, debian, _, _) = InstallBoth(early, "early-1.0.0");
        Assert.Equal(debian, ours);

        // With both, the later entry is the specification, as RubyGems reads them in order.
        var parts = Parts(File.ReadAllBytes(gem)).Where(p => p.Name != "checksums.yaml.gz").ToList();
        var other = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(Gunzip(parts.Single(p => p.Name == "metadata.gz").Bytes)).Replace("version: 1.0.0", "version: 2.0.0", StringComparison.Ordinal));
        Assert.Equal("early-2.0.0", GemPackage.Read(new MemoryStream(Outer([.. parts, ("metadata", other)])), "both").Specification.FullName);
        Assert.Equal("early-1.0.0", GemPackage.Read(new MemoryStream(Outer([("metadata", other), .. parts])), "both").Specification.FullName);
    }

    [Fact]
    public void OldFormat_Pre09Gem_InstallsAsDebianGemInstall()
    {
        var old = Save("oldie-0.1.0.gem", OldFormat("oldie", "0.1.0",
        [
            ("lib/oldie.rb", "module Oldie; end\n", 420),
            ("bin/oldie", "#!/usr/bin/env ruby\nputs 'old'\n", 493),
            ("lib/oldie/data.txt", string.Concat(Enumerable.Range(0, 300).Select(i => $"line {i}\n")), 384),
        ], "bindir: bin\nexecutables:\n  - oldie\n"));
        var package = GemPackage.Read(File.OpenRead(old), old);
        Assert.Equal("oldie-0.1.0", package.Specification.FullName);
        Assert.Equal(["lib/oldie.rb", "bin/oldie", "lib/oldie/data.txt"], package.DataEntries.Select(e => e.Path));
        var (ours, debian, ourBin, debianBin) = InstallBoth(old, "oldie-0.1.0");
        Assert.Equal(debian, ours);
        Assert.Equal(("oldie", "oldie"), (ourBin, debianBin));
    }

    [Theory]
    [InlineData("escape", "leave the gem's folder")]
    [InlineData("size", "not its listed size")]
    [InlineData("no-end", "__END__")]
    [InlineData("corrupt", "corrupt")]
    public void OldFormat_Hostile_IsRefused(string kind, string reason)
    {
        var gem = Encoding.UTF8.GetString(OldFormat("bad", "1.0", [("lib/bad.rb", "bad\n", 420)]));
        gem = kind switch
        {
            "escape" => gem.Replace("path: lib/bad.rb", "path: lib/../../bad.rb", StringComparison.Ordinal),
            "size" => gem.Replace("size: 4", "size: 5", StringComparison.Ordinal),
            "no-end" => gem.Replace("__END__", "__NOT_END__", StringComparison.Ordinal),
            _ => gem[..gem.LastIndexOf("---\n", gem.Length - 5, StringComparison.Ordinal)] + "---\nAAAA\n---\n",
        };
        var e = Assert.ThrowsAny<GemException>(() => GemPackage.Read(new MemoryStream(Encoding.UTF8.GetBytes(gem)), "bad.gem"));
        Assert.Contains(reason, e.Message);
    }

    [Fact]
    public void Symlinks_InsideTheGem_InstallAsDebianInstallsThem()
    {
        var gem = Build(_tmp.Path, "links", "1.0.0",
        [
            new("lib/links.rb", "module Links; end\n"),
            new("lib/sub/real.rb", "# real\n"),
            new("lib/alias.rb", "", LinkTarget: "links.rb"),
            new("lib/up.rb", "", LinkTarget: "sub/../links.rb"),
            new("data/dir", "", LinkTarget: "../lib/sub"),
            new("data/through.rb", "", LinkTarget: "dir/real.rb"),
        ]);
        var (ours, debian, _, _) = InstallBoth(gem, "links-1.0.0");
        Assert.Equal(debian, ours);
        Assert.Contains("data/through.rb -> dir/real.rb", ours);
    }
}
