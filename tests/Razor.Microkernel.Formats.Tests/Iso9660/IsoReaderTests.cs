using System.Buffers.Binary;
using Razor.Microkernel.Formats.Iso9660;

namespace Razor.Microkernel.Formats.Tests.Iso9660;

/// <summary>Images made by xorriso read back by <see cref="IsoReader"/>.</summary>
public sealed class IsoReaderTests(IsoFixtures fixtures) : IClassFixture<IsoFixtures>
{
    [Fact]
    public void Open_RockRidge_ListsTreeWithModesOwnersAndLinks()
    {
        using var iso = IsoReader.Open(fixtures.RockRidge);
        Assert.True(iso.HasRockRidge);
        Assert.True(iso.HasJoliet);
        Assert.Equal(IsoNameSource.RockRidge, iso.NameSource);
        Assert.Equal("RR TEST", iso.VolumeId);

        var tool = iso.Find("usr/local/bin/tool")!;
        Assert.Equal((IsoEntryType.File, 0x9E8, 1001, 50), (tool.Type, tool.Mode, tool.Uid, tool.Gid)); // 04750

        var sh = iso.Find("/usr/local/bin/sh")!;
        Assert.Equal(IsoEntryType.Symlink, sh.Type);
        Assert.Equal("../../../bin/busybox", sh.LinkTarget);
        Assert.Equal(IsoFixtures.AbsTarget, iso.Find("etc/abs")!.LinkTarget); // SL across entries / CE

        var console = iso.Find("etc/console")!;
        Assert.Equal((IsoEntryType.CharacterDevice, 5, 1), (console.Type, console.DeviceMajor, console.DeviceMinor));
        Assert.Equal(IsoEntryType.Fifo, iso.Find("etc/fifo")!.Type);

        Assert.NotNull(iso.Find(IsoFixtures.LongName));
        Assert.NotNull(iso.Find("a/b/c/d/e/f/g/h/i/j/deep.txt"));
        Assert.Equal(0, iso.Find("etc/empty")!.Size);

        var paths = iso.Entries.Select(e => e.Path).ToList();
        Assert.True(paths.IndexOf("usr") < paths.IndexOf("usr/local/bin/tool"));
        var expected = Directory.EnumerateFileSystemEntries(fixtures.Tree, "*", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(fixtures.Tree, p)).Append("boot/isolinux/boot.cat").Order(StringComparer.Ordinal);
        Assert.Equal(expected, paths.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Open_FollowsRelocatedDeepDirectories()
    {
        using var iso = IsoReader.Open(fixtures.Relocated);
        var deep = iso.Find("a/b/c/d/e/f/g/h/i/j/deep.txt")!;
        Assert.Equal("deep\n", IsoFixtures.Text(iso.OpenRead(deep)));
        Assert.Single(iso.Entries, e => e.Name == "deep.txt");
        Assert.Equal(IsoEntryType.Directory, iso.Find("a/b/c/d/e/f/g/h/i/j")!.Type);
    }

    [Fact]
    public void CopyThroughIsoWriter_KeepsTreeAttributesAndContent()
    {
        // The microkernel build's shape: read a release ISO, write a new bootable one from its entries.
        using var source = IsoReader.Open(fixtures.RockRidge);
        var copied = source.Entries
            .Where(e => e.Type is IsoEntryType.File or IsoEntryType.Directory or IsoEntryType.Symlink && e.Path != "boot/isolinux/boot.cat")
            .Select(e => IsoWriterEntry.From(source, e))
            .ToList();
        using var ms = new MemoryStream();
        IsoWriter.Write(ms, copied, new IsoWriterOptions { VolumeId = "COPY", BootImage = "boot/isolinux/isolinux.bin" });
        using var copy = IsoReader.Open(new MemoryStream(ms.ToArray()));
        var expected = source.Entries.Where(e => e.Type is not (IsoEntryType.CharacterDevice or IsoEntryType.Fifo))
            .Select(e => (e.Path, e.Type, e.Mode, e.Uid, e.Gid, e.Type == IsoEntryType.Directory ? 0 : e.Size, e.LinkTarget));
        var actual = copy.Entries.Select(e => (e.Path, e.Type, e.Mode, e.Uid, e.Gid, e.Type == IsoEntryType.Directory ? 0 : e.Size, e.LinkTarget));
        Assert.Equal(expected, actual);
        using var big = copy.OpenRead(copy.Find("usr/big.bin")!);
        using var buffer = new MemoryStream();
        big.CopyTo(buffer);
        Assert.Equal(fixtures.Big, buffer.ToArray());
        Assert.Equal(copy.Find("boot/isolinux/isolinux.bin")!.Extents[0].Block, copy.Boot!.LoadBlock);
    }

    [Fact]
    public void OpenRead_StreamsFileContent()
    {
        using var iso = IsoReader.Open(fixtures.RockRidge);
        using (var s = iso.OpenRead(iso.Find("usr/big.bin")!))
        {
            using var ms = new MemoryStream();
            s.CopyTo(ms, 3000);
            Assert.Equal(fixtures.Big, ms.ToArray());
        }

        Assert.Equal("welcome to razor\n", IsoFixtures.Text(iso.OpenRead(iso.Find("etc/motd")!)));
    }

    [Fact]
    public void Open_ReadsElToritoBootEntry()
    {
        using var iso = IsoReader.Open(fixtures.RockRidge);
        var boot = iso.Boot!;
        Assert.True(boot.Bootable);
        Assert.Equal((0, 4), (boot.MediaType, boot.SectorCount));
        Assert.Equal(iso.Find("boot/isolinux/isolinux.bin")!.Extents[0].Block, boot.LoadBlock);
        Assert.Equal(iso.Find("boot/isolinux/boot.cat")!.Extents[0].Block, boot.CatalogBlock);
    }

    [Fact]
    public void Open_JolietOnly_UsesJolietNames()
    {
        using var iso = IsoReader.Open(fixtures.Joliet);
        Assert.False(iso.HasRockRidge);
        Assert.Equal(IsoNameSource.Joliet, iso.NameSource);
        Assert.Equal("welcome to razor\n", IsoFixtures.Text(iso.OpenRead(iso.Find("etc/motd")!)));
        Assert.NotNull(iso.Find("boot/isolinux/isolinux.cfg"));
        Assert.NotNull(iso.Find("usr/big.bin"));
    }

    [Fact]
    public void Open_Plain_UsesIso9660Names()
    {
        using var iso = IsoReader.Open(fixtures.Plain);
        Assert.Equal(IsoNameSource.Iso9660, iso.NameSource);
        Assert.Equal("welcome to razor\n", IsoFixtures.Text(iso.OpenRead(iso.Find("ETC/MOTD")!)));
        Assert.Equal(0x124, iso.Find("ETC/MOTD")!.Mode);
    }

    [Fact]
    public void Open_RefusesTruncatedImage()
    {
        var bytes = File.ReadAllBytes(fixtures.RockRidge);
        var e = Assert.Throws<IsoFormatException>(() => IsoReader.Open(new MemoryStream(bytes[..(20 * 2048)])));
        Assert.True(e.Offset > 0);
    }

    [Fact]
    public void Open_RefusesDirectoryLoop()
    {
        var bytes = File.ReadAllBytes(fixtures.Plain);
        using var iso = IsoReader.Open(new MemoryStream(bytes));
        var etc = iso.Find("ETC")!;
        var rootBlock = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan((16 * 2048) + 156 + 2));
        // Point ETC's record at the root directory.
        var at = (int)etc.RecordOffset;
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(at + 2), rootBlock);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(at + 6), rootBlock);
        var e = Assert.Throws<IsoFormatException>(() => IsoReader.Open(new MemoryStream(bytes)));
        Assert.Contains("reached twice", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_RefusesExtentBeyondEnd()
    {
        var bytes = File.ReadAllBytes(fixtures.Plain);
        long at;
        using (var iso = IsoReader.Open(new MemoryStream(bytes)))
        {
            at = iso.Find("USR/BIG.BIN")!.RecordOffset;
        }

        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan((int)at + 10), 0x7FFFFFFF);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan((int)at + 14), 0x7FFFFFFF);
        var e = Assert.Throws<IsoFormatException>(() => IsoReader.Open(new MemoryStream(bytes)));
        Assert.Equal(at + 2, e.Offset);
    }

    [Fact]
    public void Open_RefusesMismatchedBothEndianFields()
    {
        var bytes = File.ReadAllBytes(fixtures.Plain);
        bytes[(16 * 2048) + 80] ^= 1;
        var e = Assert.Throws<IsoFormatException>(() => IsoReader.Open(new MemoryStream(bytes)));
        Assert.Equal((16 * 2048) + 80, e.Offset);
    }
}
