using System.Globalization;
using Razor.Microkernel.Formats.Iso9660;

namespace Razor.Microkernel.Formats.Tests.Iso9660;

/// <summary>Seeded mutation fuzzing over the xorriso fixtures: bit flips, truncations and interesting values
/// written over the descriptors and directory/SUSP areas. Every case ends in success or a typed exception,
/// within a time bound. RMK_FUZZ_ITERATIONS and RMK_FUZZ_SEED change the run.</summary>
public sealed class IsoFuzzTests(IsoFixtures fixtures) : IClassFixture<IsoFixtures>
{
    private static readonly TimeSpan CaseBound = TimeSpan.FromSeconds(10);
    private static readonly IsoLimits FuzzLimits = new() { MaxEntries = 10_000 };

    private static readonly uint[] Interesting =
        [0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0x7FF, 0x800, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF];

    [Theory]
    [InlineData("rr")]
    [InlineData("joliet")]
    [InlineData("written")]
    [InlineData("written-joliet")]
    [InlineData("written-efi")]
    public async Task Fuzz_MutatedImagesEndInSuccessOrATypedError(string name)
    {
        var original = name switch
        {
            "rr" => File.ReadAllBytes(fixtures.RockRidge),
            "joliet" => File.ReadAllBytes(fixtures.Joliet),
            "written-efi" => WrittenEfi(),
            _ => Written(),
        };
        IsoNameSource? names = name == "written-joliet" ? IsoNameSource.Joliet : null; // the writer's Joliet tree, read as such
        // Mutate where the parsers look: descriptors and every directory extent.
        var hot = new List<(int Start, int Length)> { (16 * 2048, 4 * 2048) };
        using (var iso = IsoReader.Open(new MemoryStream(original), names: names))
        {
            foreach (var d in iso.Entries.Where(e => e.IsDirectory))
            {
                hot.Add(((int)d.RecordOffset, 256));
            }

            if (iso.Boot is { } boot)
            {
                hot.Add(((int)boot.CatalogBlock * 2048, 128)); // the El Torito catalog: validation, default and section entries
            }
        }

        var iterations = int.TryParse(Environment.GetEnvironmentVariable("RMK_FUZZ_ITERATIONS"), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 300;
        var seed = int.TryParse(Environment.GetEnvironmentVariable("RMK_FUZZ_SEED"), NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? s : 20261125;
        var rng = new Random(seed ^ name.Length);
        var outcomes = new Dictionary<string, int>();
        for (var i = 0; i < iterations; i++)
        {
            var mutated = (byte[])original.Clone();
            var how = Mutate(ref mutated, hot, rng);
            var run = Task.Run(() => Run(mutated, names));
            if (await Task.WhenAny(run, Task.Delay(CaseBound)) != run)
            {
                Assert.Fail($"{name} case {i} ({how}, seed {seed}) did not finish within {CaseBound}");
            }

            var outcome = await run;
            if (outcome is not (null or IsoFormatException or FormatLimitException))
            {
                Assert.Fail($"{name} case {i} ({how}, seed {seed}) threw {outcome}");
            }

            var key = outcome?.GetType().Name ?? "ok";
            outcomes[key] = outcomes.GetValueOrDefault(key) + 1;
        }

        Assert.True(outcomes.GetValueOrDefault(nameof(IsoFormatException)) > iterations / 10, string.Join(", ", outcomes));
    }

    /// <summary>An image from <see cref="IsoWriter"/> (CE chains, long names and targets, a Joliet tree) copied from the xorriso fixture.</summary>
    private byte[] Written()
    {
        using var source = IsoReader.Open(fixtures.RockRidge);
        var entries = source.Entries
            .Where(e => e.Type is IsoEntryType.File or IsoEntryType.Directory or IsoEntryType.Symlink && e.Name != "boot.cat")
            .Select(e => IsoWriterEntry.From(source, e));
        using var ms = new MemoryStream();
        IsoWriter.Write(ms, entries, new IsoWriterOptions { BootImage = "boot/isolinux/isolinux.bin" });
        return ms.ToArray();
    }

    /// <summary>A writer image with a BIOS and an EFI El Torito entry and the isohybrid MBR and GPT.</summary>
    private byte[] WrittenEfi()
    {
        using var source = IsoReader.Open(fixtures.RockRidge);
        var entries = source.Entries
            .Where(e => e.Type is IsoEntryType.File or IsoEntryType.Directory or IsoEntryType.Symlink && e.Name != "boot.cat")
            .Select(e => IsoWriterEntry.From(source, e))
            .Append(IsoWriterEntry.File("EFI/BOOT/efiboot.img", 4096, () => new MemoryStream(new byte[4096])))
            .ToList();
        using var ms = new MemoryStream();
        IsoWriter.Write(ms, entries, new IsoWriterOptions
        {
            BootImage = "boot/isolinux/isolinux.bin",
            EfiBootImage = "EFI/BOOT/efiboot.img",
            HybridMbr = (ReadOnlyMemory<byte>?)File.ReadAllBytes("/usr/lib/ISOLINUX/isohdpfx.bin")[..432],
        });
        return ms.ToArray();
    }

    private static string Mutate(ref byte[] b, List<(int Start, int Length)> hot, Random rng)
    {
        var (start, length) = hot[rng.Next(hot.Count)];
        var pos = Math.Min(b.Length - 4, start + rng.Next(length));
        switch (rng.Next(4))
        {
            case 0:
                b[pos] ^= (byte)(1 << rng.Next(8));
                return $"flip at {pos}";
            case 1:
                var v = Interesting[rng.Next(Interesting.Length)];
                BitConverter.TryWriteBytes(b.AsSpan(pos), v);
                return $"u32 {v} at {pos}";
            case 2:
                b[pos] = (byte)rng.Next(256);
                return $"byte at {pos}";
            default:
                var cut = rng.Next(b.Length);
                b = b[..cut];
                return $"truncate to {cut}";
        }
    }

    private static Exception? Run(byte[] image, IsoNameSource? names)
    {
        try
        {
            using var iso = IsoReader.Open(new MemoryStream(image, writable: false), FuzzLimits, names: names);
            foreach (var e in iso.Entries.Where(e => e.Type == IsoEntryType.File))
            {
                using var s = iso.OpenRead(e);
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
