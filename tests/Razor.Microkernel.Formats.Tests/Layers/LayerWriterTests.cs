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
    public void Write_ThenRead_RoundTripsEveryTypeModeOwnerAndLink_AndLongNamesUsePaxHeaders()
    {
        var staff = new Ownership(0, 50, "root", "staff");
        var longName = "usr/local/lib/ruby/" + string.Join('/', Enumerable.Repeat(new string('g', 70), 3)) + "/" + new string('h', 110) + ".rb";
        var longTarget = "/usr/local/tce.installed/" + new string('t', 140);
        var ms = new MemoryStream();
        using (var w = new LayerWriter(ms, 7, leaveOpen: true))
        {
            w.AddDirectory("var/spool", new EntryAttributes(Convert.ToInt32("2775", 8), staff, 7));
            w.AddFile("usr/bin/wall", new EntryAttributes(Convert.ToInt32("2755", 8), staff, 7), "wall"u8);
            w.AddFile("usr/bin/passwd", new EntryAttributes(Convert.ToInt32("4711", 8), Ownership.Root, 7), "pw"u8);
            w.AddDirectory("tmp", new EntryAttributes(Convert.ToInt32("1777", 8), Ownership.Root, 7));
            w.AddSymlink("usr/lib/rel", "../share//x/./y", EntryAttributes.Default(LayerEntryType.Symlink, 7));
            w.AddSymlink("opt/long", longTarget, EntryAttributes.Default(LayerEntryType.Symlink, 7));
            w.AddHardLink("usr/bin/wall2", "usr/bin/wall", EntryAttributes.Default(LayerEntryType.File, 7));
            w.AddDevice("dev/tty0", LayerEntryType.CharacterDevice, 4, 0, new EntryAttributes(Convert.ToInt32("620", 8), new Ownership(0, 5, "root", "tty"), 7));
            w.AddDevice("dev/sdb1", LayerEntryType.BlockDevice, 8, 17, new EntryAttributes(Convert.ToInt32("660", 8), Ownership.Root, 7));
            w.AddFifo("run/initctl", new EntryAttributes(Convert.ToInt32("600", 8), Tc, 7));
            w.AddFile(longName, new EntryAttributes(Convert.ToInt32("644", 8), Tc, 7), "long"u8);
            w.Finish();
        }

        ms.Position = 0;
        var read = LayerReader.ReadEntries(ms).Where(e => !e.Implicit).ToDictionary(e => e.Path);
        Assert.Equal(11, read.Count);
        Assert.Equal((LayerEntryType.Directory, Convert.ToInt32("2775", 8), staff), (read["var/spool"].Type, read["var/spool"].Attributes.Mode, read["var/spool"].Attributes.Owner));
        Assert.Equal((LayerEntryType.File, Convert.ToInt32("2755", 8), 4L), (read["usr/bin/wall"].Type, read["usr/bin/wall"].Attributes.Mode, read["usr/bin/wall"].Size));
        Assert.Equal(Convert.ToInt32("4711", 8), read["usr/bin/passwd"].Attributes.Mode);
        Assert.Equal(Convert.ToInt32("1777", 8), read["tmp"].Attributes.Mode);
        Assert.Equal((LayerEntryType.Symlink, "../share//x/./y"), (read["usr/lib/rel"].Type, read["usr/lib/rel"].LinkTarget));
        Assert.Equal(longTarget, read["opt/long"].LinkTarget);
        Assert.Equal((LayerEntryType.HardLink, "usr/bin/wall"), (read["usr/bin/wall2"].Type, read["usr/bin/wall2"].LinkTarget));
        Assert.Equal((LayerEntryType.CharacterDevice, 4, 0, 5, "tty"), (read["dev/tty0"].Type, read["dev/tty0"].DeviceMajor, read["dev/tty0"].DeviceMinor,
            read["dev/tty0"].Attributes.Owner.Gid, read["dev/tty0"].Attributes.Owner.GroupName));
        Assert.Equal((LayerEntryType.BlockDevice, 8, 17), (read["dev/sdb1"].Type, read["dev/sdb1"].DeviceMajor, read["dev/sdb1"].DeviceMinor));
        Assert.Equal((LayerEntryType.Fifo, Tc), (read["run/initctl"].Type, read["run/initctl"].Attributes.Owner));
        Assert.Equal((Tc, 4L, 7L), (read[longName].Attributes.Owner, read[longName].Size, read[longName].Attributes.ModificationTime));

        // Names and link targets beyond ustar's fields travel in PAX extended headers ('x'), not GNU ././@LongLink.
        ms.Position = 0;
        var raw = System.Text.Encoding.Latin1.GetString(ms.ToArray());
        Assert.DoesNotContain("././@LongLink", raw);
        ms.Position = 0;
        using var tar = new System.Formats.Tar.TarReader(ms, leaveOpen: true);
        var pax = new List<System.Formats.Tar.PaxTarEntry>();
        while (tar.GetNextEntry() is { } e)
        {
            if (e is System.Formats.Tar.PaxTarEntry p && p.ExtendedAttributes.Count > 0)
            {
                pax.Add(p);
            }
        }

        Assert.Contains(pax, p => p.ExtendedAttributes.TryGetValue("path", out var v) && v == longName);
        Assert.Contains(pax, p => p.ExtendedAttributes.TryGetValue("linkpath", out var v) && v == longTarget);

        // GNU tar reads the same: setgid shown as 's' in the group's execute place, the long names in full.
        using var tmp = new TempFolder();
        File.WriteAllBytes(tmp["layer.tar"], ms.ToArray());
        var listing = Tool.Run("tar", "-tvf", tmp["layer.tar"]).EnsureSuccess("tar -tvf").StdOut;
        Assert.Contains("drwxrwsr-x root/staff", listing);
        Assert.Contains("-rwxr-sr-x root/staff", listing);
        Assert.Contains(" " + longName + "\n", listing);
        Assert.Contains("opt/long -> " + longTarget, listing);
        Assert.Contains("usr/lib/rel -> ../share//x/./y", listing);
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
