using System.Diagnostics;
using System.Globalization;
using Razor.Microkernel.Formats.Iso9660;
using Razor.Microkernel.Formats.Layers;
using static Razor.Microkernel.Bench.Measure;

namespace Razor.Microkernel.Bench;

/// <summary>
/// The network boot initrd: what BuildPxe does for it (<see cref="OverlayMerge"/> of the layers, then
/// <see cref="MicrokernelInitrd.WriteInitrd"/> in Append mode at level 9, into a file) against what a person runs on
/// the same inputs in the same run: the overlay folder through <c>find . | cpio -o -H newc | gzip -9</c>, appended to
/// the release's initrd (<c>cat corepure64.gz</c>). The release initrd is a stand-in of CorePure64's size (a gzip'd newc
/// cpio of an ELF-heavy root). Merge mode and pigz are shown for context. Warm-up, rotating repetitions, output
/// deleted before each run, medians compared; every output is checked with gzip -t and GNU cpio.
/// </summary>
internal static class PxeBenchmark
{
    /// <summary>The shell: arguments release initrd, overlay folder, output, compressor.</summary>
    private const string Shell = """
        set -euo pipefail
        initrd=$1 tree=$2 out=$3 gz=$4
        { cat "$initrd"; (cd "$tree" && find . | cpio -o -H newc --quiet | $gz); } > "$out"
        """;

    public static void Run(string work, long overlayBytes, long coreBytes, int reps, int layerCount, ulong seed)
    {
        foreach (var tool in new[] { "cpio", "gzip", "bash" })
        {
            _ = Which(tool) ?? throw new InvalidOperationException($"{tool} is not on PATH");
        }

        Console.WriteLine($"# pxe: {overlayBytes / 1_000_000} MB overlay in {layerCount} layers, release root {coreBytes / 1_000_000} MB, {reps} repetitions, seed {seed}, work folder {work}");
        Console.WriteLine($"# machine: {Load()} (at start)");
        var sw = Stopwatch.StartNew();
        var release = Path.Combine(work, "corepure64.gz");
        ReleaseRoot.MakeInitrd(new ContentGenerator(seed + 1), Path.Combine(work, "release-root"), release, coreBytes);
        var releaseBytes = new FileInfo(release).Length;
        Console.WriteLine($"# release initrd: {releaseBytes:N0} bytes; made in {F(sw.Elapsed.TotalSeconds, "0.0")} s");

        sw.Restart();
        var tree = Path.Combine(work, "tree");
        var stats = TreeGenerator.Generate(tree, overlayBytes, seed);
        var layers = Enumerable.Range(1, layerCount).Select(i => Path.Combine(work, $"layer-{i}-of-{layerCount}.tar")).ToArray();
        Warm(tree);
        FolderLayers.Write(tree, layers);
        foreach (var l in layers.Append(release))
        {
            using var s = File.OpenRead(l);
            s.CopyTo(Stream.Null);
        }

        Console.WriteLine($"# overlay: {stats.Files} files, {stats.Directories} folders, {stats.Symlinks} symlinks, {stats.Bytes:N0} bytes; " +
            $"{layerCount} layers; generated in {F(sw.Elapsed.TotalSeconds, "0.0")} s");

        var outDir = Path.Combine(work, "out");
        Directory.CreateDirectory(outDir);
        Contender Ours(string name, string tag, InitrdMode mode, bool context) =>
            new(name, () => InProcess(() => Write(release, layers, Path.Combine(outDir, tag), mode)), Path.Combine(outDir, tag), mode) { IsContext = context };
        Contender Sh(string name, string tag, string gz, bool context) =>
            new(name, () => Command("bash", ["-c", Shell, "bash", release, tree, Path.Combine(outDir, tag), gz]), Path.Combine(outDir, tag), InitrdMode.Append)
            {
                IsContext = context,
            };

        var ours = Ours($"ours: OverlayMerge + MicrokernelInitrd.WriteInitrd, Append, level 9, {layerCount} layers", "ours-append.gz", InitrdMode.Append, false);
        var shell = Sh("shell: cat corepure64.gz; find . | cpio -o -H newc | gzip -9", "shell.gz", "gzip -9", false);
        var contenders = new List<Contender> { ours, shell, Ours("ours, Merge mode (context only)", "ours-merge.gz", InitrdMode.Merge, true) };
        if (Which("pigz") is not null)
        {
            contenders.Add(Sh("the same shell with pigz -9 (context only)", "pigz.gz", "pigz -9", true));
        }

        foreach (var c in contenders)
        {
            File.Delete(c.Output);
            c.Run(); // warm-up
        }

        for (var r = 0; r < reps; r++)
        {
            for (var k = 0; k < contenders.Count; k++)
            {
                var c = contenders[(k + r) % contenders.Count];
                File.Delete(c.Output);
                c.Samples.Add(c.Run());
            }

            Console.WriteLine($"# repetition {r + 1}/{reps} done; {Load()}");
        }

        var members = contenders.Select(c => Check(c, release, releaseBytes)).ToArray();
        var (values, polled) = Self(["pxe-child", release, Path.Combine(outDir, "child.gz"), .. layers]);
        var peak = Math.Max(long.Parse(values["vmhwm_kb"], CultureInfo.InvariantCulture), polled);
        File.Delete(Path.Combine(outDir, "child.gz"));

        var baseTime = Median(shell.Samples.Select(s => s.Seconds));
        var baseCpu = Median(shell.Samples.Select(s => s.CpuSeconds));
        Console.WriteLine();
        Console.WriteLine($"Machine: {Load()} (at end). Overlay: {stats.Bytes:N0} bytes in {stats.Files} files; release initrd {releaseBytes:N0} bytes.");
        Console.WriteLine();
        Console.WriteLine("| run | median s | min s | max s | CPU s (median) | initrd bytes | members | time / shell | CPU / shell |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (var i = 0; i < contenders.Count; i++)
        {
            var c = contenders[i];
            var t = c.Samples.Select(s => s.Seconds).ToArray();
            var cpu = Median(c.Samples.Select(s => s.CpuSeconds));
            var ratio = $"{F(Median(t) / baseTime)} | {F(cpu / baseCpu)}";
            Console.WriteLine($"| {c.Name.Replace("|", "\\|", StringComparison.Ordinal)} | {F(Median(t))} | {F(t.Min())} | {F(t.Max())} | {F(cpu)} | {new FileInfo(c.Output).Length:N0} | {members[i]} | " +
                (c.IsContext ? $"({ratio.Replace(" | ", ") | (", StringComparison.Ordinal)}) |" : $"{ratio} |"));
        }

        var timeRatio = Median(ours.Samples.Select(s => s.Seconds)) / baseTime;
        var cpuRatio = Median(ours.Samples.Select(s => s.CpuSeconds)) / baseCpu;
        Console.WriteLine();
        Console.WriteLine($"Ours / shell: time {F(timeRatio)}×, CPU {F(cpuRatio)}×. Peak memory of ours: {F(peak / 1024.0, "0.0")} MiB (VmHWM of a child doing only the merge and the initrd).");
        Console.WriteLine();
        for (var i = 0; i < contenders.Count; i++)
        {
            var c = contenders[i];
            Console.WriteLine($"bench.pxe name=\"{c.Name}\" median_s={F(Median(c.Samples.Select(s => s.Seconds)))} cpu_s={F(Median(c.Samples.Select(s => s.CpuSeconds)))} " +
                $"initrd_bytes={new FileInfo(c.Output).Length} members={members[i]}");
        }

        Console.WriteLine($"bench.pxe.result time_ratio={F(timeRatio)} cpu_ratio={F(cpuRatio)} ours_peak_rss_kb={peak} overlay_bytes={stats.Bytes} " +
            $"release_initrd_bytes={releaseBytes} cores={Environment.ProcessorCount}");
    }

    /// <summary>The child: merge and write once, print seconds and its own peak RSS.</summary>
    public static void RunChild(string release, string output, IReadOnlyList<string> layers)
    {
        var sw = Stopwatch.StartNew();
        Write(release, layers, output, InitrdMode.Append);
        sw.Stop();
        Console.WriteLine($"child seconds={F(sw.Elapsed.TotalSeconds)} output_bytes={new FileInfo(output).Length} vmhwm_kb={StatusKb("self", "VmHWM")}");
    }

    private static void Write(string release, IReadOnlyList<string> layers, string output, InitrdMode mode)
    {
        var merge = OverlayMerge.Create(layers.Select(l => new LayerSource(Path.GetFileName(l), l)).ToList());
        using var file = new FileStream(output, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
        MicrokernelInitrd.WriteInitrd(() => File.OpenRead(release), merge, file, new InitrdWriteOptions { Mode = mode },
            Path.GetDirectoryName(Path.GetFullPath(output)));
    }

    /// <summary>gzip -t the whole file; in Append mode the release's bytes come first, unchanged; the members of the
    /// overlay's archive (Append) or of the one archive (Merge), counted by GNU cpio.</summary>
    private static int Check(Contender c, string release, long releaseBytes)
    {
        Bash("gzip -t \"$1\"", c.Output);
        var count = c.Mode == InitrdMode.Append
            ? Bash("cmp -n \"$3\" \"$1\" \"$2\" && tail -c +$(($3 + 1)) \"$1\" | gzip -dc | cpio -it --quiet | wc -l", c.Output, release,
                releaseBytes.ToString(CultureInfo.InvariantCulture))
            : Bash("gzip -dc \"$1\" | cpio -it --quiet | wc -l", c.Output);
        return int.Parse(count.Trim(), CultureInfo.InvariantCulture);
    }

    private static string Bash(string script, params string[] args)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-c", "set -o pipefail; " + script, "bash" }.Concat(args))
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi) ?? throw new InvalidOperationException("cannot start bash");
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode == 0 ? stdout : throw new InvalidOperationException($"`{script}` exited with {p.ExitCode}: {stderr.Result}{stdout}");
    }

    private sealed record Contender(string Name, Func<Sample> Run, string Output, InitrdMode Mode)
    {
        public bool IsContext { get; init; }

        public List<Sample> Samples { get; } = [];
    }
}
