using System.Text;
using Razor.Microkernel.Formats.Layers;
using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Formats.Tests.Layers;

/// <summary>OverlayArchive import, including hostile archives: each ends in a typed error, nothing else.</summary>
public class ArchiveImporterTests
{
    private static List<LayerEntry> Import(byte[] archive, ArchiveImportOptions? options = null)
    {
        var layer = new MemoryStream();
        using (var w = new LayerWriter(layer, 0, leaveOpen: true))
        {
            ArchiveImporter.Import(new MemoryStream(archive), w, options ?? new ArchiveImportOptions { Destination = "usr/local/tce.installed" });
            w.Finish();
        }

        layer.Position = 0;
        return LayerReader.ReadEntries(layer).ToList();
    }

    private static readonly TestArchives.Entry[] Good =
    [
        TestArchives.Dir("./"),
        TestArchives.Dir("./mc/", 0x1ED, 1001, 50),
        TestArchives.File("./mc/run.rb", "puts 1\n", 0x1ED),
        TestArchives.Symlink("./mc/lib", "/usr/lib/ruby"),
        TestArchives.HardLink("./mc/run2.rb", "./mc/run.rb"),
        TestArchives.Fifo("./mc/pipe"),
    ];

    [Fact]
    public void Import_PlainGzipBzip2AndXz_GiveTheSameLayer()
    {
        var tar = TestArchives.Tar(Good);
        using var tmp = new TempFolder();
        File.WriteAllBytes(tmp["a.tar"], tar);
        Tool.Run("bzip2", "-k", tmp["a.tar"]).EnsureSuccess("bzip2");
        Tool.Run("xz", "-k", tmp["a.tar"]).EnsureSuccess("xz");
        var expected = Import(tar);
        Assert.Equal(["usr", "usr/local", "usr/local/tce.installed", "usr/local/tce.installed/mc", "usr/local/tce.installed/mc/run.rb",
            "usr/local/tce.installed/mc/lib", "usr/local/tce.installed/mc/run2.rb", "usr/local/tce.installed/mc/pipe"], expected.Select(e => e.Path));
        foreach (var compressed in new[] { TestArchives.Gzip(tar), File.ReadAllBytes(tmp["a.tar.bz2"]), File.ReadAllBytes(tmp["a.tar.xz"]) })
        {
            Assert.Equal(expected.Select(e => (e.Path, e.Type, e.Attributes, e.LinkTarget)), Import(compressed).Select(e => (e.Path, e.Type, e.Attributes, e.LinkTarget)));
        }

        var mc = expected.Single(e => e.Path.EndsWith("/mc", StringComparison.Ordinal));
        Assert.Equal((1001, 50), (mc.Attributes.Owner.Uid, mc.Attributes.Owner.Gid));
        Assert.Equal("/usr/lib/ruby", expected.Single(e => e.Type == LayerEntryType.Symlink).LinkTarget);
        Assert.Equal("usr/local/tce.installed/mc/run.rb", expected.Single(e => e.Type == LayerEntryType.HardLink).LinkTarget);
    }

    [Fact]
    public void Import_OwnerAndGroupOverride_ApplyToEveryEntry()
    {
        var entries = Import(TestArchives.Tar(Good), new ArchiveImportOptions { Owner = (1001, "tc"), Group = (50, "staff") });
        Assert.All(entries.Where(e => !e.Implicit), e => Assert.Equal(new Ownership(1001, 50, "tc", "staff"), e.Attributes.Owner));
    }

    [Theory]
    [InlineData("../evil")]
    [InlineData("a/../../evil")]
    [InlineData("/etc/passwd")]
    [InlineData("./../x")]
    public void Import_RefusesNamesThatEscape(string name)
    {
        var e = Assert.Throws<UnsafeArchiveEntryException>(() => Import(TestArchives.Tar(TestArchives.File(name, "x"))));
        Assert.Equal(UnsafeEntryKind.Escapes, e.Kind);
    }

    [Fact]
    public void Import_RefusesEntriesBelowASymlinkOfTheArchive()
    {
        var e = Assert.Throws<UnsafeArchiveEntryException>(() => Import(TestArchives.Tar(
            TestArchives.Symlink("etc", "/etc"), TestArchives.File("etc/passwd", "root::0:0"))));
        Assert.Equal(UnsafeEntryKind.Escapes, e.Kind);
        Assert.Contains("below", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("../../etc/shadow")]
    [InlineData("/etc/shadow")]
    [InlineData("not-in-archive")]
    public void Import_RefusesHardLinksToAnythingButAnEarlierFile(string target)
    {
        var e = Assert.Throws<UnsafeArchiveEntryException>(() => Import(TestArchives.Tar(TestArchives.HardLink("x", target))));
        Assert.Equal(UnsafeEntryKind.Escapes, e.Kind);
    }

    [Fact]
    public void Import_RefusesDevicesUnlessAllowed()
    {
        var tar = TestArchives.Tar(TestArchives.Device("dev/sda", block: true, 8, 0), TestArchives.Device("dev/null", block: false, 1, 3));
        Assert.Equal(UnsafeEntryKind.Device, Assert.Throws<UnsafeArchiveEntryException>(() => Import(tar)).Kind);
        var entries = Import(tar, new ArchiveImportOptions { AllowDevices = true });
        Assert.Contains(entries, e => e.Type == LayerEntryType.BlockDevice && e.DeviceMajor == 8 && e.DeviceMinor == 0);
        Assert.Contains(entries, e => e.Type == LayerEntryType.CharacterDevice && e.DeviceMajor == 1 && e.DeviceMinor == 3);
    }

    [Fact]
    public void Import_RefusesDuplicateFiles()
    {
        var e = Assert.Throws<UnsafeArchiveEntryException>(() => Import(TestArchives.Tar(TestArchives.File("a", "1"), TestArchives.File("a", "2"))));
        Assert.Equal(UnsafeEntryKind.Duplicate, e.Kind);
    }

    [Fact]
    public void Import_TruncatedArchives_AreFormatErrors()
    {
        var tar = TestArchives.Tar(TestArchives.File("big", new string('x', 5000)));
        Assert.Throws<ArchiveFormatException>(() => Import(tar[..2000]));
        using var tmp = new TempFolder();
        File.WriteAllBytes(tmp["a.tar"], tar);
        Tool.Run("bzip2", "-k", tmp["a.tar"]).EnsureSuccess("bzip2");
        Tool.Run("xz", "-k", tmp["a.tar"]).EnsureSuccess("xz");
        foreach (var compressed in new[] { TestArchives.Gzip(tar), File.ReadAllBytes(tmp["a.tar.bz2"]), File.ReadAllBytes(tmp["a.tar.xz"]) })
        {
            for (var cut = 1; cut < compressed.Length; cut += 5)
            {
                var bytes = compressed[..cut];
                var ex = Record.Exception(() => Import(bytes));
                Assert.True(ex is ArchiveFormatException, $"cut {cut} of {compressed.Length} (magic {compressed[0]:x2}): {ex?.GetType().Name ?? "no exception"}");
            }
        }
    }

    [Fact]
    public void Import_TarCutAtAnEntryBoundary_IsAFormatError()
    {
        var tar = TestArchives.Tar(TestArchives.File("a", new string('x', 512)), TestArchives.File("b", "y"));
        Assert.Throws<ArchiveFormatException>(() => Import(tar[..1024])); // header + data of 'a', nothing after
        Assert.Throws<ArchiveFormatException>(() => Import(TestArchives.Gzip(tar[..1024])));
    }

    [Fact]
    public void Import_GarbageAndCorruptGzip_AreFormatErrors()
    {
        Assert.Throws<ArchiveFormatException>(() => Import(Encoding.ASCII.GetBytes(new string('z', 3000))));
        var tgz = TestArchives.Gzip(TestArchives.Tar(Good));
        tgz[tgz.Length / 2] ^= 0x55;
        Assert.Throws<ArchiveFormatException>(() => Import(tgz));
        Assert.Throws<ArchiveFormatException>(() => Import([0x1f, 0x8b, 8, 0, 1, 2, 3]));
        Assert.Throws<ArchiveFormatException>(() => Import([(byte)'B', (byte)'Z', (byte)'h', (byte)'9', 1, 2, 3, 4, 5]));
    }

    [Fact]
    public void Import_HugePaxHeader_IsAFormatErrorNotAnAllocation()
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        var ex = Record.Exception(() => Import(TestArchives.HugePaxHeader()));
        Assert.True(ex is ArchiveFormatException or FormatLimitException, ex?.ToString());
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 256L << 20, "allocated too much");
    }

    [Fact]
    public void Import_MultiMemberGzip_IsAccepted()
    {
        var tar = TestArchives.Tar(Good);
        var half = tar.Length / 2;
        var twoMembers = TestArchives.Gzip(tar[..half]).Concat(TestArchives.Gzip(tar[half..])).ToArray();
        Assert.Equal(Import(tar).Select(e => e.Path), Import(twoMembers).Select(e => e.Path));
        var cut = twoMembers[..^3];
        Assert.Throws<ArchiveFormatException>(() => Import(cut));
    }

    [Fact]
    public void Import_EntryCountAndByteLimits_AreEnforced()
    {
        var tar = TestArchives.Tar(TestArchives.File("a", "1234"), TestArchives.File("b", "5678"));
        Assert.Throws<FormatLimitException>(() => Import(tar, new ArchiveImportOptions { MaxEntries = 1 }));
        Assert.Throws<FormatLimitException>(() => Import(tar, new ArchiveImportOptions { MaxBytes = 6 }));
    }

    [Fact]
    public void Import_TopLevelNames_NameTheArchivesTopFolder()
    {
        var layer = new MemoryStream();
        using var w = new LayerWriter(layer, 0, leaveOpen: true);
        var r = ArchiveImporter.Import(new MemoryStream(TestArchives.Tar(TestArchives.Dir("mcollective-1.2.1/"), TestArchives.File("mcollective-1.2.1/x", "1"))), w,
            new ArchiveImportOptions { Destination = "usr/local/tce.installed" });
        Assert.Equal(["mcollective-1.2.1"], r.TopLevelNames);
    }
}
