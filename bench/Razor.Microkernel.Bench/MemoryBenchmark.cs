using System.Diagnostics;
using System.Globalization;
using Razor.Microkernel.Formats.Layers;
using static Razor.Microkernel.Bench.Measure;

namespace Razor.Microkernel.Bench;

/// <summary>
/// Peak memory of packing a large overlay. Layers are generated straight into <see cref="LayerWriter"/>
/// (no folder on disk); the pack runs in a child process (<c>pack-child</c>) whose peak resident set
/// (<c>VmHWM</c>) it reports itself at exit, cross-checked by polling <c>/proc/PID/status</c> from here.
/// Three sizes show whether memory grows with the overlay: a one-file layer (the runtime's own cost),
/// the first layer alone, and all layers.
/// </summary>
internal static class MemoryBenchmark
{
    /// <summary>The issue's target: 300 MB.</summary>
    public const long TargetBytes = 300_000_000;

    public static void Run(string work, long sizeBytes, int layerCount, ulong seed)
    {
        Console.WriteLine($"# pack-memory: {sizeBytes / (1024 * 1024)} MiB in {layerCount} layers, seed {seed}, work folder {work}");
        Console.WriteLine($"# machine: {Load()} (at start)");
        var sw = Stopwatch.StartNew();
        var layers = GenerateLayers(work, sizeBytes, layerCount, seed, out var entries);
        var tiny = Path.Combine(work, "tiny.tar");
        using (var f = File.Create(tiny))
        using (var w = new LayerWriter(f))
        {
            w.AddFile("usr/local/etc/motd", EntryAttributes.Default(LayerEntryType.File, 0), "hello\n"u8);
            w.Finish();
        }

        var layerBytes = layers.Sum(l => new FileInfo(l).Length);
        Console.WriteLine($"# layers: {layerBytes:N0} bytes, {entries:N0} entries; generated in {F(sw.Elapsed.TotalSeconds, "0.0")} s");

        var runs = new List<(string Name, long Input, ChildResult Result)>
        {
            ("1-file layer (runtime baseline)", new FileInfo(tiny).Length, Child(work, [tiny])),
            ($"first layer ({new FileInfo(layers[0]).Length / (1024 * 1024)} MiB)", new FileInfo(layers[0]).Length, Child(work, [layers[0]])),
            ($"all {layerCount} layers ({layerBytes / (1024 * 1024)} MiB)", layerBytes, Child(work, layers)),
        };

        Console.WriteLine();
        Console.WriteLine($"Machine: {Load()} (at end).");
        Console.WriteLine();
        Console.WriteLine("| pack | layer bytes | wall s | output bytes | peak RSS (VmHWM at exit) | peak RSS (polled) |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        foreach (var (name, input, r) in runs)
        {
            Console.WriteLine($"| {name} | {input:N0} | {F(r.Seconds, "0.00")} | {r.OutputBytes:N0} | {Mib(r.HwmKb)} MiB | {Mib(r.PolledKb)} MiB |");
        }

        var big = runs[^1].Result;
        var peak = Math.Max(big.HwmKb, big.PolledKb) * 1024;
        Console.WriteLine();
        Console.WriteLine($"Peak memory packing {layerBytes / (1024 * 1024)} MiB of layers: {Mib(peak / 1024)} MiB = {peak / 1_000_000} MB (target ≤ 300 MB: {(peak <= TargetBytes ? "met" : "MISSED")}).");
        Console.WriteLine();
        foreach (var (name, input, r) in runs)
        {
            Console.WriteLine($"bench.memory name=\"{name}\" layer_bytes={input} seconds={F(r.Seconds)} output_bytes={r.OutputBytes} vmhwm_kb={r.HwmKb} polled_kb={r.PolledKb}");
        }

        Console.WriteLine($"bench.memory.result overlay_bytes={layerBytes} peak_rss_bytes={peak} target_bytes={TargetBytes} target_met={(peak <= TargetBytes ? "yes" : "no")}");
    }

    /// <summary>The child: packs the given layers and prints its own peak RSS.</summary>
    public static void RunChild(string output, IReadOnlyList<string> layers)
    {
        var sw = Stopwatch.StartNew();
        var result = OverlayPacker.PackToFile(layers.Select(l => new LayerSource(Path.GetFileName(l), l)).ToList(), output, output + ".txt", new PackOptions());
        sw.Stop();
        Console.WriteLine($"child seconds={F(sw.Elapsed.TotalSeconds)} output_bytes={result.CompressedBytes} vmhwm_kb={StatusKb("self", "VmHWM")}");
    }

    private static string Mib(long kb) => F(kb / 1024.0, "0.0");

    private sealed record ChildResult(double Seconds, long OutputBytes, long HwmKb, long PolledKb);

    private static ChildResult Child(string work, IReadOnlyList<string> layers)
    {
        var output = Path.Combine(work, "overlay.tar.gz");
        var (values, polled) = Self(["pack-child", output, .. layers]);
        File.Delete(output);
        File.Delete(output + ".txt");
        return new ChildResult(double.Parse(values["seconds"], CultureInfo.InvariantCulture), long.Parse(values["output_bytes"], CultureInfo.InvariantCulture),
            long.Parse(values["vmhwm_kb"], CultureInfo.InvariantCulture), polled);
    }

    /// <summary>Layers of generated content: mostly text and code, some shared-object-like and random
    /// bytes, many files of 100 bytes to 4 kB, file sizes up to a few MiB, two large files, all layers sharing the same folders.</summary>
    private static string[] GenerateLayers(string work, long sizeBytes, int layerCount, ulong seed, out long entries)
    {
        var gen = new ContentGenerator(seed);
        var rng = gen.Random;
        var folders = Enumerable.Range(0, 200).Select(_ => $"usr/local/{(rng.Next(3) == 0 ? "share" : "lib")}/{gen.Word()}/{gen.Word()}").Distinct().ToArray();
        var paths = new List<string>();
        entries = 0;
        for (var li = 0; li < layerCount; li++)
        {
            var path = Path.Combine(work, $"mem-layer-{li + 1}.tar");
            paths.Add(path);
            using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
            using var writer = new LayerWriter(file, PackOptions.DefaultModificationTime, leaveOpen: true);
            var budget = sizeBytes / layerCount;
            long used = 0;
            var n = 0;
            if (li == 0)
            {
                // Two large files: memory must not depend on the size of one entry either.
                foreach (var (name, kind) in new[] { ("usr/local/share/big/data.txt", ContentKind.Prose), ("usr/local/lib/big/libhuge.so.1", ContentKind.Binary) })
                {
                    var size = Math.Min(budget / 4, 128L << 20);
                    using var content = gen.OpenPooled(kind, size);
                    writer.AddFile(name, EntryAttributes.Default(LayerEntryType.File, 0), content, size);
                    used += size;
                }
            }

            // Many small files (3 % of the bytes, tens of thousands of entries for 1 GiB): the merge keeps
            // every header in memory, so the entry count matters as much as the bytes.
            while (used < budget * 3 / 100)
            {
                var size = rng.LogUniform(100, 4_000);
                using var content = gen.OpenPooled(ContentKind.Code, size);
                writer.AddFile($"{folders[rng.Next(folders.Length)]}/{gen.Word()}/{gen.Word()}-{li}-{n++}.rb", EntryAttributes.Default(LayerEntryType.File, 0), content, size);
                used += size;
            }

            while (used < budget)
            {
                var r = rng.Next(100);
                var kind = r < 45 ? ContentKind.Code : r < 70 ? ContentKind.Prose : r < 85 ? ContentKind.Binary : ContentKind.Random;
                var size = Math.Min(rng.LogUniform(200, 4_000_000), budget - used);
                var name = $"{folders[rng.Next(folders.Length)]}/{gen.Word()}-{li}-{n++}";
                using var content = gen.OpenPooled(kind, size);
                writer.AddFile(name, EntryAttributes.Default(LayerEntryType.File, 0), content, size);
                used += size;
            }

            writer.Finish();
            entries += writer.EntryCount;
        }

        return [.. paths];
    }
}
