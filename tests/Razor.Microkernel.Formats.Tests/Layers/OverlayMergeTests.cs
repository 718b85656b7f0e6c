using Razor.Microkernel.Formats.Layers;
using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Formats.Tests.Layers;

public class OverlayMergeTests
{
    private static EntryAttributes Attr(LayerEntryType t, string? mode = null, Ownership? owner = null)
        => EntryAttributes.Default(t, 0) with
        {
            Mode = mode is null ? EntryAttributes.Default(t, 0).Mode : Convert.ToInt32(mode, 8),
            Owner = owner ?? Ownership.Root,
        };

    private static LayerSource Layer(TempFolder tmp, string name, Action<LayerWriter> write)
    {
        var path = tmp[name + ".tar"];
        using var w = new LayerWriter(File.Create(path));
        write(w);
        w.Finish();
        return new LayerSource(name, path);
    }

    [Fact]
    public void Merge_SamePath_FirstWriterWins_AndTheConflictNamesBothLayers()
    {
        using var tmp = new TempFolder();
        var a = Layer(tmp, "a", w => w.AddFile("etc/motd", Attr(LayerEntryType.File), "a"u8));
        var b = Layer(tmp, "b", w => w.AddFile("etc/motd", Attr(LayerEntryType.File, "600"), "bb"u8));
        var m = OverlayMerge.Create([a, b]);
        var motd = m.Entries.Single(e => e.Path == "etc/motd");
        Assert.Equal(0, motd.LayerIndex);
        Assert.Equal(1, motd.Entry.Size);
        var c = Assert.Single(m.Conflicts);
        Assert.Equal(new MergeConflict(ConflictKind.SamePath, "etc/motd", "a", LayerEntryType.File, "b", LayerEntryType.File, 1), c);
        Assert.Equal(1, m.Summaries[1].Dropped);
    }

    [Fact]
    public void Merge_Folders_Merge_AndAnExplicitFolderBeatsAnImplicitOne_WithoutWarning()
    {
        using var tmp = new TempFolder();
        var tc = new Ownership(1001, 50, "tc", "staff");
        var a = Layer(tmp, "a", w => w.AddFile("home/tc/.profile", Attr(LayerEntryType.File), "x"u8)); // home/tc implicit
        var b = Layer(tmp, "b", w => w.AddDirectory("home/tc", Attr(LayerEntryType.Directory, "750", tc)));
        var c = Layer(tmp, "c", w => w.AddDirectory("home/tc", Attr(LayerEntryType.Directory, "700")));
        var m = OverlayMerge.Create([a, b, c]);
        Assert.Empty(m.Conflicts);
        var home = m.Entries.Single(e => e.Path == "home/tc").Entry;
        Assert.Equal(tc, home.Attributes.Owner);
        Assert.Equal(Convert.ToInt32("750", 8), home.Attributes.Mode);
        Assert.Equal(["home", "home/tc", "home/tc/.profile"], m.Entries.Select(e => e.Path));
    }

    [Fact]
    public void Merge_FolderWhereAFileWasFirst_DropsTheFolderAndItsContent()
    {
        using var tmp = new TempFolder();
        var a = Layer(tmp, "a", w => w.AddFile("opt/x", Attr(LayerEntryType.File), "file"u8));
        var b = Layer(tmp, "b", w =>
        {
            w.AddFile("opt/x/one", Attr(LayerEntryType.File), "1"u8);
            w.AddFile("opt/x/two", Attr(LayerEntryType.File), "2"u8);
        });
        var m = OverlayMerge.Create([a, b]);
        Assert.Equal(["opt", "opt/x"], m.Entries.Select(e => e.Path));
        Assert.Contains(m.Conflicts, c => c.Kind == ConflictKind.SamePath && c.Path == "opt/x" && c.LoserType == LayerEntryType.Directory);
        Assert.Contains(m.Conflicts, c => c.Kind == ConflictKind.BelowNonDirectory && c.Path == "opt/x" && c.DroppedEntries == 2);
    }

    [Fact]
    public void Merge_FileWhereAFolderWasFirst_KeepsTheFolder()
    {
        using var tmp = new TempFolder();
        var a = Layer(tmp, "a", w => w.AddFile("opt/x/one", Attr(LayerEntryType.File), "1"u8));
        var b = Layer(tmp, "b", w => w.AddFile("opt/x", Attr(LayerEntryType.File), "file"u8));
        var m = OverlayMerge.Create([a, b]);
        Assert.Equal(LayerEntryType.Directory, m.Entries.Single(e => e.Path == "opt/x").Entry.Type);
        Assert.Contains(m.Conflicts, c => c.Kind == ConflictKind.SamePath && c.WinnerType == LayerEntryType.Directory && c.LoserType == LayerEntryType.File);
    }

    [Fact]
    public void Merge_PathBelowAnEarlierSymlink_IsDropped_NeverWrittenThroughTheLink()
    {
        using var tmp = new TempFolder();
        var a = Layer(tmp, "a", w => w.AddSymlink("usr/lib", "/lib", Attr(LayerEntryType.Symlink)));
        var b = Layer(tmp, "b", w => w.AddFile("usr/lib/libssl.so", Attr(LayerEntryType.File), "elf"u8));
        var m = OverlayMerge.Create([a, b]);
        Assert.Equal(["usr", "usr/lib"], m.Entries.Select(e => e.Path));
        Assert.Contains(m.Conflicts, c => c.Kind == ConflictKind.BelowNonDirectory && c.Path == "usr/lib" && c.WinnerType == LayerEntryType.Symlink);
    }

    [Fact]
    public void Merge_HardLinks_FirstMemberInImageOrderCarriesTheBytes()
    {
        using var tmp = new TempFolder();
        var a = Layer(tmp, "a", w =>
        {
            w.AddFile("z/file", Attr(LayerEntryType.File, "755"), "content"u8);
            w.AddHardLink("a/link", "z/file", Attr(LayerEntryType.File));
        });
        var m = OverlayMerge.Create([a]);
        var first = m.Entries.Single(e => e.Path == "a/link").Entry;
        var second = m.Entries.Single(e => e.Path == "z/file").Entry;
        Assert.Equal(LayerEntryType.File, first.Type);
        Assert.Equal(7, first.Size);
        Assert.Equal(Convert.ToInt32("755", 8), first.Attributes.Mode);
        Assert.Equal(LayerEntryType.HardLink, second.Type);
        Assert.Equal("a/link", second.LinkTarget);
    }

    [Fact]
    public void Merge_HardLinkWhoseFileLostItsPath_StillGetsTheFilesBytes()
    {
        using var tmp = new TempFolder();
        var a = Layer(tmp, "a", w => w.AddFile("bin/tool", Attr(LayerEntryType.File), "first"u8));
        var b = Layer(tmp, "b", w =>
        {
            w.AddFile("bin/tool", Attr(LayerEntryType.File), "second"u8);
            w.AddHardLink("sbin/tool", "bin/tool", Attr(LayerEntryType.File));
        });
        var m = OverlayMerge.Create([a, b]);
        var packed = tmp["o.tar.gz"];
        OverlayPacker.PackToFile([a, b], packed, null, new PackOptions());
        using var x = new TempFolder();
        Tool.Run("tar", "-xzf", packed, "-C", x.Path).EnsureSuccess("tar -xzf");
        Assert.Equal("first", File.ReadAllText(x["bin/tool"]));
        Assert.Equal("second", File.ReadAllText(x["sbin/tool"]));
        Assert.Single(m.Conflicts);
    }

    [Fact]
    public void TreeOrder_PutsParentsBeforeChildren_AndSortsSiblingsOrdinally()
    {
        string[] paths = ["a-b", "a/b", "a", "B", "a/b/c", "a.txt", "b"];
        Array.Sort(paths, ImagePath.TreeOrder);
        Assert.Equal(["B", "a", "a/b", "a/b/c", "a-b", "a.txt", "b"], paths);
    }

    [Fact]
    public void Pack_Listing_ShowsModesOwnersLinksAndBytesPerLayer()
    {
        using var tmp = new TempFolder();
        var a = Layer(tmp, "files", w =>
        {
            w.AddFile("usr/local/bin/su", Attr(LayerEntryType.File, "4755"), "12345"u8);
            w.AddSymlink("usr/local/mcollective", "/usr/local/tce.installed/mcollective-1.2.1", Attr(LayerEntryType.Symlink));
            w.AddDevice("dev/console", LayerEntryType.CharacterDevice, 5, 1, Attr(LayerEntryType.File, "600"));
            w.AddDirectory("tmp", Attr(LayerEntryType.Directory, "1777"));
        });
        var m = OverlayMerge.Create([a]);
        var listing = System.Text.RegularExpressions.Regex.Replace(OverlayPacker.Listing(m, 0), " +", " ");
        Assert.Contains("-rwsr-xr-x root/root 5 1970-01-01 00:00 usr/local/bin/su\n", listing);
        Assert.Contains("lrwxrwxrwx root/root 0 1970-01-01 00:00 usr/local/mcollective -> /usr/local/tce.installed/mcollective-1.2.1\n", listing);
        Assert.Contains("crw------- root/root 5,1 1970-01-01 00:00 dev/console\n", listing);
        Assert.Contains("drwxrwxrwt root/root", listing);
        Assert.Matches(@"# 5 bytes \d+ entries 0 dropped files", listing);
    }
}
