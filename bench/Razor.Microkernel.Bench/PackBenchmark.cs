using System.Diagnostics;
using Razor.Microkernel.Formats.Layers;
using static Razor.Microkernel.Bench.Measure;

namespace Razor.Microkernel.Bench;

/// <summary>
/// PackOverlay vs <c>tar czf</c>: the same generated tree, the same run, the page cache warm for both.
/// Ours packs from layers written beforehand from that tree (the build writes layers in earlier, incremental
/// steps); tar reads the tree itself. Each contender runs once to warm up, then <c>reps</c> times in rotating
/// order; the median wall time is compared.
/// </summary>
internal static class PackBenchmark
{
    public static void Run(string work, long sizeBytes, int reps, int splitLayers, ulong seed)
    {
        var tree = Path.Combine(work, "tree");
        var outDir = Path.Combine(work, "out");
        Directory.CreateDirectory(outDir);
        Console.WriteLine($"# pack: {sizeBytes / 1_000_000} MB tree, {reps} repetitions, seed {seed}, work folder {work}");
        Console.WriteLine($"# machine: {Load()} (at start)");

        var sw = Stopwatch.StartNew();
        var stats = TreeGenerator.Generate(tree, sizeBytes, seed);
        Console.WriteLine($"# tree: {stats.Files} files, {stats.Directories} folders, {stats.Symlinks} symlinks, {stats.Bytes:N0} bytes " +
            $"({string.Join(", ", stats.BytesByKind.OrderBy(k => k.Key).Select(k => $"{k.Key} {100.0 * k.Value / stats.Bytes:0}%"))}); generated in {F(sw.Elapsed.TotalSeconds, "0.0")} s");

        var layer1 = new[] { Path.Combine(work, "layer-all.tar") };
        var layersN = Enumerable.Range(1, splitLayers).Select(i => Path.Combine(work, $"layer-{i}-of-{splitLayers}.tar")).ToArray();
        Warm(tree);
        FolderLayers.Write(tree, layer1);
        FolderLayers.Write(tree, layersN);
        foreach (var l in layer1.Concat(layersN))
        {
            using var s = File.OpenRead(l);
            s.CopyTo(Stream.Null);
        }

        var tar = Which("tar") ?? throw new InvalidOperationException("GNU tar is not on PATH");
        var pigz = Which("pigz");
        var contenders = new List<Contender>
        {
            new("write 1 layer from the folder (LayerWriter)", () => InProcess(() => FolderLayers.Write(tree, [Path.Combine(work, "scratch.tar")])), Path.Combine(work, "scratch.tar"), Compared: false),
            new("PackToFile, 1 layer", () => Ours(layer1, Path.Combine(outDir, "ours-1.tar.gz")), Path.Combine(outDir, "ours-1.tar.gz")),
            new($"PackToFile, {splitLayers} layers", () => Ours(layersN, Path.Combine(outDir, $"ours-{splitLayers}.tar.gz")), Path.Combine(outDir, $"ours-{splitLayers}.tar.gz")),
            new("tar czf (GNU tar + gzip -6)", () => Command(tar, ["czf", Path.Combine(outDir, "tar.tar.gz"), "-C", tree, "."], outDir), Path.Combine(outDir, "tar.tar.gz"), IsBaseline: true),
        };
        if (pigz is not null)
        {
            contenders.Add(new("tar + pigz -6 (context only)", () => Command(tar, ["-I", "pigz -6", "-cf", Path.Combine(outDir, "pigz.tar.gz"), "-C", tree, "."], outDir),
                Path.Combine(outDir, "pigz.tar.gz")));
        }

        foreach (var c in contenders)
        {
            Delete(c.Output);
            c.Run(); // warm-up: JIT, page cache, file system
        }

        for (var r = 0; r < reps; r++)
        {
            for (var k = 0; k < contenders.Count; k++)
            {
                var c = contenders[(k + r) % contenders.Count];
                Delete(c.Output);
                c.Samples.Add(c.Run());
            }

            Console.WriteLine($"# repetition {r + 1}/{reps} done; {Load()}");
        }

        var gzip = Which("gzip");
        foreach (var c in contenders.Where(c => c.Output.EndsWith(".gz", StringComparison.Ordinal) && gzip is not null))
        {
            Command(gzip!, ["-t", c.Output]); // every output is a valid gzip file
        }

        var baseline = contenders.Single(c => c.IsBaseline);
        var baseTime = Median(baseline.Samples.Select(s => s.Seconds));
        var baseSize = new FileInfo(baseline.Output).Length;
        var layerWrite = Median(contenders[0].Samples.Select(s => s.Seconds));

        Console.WriteLine();
        Console.WriteLine($"Machine: {Load()} (at end). Tree: {stats.Bytes:N0} bytes in {stats.Files} files; tar of it {new FileInfo(layer1[0]).Length:N0} bytes.");
        Console.WriteLine();
        Console.WriteLine("| run | median s | min s | max s | CPU s (median) | output bytes | time / tar czf | size / tar czf |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var c in contenders)
        {
            var t = c.Samples.Select(s => s.Seconds).ToArray();
            var size = new FileInfo(c.Output).Length;
            var ratioT = Median(t) / baseTime;
            var ratioS = (double)size / baseSize;
            Console.WriteLine($"| {c.Name} | {F(Median(t))} | {F(t.Min())} | {F(t.Max())} | {F(Median(c.Samples.Select(s => s.CpuSeconds)))} | {size:N0} | " +
                (c.Compared || c.IsBaseline ? $"{F(ratioT)} | {F(ratioS, "0.0000")} |" : $"({F(ratioT)}) | – |"));
        }

        var ours = contenders[1];
        var oursTime = Median(ours.Samples.Select(s => s.Seconds));
        var timeRatio = oursTime / baseTime;
        var sizeRatio = (double)new FileInfo(ours.Output).Length / baseSize;
        var withLayer = (oursTime + layerWrite) / baseTime;
        Console.WriteLine();
        Console.WriteLine($"PackToFile (1 layer) / tar czf: time {F(timeRatio)}× (target ≤ 0.5: {(timeRatio <= 0.5 ? "met" : "MISSED")}), " +
            $"size {F(sizeRatio, "0.0000")}× (target ≤ 1.03: {(sizeRatio <= 1.03 ? "met" : "MISSED")}). Counting the layer write too: {F(withLayer)}×.");
        Console.WriteLine();
        foreach (var c in contenders)
        {
            Console.WriteLine($"bench.pack name=\"{c.Name}\" median_s={F(Median(c.Samples.Select(s => s.Seconds)))} cpu_s={F(Median(c.Samples.Select(s => s.CpuSeconds)))} bytes={new FileInfo(c.Output).Length}");
        }

        Console.WriteLine($"bench.pack.result time_ratio={F(timeRatio)} size_ratio={F(sizeRatio, "0.0000")} time_ratio_with_layer_write={F(withLayer)} " +
            $"time_target_met={(timeRatio <= 0.5 ? "yes" : "no")} size_target_met={(sizeRatio <= 1.03 ? "yes" : "no")} tree_bytes={stats.Bytes} cores={Environment.ProcessorCount}");
    }

    private static Sample Ours(string[] layers, string output)
        => InProcess(() => OverlayPacker.PackToFile(
            layers.Select(l => new LayerSource(Path.GetFileName(l), l)).ToList(), output, output + ".txt", new PackOptions()));

    private static void Delete(string path)
    {
        File.Delete(path);
        File.Delete(path + ".txt");
    }

    private sealed record Contender(string Name, Func<Sample> Run, string Output, bool Compared = true, bool IsBaseline = false)
    {
        public List<Sample> Samples { get; } = [];
    }
}
