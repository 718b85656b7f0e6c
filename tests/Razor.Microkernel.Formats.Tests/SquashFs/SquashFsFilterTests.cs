using Razor.Microkernel.Formats.Layers;
using Razor.Microkernel.Formats.SquashFs;
using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Formats.Tests.SquashFs;

/// <summary>Files and Prefix options, hard links under a filter, huge files, cancellation.</summary>
public sealed class SquashFsFilterTests
{
    private static List<LayerEntry> ExtractToList(byte[] image, SquashFsExtractOptions options, out SquashFsExtractResult result)
    {
        using var tmp = new TempFolder();
        var layer = tmp["l.tar"];
        using (var img = SquashFsImage.Open(new MemoryStream(image)))
        using (var w = new LayerWriter(File.Create(layer)))
        {
            result = SquashFsExtractor.ExtractToLayer(img, w, options);
            w.Finish();
        }

        return LayerReader.ReadAll(layer);
    }

    private static byte[] Sample(out SquashFsBuilder b)
    {
        b = new SquashFsBuilder();
        var usr = b.Directory(b.Root, "usr", 0x1C0);
        var local = b.Directory(usr, "local");
        var bin = b.Directory(local, "bin");
        var lib = b.Directory(local, "lib");
        var sbin = b.Directory(local, "sbin");
        b.File(bin, "lscpu", "lscpu"u8.ToArray(), 0x1ED);
        b.File(bin, "mount", "mount"u8.ToArray(), 0x9ED);
        b.File(sbin, "sfdisk", "sfdisk"u8.ToArray(), 0x1ED);
        var so = b.File(lib, "libblkid.so.1.1.0", new byte[6000]);
        b.Entry(lib, "libblkid.so.1", so);
        b.Symlink(lib, "libblkid.so", "libblkid.so.1");
        b.File(lib, "libblkid.a", "ar"u8.ToArray());
        var ruby = b.Directory(b.Root, "ruby");
        b.File(ruby, "a.rb", "1"u8.ToArray());
        b.File(b.Directory(ruby, "deep"), "b.rb", "2"u8.ToArray());
        b.File(ruby, "c.txt", "3"u8.ToArray());
        b.Directory(b.Root, "empty");
        return b.Build();
    }

    [Fact]
    public void Extract_FilesAndPrefix_KeepsMatchesWithTheirFoldersUnderThePrefix()
    {
        var image = Sample(out _);
        var entries = ExtractToList(image, new SquashFsExtractOptions
        {
            Files = ["usr/local/bin/lscpu", "/usr/local/sbin/sfdisk", "usr/local/lib/*.so*", "**/*.rb"],
            Prefix = "/tmp/tcloop/util-linux",
        }, out var result);

        Assert.Equal(
            [
                "tmp", "tmp/tcloop", "tmp/tcloop/util-linux",
                "tmp/tcloop/util-linux/ruby", "tmp/tcloop/util-linux/ruby/a.rb", "tmp/tcloop/util-linux/ruby/deep", "tmp/tcloop/util-linux/ruby/deep/b.rb",
                "tmp/tcloop/util-linux/usr", "tmp/tcloop/util-linux/usr/local", "tmp/tcloop/util-linux/usr/local/bin", "tmp/tcloop/util-linux/usr/local/bin/lscpu",
                "tmp/tcloop/util-linux/usr/local/lib", "tmp/tcloop/util-linux/usr/local/lib/libblkid.so", "tmp/tcloop/util-linux/usr/local/lib/libblkid.so.1",
                "tmp/tcloop/util-linux/usr/local/lib/libblkid.so.1.1.0",
                "tmp/tcloop/util-linux/usr/local/sbin", "tmp/tcloop/util-linux/usr/local/sbin/sfdisk",
            ],
            entries.Select(e => e.Path).Order(ImagePath.TreeOrder));
        Assert.True(entries.Single(e => e.Path == "tmp/tcloop").Implicit);
        Assert.False(entries.Single(e => e.Path == "tmp/tcloop/util-linux").Implicit);
        Assert.Equal(0x1C0, entries.Single(e => e.Path == "tmp/tcloop/util-linux/usr").Attributes.Mode);

        // The hard link's first kept name carries the content; the second links to it.
        var first = entries.Single(e => e.Path.EndsWith("/libblkid.so.1", StringComparison.Ordinal));
        var second = entries.Single(e => e.Path.EndsWith("/libblkid.so.1.1.0", StringComparison.Ordinal));
        Assert.Equal((LayerEntryType.File, 6000L), (first.Type, first.Size));
        Assert.Equal((LayerEntryType.HardLink, first.Path), (second.Type, second.LinkTarget));
        Assert.Equal(15, result.Entries);
        Assert.Equal(6000 + 5 + 6 + 2, result.ContentBytes);
    }

    [Fact]
    public void Extract_KeepingAFolderKeepsItsContents()
    {
        var entries = ExtractToList(Sample(out _), new SquashFsExtractOptions { Files = ["ruby"] }, out _);
        Assert.Equal(["ruby", "ruby/a.rb", "ruby/c.txt", "ruby/deep", "ruby/deep/b.rb"], entries.Select(e => e.Path).Order(ImagePath.TreeOrder));
    }

    [Fact]
    public void Extract_SecondNameOfAHardLinkAloneIsAFile()
    {
        var entries = ExtractToList(Sample(out _), new SquashFsExtractOptions { Files = ["usr/local/lib/libblkid.so.1.1.0"] }, out _);
        var e = entries.Single(x => x.Path == "usr/local/lib/libblkid.so.1.1.0");
        Assert.Equal((LayerEntryType.File, 6000L), (e.Type, e.Size));
    }

    [Fact]
    public void Extract_SameImageTwice_GivesSameLayerBytes()
    {
        static byte[] Layer(byte[] image)
        {
            var ms = new MemoryStream();
            using var img = SquashFsImage.Open(new MemoryStream(image));
            using (var w = new LayerWriter(ms, leaveOpen: true))
            {
                SquashFsExtractor.ExtractToLayer(img, w, new SquashFsExtractOptions { Prefix = "tmp/tcloop/x" });
                w.Finish();
            }

            return ms.ToArray();
        }

        var image = Sample(out _);
        Assert.Equal(Layer(image), Layer(image));
    }

    [Fact]
    public void ExtractToLayerFile_FailureLeavesThePreviousLayer()
    {
        using var tmp = new TempFolder();
        var good = tmp.Write("good.sqfs", Sample(out _));
        var layer = tmp["layer.tar"];
        var r = SquashFsExtractor.ExtractToLayerFile(good, layer, new SquashFsExtractOptions { Prefix = "tmp/tcloop/s" }, 946684800);
        Assert.Equal(r.Entries + 2, LayerReader.ReadAll(layer).Count);
        var before = File.ReadAllBytes(layer);

        var bad = tmp.Write("bad.sqfs", Sample(out _)[..300]);
        Assert.Throws<SquashFsFormatException>(() => SquashFsExtractor.ExtractToLayerFile(bad, layer, new SquashFsExtractOptions()));
        Assert.Equal(before, File.ReadAllBytes(layer));
        Assert.Single(Directory.GetFiles(tmp.Path, "*.tar*"));
    }

    [Fact]
    public void Extract_HonoursCancellation()
    {
        using var img = SquashFsImage.Open(new MemoryStream(Sample(out _)));
        using var w = new LayerWriter(Stream.Null);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.Throws<OperationCanceledException>(() => SquashFsExtractor.ExtractToLayer(img, w, new SquashFsExtractOptions(), cts.Token));
    }

    [Fact]
    public void Extract_CancellationStopsInsideALargeFile()
    {
        var b = new SquashFsBuilder();
        b.File(b.Root, "big", new byte[2 << 20]);
        using var img = SquashFsImage.Open(new MemoryStream(b.Build()));
        using var cts = new CancellationTokenSource();
        var output = new CancelAfterStream(cts, 100_000);
        using var w = new LayerWriter(output);
        Assert.Throws<OperationCanceledException>(() => SquashFsExtractor.ExtractToLayer(img, w, new SquashFsExtractOptions(), cts.Token));
        Assert.True(output.Length < 1 << 20);
    }

    private sealed class CancelAfterStream(CancellationTokenSource cts, long limit) : MemoryStream
    {
        public override void Write(byte[] buffer, int offset, int count)
        {
            base.Write(buffer, offset, count);
            if (Length > limit)
            {
                cts.Cancel();
            }
        }
    }

    [Fact]
    public void Read_FileAbove4GiB_HasItsSizeAndTail()
    {
        var b = new SquashFsBuilder { BlockSize = 1 << 20 };
        const long size = (4L << 30) + 5000;
        var tail = new byte[5000];
        new Random(3).NextBytes(tail);
        b.SparseFile(b.Root, "huge", size, tail);
        var image = b.Build();

        using var tmp = new TempFolder();
        var path = tmp.Write("huge.sqfs", image);
        Assert.Contains(" 4294972296 ", Tool.Run("unsquashfs", "-lln", path).EnsureSuccess("unsquashfs -lln").StdOut);

        using var img = SquashFsImage.Open(path);
        var e = img.Entries().Single();
        Assert.Equal(size, e.Size);
        using var s = img.OpenRead(e);
        var buffer = new byte[1 << 20];
        long total = 0;
        var nonZero = false;
        int n;
        while ((n = s.Read(buffer)) > 0)
        {
            if (total + n <= size - tail.Length)
            {
                nonZero |= buffer.AsSpan(0, n).ContainsAnyExcept((byte)0);
            }
            else
            {
                var start = (int)Math.Max(0, size - tail.Length - total);
                Assert.Equal(tail.AsSpan((int)(total + start - (size - tail.Length))).ToArray()[..(n - start)], buffer.AsSpan(start, n - start).ToArray());
            }

            total += n;
        }

        Assert.Equal(size, total);
        Assert.False(nonZero);
    }
}
