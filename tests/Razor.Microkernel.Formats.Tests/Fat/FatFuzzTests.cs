using System.Buffers.Binary;
using System.Globalization;
using Razor.Microkernel.Formats.Fat;
using Xunit.Abstractions;

namespace Razor.Microkernel.Formats.Tests.Fat;

/// <summary>Seeded mutation fuzzing over FAT12, FAT16 and FAT32 images made by mkfs.vfat and mcopy, and over the
/// writer's: bit flips, truncations and interesting values written over the boot sector, the FAT and the folders.
/// Every case must end in success or a typed exception, within a time bound and an allocation bound.
/// RMK_FUZZ_ITERATIONS and RMK_FUZZ_SEED change the run. The class runs alone so each case's allocations can be measured.</summary>
[Collection(nameof(FatFuzzTests))]
public sealed class FatFuzzTests(FatFixtures fixtures, ITestOutputHelper output) : IClassFixture<FatFixtures>
{
    private static readonly TimeSpan CaseBound = TimeSpan.FromSeconds(10);

    /// <summary>What one case may allocate: the FAT of the largest fixture (FAT32, 40 MB: 320 KB) and its folders are
    /// far below; an allocation sized from an unchecked field is not.</summary>
    private const long CaseAllocationBound = 64L << 20;

    private static readonly FatLimits FuzzLimits = new() { MaxEntries = 10_000, MaxDirectoryBytes = 1 << 20 };

    private static readonly uint[] Interesting =
        [0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0xFF7, 0xFF8, 0xFFF, 0x1000, 0xFFF7, 0xFFFF, 0x10000, 0x0FFFFFF7, 0x0FFFFFFF, 0x7FFFFFFF, 0xFFFFFFFF];

    [Theory]
    [InlineData("fat12")]
    [InlineData("fat16")]
    [InlineData("fat32")]
    [InlineData("written")]
    public async Task Fuzz_MutatedImagesEndInSuccessOrATypedError(string name)
    {
        var original = name == "written" ? Written() : File.ReadAllBytes(fixtures.Images[name]);
        // Where the parsers look: the boot sector, the start of the FAT, every folder's records.
        var geometry = FatGeometry.Parse(original, original.Length);
        var hot = new List<(int Start, int Length)> { (0, 512), ((int)geometry.FatOffset(0), 256) };
        using (var fat = FatImage.Open(new MemoryStream(original)))
        {
            foreach (var e in fat.Entries)
            {
                hot.Add(((int)e.RecordOffset - 64, 96));
            }
        }

        var iterations = int.TryParse(Environment.GetEnvironmentVariable("RMK_FUZZ_ITERATIONS"), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 400;
        var seed = int.TryParse(Environment.GetEnvironmentVariable("RMK_FUZZ_SEED"), NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? s : 20261207;
        var rng = new Random(seed ^ name.Length);
        var outcomes = new Dictionary<string, int>();
        long mostAllocated = 0;
        for (var i = 0; i < iterations; i++)
        {
            var mutated = (byte[])original.Clone();
            var how = Mutate(ref mutated, hot, rng);
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

            if (outcome is not (null or FatFormatException or FormatLimitException))
            {
                Assert.Fail($"{name} case {i} ({how}, seed {seed}) threw {outcome}");
            }

            var key = outcome?.GetType().Name ?? "ok";
            outcomes[key] = outcomes.GetValueOrDefault(key) + 1;
        }

        output.WriteLine($"{name}: {string.Join(", ", outcomes)}; most allocated by one case: {mostAllocated:N0} bytes");
        Assert.True(outcomes.GetValueOrDefault(nameof(FatFormatException)) > iterations / 10, string.Join(", ", outcomes));
        Assert.True(outcomes.GetValueOrDefault("ok") > 0, string.Join(", ", outcomes));
    }

    private static byte[] Written()
    {
        using var ms = new MemoryStream();
        FatWriter.Write(ms, FatFixtures.Entries());
        return ms.ToArray();
    }

    private static string Mutate(ref byte[] b, List<(int Start, int Length)> hot, Random rng)
    {
        var (start, length) = hot[rng.Next(hot.Count)];
        var pos = Math.Clamp(start + rng.Next(length), 0, b.Length - 4);
        switch (rng.Next(5))
        {
            case 0:
                b[pos] ^= (byte)(1 << rng.Next(8));
                return $"flip at {pos}";
            case 1:
                var v = Interesting[rng.Next(Interesting.Length)];
                BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(pos), v);
                return $"u32 {v:x} at {pos}";
            case 2:
                var w = (ushort)Interesting[rng.Next(Interesting.Length)];
                BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(pos), w);
                return $"u16 {w:x} at {pos}";
            case 3:
                b[pos] = (byte)rng.Next(256);
                return $"byte at {pos}";
            default:
                var cut = rng.Next(b.Length);
                b = b[..cut];
                return $"truncate to {cut}";
        }
    }

    private static Exception? Run(byte[] image)
    {
        try
        {
            using var fat = FatImage.Open(new MemoryStream(image, writable: false), FuzzLimits);
            foreach (var e in fat.Entries.Where(e => !e.IsDirectory))
            {
                using var s = fat.OpenRead(e);
                s.CopyTo(Stream.Null);
            }

            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }
}

[CollectionDefinition(nameof(FatFuzzTests), DisableParallelization = true)]
public sealed class FatFuzzCollection;
