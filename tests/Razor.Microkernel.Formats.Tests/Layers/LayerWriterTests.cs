using Razor.Microkernel.Formats;
using Razor.Microkernel.Formats.Layers;
using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Formats.Tests.Layers;

public class LayerWriterTests
{
    private static readonly Ownership Tc = new(1001, 50, "tc", "staff");

    [Fact]
    public void Write_AllEntryTypes_GnuTarListsThemWithModesOwnersAndLinks()
    {
        using var tmp = new TempFolder();
        var layer = tmp["layer.tar"];
        using (var w = new LayerWriter(File.Create(layer), 946684800))
        {
            w.AddDirectory("/home/tc", new EntryAttributes(Convert.ToInt32("750", 8), Tc, 946684800));
            w.AddFile("home/tc/.profile", new EntryAttributes(Convert.ToInt32("644", 8), Tc, 946684800), "echo hi\n"u8);
            w.AddFile("usr/local/bin/su", new EntryAttributes(Convert.ToInt32("4755", 8), Ownership.Root, 946684800), "x"u8);
            w.AddDirectory("tmp", new EntryAttributes(Convert.ToInt32("1777", 8), Ownership.Root, 946684800));
            w.AddSymlink("usr/local/mcollective", "/usr/local/tce.installed/mcollective-1.2.1", EntryAttributes.Default(LayerEntryType.Symlink, 946684800));
            w.AddHardLink("usr/local/bin/su2", "usr/local/bin/su", EntryAttributes.Default(LayerEntryType.File, 946684800));
            w.AddDevice("dev/console", LayerEntryType.CharacterDevice, 5, 1, new EntryAttributes(Convert.ToInt32("600", 8), Ownership.Root, 946684800));
            w.AddDevice("dev/sda", LayerEntryType.BlockDevice, 8, 0, new EntryAttributes(Convert.ToInt32("660", 8), Ownership.Root, 946684800));
            w.AddFifo("run/fifo", new EntryAttributes(Convert.ToInt32("600", 8), Ownership.Root, 946684800));
            var longName = "usr/" + string.Join('/', Enumerable.Repeat(new string('d', 60), 5)) + "/" + new string('f', 120);
            w.AddFile(longName, EntryAttributes.Default(LayerEntryType.File, 946684800), "long"u8);
            w.Finish();
        }

        var listing = Tool.Run("tar", "--numeric-owner", "-tvf", layer).EnsureSuccess("tar -tvf").StdOut;
        Assert.Contains("drwxr-x--- 1001/50", listing);
        Assert.Contains("-rwsr-xr-x 0/0", listing);
        Assert.Contains("drwxrwxrwt 0/0", listing);
        Assert.Contains("usr/local/mcollective -> /usr/local/tce.installed/mcollective-1.2.1", listing);
        Assert.Contains("usr/local/bin/su2 link to usr/local/bin/su", listing);
        Assert.Matches(@"crw------- 0/0 +5,1 .* dev/console", listing);
        Assert.Matches(@"brw-rw---- 0/0 +8,0 .* dev/sda", listing);
        Assert.Contains("prw------- 0/0", listing);
        Assert.Contains(new string('f', 120), listing);
        var named = Tool.Run("tar", "-tvf", layer).EnsureSuccess("tar -tvf").StdOut;
        Assert.Contains("drwxr-x--- tc/staff", named);

        var entries = LayerReader.ReadAll(layer);
        Assert.Contains(entries, e => e.Path == "usr" && e.Implicit);
        Assert.Contains(entries, e => e.Path == "home/tc" && !e.Implicit && e.Attributes.Owner == Tc);
        Assert.Equal(Convert.ToInt32("4755", 8), entries.Single(e => e.Path == "usr/local/bin/su").Attributes.Mode);
    }

    [Fact]
    public void Write_SameEntries_GivesSameBytes()
    {
        static byte[] Make()
        {
            var ms = new MemoryStream();
            using (var w = new LayerWriter(ms, 0, leaveOpen: true))
            {
                w.AddFile(new string('x', 200) + "/" + new string('y', 150), EntryAttributes.Default(LayerEntryType.File, 5), "a"u8);
                w.Finish();
            }

            return ms.ToArray();
        }

        Assert.Equal(Make(), Make());
    }

    [Theory]
    [InlineData("")]
    [InlineData("/")]
    [InlineData("a/../b")]
    [InlineData("..")]
    [InlineData("a\0b")]
    public void Normalize_RefusesBadPaths(string path)
        => Assert.Throws<InvalidImagePathException>(() => ImagePath.Normalize(path));

    [Theory]
    [InlineData("/usr//local/./bin/", "usr/local/bin")]
    [InlineData("./etc", "etc")]
    [InlineData("a", "a")]
    public void Normalize_CleansPaths(string path, string expected) => Assert.Equal(expected, ImagePath.Normalize(path));

    [Fact]
    public void Write_BelowSymlinkOrFile_IsRefused()
    {
        using var w = new LayerWriter(new MemoryStream());
        w.AddSymlink("usr/lib", "/lib", EntryAttributes.Default(LayerEntryType.Symlink, 0));
        Assert.Throws<LayerConflictException>(() => w.AddFile("usr/lib/x", EntryAttributes.Default(LayerEntryType.File, 0), "x"u8));
        w.AddFile("etc/f", EntryAttributes.Default(LayerEntryType.File, 0), "x"u8);
        Assert.Throws<LayerConflictException>(() => w.AddDirectory("etc/f/sub", EntryAttributes.Default(LayerEntryType.Directory, 0)));
        Assert.Throws<LayerConflictException>(() => w.AddFile("etc/f", EntryAttributes.Default(LayerEntryType.File, 0), "y"u8));
        Assert.Throws<LayerConflictException>(() => w.AddHardLink("etc/h", "etc/missing", EntryAttributes.Default(LayerEntryType.File, 0)));
    }
}
