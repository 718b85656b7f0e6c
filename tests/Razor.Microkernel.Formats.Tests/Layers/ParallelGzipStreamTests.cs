using System.IO.Compression;
using Razor.Microkernel.Formats.Compression;
using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Formats.Tests.Layers;

public class ParallelGzipStreamTests
{
    private static byte[] Data(int length, int seed)
    {
        var rng = new Random(seed);
        var words = new[] { "ruby", "facter", "mcollective", "tinycore", "lib", "so", "\n", " ", "def ", "end\n" };
        var ms = new MemoryStream();
        while (ms.Length < length)
        {
            if (rng.Next(10) == 0)
            {
                var noise = new byte[rng.Next(1, 300)];
                rng.NextBytes(noise);
                ms.Write(noise);
            }
            else
            {
                ms.Write(System.Text.Encoding.ASCII.GetBytes(words[rng.Next(words.Length)]));
            }
        }

        return ms.ToArray()[..length];
    }

    private static byte[] Compress(byte[] data, int level, int workers, int writeSize)
    {
        var ms = new MemoryStream();
        using (var gz = new ParallelGzipStream(ms, level, workers, chunkSize: 64 * 1024, leaveOpen: true))
        {
            for (var i = 0; i < data.Length; i += writeSize)
            {
                gz.Write(data, i, Math.Min(writeSize, data.Length - i));
            }
        }

        return ms.ToArray();
    }

    [Theory]
    [InlineData(0, 6)]
    [InlineData(1, 6)]
    [InlineData(65536, 6)]
    [InlineData(65537, 1)]
    [InlineData(1_000_000, 6)]
    [InlineData(1_000_000, 9)]
    [InlineData(300_000, 0)]
    public void Compress_GunzipReadsOneMemberWithTheSameBytes(int length, int level)
    {
        var data = Data(length, length);
        var gz = Compress(data, level, 2, 7919);
        using var tmp = new TempFolder();
        File.WriteAllBytes(tmp["x.gz"], gz);
        Tool.Run("gzip", "-t", tmp["x.gz"]).EnsureSuccess("gzip -t");
        Tool.Run("gzip", "-d", tmp["x.gz"]).EnsureSuccess("gzip -d");
        Assert.Equal(data, File.ReadAllBytes(tmp["x"]));
        var back = new MemoryStream();
        new GZipStream(new MemoryStream(gz), CompressionMode.Decompress).CopyTo(back);
        Assert.Equal(data, back.ToArray());
    }

    [Fact]
    public void Compress_OutputDoesNotDependOnWorkersOrWriteSizes()
    {
        var data = Data(700_000, 1);
        var reference = Compress(data, 6, 1, 1 << 20);
        Assert.Equal(reference, Compress(data, 6, 4, 333));
        Assert.Equal(reference, Compress(data, 6, 2, 65536));
    }

    [Fact]
    public void Compress_HeaderHasNoNameAndNoTime()
    {
        var gz = Compress(Data(10, 2), 6, 1, 10);
        Assert.Equal(new byte[] { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3 }, gz[..10]);
    }

    [Fact]
    public void Compress_SizeIsCloseToGzip6()
    {
        var data = Data(2_000_000, 3);
        using var tmp = new TempFolder();
        File.WriteAllBytes(tmp["x"], data);
        Tool.Run("gzip", "-6", "-n", "-k", tmp["x"]).EnsureSuccess("gzip -6");
        var theirs = new FileInfo(tmp["x.gz"]).Length;
        var ours = Compress(data, 6, 2, 1 << 16).Length;
        Assert.True(ours <= theirs * 1.03, $"ours {ours} vs gzip -6 {theirs}");
    }

    [Fact]
    public void Abandon_IgnoresLaterWrites_AndClosingWritesNothingMore()
    {
        var data = Data(1_000_000, 3);
        var ms = new MemoryStream();
        var gz = new ParallelGzipStream(ms, 9, 2, chunkSize: 64 * 1024, leaveOpen: true);
        gz.Write(data, 0, 500_000);
        gz.Abandon();
        var length = ms.Length;
        gz.Write(data, 500_000, 500_000);
        gz.Dispose();
        Assert.Equal(length, ms.Length);
        Assert.Throws<ObjectDisposedException>(() => gz.Write(data, 0, 1));

        // The pool gets its buffers back: a normal stream afterwards works.
        Assert.Equal(data, Gunzip(Compress(data, 6, 2, 65536)));
    }

    [Fact]
    public void Closing_AfterTheTokenIsCancelled_StopsWithOperationCanceled_AndWritesNoTrailer()
    {
        using var cts = new CancellationTokenSource();
        var ms = new MemoryStream();
        var gz = new ParallelGzipStream(ms, 9, 2, chunkSize: 64 * 1024, leaveOpen: true, cancellationToken: cts.Token);
        gz.Write(Data(300_000, 5));
        cts.Cancel();
        var length = ms.Length;
        Assert.Throws<OperationCanceledException>(gz.Dispose);
        Assert.Equal(length, ms.Length);
        Assert.Throws<OperationCanceledException>(() => new ParallelGzipStream(new MemoryStream(), 9, 2, chunkSize: 64 * 1024, cancellationToken: cts.Token)
            .Write(Data(1_000_000, 6)));
    }

    private static byte[] Gunzip(byte[] gz)
    {
        using var z = new GZipStream(new MemoryStream(gz), CompressionMode.Decompress);
        using var output = new MemoryStream();
        z.CopyTo(output);
        return output.ToArray();
    }
}
