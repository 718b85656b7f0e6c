using System.Diagnostics;
using System.Globalization;
using Razor.Microkernel.Formats.Iso9660;
using Razor.Microkernel.Formats.Layers;
using static Razor.Microkernel.Bench.Measure;

namespace Razor.Microkernel.Bench;

/// <summary>
/// BuildIso's work for a UEFI-bootable isohybrid ISO (OverlayMerge of the layers, then MicrokernelIso.Build with an
/// EfiLoader and the isohybrid MBR: the FAT image written in-process, the El Torito EFI entry, the MBR and GPT)
/// against the script a person would run on the same inputs, same run: the <c>iso</c> benchmark's pipeline
/// (xorriso -osirrox, cpio | gzip -9 appended to core.gz, isolinux.cfg, iso-metadata.yaml with sha256sum), plus the
/// grub.cfg, <c>mkfs.vfat</c> + <c>mmd</c> + <c>mcopy</c> of the EFI image, and
/// <c>xorriso -as mkisofs … -isohybrid-mbr … -eltorito-alt-boot -e … -no-emul-boot -isohybrid-gpt-basdat</c>. The
/// loader is a GRUB made with grub-mkstandalone as docs/howto.md says. Same stand-in Core ISO and overlay as
/// <see cref="IsoBenchmark"/>; warm-up, rotating repetitions, output deleted before each run, medians compared.
/// </summary>
internal static class UefiIsoBenchmark
{
    private const string Version = "0.9.1";
    private const string KernelArgs = "razor.ip=10.0.0.1 loglevel=3";
    private const string IsoHdPfx = "/usr/lib/ISOLINUX/isohdpfx.bin";

    /// <summary>The script; arguments: core ISO, overlay folder, scratch folder, output ISO, kernel arguments, version,
    /// mtime, loader, isohdpfx.bin.</summary>
    private const string Shell = """
        set -euo pipefail
        core=$1 tree=$2 x=$3 out=$4 args=$5 version=$6 mtime=$7 loader=$8 mbr=$9
        mkdir "$x"
        xorriso -osirrox on -indev "$core" -extract / "$x"
        chmod u+w "$x/boot" "$x/boot/core.gz" "$x/boot/isolinux" "$x/boot/isolinux/isolinux.cfg" "$x"
        (cd "$tree" && find . | cpio -o -H newc --quiet | gzip -9) >> "$x/boot/core.gz"
        sed -i "/^[[:space:]]*append /s/\$/ $args/" "$x/boot/isolinux/isolinux.cfg"
        rm -f "$x/boot/isolinux/boot.cat"
        mkdir -p "$x/EFI/BOOT" "$x/boot/grub"
        cat > "$x/boot/grub/grub.cfg" <<EOF
        set default=0
        set timeout=0
        search --no-floppy --set=root --file /iso-metadata.yaml
        menuentry "Razor microkernel $version" {
            linux /boot/vmlinuz $args
            initrd /boot/core.gz
        }
        EOF
        cp "$x/boot/grub/grub.cfg" "$x/EFI/BOOT/grub.cfg"
        kib=$(( ($(stat -c %s "$loader") + 1023) / 1024 + 256 ))
        mkfs.vfat -C "$x/EFI/BOOT/efiboot.img" $kib >/dev/null
        MTOOLS_SKIP_CHECK=1 mmd -i "$x/EFI/BOOT/efiboot.img" ::EFI ::EFI/BOOT
        MTOOLS_SKIP_CHECK=1 mcopy -i "$x/EFI/BOOT/efiboot.img" "$loader" ::EFI/BOOT/BOOTX64.EFI
        MTOOLS_SKIP_CHECK=1 mcopy -i "$x/EFI/BOOT/efiboot.img" "$x/boot/grub/grub.cfg" ::EFI/BOOT/grub.cfg
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
          -b boot/isolinux/isolinux.bin -c boot/isolinux/boot.cat -isohybrid-mbr "$mbr" \
          -eltorito-alt-boot -e EFI/BOOT/efiboot.img -no-emul-boot -isohybrid-gpt-basdat -o "$out" "$x"
        """;

    public static void Run(string work, long overlayBytes, long coreBytes, int reps, int layerCount, ulong seed)
    {
        var xorriso = Which("xorriso") ?? throw new InvalidOperationException("xorriso is not on PATH");
        foreach (var tool in new[] { "cpio", "gzip", "sha256sum", "bash", "mkfs.vfat", "mmd", "mcopy", "grub-mkstandalone" })
        {
            _ = Which(tool) ?? throw new InvalidOperationException($"{tool} is not on PATH (Debian: cpio, gzip, dosfstools, mtools, grub-common with grub-efi-amd64-bin)");
        }

        if (!File.Exists(IsoHdPfx))
        {
            throw new InvalidOperationException($"{IsoHdPfx} is missing (Debian package isolinux)");
        }

        Console.WriteLine($"# iso-uefi: {overlayBytes / 1_000_000} MB overlay in {layerCount} layers, Core root {coreBytes / 1_000_000} MB, {reps} repetitions, seed {seed}, work folder {work}");
        Console.WriteLine($"# machine: {Load()} (at start)");
        var sw = Stopwatch.StartNew();
        var coreIso = IsoBenchmark.MakeCoreIso(work, coreBytes, seed + 1, xorriso, out _, out _);
        var loader = Path.Combine(work, "BOOTX64.EFI");
        File.WriteAllText(Path.Combine(work, "embed.cfg"), "configfile $cmdpath/grub.cfg\n");
        Command("grub-mkstandalone", ["-O", "x86_64-efi", "--locales=", "--fonts=", "--themes=", "-o", loader, "boot/grub/grub.cfg=" + Path.Combine(work, "embed.cfg")]);
        var tree = Path.Combine(work, "tree");
        var stats = TreeGenerator.Generate(tree, overlayBytes, seed);
        var layers = Enumerable.Range(1, layerCount).Select(i => Path.Combine(work, $"layer-{i}-of-{layerCount}.tar")).ToArray();
        Warm(tree);
        FolderLayers.Write(tree, layers);
        foreach (var l in layers.Append(coreIso).Append(loader))
        {
            using var s = File.OpenRead(l);
            s.CopyTo(Stream.Null);
        }

        Console.WriteLine($"# Core ISO {new FileInfo(coreIso).Length:N0} bytes; loader {new FileInfo(loader).Length:N0} bytes; overlay {stats.Bytes:N0} bytes in {stats.Files} files; " +
            $"inputs made in {F(sw.Elapsed.TotalSeconds, "0.0")} s");

        var outDir = Path.Combine(work, "out");
        Directory.CreateDirectory(outDir);
        var mbr = File.ReadAllBytes(IsoHdPfx)[..IsoWriter.HybridMbrTemplateBytes];
        var oursOutput = Path.Combine(outDir, "ours.iso");
        var ours = new IsoBenchmark.Contender($"ours: OverlayMerge + MicrokernelIso.Build with EfiLoader and isohybrid (level 9), {layerCount} layers",
            () => InProcess(() => Ours(coreIso, layers, loader, mbr, oursOutput)), oursOutput, null);
        var shellOutput = Path.Combine(outDir, "shell.iso");
        var mtime = PackOptions.DefaultModificationTime.ToString(CultureInfo.InvariantCulture);
        var shell = new IsoBenchmark.Contender("shell: the iso pipeline + mkfs.vfat, mmd, mcopy + xorriso -as mkisofs … -e … -isohybrid-gpt-basdat",
            () => Command("bash", ["-c", Shell, "bash", coreIso, tree, Path.Combine(outDir, "shell-x"), shellOutput, KernelArgs, Version, mtime, loader, IsoHdPfx]),
            shellOutput, Path.Combine(outDir, "shell-x"))
        {
            IsBaseline = true,
        };
        var contenders = new[] { ours, shell };
        foreach (var c in contenders)
        {
            c.Clean();
            c.Run(); // warm-up
        }

        for (var r = 0; r < reps; r++)
        {
            for (var k = 0; k < contenders.Length; k++)
            {
                var c = contenders[(k + r) % contenders.Length];
                c.Clean();
                c.Samples.Add(c.Run());
            }

            Console.WriteLine($"# repetition {r + 1}/{reps} done; {Load()}");
        }

        foreach (var c in contenders)
        {
            Check(c.Output);
        }

        var baseTime = Median(shell.Samples.Select(s => s.Seconds));
        var baseCpu = Median(shell.Samples.Select(s => s.CpuSeconds));
        Console.WriteLine();
        Console.WriteLine($"Machine: {Load()} (at end).");
        Console.WriteLine();
        Console.WriteLine("| run | median s | min s | max s | CPU s (median) | ISO bytes | time / shell | CPU / shell |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var c in contenders)
        {
            var t = c.Samples.Select(s => s.Seconds).ToArray();
            var cpu = Median(c.Samples.Select(s => s.CpuSeconds));
            Console.WriteLine($"| {c.Name} | {F(Median(t))} | {F(t.Min())} | {F(t.Max())} | {F(cpu)} | {new FileInfo(c.Output).Length:N0} | {F(Median(t) / baseTime)} | {F(cpu / baseCpu)} |");
        }

        var timeRatio = Median(ours.Samples.Select(s => s.Seconds)) / baseTime;
        var cpuRatio = Median(ours.Samples.Select(s => s.CpuSeconds)) / baseCpu;
        Console.WriteLine();
        Console.WriteLine($"bench.iso-uefi.result time_ratio={F(timeRatio)} cpu_ratio={F(cpuRatio)} overlay_bytes={stats.Bytes} cores={Environment.ProcessorCount}");
    }

    private static void Ours(string coreIso, IReadOnlyList<string> layers, string loader, byte[] mbr, string output)
    {
        var merge = OverlayMerge.Create(layers.Select(l => new LayerSource(Path.GetFileName(l), l)).ToList());
        MicrokernelIso.Build(coreIso, merge, output, new MicrokernelIsoOptions
        {
            Version = Version, Layout = Formats.Release.TinyCoreRelease.Find("4.x", "x86").IsoLayout, KernelArgs = KernelArgs, EfiLoader = loader, HybridMbr = mbr,
        });
    }

    /// <summary>Both outputs must carry the UEFI El Torito entry and the isohybrid GPT.</summary>
    private static void Check(string iso)
    {
        var psi = new ProcessStartInfo("xorriso") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-indev", iso, "-report_el_torito", "plain", "-report_system_area", "plain" })
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var report = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        _ = stderr.Result;
        if (!report.Contains("UEFI", StringComparison.Ordinal) || !report.Contains("MBR isohybrid cyl-align-on GPT", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"{iso}: no UEFI entry or no isohybrid GPT\n{report}");
        }
    }
}
