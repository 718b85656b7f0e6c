using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Razor.Microkernel.Formats.Iso9660;
using Razor.Microkernel.Formats.Layers;
using static Razor.Microkernel.Bench.Measure;

namespace Razor.Microkernel.Bench;

/// <summary>
/// BuildIso's work (<see cref="OverlayMerge"/> of the layers, then <see cref="MicrokernelIso.Build"/> at its
/// default level 9) against the shell pipeline Razor's own build ran on the same inputs, same run: extract the
/// Core ISO with <c>xorriso -osirrox</c>, append <c>find . | cpio -o -H newc | gzip -9</c> of the overlay folder
/// to core.gz, add the kernel arguments to isolinux.cfg, write iso-metadata.yaml with <c>sha256sum</c>, and
/// <c>xorriso -as mkisofs</c> with REFERENCE.md's flags. The Core ISO is a stand-in of release size (random-ish
/// kernel, a gzip'd newc core.gz of an ELF-heavy root, Debian's isolinux.bin and ldlinux.c32), made with the same
/// xorriso line. Warm-up, rotating repetitions, output deleted before each run, median compared.
/// </summary>
internal static class IsoBenchmark
{
    public const double Target = 0.7;
    private const string Version = "0.9.1";
    private const string KernelArgs = "razor.ip=10.0.0.1 loglevel=3";
    private const string IsolinuxBin = "/usr/lib/ISOLINUX/isolinux.bin";
    private const string LdlinuxC32 = "/usr/lib/syslinux/modules/bios/ldlinux.c32";

    /// <summary>The pipeline, one bash script; arguments: core ISO, overlay folder, scratch folder, output ISO,
    /// kernel arguments, version, mtime of the build (seconds since the epoch), compressor command.</summary>
    private const string Shell = """
        set -euo pipefail
        core=$1 tree=$2 x=$3 out=$4 args=$5 version=$6 mtime=$7 gz=$8
        mkdir "$x"
        xorriso -osirrox on -indev "$core" -extract / "$x"
        chmod u+w "$x/boot" "$x/boot/core.gz" "$x/boot/isolinux" "$x/boot/isolinux/isolinux.cfg" "$x"
        (cd "$tree" && find . | cpio -o -H newc --quiet | $gz) >> "$x/boot/core.gz"
        sed -i "/^[[:space:]]*append /s/\$/ $args/" "$x/boot/isolinux/isolinux.cfg"
        rm -f "$x/boot/isolinux/boot.cat"
        kernel_hash=$(sha256sum "$x/boot/vmlinuz" | cut -d' ' -f1)
        initrd_hash=$(sha256sum "$x/boot/core.gz" | cut -d' ' -f1)
        cat > "$x/iso-metadata.yaml" <<EOF
        ---
        iso_version: $version
        kernel: boot/vmlinuz
        initrd: boot/core.gz
        hash_description:
          type: Digest::SHA2
          bitlen: 256
        kernel_hash: $kernel_hash
        initrd_hash: $initrd_hash
        iso_build_time: $(date -u -d "@$mtime" '+%Y-%m-%d %H:%M:%S') UTC
        EOF
        xorriso -as mkisofs -l -J -R -no-emul-boot -boot-load-size 4 -boot-info-table \
          -b boot/isolinux/isolinux.bin -c boot/isolinux/boot.cat -o "$out" "$x"
        """;

    public static void Run(string work, long overlayBytes, long coreBytes, int reps, int layerCount, ulong seed)
    {
        var xorriso = Which("xorriso") ?? throw new InvalidOperationException("xorriso is not on PATH");
        foreach (var tool in new[] { "cpio", "gzip", "sha256sum", "bash" })
        {
            _ = Which(tool) ?? throw new InvalidOperationException($"{tool} is not on PATH");
        }

        foreach (var f in new[] { IsolinuxBin, LdlinuxC32 })
        {
            if (!File.Exists(f))
            {
                throw new InvalidOperationException($"{f} is missing (Debian packages isolinux and syslinux-common)");
            }
        }

        Console.WriteLine($"# iso: {overlayBytes / 1_000_000} MB overlay in {layerCount} layers, Core root {coreBytes / 1_000_000} MB, {reps} repetitions, seed {seed}, work folder {work}");
        Console.WriteLine($"# machine: {Load()} (at start)");
        var sw = Stopwatch.StartNew();
        var coreIso = MakeCoreIso(work, coreBytes, seed + 1, xorriso, out var coreGzBytes, out var vmlinuzBytes);
        Console.WriteLine($"# Core ISO: {new FileInfo(coreIso).Length:N0} bytes (vmlinuz {vmlinuzBytes:N0}, core.gz {coreGzBytes:N0}); made in {F(sw.Elapsed.TotalSeconds, "0.0")} s");

        sw.Restart();
        var tree = Path.Combine(work, "tree");
        var stats = TreeGenerator.Generate(tree, overlayBytes, seed);
        var layers = Enumerable.Range(1, layerCount).Select(i => Path.Combine(work, $"layer-{i}-of-{layerCount}.tar")).ToArray();
        Warm(tree);
        FolderLayers.Write(tree, layers);
        foreach (var l in layers.Append(coreIso))
        {
            using var s = File.OpenRead(l);
            s.CopyTo(Stream.Null);
        }

        Console.WriteLine($"# overlay: {stats.Files} files, {stats.Directories} folders, {stats.Symlinks} symlinks, {stats.Bytes:N0} bytes; " +
            $"{layerCount} layers of {layers.Sum(l => new FileInfo(l).Length):N0} bytes; generated in {F(sw.Elapsed.TotalSeconds, "0.0")} s");

        var outDir = Path.Combine(work, "out");
        Directory.CreateDirectory(outDir);
        var ours = new Contender($"ours: OverlayMerge + MicrokernelIso.Build (level 9), {layerCount} layers",
            () => InProcess(() => Ours(coreIso, layers, Path.Combine(outDir, "ours.iso"))), Path.Combine(outDir, "ours.iso"), null);
        var contenders = new List<Contender>
        {
            ours,
            ShellContender("shell: xorriso -osirrox; find, cpio -o -H newc, gzip -9 appended to core.gz; sha256sum; xorriso -as mkisofs", "shell", "gzip -9",
                coreIso, tree, outDir, baseline: true),
        };
        if (Which("pigz") is not null)
        {
            contenders.Add(ShellContender("the same shell with pigz -9 (context only)", "pigz", "pigz -9", coreIso, tree, outDir, baseline: false));
        }

        foreach (var c in contenders)
        {
            c.Clean();
            c.Run(); // warm-up: JIT, page cache, file system
        }

        for (var r = 0; r < reps; r++)
        {
            for (var k = 0; k < contenders.Count; k++)
            {
                var c = contenders[(k + r) % contenders.Count];
                c.Clean();
                c.Samples.Add(c.Run());
            }

            Console.WriteLine($"# repetition {r + 1}/{reps} done; {Load()}");
        }

        var checks = contenders.Select(c => Check(c.Output, coreGzBytes, Path.Combine(work, "check"))).ToArray();

        // Peak memory of ours, in a child process doing just that (the timed runs share this process with the generator).
        var (values, polled) = Self(["iso-child", coreIso, Path.Combine(outDir, "child.iso"), .. layers]);
        var hwm = long.Parse(values["vmhwm_kb"], CultureInfo.InvariantCulture);
        var childSeconds = double.Parse(values["seconds"], CultureInfo.InvariantCulture);
        File.Delete(Path.Combine(outDir, "child.iso"));

        var baseline = contenders.Single(c => c.IsBaseline);
        var baseTime = Median(baseline.Samples.Select(s => s.Seconds));
        var baseCpu = Median(baseline.Samples.Select(s => s.CpuSeconds));
        Console.WriteLine();
        Console.WriteLine($"Machine: {Load()} (at end). Overlay: {stats.Bytes:N0} bytes in {stats.Files} files; Core ISO {new FileInfo(coreIso).Length:N0} bytes.");
        Console.WriteLine();
        Console.WriteLine("| run | median s | min s | max s | CPU s (median) | peak RSS | ISO bytes | initrd bytes | overlay members | time / shell | CPU / shell |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (var i = 0; i < contenders.Count; i++)
        {
            var c = contenders[i];
            var t = c.Samples.Select(s => s.Seconds).ToArray();
            var cpu = Median(c.Samples.Select(s => s.CpuSeconds));
            var rss = c == ours ? $"{Mib(Math.Max(hwm, polled))} MiB (child)" : $"{Mib(c.Samples.Max(s => s.MaxRssKb))} MiB (largest process)";
            var ratio = Median(t) / baseTime;
            Console.WriteLine($"| {c.Name} | {F(Median(t))} | {F(t.Min())} | {F(t.Max())} | {F(cpu)} | {rss} | {new FileInfo(c.Output).Length:N0} | {checks[i].InitrdBytes:N0} | {checks[i].Members} | " +
                (c == ours || c.IsBaseline ? $"{F(ratio)} | {F(cpu / baseCpu)} |" : $"({F(ratio)}) | ({F(cpu / baseCpu)}) |"));
        }

        var timeRatio = Median(ours.Samples.Select(s => s.Seconds)) / baseTime;
        var cpuRatio = Median(ours.Samples.Select(s => s.CpuSeconds)) / baseCpu;
        var peak = Math.Max(hwm, polled);
        Console.WriteLine();
        Console.WriteLine($"Ours / shell: time {F(timeRatio)}× (target ≤ {Target}: {(timeRatio <= Target ? "met" : "MISSED")}), CPU {F(cpuRatio)}×. " +
            $"Peak memory of ours: {Mib(peak)} MiB (VmHWM of a child doing only the merge and the build, {F(childSeconds)} s).");
        Console.WriteLine();
        for (var i = 0; i < contenders.Count; i++)
        {
            var c = contenders[i];
            Console.WriteLine($"bench.iso name=\"{c.Name}\" median_s={F(Median(c.Samples.Select(s => s.Seconds)))} cpu_s={F(Median(c.Samples.Select(s => s.CpuSeconds)))} " +
                $"iso_bytes={new FileInfo(c.Output).Length} initrd_bytes={checks[i].InitrdBytes} overlay_members={checks[i].Members}");
        }

        Console.WriteLine($"bench.iso.result time_ratio={F(timeRatio)} cpu_ratio={F(cpuRatio)} target_met={(timeRatio <= Target ? "yes" : "no")} " +
            $"ours_peak_rss_kb={peak} overlay_bytes={stats.Bytes} core_iso_bytes={new FileInfo(coreIso).Length} cores={Environment.ProcessorCount}");
    }

    /// <summary>The child: merge and build once, print seconds and its own peak RSS.</summary>
    public static void RunChild(string coreIso, string output, IReadOnlyList<string> layers)
    {
        var sw = Stopwatch.StartNew();
        Ours(coreIso, layers, output);
        sw.Stop();
        Console.WriteLine($"child seconds={F(sw.Elapsed.TotalSeconds)} output_bytes={new FileInfo(output).Length} vmhwm_kb={StatusKb("self", "VmHWM")}");
    }

    private static void Ours(string coreIso, IReadOnlyList<string> layers, string output)
    {
        var merge = OverlayMerge.Create(layers.Select(l => new LayerSource(Path.GetFileName(l), l)).ToList());
        MicrokernelIso.Build(coreIso, merge, output, new MicrokernelIsoOptions { Version = Version, Layout = Formats.Release.TinyCoreRelease.Find("4.x", "x86").IsoLayout, KernelArgs = KernelArgs });
    }

    private static Contender ShellContender(string name, string tag, string gz, string coreIso, string tree, string outDir, bool baseline)
    {
        var scratch = Path.Combine(outDir, tag + "-x");
        var output = Path.Combine(outDir, tag + ".iso");
        var mtime = PackOptions.DefaultModificationTime.ToString(CultureInfo.InvariantCulture);
        return new Contender(name, () => Command("bash", ["-c", Shell, "bash", coreIso, tree, scratch, output, KernelArgs, Version, mtime, gz]), output, scratch)
        {
            IsBaseline = baseline,
        };
    }

    /// <summary>A Core release ISO of realistic size: random-ish vmlinuz, core.gz (GNU cpio | gzip -9 of an
    /// ELF-heavy root), isolinux.bin, ldlinux.c32, isolinux.cfg and the boot messages; xorriso with REFERENCE's flags.</summary>
    internal static string MakeCoreIso(string work, long rootBytes, ulong seed, string xorriso, out long coreGzBytes, out long vmlinuzBytes)
    {
        var gen = new ContentGenerator(seed);
        var root = Path.Combine(work, "core-root");
        var iso = Path.Combine(work, "core-tree");
        Directory.CreateDirectory(Path.Combine(iso, "boot/isolinux"));

        void Write(string path, ContentKind kind, long size, int mode = 0x1A4)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            using (var f = File.Create(path))
            using (var content = gen.Open(kind, size))
            {
                content.CopyTo(f, 1 << 16);
            }

            File.SetUnixFileMode(path, (UnixFileMode)mode);
        }

        var coreGz = Path.Combine(iso, "boot/core.gz");
        ReleaseRoot.MakeInitrd(gen, root, coreGz, rootBytes);
        coreGzBytes = new FileInfo(coreGz).Length;

        // A bzImage is a small setup stub and a compressed payload: random-ish bytes.
        var vmlinuz = Path.Combine(iso, "boot/vmlinuz");
        using (var f = File.Create(vmlinuz))
        {
            using (var head = gen.Open(ContentKind.Binary, 16_384))
            {
                head.CopyTo(f);
            }

            using var payload = gen.Open(ContentKind.Random, 3_000_000 - 16_384);
            payload.CopyTo(f);
        }

        vmlinuzBytes = new FileInfo(vmlinuz).Length;
        File.Copy(IsolinuxBin, Path.Combine(iso, "boot/isolinux/isolinux.bin"));
        File.Copy(LdlinuxC32, Path.Combine(iso, "boot/isolinux/ldlinux.c32"));
        File.WriteAllText(Path.Combine(iso, "boot/isolinux/isolinux.cfg"),
            "display boot.msg\ndefault microcore\nlabel microcore\n\tkernel /boot/vmlinuz\n\tappend initrd=/boot/core.gz quiet\n" +
            "label mc\n\tkernel /boot/vmlinuz\n\tappend initrd=/boot/core.gz loglevel=3\nimplicit 0\nprompt 1\ntimeout 300\nF1 boot.msg\nF2 f2\nF3 f3\nF4 f4\n");
        foreach (var msg in new[] { "boot.msg", "f2", "f3", "f4" })
        {
            Write(Path.Combine(iso, "boot/isolinux", msg), ContentKind.Prose, 600);
        }

        var output = Path.Combine(work, "Core-4.5.2.iso");
        Command(xorriso, ["-as", "mkisofs", "-l", "-J", "-R", "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table",
            "-b", "boot/isolinux/isolinux.bin", "-c", "boot/isolinux/boot.cat", "-V", "Core", "-o", output, iso]);
        Directory.Delete(iso, recursive: true);
        return output;
    }

    private sealed record CheckResult(long InitrdBytes, int Members);

    /// <summary>Reads an output back with xorriso: El Torito present, iso-metadata.yaml's hashes right, the
    /// initrd a valid gzip, the original core.gz kept, and the overlay's newc members counted with GNU cpio.</summary>
    private static CheckResult Check(string isoPath, long coreGzBytes, string folder)
    {
        if (Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true);
        }

        Directory.CreateDirectory(folder);
        var report = Sh("xorriso -indev \"$1\" -report_el_torito plain 2>&1", isoPath);
        if (!report.Contains("El Torito boot img", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"{isoPath}: no El Torito boot image\n{report}");
        }

        Sh("xorriso -osirrox on -indev \"$1\" -extract /boot/core.gz \"$2/core.gz\" -extract /boot/vmlinuz \"$2/vmlinuz\" " +
            "-extract /iso-metadata.yaml \"$2/iso-metadata.yaml\" -extract /boot/isolinux/isolinux.cfg \"$2/isolinux.cfg\" 2>&1", isoPath, folder);
        Sh("gzip -t \"$1/core.gz\"", folder);
        var meta = File.ReadAllText(Path.Combine(folder, "iso-metadata.yaml"));
        foreach (var (key, file) in new[] { ("kernel_hash", "vmlinuz"), ("initrd_hash", "core.gz") })
        {
            using var s = File.OpenRead(Path.Combine(folder, file));
            var hash = Convert.ToHexStringLower(SHA256.HashData(s));
            if (!meta.Contains($"{key}: {hash}\n", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"{isoPath}: iso-metadata.yaml has the wrong {key}\n{meta}");
            }
        }

        if (!File.ReadAllText(Path.Combine(folder, "isolinux.cfg")).Contains($"append initrd=/boot/core.gz quiet {KernelArgs}", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"{isoPath}: isolinux.cfg lacks the kernel arguments");
        }

        var members = Sh("tail -c +$(($2 + 1)) \"$1/core.gz\" | gzip -dc | cpio -it --quiet | wc -l", folder, coreGzBytes.ToString(CultureInfo.InvariantCulture));
        var result = new CheckResult(new FileInfo(Path.Combine(folder, "core.gz")).Length, int.Parse(members.Trim(), CultureInfo.InvariantCulture));
        Directory.Delete(folder, recursive: true);
        return result;
    }

    private static string Sh(string script, params string[] args)
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
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"`{script}` exited with {p.ExitCode}: {stderr.Result}{stdout}");
        }

        return stdout;
    }

    private static string Mib(long kb) => F(kb / 1024.0, "0.0");

    internal sealed record Contender(string Name, Func<Sample> Run, string Output, string? Scratch)
    {
        public bool IsBaseline { get; init; }

        public List<Sample> Samples { get; } = [];

        /// <summary>Deletes the output (and the shell's extraction folder) before a run.</summary>
        public void Clean()
        {
            File.Delete(Output);
            if (Scratch is not null && Directory.Exists(Scratch))
            {
                Directory.Delete(Scratch, recursive: true);
            }
        }
    }
}
