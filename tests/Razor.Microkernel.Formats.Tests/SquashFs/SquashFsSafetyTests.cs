using System.Buffers.Binary;
using System.Text;
using Razor.Microkernel.Formats.Layers;
using Razor.Microkernel.Formats.SquashFs;
using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Formats.Tests.SquashFs;

/// <summary>Hand-made hostile images (REFERENCE.md's "must refuse" list). Each must end in exactly one typed
/// exception with the byte offset, never anything else.</summary>
public sealed class SquashFsSafetyTests
{
    [Fact]
    public void Builder_MakesImagesTheRealUnsquashfsReads()
    {
        var b = new SquashFsBuilder();
        var d = b.Directory(b.Root, "etc");
        var f = b.File(d, "motd", Encoding.ASCII.GetBytes(new string('m', 9000)), uid: 1001);
        b.Entry(d, "motd-link", f);
        b.Symlink(b.Root, "bin", "usr/bin");
        b.Device(d, "null", block: false, rdev: (1 << 8) | 3);
        b.Special(d, "fifo", 6);
        var image = b.Build();

        using var tmp = new TempFolder();
        var path = tmp.Write("b.sqfs", image);
        var listing = Tool.Run("unsquashfs", "-lln", path).EnsureSuccess("unsquashfs -lln").StdOut;
        Assert.Contains("squashfs-root/etc/motd-link", listing);
        Assert.Contains("squashfs-root/bin -> usr/bin", listing);
        Assert.Contains("1001/0", listing);

        var result = Extract(image);
        Assert.Equal(6, result.Entries);
        using var img = SquashFsImage.Open(new MemoryStream(image));
        var entries = img.Entries().ToList();
        Assert.Equal(["bin", "etc", "etc/fifo", "etc/motd", "etc/motd-link", "etc/null"], entries.Select(e => e.Path));
        Assert.Equal(entries[3].InodeReference, entries[4].InodeReference);
    }

    [Theory]
    [InlineData("..")]
    [InlineData(".")]
    [InlineData("a/b")]
    [InlineData("../../etc/passwd")]
    [InlineData("a\0b")]
    public void Extract_RefusesBadName(string name)
    {
        var b = new SquashFsBuilder();
        b.File(b.Root, name, "x"u8.ToArray());
        var image = b.Build();
        var e = AssertRefused<SquashFsFormatException>(image);
        Assert.Equal(b.EntryOffsets[(b.Root, name)], e.Offset);
    }

    [Fact]
    public void Extract_RefusesEmptyName_ANameLengthThatWrapsToZero()
    {
        // The format stores length - 1, so an empty name can only be smuggled in as 0xFFFF (which 16-bit
        // arithmetic turns into 0); the reader computes 65,536 and refuses it at the entry.
        var b = new SquashFsBuilder();
        b.File(b.Root, "f", "x"u8.ToArray());
        var image = b.Build();
        Patch16(image, b.EntryOffsets[(b.Root, "f")] + 6, 0xFFFF);
        var e = AssertRefused<SquashFsFormatException>(image);
        Assert.Equal(b.EntryOffsets[(b.Root, "f")], e.Offset);
    }

    [Fact]
    public void Extract_RefusesUidOrGidIndexOutsideTheIdTable()
    {
        foreach (var field in new[] { 4, 6 })
        {
            var b = new SquashFsBuilder();
            var f = b.File(b.Root, "f", "x"u8.ToArray());
            var image = b.Build();
            Patch16(image, b.InodeOffsets[f] + field, 7);
            var e = AssertRefused<SquashFsFormatException>(image);
            Assert.Equal(b.InodeOffsets[f], e.Offset);
            Assert.Contains("id table", e.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(48, 0ul)] // id table index: a block position inside the superblock
    [InlineData(48, 0x7FFF_FFFF_FFFFul)] // id table index: a block position past the table
    [InlineData(80, 0ul)] // fragment table index: inside the superblock
    [InlineData(80, 0x7FFF_FFFF_FFFFul)] // fragment table index: past the table
    public void Open_RefusesLookupTableIndexPointingOutsideItsTable(int superblockField, ulong position)
    {
        var b = new SquashFsBuilder();
        b.FragmentFile(b.Root, "a", "alpha\n"u8.ToArray());
        var image = b.Build();
        var index = (int)BinaryPrimitives.ReadUInt64LittleEndian(image.AsSpan(superblockField));
        BinaryPrimitives.WriteUInt64LittleEndian(image.AsSpan(index), position);
        var e = AssertRefused<SquashFsFormatException>(image);
        Assert.Equal(index, e.Offset);
    }

    [Fact]
    public void Extract_RefusesDuplicateNames_SymlinkAndFileSharingAName()
    {
        // CVE-2021-41072: a symlink 'x' -> /etc followed by a file 'x/…' or 'x' would write through the link.
        var b = new SquashFsBuilder();
        b.Symlink(b.Root, "x", "/etc");
        b.File(b.Root, "x", "owned"u8.ToArray());
        var image = b.Build();
        var e = AssertRefused<SquashFsFormatException>(image);
        Assert.Contains("unique and sorted", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Extract_RefusesUnsortedNames()
    {
        var b = new SquashFsBuilder { SortEntries = false };
        b.File(b.Root, "b", "1"u8.ToArray());
        b.File(b.Root, "a", "2"u8.ToArray());
        var image = b.Build();
        var e = AssertRefused<SquashFsFormatException>(image);
        Assert.Equal(b.EntryOffsets[(b.Root, "a")], e.Offset);
    }

    [Fact]
    public void Extract_RefusesDirectoryLoopToRoot()
    {
        var b = new SquashFsBuilder();
        var d = b.Directory(b.Root, "d");
        b.Entry(d, "up", b.Root);
        AssertRefused<SquashFsFormatException>(b.Build());
    }

    [Fact]
    public void Extract_RefusesDirectoryContainingItself()
    {
        var b = new SquashFsBuilder();
        var d = b.Directory(b.Root, "d");
        b.Entry(d, "self", d);
        AssertRefused<SquashFsFormatException>(b.Build());
    }

    [Fact]
    public void Extract_RefusesHardLinkedFolder()
    {
        var b = new SquashFsBuilder();
        var d = b.Directory(b.Root, "a");
        b.File(d, "f", "x"u8.ToArray());
        b.Entry(b.Root, "b", d);
        var e = AssertRefused<SquashFsFormatException>(b.Build());
        Assert.Contains("reached twice", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Extract_RefusesEntryTypeThatDisagreesWithItsInode()
    {
        var b = new SquashFsBuilder();
        b.File(b.Root, "f", "x"u8.ToArray());
        var image = b.Build();
        Patch16(image, b.EntryOffsets[(b.Root, "f")] + 4, 3); // says symlink
        AssertRefused<SquashFsFormatException>(image);
    }

    [Fact]
    public void Extract_RefusesHeaderReferenceOutsideTheInodeTable()
    {
        var b = new SquashFsBuilder();
        b.File(b.Root, "f", "x"u8.ToArray());
        var image = b.Build();
        Patch32(image, b.HeaderOffsets[b.Root] + 4, 0x7FFF_FFFF);
        var e = AssertRefused<SquashFsFormatException>(image);
        Assert.Equal(b.HeaderOffsets[b.Root], e.Offset);
    }

    [Fact]
    public void Extract_RefusesEntryOffsetPastItsInodeBlock()
    {
        var b = new SquashFsBuilder();
        b.File(b.Root, "f", "x"u8.ToArray());
        var image = b.Build();
        Patch16(image, b.EntryOffsets[(b.Root, "f")], 8000);
        AssertRefused<SquashFsFormatException>(image);
    }

    [Fact]
    public void Extract_RefusesRootReferenceOutsideTheInodeTable()
    {
        var b = new SquashFsBuilder();
        var image = b.Build();
        BinaryPrimitives.WriteUInt64LittleEndian(image.AsSpan(32), 0x0000_7777_0000_0000);
        AssertRefused<SquashFsFormatException>(image);
    }

    [Theory]
    [InlineData(5000u | 0x1000000u)] // stored size above the block size
    [InlineData(4096u)] // compressed, but the bytes are not a zlib stream
    [InlineData(4000u | 0x1000000u)] // stored, but shorter than the block
    [InlineData(0x0FFFFFFFu)] // reserved bits set
    public void Extract_RefusesBadBlockSize(uint word)
    {
        var b = new SquashFsBuilder();
        var f = b.File(b.Root, "f", new byte[9000]);
        var image = b.Build();
        Patch32(image, b.InodeOffsets[f] + 32, word);
        AssertRefused<SquashFsFormatException>(image);
    }

    [Fact]
    public void Extract_RefusesBlocksOutsideTheDataArea()
    {
        var b = new SquashFsBuilder();
        var f = b.File(b.Root, "f", new byte[9000]);
        var image = b.Build();
        Patch32(image, b.InodeOffsets[f] + 16, (uint)b.InodeTableStart - 100);
        AssertRefused<SquashFsFormatException>(image);
    }

    [Fact]
    public void Extract_RefusesFragmentIndexOutsideTheFragmentTable()
    {
        var b = new SquashFsBuilder();
        var f = b.File(b.Root, "f", new byte[100]);
        var image = b.Build();
        Patch32(image, b.InodeOffsets[f] + 20, 3);
        var e = AssertRefused<SquashFsFormatException>(image);
        Assert.Equal(b.InodeOffsets[f], e.Offset);
    }

    [Fact]
    public void Builder_FragmentsAreReadByUnsquashfsAndUs()
    {
        var b = new SquashFsBuilder();
        b.FragmentFile(b.Root, "a", "alpha\n"u8.ToArray());
        b.FragmentFile(b.Root, "b", "beta\n"u8.ToArray());
        var image = b.Build();
        using var tmp = new TempFolder();
        var path = tmp.Write("f.sqfs", image);
        Tool.Run("unsquashfs", "-d", tmp["out"], path).EnsureSuccess("unsquashfs");
        Assert.Equal("beta\n", File.ReadAllText(tmp["out/b"]));
        using var img = SquashFsImage.Open(path);
        var e = img.Entries().Single(x => x.Path == "b");
        using var s = img.OpenRead(e);
        Assert.Equal("beta\n", new StreamReader(s).ReadToEnd());
    }

    [Theory]
    [InlineData(8, 5000u | 0x1000000u)] // stored size above the block size
    [InlineData(8, 0u)] // empty fragment block
    [InlineData(8, 0x1000000u | 3)] // shorter than the tails it holds
    [InlineData(8, 0x0F000000u | 11)] // reserved bits
    [InlineData(8, 11u)] // compressed, but not a zlib stream
    [InlineData(0, 90u)] // starts inside the superblock
    [InlineData(0, 0x7FFF_FFFFu)] // starts beyond the data area
    public void Extract_RefusesBadFragment(int field, uint value)
    {
        var b = new SquashFsBuilder();
        b.FragmentFile(b.Root, "a", "alpha\n"u8.ToArray());
        b.FragmentFile(b.Root, "b", "beta\n"u8.ToArray());
        var image = b.Build();
        Patch32(image, b.FragmentEntryOffset + field, value);
        var e = AssertRefused<SquashFsFormatException>(image);
        Assert.True(e.Offset > 0);
    }

    [Fact]
    public void Extract_RefusesTailOffsetOutsideItsFragment()
    {
        var b = new SquashFsBuilder();
        b.FragmentFile(b.Root, "a", "alpha\n"u8.ToArray());
        var f = b.FragmentFile(b.Root, "b", "beta\n"u8.ToArray());
        var image = b.Build();
        Patch32(image, b.InodeOffsets[f] + 24, 3000); // offset inside the fragment block
        var e = AssertRefused<SquashFsFormatException>(image);
        Assert.Equal(b.InodeOffsets[f], e.Offset);
    }

    [Fact]
    public void Extract_RefusesUnknownInodeType()
    {
        var b = new SquashFsBuilder();
        var f = b.File(b.Root, "f", new byte[100]);
        var image = b.Build();
        Patch16(image, b.InodeOffsets[f], 15);
        AssertRefused<SquashFsFormatException>(image);
    }

    [Fact]
    public void Extract_RefusesTruncatedImageAtEveryTable()
    {
        var b = new SquashFsBuilder();
        var d = b.Directory(b.Root, "d");
        b.File(d, "f", new byte[10_000]);
        b.Symlink(d, "l", "f");
        var image = b.Build();
        foreach (var cut in new[] { 0, 10, 95, 96, 5000, (int)b.InodeTableStart + 3, (int)b.DirectoryTableStart + 1, image.Length - 9, image.Length - 1 })
        {
            AssertRefused<SquashFsFormatException>(image[..cut]);
        }
    }

    [Fact]
    public void Extract_RefusesSymlinkSizeOfGigabytes()
    {
        var b = new SquashFsBuilder();
        var l = b.Symlink(b.Root, "l", "target");
        var image = b.Build();
        Patch32(image, b.InodeOffsets[l] + 20, 0xFFFF_FFF0);
        AssertRefused<FormatLimitException>(image);
    }

    [Fact]
    public void Extract_RefusesFileSizeAboveTheLimit_BeforeReadingItsBlockList()
    {
        var b = new SquashFsBuilder();
        var f = b.File(b.Root, "f", new byte[100]);
        var image = b.Build();
        Patch32(image, b.InodeOffsets[f] + 28, 0xFFFF_FFF0);
        var e = AssertRefused<FormatLimitException>(image, new SquashFsLimits { MaxTotalBytes = 1L << 30 });
        Assert.Equal(1L << 30, e.Maximum);

        // Under the default limit the 4 GiB file's block list runs out of inode table: a format error.
        AssertRefused<SquashFsFormatException>(image);
    }

    [Fact]
    public void Extract_RefusesDirectoryListingSizeBeyondTheTable()
    {
        var b = new SquashFsBuilder();
        b.File(b.Root, "f", new byte[10]);
        var image = b.Build();
        Patch16(image, b.InodeOffsets[b.Root] + 24, 0xFFFF);
        AssertRefused<SquashFsFormatException>(image);
    }

    [Fact]
    public void Extract_RefusesDirectoryHeaderWithTooManyEntries()
    {
        var b = new SquashFsBuilder();
        b.File(b.Root, "f", new byte[10]);
        var image = b.Build();
        Patch32(image, b.HeaderOffsets[b.Root], 0xFFFF_FFFE);
        AssertRefused<SquashFsFormatException>(image);
    }

    [Theory]
    [InlineData(16, 0xFFFF_FFFFu)] // fragment count
    [InlineData(26, 0xFFFFu)] // id count (u16)
    [InlineData(12, 3u)] // block size
    [InlineData(20, 9u)] // compressor
    [InlineData(0, 0x12345678u)] // magic
    [InlineData(28, 3u)] // version
    public void Open_RefusesBadSuperblockFields(int at, uint value)
    {
        var b = new SquashFsBuilder();
        b.File(b.Root, "f", new byte[10]);
        var image = b.Build();
        if (at is 26 or 20 or 28)
        {
            Patch16(image, at, (ushort)value);
        }
        else
        {
            Patch32(image, at, value);
        }

        AssertRefused<SquashFsFormatException>(image);
    }

    [Fact]
    public void Extract_RefusesMoreEntriesOrDepthThanTheLimits()
    {
        var b = new SquashFsBuilder();
        var d = b.Root;
        for (var i = 0; i < 20; i++)
        {
            d = b.Directory(d, "d" + i);
        }

        var image = b.Build();
        Assert.Equal("path depth", AssertRefused<FormatLimitException>(image, new SquashFsLimits { MaxDepth = 10 }).Limit);
        Assert.Equal("entries in the image", AssertRefused<FormatLimitException>(image, new SquashFsLimits { MaxEntries = 5 }).Limit);
        Assert.Equal(20, Extract(image).Entries);
    }

    [Fact]
    public void Extract_SocketsAreSkippedWithAWarning()
    {
        var b = new SquashFsBuilder();
        b.Special(b.Root, "sock", 7);
        b.Special(b.Root, "fifo", 6);
        var r = Extract(b.Build());
        Assert.Equal(1, r.Entries);
        var w = Assert.Single(r.Warnings);
        Assert.Equal((SquashFsWarningKind.SocketSkipped, "sock"), (w.Kind, w.Path));
    }

    internal static T AssertRefused<T>(byte[] image, SquashFsLimits? limits = null)
        where T : MicrokernelFormatException
    {
        var e = Record.Exception(() => Extract(image, limits));
        Assert.NotNull(e);
        var typed = Assert.IsType<T>(e);
        if (typed is SquashFsFormatException)
        {
            Assert.True(typed.Offset >= 0, $"no offset: {e}");
        }

        return typed;
    }

    internal static SquashFsExtractResult Extract(byte[] image, SquashFsLimits? limits = null)
    {
        using var img = SquashFsImage.Open(new MemoryStream(image), limits);
        using var w = new LayerWriter(new MemoryStream());
        var r = SquashFsExtractor.ExtractToLayer(img, w, new SquashFsExtractOptions());
        w.Finish();
        return r;
    }

    private static void Patch16(byte[] image, long at, ushort v) => BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan((int)at), v);

    private static void Patch32(byte[] image, long at, uint v) => BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan((int)at), v);
}
