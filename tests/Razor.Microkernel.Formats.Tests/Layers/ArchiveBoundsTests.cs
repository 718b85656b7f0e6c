using Razor.Microkernel.Formats.Layers;
using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Formats.Tests.Layers;

/// <summary>What ArchiveImporter reads is bounded: unpacked bytes (headers included), bytes after the end marker.</summary>
public class ArchiveBoundsTests
{
    private static void Import(Stream archive, ArchiveImportOptions options)
    {
        using var w = new LayerWriter(new MemoryStream(), 0);
        ArchiveImporter.Import(archive, w, options);
    }

    [Fact]
    public void ZerosAfterTheEndMarker_AreReadOnlyUpToTheBound()
    {
        // An "archive" of 4 GiB of zeros (a sparse file): empty, then padding far beyond a tar record.
        using var dir = new TempFolder("rmk-zeros");
        using var file = new FileStream(dir["zeros.tar"], FileMode.CreateNew, FileAccess.ReadWrite);
        file.SetLength(4L << 30);
        file.Position = 0;
        var e = Assert.Throws<ArchiveTrailingDataException>(() => Import(file, new ArchiveImportOptions()));
        Assert.True(file.Position < (2L << 20), $"read {file.Position} bytes");
        Assert.Equal(1 << 20, e.Maximum);
    }

    [Fact]
    public void GnuTarPadding_IsAccepted()
    {
        // GNU tar pads to a 10 KiB record; bsdtar and tar -b 2048 (1 MiB records) too.
        var tar = TestArchives.Tar(TestArchives.File("a", "a"));
        var padded = new byte[1 << 20];
        tar.CopyTo(padded, 0);
        Import(new MemoryStream(padded), new ArchiveImportOptions());
    }

    [Fact]
    public void UnpackedBytes_CountHeadersAndContent()
    {
        var tar = TestArchives.Tgz(TestArchives.File("a", new string('x', 3000)), TestArchives.File("b", "b"));
        Import(new MemoryStream(tar), new ArchiveImportOptions { MaxBytes = 1 << 20 });
        var e = Assert.Throws<FormatLimitException>(() => Import(new MemoryStream(tar), new ArchiveImportOptions { MaxBytes = 4096 }));
        Assert.Equal(4096, e.Maximum);
        // A header that claims more than the bound is refused before its data is read.
        var claim = Assert.Throws<FormatLimitException>(() => Import(new MemoryStream(tar), new ArchiveImportOptions { MaxBytes = 2048 }));
        Assert.Equal("total size", claim.Limit);
    }
}
