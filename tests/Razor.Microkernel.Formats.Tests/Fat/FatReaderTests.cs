using System.Buffers.Binary;
using System.Text;
using Razor.Microkernel.Formats.Fat;

namespace Razor.Microkernel.Formats.Tests.Fat;

/// <summary><see cref="FatImage"/> over images the real tools made (FAT12, FAT16, FAT32 by mkfs.vfat, filled by
/// mcopy), over the writer's images, and over hostile images: each refusal a <see cref="FatFormatException"/> with
/// the offset of what is wrong.</summary>
public sealed class FatReaderTests(FatFixtures fixtures) : IClassFixture<FatFixtures>
{
    [Theory]
    [InlineData("fat12", FatType.Fat12)]
    [InlineData("fat16", FatType.Fat16)]
    [InlineData("fat32", FatType.Fat32)]
    public void Read_ToolMadeImages_GivesEveryFolderFileAndLongName(string name, FatType type)
    {
        using var fat = FatImage.Open(fixtures.Images[name]);
        Assert.Equal(type, fat.Type);
        Assert.Equal("TOOLS", fat.VolumeLabel);
        Assert.Equal(0x12345678u, fat.VolumeSerial);
        Assert.Equal(
            ["Deep", "EFI", "Deep/a", "Deep/empty.txt", "Deep/a/b", "Deep/a/b/" + FatFixtures.LongName, "EFI/BOOT", "EFI/BOOT/BOOTX64.EFI", "EFI/BOOT/grub.cfg"],
            fat.Entries.Select(e => e.Path));
        Assert.Equal(FatFixtures.Loader, ReadAll(fat, "efi/boot/bootx64.efi")); // names ignore case, as FAT does
        Assert.Equal(File.ReadAllBytes(fixtures.Folder["src/grub.cfg"]), ReadAll(fat, "EFI/BOOT/grub.cfg"));
        Assert.Equal(File.ReadAllBytes(fixtures.Folder["src/long"]), ReadAll(fat, "Deep/a/b/" + FatFixtures.LongName));
        Assert.Empty(ReadAll(fat, "Deep/empty.txt"));
        Assert.Equal("GRUB.CFG", fat.Find("EFI/BOOT/grub.cfg")!.ShortName);
        Assert.True(fat.Find("Deep")!.IsDirectory);
    }

    [Fact]
    public void Read_WriterOutput_RoundTripsNamesContentAndTimes()
    {
        var entries = FatFixtures.Entries();
        entries.Add(FatWriterEntry.File("ünïcödé/ñame.txt", Encoding.UTF8.GetBytes("utf-16 long names\n")));
        using var ms = new MemoryStream();
        var time = new DateTimeOffset(2021, 6, 5, 4, 3, 2, TimeSpan.Zero);
        FatWriter.Write(ms, entries, new FatWriterOptions { Timestamp = time, VolumeLabel = "RAZOR MK" });
        ms.Position = 0;
        using var fat = FatImage.Open(ms);
        Assert.Equal("RAZOR MK", fat.VolumeLabel);
        foreach (var e in entries)
        {
            var read = fat.Find(e.Path);
            Assert.NotNull(read);
            Assert.Equal(e.Path, read.Path);
            Assert.Equal(time.UtcDateTime, read.ModificationTime);
            if (!e.IsDirectory)
            {
                using var expected = e.OpenContent!();
                using var copy = new MemoryStream();
                expected.CopyTo(copy);
                Assert.Equal(copy.ToArray(), ReadAll(fat, e.Path));
            }
        }
    }

    private static byte[] ReadAll(FatImage fat, string path)
    {
        using var s = fat.OpenRead(fat.Find(path) ?? throw new InvalidOperationException(path));
        using var m = new MemoryStream();
        s.CopyTo(m);
        return m.ToArray();
    }

    // ---- hostile images, made from a writer image by patching one thing -----------------------------------

    private sealed class Patchable
    {
        public Patchable()
        {
            using var ms = new MemoryStream();
            FatWriter.Write(ms,
            [
                FatWriterEntry.File("EFI/BOOT/BOOTX64.EFI", FatFixtures.Bytes(5000, 1)), // 10 clusters
                FatWriterEntry.File("EFI/BOOT/grub.cfg", Encoding.ASCII.GetBytes("x\n")),
                FatWriterEntry.File("a rather long name.txt", Encoding.ASCII.GetBytes("long\n")),
            ]);
            Bytes = ms.ToArray();
            Geometry = FatGeometry.Parse(Bytes, Bytes.Length);
            using var fat = FatImage.Open(new MemoryStream(Bytes));
            Loader = fat.Find("EFI/BOOT/BOOTX64.EFI")!;
            Boot = fat.Find("EFI/BOOT")!;
            Efi = fat.Find("EFI")!;
            Long = fat.Find("a rather long name.txt")!;
        }

        public byte[] Bytes { get; }

        public FatGeometry Geometry { get; }

        public FatEntry Loader { get; }

        public FatEntry Boot { get; }

        public FatEntry Efi { get; }

        public FatEntry Long { get; }

        public long FatEntryOffset(uint cluster)
        {
            Assert.Equal(FatType.Fat12, Geometry.Type);
            return Geometry.FatOffset(0) + (cluster * 3 / 2);
        }

        public void SetFat12(uint cluster, uint value)
        {
            foreach (var copy in new[] { 0, 1 })
            {
                var at = (int)(Geometry.FatOffset(copy) + (cluster * 3 / 2));
                var word = BinaryPrimitives.ReadUInt16LittleEndian(Bytes.AsSpan(at));
                word = (cluster & 1) == 0 ? (ushort)((word & 0xF000u) | value) : (ushort)((word & 0x000Fu) | (value << 4));
                BinaryPrimitives.WriteUInt16LittleEndian(Bytes.AsSpan(at), word);
            }
        }

        public FatFormatException Refused()
            => Assert.Throws<FatFormatException>(() =>
            {
                using var fat = FatImage.Open(new MemoryStream(Bytes));
                foreach (var e in fat.Entries.Where(e => !e.IsDirectory))
                {
                    using var s = fat.OpenRead(e);
                    s.CopyTo(Stream.Null);
                }
            });
    }

    [Fact]
    public void Refuses_ALoopInAFilesClusterChain()
    {
        var p = new Patchable();
        var c = p.Loader.FirstCluster;
        p.SetFat12(c + 3, c + 1); // ... -> c+3 -> c+1 -> c+2 -> c+3 -> ...
        var e = p.Refused();
        Assert.Contains("longer than 10 clusters", e.Message);
        Assert.Contains("EFI/BOOT/BOOTX64.EFI", e.Message);
        Assert.InRange(e.Offset, p.Geometry.FatOffset(0), p.Geometry.FatOffset(1) - 1);
    }

    [Fact]
    public void Refuses_AChainThatLinksOutsideTheDataArea_OrToAFreeOrBadCluster()
    {
        foreach (var (value, words) in new (uint, string)[] { (0xFF0, "outside the data area"), (0, "free cluster"), (0xFF7, "marked bad"), (1, "outside the data area") })
        {
            var p = new Patchable();
            p.SetFat12(p.Loader.FirstCluster + 4, value);
            var e = p.Refused();
            Assert.Contains(words, e.Message);
            Assert.Equal(p.FatEntryOffset(p.Loader.FirstCluster + 4), e.Offset);
        }
    }

    [Fact]
    public void Refuses_AChainShorterThanTheFileSize()
    {
        var p = new Patchable();
        p.SetFat12(p.Loader.FirstCluster + 4, 0xFFF);
        Assert.Contains("ends after 5 clusters", p.Refused().Message);
    }

    [Fact]
    public void Refuses_AFirstClusterOutOfRange()
    {
        var p = new Patchable();
        BinaryPrimitives.WriteUInt16LittleEndian(p.Bytes.AsSpan((int)p.Loader.RecordOffset + 26), (ushort)(p.Geometry.MaxCluster + 1));
        var e = p.Refused();
        Assert.Contains("outside the data area", e.Message);
        Assert.Equal(p.Loader.RecordOffset, e.Offset);
    }

    [Fact]
    public void Refuses_AFolderThatLeadsBackToItsParent()
    {
        var p = new Patchable();
        // EFI/BOOT's record names EFI's cluster: EFI -> BOOT (= EFI) -> ...
        BinaryPrimitives.WriteUInt16LittleEndian(p.Bytes.AsSpan((int)p.Boot.RecordOffset + 26), (ushort)p.Efi.FirstCluster);
        var e = p.Refused();
        Assert.Contains("reached twice", e.Message);
        Assert.Equal(p.Boot.RecordOffset, e.Offset);
    }

    [Theory]
    [InlineData('/')]
    [InlineData('\\')]
    [InlineData('\0')]
    public void Refuses_ALongNameHoldingASlashOrNul(char c)
    {
        var p = new Patchable();
        // The long-name entry right before the 8.3 record holds the first 13 characters: its first (byte 1), checksum untouched.
        BinaryPrimitives.WriteUInt16LittleEndian(p.Bytes.AsSpan((int)p.Long.RecordOffset - 32 + 1), c);
        var e = p.Refused();
        Assert.Contains("in folder '/'", e.Message);
        Assert.Equal(p.Long.RecordOffset, e.Offset);
    }

    [Theory]
    [InlineData("..")]
    [InlineData(".")]
    public void Refuses_ALongNameThatIsADotName(string name)
    {
        var p = new Patchable();
        // The long name's first entry (right before the 8.3 record) becomes NAME then NUL: the name ends there.
        var first = (int)p.Long.RecordOffset - 32;
        for (var i = 0; i <= name.Length; i++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(p.Bytes.AsSpan(first + 1 + (2 * i)), i < name.Length ? name[i] : '\0');
        }

        var e = p.Refused();
        Assert.Contains($"the name '{name}' in folder '/'", e.Message);
        Assert.Equal(p.Long.RecordOffset, e.Offset);
    }

    [Theory]
    [InlineData(".          ")]
    [InlineData("..         ")]
    public void Refuses_DotEntriesOutsideTheStartOfASubfolder(string shortName)
    {
        var p = new Patchable();
        var grub = p.Bytes.AsSpan().IndexOf("GRUB    CFG"u8);
        Encoding.ASCII.GetBytes(shortName).CopyTo(p.Bytes, grub);
        // the long name's checksum no longer matches: drop the long name (mark it deleted) so the 8.3 name counts
        p.Bytes[grub - 32] = 0xE5;
        Assert.Contains("'.' or '..' entry outside the start of a subfolder", p.Refused().Message);
    }

    [Fact]
    public void Refuses_ALongNameWhoseChecksumDoesNotMatch_AndOneCutShort()
    {
        var p = new Patchable();
        p.Bytes[(int)p.Long.RecordOffset - 32 + 13] ^= 0x5A; // the last long-name entry's checksum
        Assert.Contains("out of sequence", p.Refused().Message);

        p = new Patchable();
        p.Bytes[(int)p.Long.RecordOffset - 32 + 13] ^= 0x5A;
        p.Bytes[(int)p.Long.RecordOffset - 64 + 13] ^= 0x5A; // both: the sequence holds, the 8.3 entry does not match
        Assert.Contains("checksum does not match", p.Refused().Message);

        p = new Patchable();
        p.Bytes[(int)p.Long.RecordOffset - 64] = 0x43; // announces 3 entries ...
        p.Bytes[(int)p.Long.RecordOffset - 32] = 0x02; // ... the next is number 2, then the 8.3 entry comes
        Assert.Contains("cut short", p.Refused().Message);
    }

    [Fact]
    public void Refuses_DuplicateNamesIgnoringCase()
    {
        var p = new Patchable();
        var boot = p.Bytes.AsSpan().IndexOf("BOOTX64 EFI"u8);
        var grub = p.Bytes.AsSpan().IndexOf("GRUB    CFG"u8);
        "BOOTX64 EFI"u8.CopyTo(p.Bytes.AsSpan(grub));
        p.Bytes[grub - 32] = 0xE5; // grub.cfg's long name
        Assert.True(boot > 0);
        Assert.Contains("appears twice", p.Refused().Message);
    }

    [Fact]
    public void Refuses_WhatIsNotFat_WithTheReason()
    {
        Assert.Contains("0x55AA", Assert.Throws<FatFormatException>(() => FatImage.Open(new MemoryStream(FatFixtures.Bytes(4096, 1)))).Message);
        Assert.Contains("too small", Assert.Throws<FatFormatException>(() => FatImage.Open(new MemoryStream(new byte[100]))).Message);
        var p = new Patchable();
        Assert.Contains("claims", Assert.Throws<FatFormatException>(() => FatImage.Open(new MemoryStream(p.Bytes[..(p.Bytes.Length / 2)]))).Message);
        p.Bytes[13] = 3; // sectors per cluster
        Assert.Equal(13, Assert.Throws<FatFormatException>(() => FatImage.Open(new MemoryStream(p.Bytes))).Offset);
        p = new Patchable();
        BinaryPrimitives.WriteUInt32LittleEndian(p.Bytes.AsSpan(36), BinaryPrimitives.ReadUInt16LittleEndian(p.Bytes.AsSpan(22)));
        BinaryPrimitives.WriteUInt16LittleEndian(p.Bytes.AsSpan(22), 0); // the FAT size where FAT32 keeps it: laid out as FAT32, but few clusters
        Assert.Contains("laid out for FAT32", Assert.Throws<FatFormatException>(() => FatImage.Open(new MemoryStream(p.Bytes))).Message);
    }

    [Fact]
    public void Limits_FolderBytesEntriesAndDepth_AreFormatLimitExceptions()
    {
        using var ms = new MemoryStream();
        FatWriter.Write(ms, Enumerable.Range(0, 40).Select(i => FatWriterEntry.File($"d/{i}.txt", [1])).Append(FatWriterEntry.Directory("a/b/c/d/e")));
        var bytes = ms.ToArray();
        Assert.Throws<FormatLimitException>(() => FatImage.Open(new MemoryStream(bytes), new FatLimits { MaxEntries = 10 }));
        Assert.Throws<FormatLimitException>(() => FatImage.Open(new MemoryStream(bytes), new FatLimits { MaxDepth = 3 }));
        Assert.Throws<FormatLimitException>(() => FatImage.Open(new MemoryStream(bytes), new FatLimits { MaxDirectoryBytes = 1024 }));
    }
}
