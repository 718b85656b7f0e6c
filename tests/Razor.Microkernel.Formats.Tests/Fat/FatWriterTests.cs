using System.Security.Cryptography;
using System.Text;
using Razor.Microkernel.Formats.Fat;
using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Formats.Tests.Fat;

/// <summary>Images from <see cref="FatWriter"/> checked by the real tools: <c>fsck.vfat -n</c> finds them clean,
/// <c>minfo</c> and <c>mdir</c> list them, <c>mcopy</c> copies every file back with its bytes.</summary>
public sealed class FatWriterTests
{
    private static readonly DateTimeOffset Time = new(2012, 2, 7, 10, 20, 30, TimeSpan.Zero);

    private static string Write(TempFolder tmp, IEnumerable<FatWriterEntry> entries, FatWriterOptions? options = null, string name = "w.img")
    {
        var path = tmp[name];
        FatWriter.WriteFile(path, entries, options ?? new FatWriterOptions { Timestamp = Time });
        return path;
    }

    private static void AssertClean(string image)
    {
        var fsck = Tool.Run("fsck.vfat", "-n", "-v", image);
        Assert.True(fsck.ExitCode == 0, $"fsck.vfat -n found problems:\n{fsck.StdOut}\n{fsck.StdErr}");
        Assert.DoesNotContain("differ", fsck.StdOut, StringComparison.Ordinal);
        Assert.DoesNotContain("Free cluster summary", fsck.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public void Write_FsckFindsItClean_MdirListsLongAndShortNames_McopyCopiesEveryFileBack()
    {
        using var tmp = new TempFolder("fatw");
        var image = Write(tmp, FatFixtures.Entries());
        AssertClean(image);

        var root = FatFixtures.Mtools("mdir", "-i", image, "::").StdOut;
        Assert.Contains("Volume in drive : is EFIBOOT", root);
        Assert.Contains("Volume Serial Number is 524D-4B31", root);
        Assert.Matches(@"ARATHE~1 TEX +5000 2012-02-07 +10:20 +A rather long name, with spaces and \(parentheses\)\.text", root);
        Assert.Matches(@"MIXEDC~1 GZ +10 2012-02-07 +10:20 +Mixed\.Case\.Name\.tar\.gz", root);
        Assert.Matches(@"ZERO +TXT +0 2012-02-07 +10:20 +zero\.txt", root);
        var dir = FatFixtures.Mtools("mdir", "-i", image, "::dir").StdOut;
        Assert.Matches(@"LONGNA~1 TXT +1 .* LONGNAME1\.TXT", dir);
        Assert.Matches(@"LONGNA~2 TXT +1 .* longname1\.txt2", dir);
        Assert.Matches(@"LONGNA~3 TXT +2 .* longname1234\.txt", dir);
        Assert.Matches(@"LONGNA~4 TXT +3 .* longname1235\.txt", dir);
        var boot = FatFixtures.Mtools("mdir", "-i", image, "::EFI/BOOT").StdOut;
        Assert.Matches(@"BOOTX64 +EFI +150000 ", boot);
        Assert.Matches(@"GRUB +CFG +14 .* grub\.cfg", boot);

        var output = tmp["out"];
        Directory.CreateDirectory(output);
        FatFixtures.Mtools("mcopy", "-s", "-n", "-i", image, "::*", output);
        foreach (var e in FatFixtures.Entries())
        {
            var path = Path.Combine(output, e.Path);
            if (e.IsDirectory)
            {
                Assert.True(Directory.Exists(path), e.Path);
                continue;
            }

            using var expected = e.OpenContent!();
            Assert.Equal(SHA256.HashData(expected), SHA256.HashData(File.ReadAllBytes(path)));
        }
    }

    [Fact]
    public void Write_IsDeterministic_WhateverTheEntryOrder()
    {
        using var a = new MemoryStream();
        using var b = new MemoryStream();
        FatWriter.Write(a, FatFixtures.Entries(), new FatWriterOptions { Timestamp = Time });
        FatWriter.Write(b, FatFixtures.Entries().AsEnumerable().Reverse(), new FatWriterOptions { Timestamp = Time });
        Assert.Equal(a.ToArray(), b.ToArray());
    }

    [Theory]
    [InlineData(100_000, FatType.Fat12, "FAT12")]
    [InlineData(1_900_000, FatType.Fat12, "FAT12")]
    [InlineData(2_200_000, FatType.Fat16, "FAT16")]
    [InlineData(40_000_000, FatType.Fat16, "FAT16")]
    public void Write_TypeFollowsTheClusterCount_AndMinfoAgrees(int loaderBytes, FatType type, string minfoType)
    {
        using var tmp = new TempFolder("fatw");
        var path = tmp["t.img"];
        var result = FatWriter.WriteFile(path, [FatWriterEntry.File("EFI/BOOT/BOOTX64.EFI", FatFixtures.Bytes(loaderBytes, 1))]);
        Assert.Equal(type, result.Type);
        Assert.Equal(new FileInfo(path).Length, result.Bytes);
        Assert.Equal(0, result.Bytes % 2048); // whole CD blocks, for El Torito and the hybrid GPT
        var minfo = FatFixtures.Mtools("minfo", "-i", path, "::").StdOut;
        Assert.Contains($"disk type=\"{minfoType}", minfo);
        AssertClean(path);
        using var read = FatImage.Open(path);
        Assert.Equal(type, read.Type);
        Assert.Equal(result.Clusters, read.ClusterCount);
    }

    [Fact]
    public void Write_MinimumBytes_GivesFreeClustersTheToolsSeeAsFree()
    {
        using var tmp = new TempFolder("fatw");
        var path = Write(tmp, [FatWriterEntry.File("a.txt", Encoding.ASCII.GetBytes("a\n"))], new FatWriterOptions { MinimumBytes = 3_000_000 });
        Assert.InRange(new FileInfo(path).Length, 3_000_000, 3_000_000 + 4096);
        AssertClean(path);
        Assert.Contains("bytes free", FatFixtures.Mtools("mdir", "-i", path, "::").StdOut);
    }

    [Fact]
    public void Write_RefusesNamesFatCannotHold_DuplicatesIgnoringCase_AndContentOfTheWrongLength()
    {
        var bad = new[] { "a*b", "a:b", "what?", "trailing.", " lead", "back\\slash", "pipe|", new string('n', 256) };
        foreach (var name in bad)
        {
            var e = Assert.Throws<FatWriteException>(() => FatWriter.Write(Stream.Null, [FatWriterEntry.File(name, [1])]));
            Assert.Equal(name, e.EntryPath);
        }

        Assert.Contains("twice", Assert.Throws<FatWriteException>(() => FatWriter.Write(Stream.Null,
            [FatWriterEntry.File("EFI/grub.cfg", [1]), FatWriterEntry.File("efi/GRUB.CFG", [2])])).Message);
        Assert.Contains("not a folder", Assert.Throws<FatWriteException>(() => FatWriter.Write(Stream.Null,
            [FatWriterEntry.File("a", [1]), FatWriterEntry.File("a/b", [2])])).Message);
        Assert.Contains("ended", Assert.Throws<FatWriteException>(() => FatWriter.Write(Stream.Null,
            [FatWriterEntry.File("a", 10, () => new MemoryStream(new byte[5]))])).Message);
        Assert.Contains("longer", Assert.Throws<FatWriteException>(() => FatWriter.Write(Stream.Null,
            [FatWriterEntry.File("a", 1, () => new MemoryStream(new byte[5]))])).Message);
        Assert.Contains("label", Assert.Throws<FatWriteException>(() => FatWriter.Write(Stream.Null,
            [FatWriterEntry.File("a", [1])], new FatWriterOptions { VolumeLabel = "lower" })).Message);
    }

    [Fact]
    public void Write_ManyEntries_GrowsTheRootAndFolders_AndStaysClean()
    {
        using var tmp = new TempFolder("fatw");
        var entries = Enumerable.Range(0, 700).Select(i => FatWriterEntry.File($"r/file-{i:D4}-with-a-long-name.dat", FatFixtures.Bytes(i * 7, i)))
            .Concat(Enumerable.Range(0, 600).Select(i => FatWriterEntry.File($"ROOT{i:D4}.BIN", FatFixtures.Bytes(3, i))))
            .ToList();
        var path = Write(tmp, entries);
        AssertClean(path);
        using var read = FatImage.Open(path);
        Assert.Equal(1301, read.Entries.Count);
        var listing = FatFixtures.Mtools("mdir", "-i", path, "::r").StdOut;
        Assert.Contains("file-0699-with-a-long-name.dat", listing);
        Assert.Matches(@"\b702 files +1 712 550 bytes", listing); // mdir counts "." and ".." among the files; the bytes are 7 x (0 + … + 699)
    }
}
