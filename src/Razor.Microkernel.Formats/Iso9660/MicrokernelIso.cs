using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Razor.Microkernel.Formats.Compression;
using Razor.Microkernel.Formats.Cpio;
using Razor.Microkernel.Formats.Efi;
using Razor.Microkernel.Formats.Layers;

namespace Razor.Microkernel.Formats.Iso9660;

public sealed record MicrokernelIsoOptions
{
    /// <summary>Semantic version of the image (iso-metadata.yaml, volume id).</summary>
    public required string Version { get; init; }

    /// <summary>Appended to every <c>append</c> line of isolinux.cfg.</summary>
    public string KernelArgs { get; init; } = string.Empty;

    /// <summary>Time of every entry and the iso_build_time (seconds since the epoch).</summary>
    public long ModificationTime { get; init; } = PackOptions.DefaultModificationTime;

    public int CompressionLevel { get; init; } = 9;

    public string KernelPath { get; init; } = "boot/vmlinuz";

    public string InitrdPath { get; init; } = "boot/core.gz";

    public string IsolinuxDir { get; init; } = "boot/isolinux";

    public InitrdMode InitrdMode { get; init; } = InitrdMode.Append;

    /// <summary>Limits on the release's core.gz (outside input).</summary>
    public InitrdLimits InitrdLimits { get; init; } = new();

    /// <summary>An isohybrid MBR template (syslinux's <c>isohdpfx.bin</c>, 432 bytes or more) to make the ISO
    /// bootable from a USB stick too; null for a plain ISO.</summary>
    public ReadOnlyMemory<byte>? HybridMbr { get; init; }

    /// <summary>Folder for temporary files (the initrd, Merge mode's spool); default the output's folder.</summary>
    public string? TemporaryDirectory { get; init; }

    /// <summary>A GRUB EFI application to boot UEFI with (the EfiLoader item); null keeps the release's own EFI boot
    /// image when it has one (see <see cref="MicrokernelEfi"/>).</summary>
    public string? EfiLoader { get; init; }
}

public sealed record MicrokernelIsoResult(string KernelSha256, string InitrdSha256, long InitrdBytes, int OverlayEntries, InitrdSummary Initrd)
{
    /// <summary>Where the ISO's UEFI boot comes from.</summary>
    public EfiRoute EfiRoute { get; init; }

    /// <summary>The UEFI boot configurations written or given the kernel arguments.</summary>
    public IReadOnlyList<string> EfiConfigs { get; init; } = [];
}

/// <summary>A Tiny Core release ISO that is not the shape a microkernel is built from.</summary>
public sealed class CoreIsoException(string reason) : MicrokernelFormatException($"the Core ISO {reason}")
{
    public string Reason { get; } = reason;
}

/// <summary>
/// Part 2 of the procedure, in-process: the release ISO's files, with <c>core.gz</c> followed by the overlay as a
/// gzip'd newc cpio (the kernel unpacks concatenated archives, so core.gz itself is kept byte for byte: the
/// Append mode), <c>isolinux.cfg</c> carrying the kernel arguments, and <c>iso-metadata.yaml</c> with the
/// SHA-256 of kernel and initrd in the Razor server's format; El Torito no-emulation boot of isolinux.bin, and a UEFI
/// entry when the release has an EFI boot image or an EfiLoader is given (<see cref="MicrokernelEfi"/>).
/// </summary>
public static class MicrokernelIso
{
    public static MicrokernelIsoResult Build(string coreIsoPath, OverlayMerge overlay, string outputPath, MicrokernelIsoOptions options,
        CancellationToken cancellationToken = default)
    {
        using var core = IsoReader.Open(coreIsoPath);
        var kernel = core.Find(options.KernelPath) ?? throw new CoreIsoException($"has no /{options.KernelPath}");
        var coreGz = core.Find(options.InitrdPath) ?? throw new CoreIsoException($"has no /{options.InitrdPath}");
        var cfgPath = $"{options.IsolinuxDir}/isolinux.cfg";
        var cfg = core.Find(cfgPath) ?? throw new CoreIsoException($"has no /{cfgPath}");
        var bootImage = $"{options.IsolinuxDir}/isolinux.bin";
        var boot = core.Find(bootImage) ?? throw new CoreIsoException($"has no /{bootImage}");
        if (options.HybridMbr is not null)
        {
            var head = new byte[0x44];
            using var b = core.OpenRead(boot);
            if (!IsoWriter.IsHybridCapable(head.AsSpan(0, b.ReadAtLeast(head, head.Length, throwOnEndOfStream: false))))
            {
                throw new CoreIsoException($"has a /{bootImage} that cannot boot from USB (no isohybrid signature; syslinux 3.72 or later has it): set MicrokernelIsoHybrid to false");
            }
        }

        // The initrd. Append: the release's core.gz unchanged, then the overlay as one gzip member of a newc
        // cpio. Merge: one gzip'd newc cpio of core.gz's contents with the overlay merged in. Written beside the
        // output as .NAME.GUID.initrd.tmp (as AtomicFile names its temporary files), so a killed build leaves it
        // where a clean finds it, not in the system's temp folder; Merge's spool goes there too.
        var full = Path.GetFullPath(outputPath);
        var temporary = options.TemporaryDirectory ?? Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(temporary);
        var initrd = Path.Combine(temporary, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.initrd.tmp");
        try
        {
            InitrdSummary summary;
            // Owner-only from creation: the initrd holds the overlay's bytes (server.cfg with the PSK).
            using (var output = new FileStream(initrd, AtomicFile.CreateNewOptions()))
            {
                if (options.InitrdMode == InitrdMode.Append)
                {
                    using var original = core.OpenRead(coreGz);
                    original.CopyTo(output);
                }

                using var coreInitrd = core.OpenRead(coreGz);
                using var gzip = new ParallelGzipStream(output, options.CompressionLevel, leaveOpen: true, cancellationToken: cancellationToken);
                try
                {
                    summary = MicrokernelInitrd.Write(coreInitrd, overlay, gzip, options.InitrdMode, options.ModificationTime, options.InitrdLimits,
                        temporary, cancellationToken);
                }
                catch (Exception e)
                {
                    gzip.Abandon(); // Ctrl+C or a failure: do not compress the rest of what is buffered
                    if (e is CpioFormatException or InvalidDataException)
                    {
                        throw new CoreIsoException($"has a /{options.InitrdPath} that is not a gzip'd newc cpio archive: {e.Message}");
                    }

                    if (e is FormatLimitException)
                    {
                        throw new CoreIsoException($"has a /{options.InitrdPath} beyond the reader's limits: {e.Message}");
                    }

                    throw;
                }
            }

            var initrdSha = Sha256(initrd);
            string kernelSha;
            using (var k = core.OpenRead(kernel))
            {
                kernelSha = Convert.ToHexStringLower(SHA256.HashData(k));
            }

            string cfgText;
            using (var c = core.OpenRead(cfg))
            using (var reader = new StreamReader(c, Encoding.UTF8))
            {
                cfgText = reader.ReadToEnd();
            }

            var newCfg = Encoding.UTF8.GetBytes(WithKernelArgs(cfgText, options.KernelArgs));
            var metadata = Encoding.UTF8.GetBytes(Metadata(options, kernelSha, initrdSha));
            var initrdLength = new FileInfo(initrd).Length;
            using var efi = MicrokernelEfi.Plan(core, new MicrokernelEfiOptions
            {
                LoaderPath = options.EfiLoader,
                KernelArgs = options.KernelArgs,
                KernelPath = options.KernelPath,
                InitrdPath = options.InitrdPath,
                Version = options.Version,
                Identity = $"{options.Version} {kernelSha} {initrdSha}",
                ModificationTime = options.ModificationTime,
                TemporaryDirectory = temporary,
                TemporaryName = Path.GetFileName(full),
            }, cancellationToken);
            var entries = new List<IsoWriterEntry>();
            foreach (var e in core.Entries)
            {
                var path = e.Path.TrimStart('/');
                if (path == options.InitrdPath || path == cfgPath || path == $"{options.IsolinuxDir}/boot.cat" || path == "iso-metadata.yaml" || efi.Replaces(path))
                {
                    continue;
                }

                entries.Add(IsoWriterEntry.From(core, e));
            }

            entries.Add(IsoWriterEntry.File(options.InitrdPath, initrdLength, () => File.OpenRead(initrd)));
            entries.Add(IsoWriterEntry.File(cfgPath, newCfg.Length, () => new MemoryStream(newCfg, writable: false)));
            entries.Add(IsoWriterEntry.File("iso-metadata.yaml", metadata.Length, () => new MemoryStream(metadata, writable: false)));
            entries.AddRange(efi.Entries);
            IsoWriter.WriteFile(outputPath, entries, new IsoWriterOptions
            {
                EfiBootImage = efi.BootImagePath,
                VolumeId = VolumeId(options.Version),
                Timestamp = DateTimeOffset.FromUnixTimeSeconds(options.ModificationTime),
                BootImage = bootImage,
                BootCatalog = $"{options.IsolinuxDir}/boot.cat",
                HybridMbr = options.HybridMbr,
            }, cancellationToken);
            return new MicrokernelIsoResult(kernelSha, initrdSha, initrdLength, overlay.Entries.Count, summary) { EfiRoute = efi.Route, EfiConfigs = efi.Configs };
        }
        finally
        {
            File.Delete(initrd);
        }
    }

    /// <summary>"Razor MK VERSION", cut to the 32 characters a volume id holds.</summary>
    public static string VolumeId(string version)
    {
        var id = $"Razor MK {version}";
        return id.Length > 32 ? id[..32] : id;
    }

    /// <summary>Appends the kernel arguments to every <c>append</c> line (isolinux keywords are case-insensitive).</summary>
    public static string WithKernelArgs(string cfg, string args)
    {
        if (string.IsNullOrWhiteSpace(args))
        {
            return cfg;
        }

        var lines = cfg.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].TrimStart().StartsWith("append ", StringComparison.OrdinalIgnoreCase))
            {
                lines[i] = lines[i].TrimEnd() + " " + args.Trim();
            }
        }

        return string.Join('\n', lines);
    }

    /// <summary>iso-metadata.yaml as the Razor server reads it.</summary>
    public static string Metadata(MicrokernelIsoOptions options, string kernelSha256, string initrdSha256) =>
        string.Create(CultureInfo.InvariantCulture, $"""
            ---
            iso_version: {options.Version}
            kernel: {options.KernelPath}
            initrd: {options.InitrdPath}
            hash_description:
              type: Digest::SHA2
              bitlen: 256
            kernel_hash: {kernelSha256}
            initrd_hash: {initrdSha256}
            iso_build_time: {DateTimeOffset.FromUnixTimeSeconds(options.ModificationTime).UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC

            """).Replace("\r\n", "\n", StringComparison.Ordinal);

    private static string Sha256(string path)
    {
        using var s = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(s));
    }
}
