using Razor.Microkernel.Formats.Layers;
using Razor.Microkernel.Formats.SquashFs;
using Razor.Microkernel.TestSupport;
using Xunit.Abstractions;

namespace Razor.Microkernel.Formats.Tests.SquashFs;

/// <summary>Data buffers are pooled: extracting an image allocates less than one block's bytes per block decoded.
/// Not zero: about 1-2 KB of small objects per block remain (the decoder stream objects of System.IO.Compression,
/// which has no reusable span decoder in .NET 10, and the task that runs each block). A buffer allocated per block
/// would exceed the bound. Runs alone, with the fuzz test, so that the process-wide count is this test's own.</summary>
[Collection(nameof(SquashFsFuzzTests))]
public sealed class SquashFsAllocationTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("-b 4096")]
    [InlineData("-comp zstd -b 4096")]
    [InlineData("-comp lz4 -b 4096")]
    public void Extract_AllocatesFarLessThanABlockPerBlock(string args)
    {
        using var tmp = new TempFolder("rmk-sqfs-alloc");
        var src = tmp["src"];
        Directory.CreateDirectory(src);
        var rng = new Random(5);
        for (var f = 0; f < 4; f++)
        {
            var content = new byte[2 << 20];
            for (var i = 0; i < content.Length; i++)
            {
                content[i] = (i / 4096 % 3) == 0 ? (byte)rng.Next(256) : (byte)"squashfs blocks\n"[i % 16];
            }

            File.WriteAllBytes(Path.Combine(src, $"f{f}"), content);
        }

        var image = tmp["i.sqfs"];
        Tool.Run("mksquashfs", new[] { src, image, "-noappend", "-no-progress", "-quiet", "-no-xattrs" }.Concat(args.Split(' ')))
            .EnsureSuccess("mksquashfs");
        const int blocks = 4 * (2 << 20) / 4096;

        long Extract()
        {
            var before = GC.GetTotalAllocatedBytes(precise: true);
            using (var img = SquashFsImage.Open(image))
            using (var w = new LayerWriter(Stream.Null))
            {
                Assert.Equal(8L << 20, SquashFsExtractor.ExtractToLayer(img, w, new SquashFsExtractOptions()).ContentBytes);
                w.Finish();
            }

            return GC.GetTotalAllocatedBytes(precise: true) - before;
        }

        Extract(); // warms the pool, the JIT and the codec
        var allocated = Extract();
        output.WriteLine($"{args}: {allocated:N0} bytes for {blocks} blocks, {allocated / blocks:N0} per block");
        Assert.True(allocated / blocks < 4096, $"{allocated:N0} bytes allocated for {blocks} blocks of 4 KiB");
    }
}
