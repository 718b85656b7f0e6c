using System.Formats.Tar;
using System.Text;
using Razor.Microkernel.Formats.Gems;
using Razor.Microkernel.Formats.Layers;
using static Razor.Microkernel.Formats.Tests.Gems.GemBuilder;

namespace Razor.Microkernel.Formats.Tests.Gems;

public class HostileGemTests
{
    private static T Refused<T>(byte[] gem, GemReadOptions? limits = null)
        where T : Exception
    {
        using var layer = new LayerWriter(new MemoryStream());
        var e = Assert.Throws<T>(() => GemInstaller.Install(
            [new GemSource("hostile-1.0.gem", () => new MemoryStream(gem))], layer,
            new GemInstallOptions { Limits = limits ?? GemReadOptions.Default }));
        Assert.Equal(0, layer.EntryCount); // everything is checked before anything is written
        if (e is GemException g)
        {
            Assert.Equal("hostile-1.0.gem", g.Gem);
        }

        return e;
    }

    private static byte[] WithData(Action<TarWriter> data) => Handmade(MinimalYaml(), data);

    [Theory]
    [InlineData("../evil.rb")]
    [InlineData("lib/../../evil.rb")]
    [InlineData("/etc/passwd")]
    [InlineData("lib\\..\\..\\evil.rb")]
    public void Entry_EscapingTheGemFolder_IsRefused(string name)
    {
        var e = Refused<GemUnsafeEntryException>(WithData(w => AddFile(w, name, "x")));
        Assert.Equal(name, e.Entry);
    }

    [Theory]
    [InlineData("../../../../etc/passwd")]
    [InlineData("/etc/passwd")]
    [InlineData("../../outside")]
    public void Symlink_PointingOut_IsRefused(string target)
    {
        var e = Refused<GemUnsafeEntryException>(WithData(w => AddLink(w, TarEntryType.SymbolicLink, "lib/link", target)));
        Assert.Equal("lib/link", e.Entry);
    }

    [Theory]
    [InlineData("../outside")]
    [InlineData("/etc/shadow")]
    [InlineData("lib/missing.rb")]
    public void HardLink_NotToAnEarlierFileOfTheGem_IsRefused(string target)
        => Refused<GemUnsafeEntryException>(WithData(w =>
        {
            AddFile(w, "lib/a.rb", "a");
            AddLink(w, TarEntryType.HardLink, "lib/b.rb", target);
        }));

    [Fact]
    public void Links_InsideTheGem_AreInstalled()
    {
        var gem = WithData(w =>
        {
            AddFile(w, "lib/a.rb", "a");
            AddLink(w, TarEntryType.SymbolicLink, "lib/sub/link.rb", "../a.rb");
            AddLink(w, TarEntryType.HardLink, "lib/hard.rb", "lib/a.rb");
        });
        var ms = new MemoryStream();
        using (var layer = new LayerWriter(ms, leaveOpen: true))
        {
            GemInstaller.Install([new GemSource("ok.gem", () => new MemoryStream(gem))], layer);
            layer.Finish();
        }

        ms.Position = 0;
        var entries = LayerReader.ReadEntries(ms).ToList();
        var gemDir = "usr/local/lib/ruby/gems/1.8/gems/hostile-1.0/";
        Assert.Equal("../a.rb", entries.Single(e => e.Path == gemDir + "lib/sub/link.rb").LinkTarget);
        Assert.Equal(gemDir + "lib/a.rb", entries.Single(e => e.Path == gemDir + "lib/hard.rb").LinkTarget);
    }

    [Theory]
    [InlineData("file", "symlink")]
    [InlineData("symlink", "file")]
    [InlineData("folder", "file")]
    [InlineData("file", "folder")]
    [InlineData("file", "hardlink")]
    public void OnePath_AsTwoKindsOfEntry_IsRefused(string first, string second)
    {
        void Write(TarWriter w, string kind, string name)
        {
            switch (kind)
            {
                case "file": AddFile(w, name, "x"); break;
                case "folder": w.WriteEntry(new GnuTarEntry(TarEntryType.Directory, name)); break;
                case "symlink": AddLink(w, TarEntryType.SymbolicLink, name, "other.rb"); break;
                default: AddLink(w, TarEntryType.HardLink, name, "lib/other.rb"); break;
            }
        }

        var e = Refused<GemUnsafeEntryException>(WithData(w =>
        {
            AddFile(w, "lib/other.rb", "o");
            Write(w, first, "lib/a.rb");
            Write(w, second, "./lib//a.rb");
        }));
        Assert.Contains($"as a {(first == "folder" ? "folder" : first == "hardlink" ? "hard link" : first)} and again as a", e.Message);
    }

    [Fact]
    public void SymlinkChain_ThatLooksInsideLinkByLink_ButLeadsOut_IsRefused()
    {
        // The issue's shape: each link resolves inside by its name alone; followed as the target follows them, lib/a is /etc.
        var chain = Refused<GemUnsafeEntryException>(WithData(w =>
        {
            AddLink(w, TarEntryType.SymbolicLink, "lib/x", "..");
            AddLink(w, TarEntryType.SymbolicLink, "lib/w1", "x/..");
            for (var i = 2; i <= 9; i++)
            {
                AddLink(w, TarEntryType.SymbolicLink, $"lib/w{i}", $"w{i - 1}/..");
            }

            AddLink(w, TarEntryType.SymbolicLink, "lib/a", "w9/etc");
        }));
        Assert.Equal("lib/x", chain.Entry); // a link to the gem's folder itself is refused first, as RubyGems refuses it

        // The same climb without that first step: lib/d/x is lib, lib/w1 is the gem's folder, lib/w2 would be gems/.
        var deeper = Refused<GemUnsafeEntryException>(WithData(w =>
        {
            AddLink(w, TarEntryType.SymbolicLink, "lib/d/x", "..");
            AddLink(w, TarEntryType.SymbolicLink, "lib/w1", "d/x/..");
            AddLink(w, TarEntryType.SymbolicLink, "lib/w2", "w1/..");
            AddLink(w, TarEntryType.SymbolicLink, "lib/a", "w2/../../../../etc");
        }));
        Assert.Equal("lib/w2", deeper.Entry);
        Assert.Contains("through the link 'lib/w1'", deeper.Message);

        // An absolute link anywhere on the way.
        Refused<GemUnsafeEntryException>(WithData(w =>
        {
            AddFile(w, "lib/real.rb", "x");
            AddLink(w, TarEntryType.SymbolicLink, "lib/b", "c/x");
            AddLink(w, TarEntryType.SymbolicLink, "lib/c", "../data");
            AddLink(w, TarEntryType.SymbolicLink, "data", "lib");
            AddLink(w, TarEntryType.SymbolicLink, "lib/x", "real.rb");
            AddLink(w, TarEntryType.SymbolicLink, "lib/y", "d/z");
            AddLink(w, TarEntryType.SymbolicLink, "lib/d", "../e");
            AddLink(w, TarEntryType.SymbolicLink, "e", "/etc");
        }));
    }

    [Fact]
    public void SymlinkChains_ThatStayInside_AndLoops_AreInstalled()
    {
        var gem = WithData(w =>
        {
            AddFile(w, "lib/sub/real.rb", "x");
            AddLink(w, TarEntryType.SymbolicLink, "lib/d/x", "..");          // lib
            AddLink(w, TarEntryType.SymbolicLink, "lib/w1", "d/x/sub");      // lib/sub
            AddLink(w, TarEntryType.SymbolicLink, "lib/w2", "w1/real.rb");   // lib/sub/real.rb
            AddLink(w, TarEntryType.SymbolicLink, "lib/top", "d/x/..");      // the gem's folder, reached through a link
            AddLink(w, TarEntryType.SymbolicLink, "lib/loop1", "loop2");     // a loop leads nowhere: harmless
            AddLink(w, TarEntryType.SymbolicLink, "lib/loop2", "loop1");
            AddLink(w, TarEntryType.SymbolicLink, "lib/dangling", "nothing/here");
        });
        var package = GemPackage.Read(new MemoryStream(gem), "inside.gem");
        Assert.Equal("lib/sub/real.rb", package.FindFile("lib/w2")!.Path);
        Assert.Equal("lib/sub/real.rb", package.FindFile("lib/top/lib/w1/real.rb")!.Path);
        Assert.Null(package.FindFile("lib/loop1"));
        Assert.Null(package.FindFile("lib/dangling"));
        Assert.True(package.IsSymlink("lib/w2"));
        Assert.False(package.IsSymlink("lib/w1/real.rb"));
    }

    [Fact]
    public void EntryBelowAFile_IsRefused()
        => Refused<GemUnsafeEntryException>(WithData(w =>
        {
            AddFile(w, "lib/a.rb", "a");
            AddFile(w, "lib/a.rb/b.rb", "b");
        }));

    [Fact]
    public void NamesAndLinkTargets_LongerThanPathMax_AreRefused()
    {
        var deep = string.Join('/', Enumerable.Repeat("d", 2100)) + "/x.rb";
        Assert.Contains("PATH_MAX", Refused<GemUnsafeEntryException>(WithData(w => AddFile(w, deep, "x"))).Message);
        Assert.Contains("PATH_MAX", Refused<GemUnsafeEntryException>(WithData(w => AddLink(w, TarEntryType.SymbolicLink, "lib/l", deep))).Message);
    }

    [Fact]
    public void FoldersImpliedByNames_AreBoundedLikeEntries()
    {
        // Ten entries, each ten folders deep on its own: 110 paths for a limit of 10 entries (21 paths and folders).
        var e = Refused<GemLimitException>(WithData(w =>
        {
            for (var i = 0; i < 10; i++)
            {
                AddFile(w, $"t{i}/" + string.Join('/', Enumerable.Repeat("d", 10)) + "/x.rb", "x");
            }
        }), new GemReadOptions { MaxEntries = 10 });
        Assert.Equal("paths and folders", e.Limit);
    }

    [Fact]
    public void DeviceEntry_IsRefused()
        => Refused<GemUnsafeEntryException>(WithData(w =>
            w.WriteEntry(new GnuTarEntry(TarEntryType.CharacterDevice, "lib/console") { DeviceMajor = 5, DeviceMinor = 1 })));

    [Fact]
    public void BadGzip_InData_IsGemFormatException()
    {
        var e = Refused<GemFormatException>(Handmade(MinimalYaml(), _ => { }, dataGzOverride: [0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7]));
        Assert.Equal("data.tar.gz", e.Entry);
    }

    [Fact]
    public void BadGzip_InMetadata_IsGemFormatException()
    {
        var e = Refused<GemFormatException>(Handmade(MinimalYaml(), _ => { }, metadataGzOverride: Encoding.ASCII.GetBytes("not gzip at all")));
        Assert.Equal("metadata.gz", e.Entry);
    }

    [Theory]
    [InlineData("--- !ruby/object:Gem::Specification\nname: [\n")]
    [InlineData("--- !ruby/object:Gem::Specification\nname: x\nversion: &a [*a\n")]
    [InlineData("- not\n- a\n- mapping\n")]
    [InlineData("--- !ruby/object:Gem::Specification\nname: x\nversion:\n  version: '1'\nplatform: ../../x\n")]
    public void BadYaml_IsGemFormatException(string yaml)
    {
        var e = Refused<GemFormatException>(Handmade(yaml, w => AddFile(w, "lib/a.rb", "a")));
        Assert.Equal("metadata.gz", e.Entry);
    }

    [Fact]
    public void ChecksumMismatch_IsGemChecksumException()
    {
        var e = Refused<GemChecksumException>(Handmade(MinimalYaml(), w => AddFile(w, "lib/a.rb", "a"), checksums: true, corruptChecksum: true));
        Assert.Equal(("data.tar.gz", "SHA256"), (e.Entry, e.Algorithm));
    }

    [Fact]
    public void MatchingChecksums_AreAccepted()
    {
        var gem = Handmade(MinimalYaml(), w => AddFile(w, "lib/a.rb", "a"), checksums: true);
        var package = GemPackage.Read(new MemoryStream(gem));
        Assert.True(package.HasChecksums);
        Assert.Equal("hostile-1.0", package.Specification.FullName);
    }

    [Fact]
    public void ScriptWithoutTheMd5SumLineFirst_IsNotAGem()
    {
        // RubyGems takes a file for a pre-0.9 gem only when its first 20 bytes hold "MD5SUM ="; else it must be a tar.
        var old = Encoding.ASCII.GetBytes("# !/usr/bin/env ruby\n#\n# RubyGems 0.8 gem\nMD5SUM = \"abc\"\n" + new string('x', 600));
        var e = Refused<GemFormatException>(old);
        Assert.Contains("pre-0.9", e.Message);

        var tarWithoutMetadataGz = new MemoryStream();
        using (var w = new TarWriter(tarWithoutMetadataGz, TarEntryFormat.Ustar, leaveOpen: true))
        {
            w.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, "data.tar.gz") { DataStream = new MemoryStream(Gzip([])) });
        }

        Assert.Contains("metadata.gz", Refused<GemFormatException>(tarWithoutMetadataGz.ToArray()).Message);
    }

    [Fact]
    public void NotATar_IsGemFormatException()
        => Refused<GemFormatException>(Encoding.ASCII.GetBytes(new string('z', 2000)));

    [Fact]
    public void AbsurdSizes_AreGemLimitException()
    {
        var big = WithData(w => AddFile(w, "lib/big.rb", new string('b', 5000)));
        Assert.Equal("entry size", Refused<GemLimitException>(big, new GemReadOptions { MaxEntryBytes = 4096 }).Limit);
        var many = WithData(w =>
        {
            for (var i = 0; i < 20; i++)
            {
                AddFile(w, $"lib/f{i}.rb", "x");
            }
        });
        Assert.Equal("entry count", Refused<GemLimitException>(many, new GemReadOptions { MaxEntries = 10 }).Limit);
        Assert.Equal("data size", Refused<GemLimitException>(many, new GemReadOptions { MaxDataBytes = 5 }).Limit);
    }
}
