using System.Buffers.Binary;
using System.Globalization;
using Razor.Microkernel.Formats.Layers;
using Razor.Microkernel.Formats.SquashFs;
using Razor.Microkernel.TestSupport;
using Xunit.Abstractions;

namespace Razor.Microkernel.Formats.Tests.SquashFs;

/// <summary>Seeded mutation fuzzing over small images made by the real mksquashfs (and by the test builder):
/// bit flips, truncations and overwrites of fields with interesting values. Every case must end in success
/// or in one of the two typed exceptions, within a time bound. RMK_FUZZ_ITERATIONS sets the cases per
/// fixture (default 400; RMK_FUZZ_SEED changes the seed) for longer runs. The class runs alone (no other test
/// class in parallel) so that the bytes each case allocates can be measured and bounded.</summary>
[Collection(nameof(SquashFsFuzzTests))]
public sealed class SquashFsFuzzTests : IClassFixture<SquashFsFuzzTests.Fixtures>
{
    private static readonly TimeSpan CaseBound = TimeSpan.FromSeconds(10);

    /// <summary>What one case may allocate in all. The bounded metadata and fragment caches and the pipeline's pooled
    /// buffers stay far below it (under 1 MB per case on these fixtures); an allocation sized from an unchecked
    /// field (a mutated file size, name length, block size or count) does not.</summary>
    private const long CaseAllocationBound = 128L << 20;
    private static readonly SquashFsLimits FuzzLimits = new() { MaxTotalBytes = 64L << 20, MaxEntries = 10_000 };
    private readonly Fixtures _fixtures;
    private readonly ITestOutputHelper _output;

    public SquashFsFuzzTests(Fixtures fixtures, ITestOutputHelper output) => (_fixtures, _output) = (fixtures, output);

    public static TheoryData<string> Names => new() { "gzip-4k", "uncompressed", "lz4", "lzo", "zstd", "xz", "lzma", "builder" };

    [Theory]
    [MemberData(nameof(Names))]
    public async Task Fuzz_MutatedImagesEndInSuccessOrATypedError(string name)
    {
        var original = _fixtures.Images[name];
        var iterations = int.TryParse(Environment.GetEnvironmentVariable("RMK_FUZZ_ITERATIONS"), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 400;
        var seed = int.TryParse(Environment.GetEnvironmentVariable("RMK_FUZZ_SEED"), NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? s : 20261125;
        var rng = new Random(seed ^ StableSeed.Of(name));
        var metadataStart = (int)BinaryPrimitives.ReadUInt64LittleEndian(original.AsSpan(64));
        var outcomes = new Dictionary<string, int>();
        long mostAllocated = 0;
        for (var i = 0; i < iterations; i++)
        {
            var mutated = Mutate(original, metadataStart, rng, out var how);
            var allocatedBefore = GC.GetTotalAllocatedBytes();
            var run = Task.Run(() => Run(mutated));
            if (await Task.WhenAny(run, Task.Delay(CaseBound)) != run)
            {
                Assert.Fail($"{name} case {i} ({how}, seed {seed}) did not finish within {CaseBound}");
            }

            var outcome = await run;
            var allocated = GC.GetTotalAllocatedBytes() - allocatedBefore;
            mostAllocated = Math.Max(mostAllocated, allocated);
            if (allocated > CaseAllocationBound)
            {
                Assert.Fail($"{name} case {i} ({how}, seed {seed}) allocated {allocated:N0} bytes (bound {CaseAllocationBound:N0}); outcome {outcome?.GetType().Name ?? "ok"}");
            }

            if (outcome is not (null or SquashFsFormatException or FormatLimitException))
            {
                Assert.Fail($"{name} case {i} ({how}, seed {seed}) threw {outcome}");
            }

            var key = outcome?.GetType().Name ?? "ok";
            outcomes[key] = outcomes.GetValueOrDefault(key) + 1;
        }

        // The mutations must reach the parsers: most cases fail, some still succeed.
        _output.WriteLine($"{name}: {string.Join(", ", outcomes)}; most allocated by one case: {mostAllocated:N0} bytes");
        Assert.True(outcomes.GetValueOrDefault(nameof(SquashFsFormatException)) > iterations / 10,
            $"{string.Join(", ", outcomes)}; most allocated by one case: {mostAllocated:N0} bytes");
    }

    private static Exception? Run(byte[] image)
    {
        try
        {
            using var img = SquashFsImage.Open(new MemoryStream(image, writable: false), FuzzLimits);
            using var w = new LayerWriter(Stream.Null);
            SquashFsExtractor.ExtractToLayer(img, w, new SquashFsExtractOptions { Limits = FuzzLimits });
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }

    private static readonly ulong[] Interesting =
        [0, 1, 2, 3, 0x7F, 0x80, 0xFF, 0x100, 0x1000, 0x1FFF, 0x2000, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0xFFFFFF, 0x1000000,
         0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 0xFFFFFFFF, 0x100000000, long.MaxValue, ulong.MaxValue];

    private static byte[] Mutate(byte[] original, int metadataStart, Random rng, out string how)
    {
        var b = (byte[])original.Clone();
        // Most mutations land in the superblock and metadata (where the parsers are), some in data.
        int Position() => rng.Next(10) switch
        {
            < 2 => rng.Next(96),
            < 8 => metadataStart + rng.Next(b.Length - metadataStart),
            _ => rng.Next(b.Length),
        };

        switch (rng.Next(10))
        {
            case < 4:
            {
                var flips = 1 + rng.Next(4);
                var at = new List<int>();
                for (var k = 0; k < flips; k++)
                {
                    var p = Position();
                    b[p] ^= (byte)(1 << rng.Next(8));
                    at.Add(p);
                }

                how = "bit flips at " + string.Join(',', at);
                return b;
            }

            case < 6:
            {
                var len = rng.Next(b.Length);
                how = "truncated to " + len;
                return b[..len];
            }

            default:
            {
                var width = new[] { 1, 2, 4, 8 }[rng.Next(4)];
                var p = Math.Min(Position(), b.Length - width);
                var v = rng.Next(3) == 0 ? (ulong)rng.NextInt64() : Interesting[rng.Next(Interesting.Length)];
                var span = b.AsSpan(p, width);
                switch (width)
                {
                    case 1: span[0] = (byte)v; break;
                    case 2: BinaryPrimitives.WriteUInt16LittleEndian(span, (ushort)v); break;
                    case 4: BinaryPrimitives.WriteUInt32LittleEndian(span, (uint)v); break;
                    default: BinaryPrimitives.WriteUInt64LittleEndian(span, v); break;
                }

                how = $"u{width * 8} at {p} = 0x{v:x}";
                return b;
            }
        }
    }

    public sealed class Fixtures : IDisposable
    {
        private readonly TempFolder _tmp = new("rmk-fuzz");

        public Fixtures()
        {
            var src = _tmp["src"];
            Directory.CreateDirectory(Path.Combine(src, "bin"));
            Directory.CreateDirectory(Path.Combine(src, "lib/empty"));
            File.WriteAllText(Path.Combine(src, "bin/tool"), string.Concat(Enumerable.Range(0, 900).Select(i => $"line {i}\n")));
            var rnd = new byte[9000];
            new Random(1).NextBytes(rnd);
            File.WriteAllBytes(Path.Combine(src, "lib/blob"), rnd);
            File.WriteAllText(Path.Combine(src, "a.txt"), "alpha\n");
            File.WriteAllText(Path.Combine(src, "b.txt"), "beta beta\n");
            File.CreateSymbolicLink(Path.Combine(src, "bin/link"), "tool");
            Tool.Run("ln", Path.Combine(src, "a.txt"), Path.Combine(src, "lib/a-again")).EnsureSuccess("ln");
            Tool.Run("mknod", Path.Combine(src, "lib/null"), "c", "1", "3").EnsureSuccess("mknod");
            using (var f = new FileStream(Path.Combine(src, "lib/sparse"), FileMode.Create))
            {
                f.SetLength(20_000);
                f.Position = 12_000;
                f.WriteByte(7);
            }

            foreach (var (name, args) in new (string, string)[]
            {
                ("gzip-4k", "-b 4096"), ("uncompressed", "-noI -noD -noF -b 4096"), ("lz4", "-comp lz4 -b 4096"),
                ("lzo", "-comp lzo -b 4096"), ("zstd", "-comp zstd -b 4096"), ("xz", "-comp xz -b 4096"), ("lzma", "-comp lzma -b 4096"),
            })
            {
                var image = _tmp[name + ".sqfs"];
                Tool.Run("mksquashfs", new[] { src, image, "-noappend", "-no-progress", "-quiet", "-processors", "1", "-no-xattrs" }
                    .Concat(args.Split(' '))).EnsureSuccess("mksquashfs");
                Images[name] = File.ReadAllBytes(image);
            }

            var b = new SquashFsBuilder();
            var d = b.Directory(b.Root, "etc");
            var f2 = b.File(d, "motd", new byte[5000]);
            b.Entry(d, "motd2", f2);
            b.Symlink(b.Root, "bin", "usr/bin");
            b.Device(d, "null", false, 259);
            b.FragmentFile(d, "tail-a", "alpha\n"u8.ToArray());
            b.FragmentFile(d, "tail-b", "beta\n"u8.ToArray());
            Images["builder"] = b.Build();
        }

        public Dictionary<string, byte[]> Images { get; } = [];

        public void Dispose() => _tmp.Dispose();
    }
}

[CollectionDefinition(nameof(SquashFsFuzzTests), DisableParallelization = true)]
public sealed class SquashFsFuzzCollection;

