using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Razor.Microkernel.Formats.Efi;
using Razor.Microkernel.Formats.Layers;
using Razor.Microkernel.Formats.Release;

namespace Razor.Microkernel.Formats.Iso9660;

public sealed record MicrokernelIsoOptions
{
    /// <summary>Semantic version of the image (iso-metadata.yaml, volume id).</summary>
    public required string Version { get; init; }

    /// <summary>Where the release ISO keeps its kernel, initrd and boot loader (<see cref="TinyCoreRelease.IsoLayout"/>).</summary>
    public required ReleaseIsoLayout Layout { get; init; }

    /// <summary>Appended to every <c>append</c> line of the boot loader's configuration.</summary>
    public string KernelArgs { get; init; } = string.Empty;

    /// <summary>Time of every entry and the iso_build_time (seconds since the epoch).</summary>
    public long ModificationTime { get; init; } = PackOptions.DefaultModificationTime;

    public int CompressionLevel { get; init; } = 9;

    public InitrdMode InitrdMode { get; init; } = InitrdMode.Append;

    /// <summary>Limits on the release's initrd (outside input).</summary>
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
/// Part 2 of the procedure, in-process: the release ISO's files, with its initrd followed by the overlay as a
/// gzip'd newc cpio (the kernel unpacks concatenated archives, so the release's initrd itself is kept byte for byte:
/// the Append mode), the boot loader's configuration carrying the kernel arguments, and <c>iso-metadata.yaml</c>
/// with the SHA-256 of kernel and initrd in the Razor server's format; El Torito no-emulation boot of the release's
/// boot image, and a UEFI entry when the release has an EFI boot image or an EfiLoader is given
/// (<see cref="MicrokernelEfi"/>). The paths come from the release's <see cref="ReleaseIsoLayout"/>.
/// </summary>
public static class MicrokernelIso
{
    public static MicrokernelIsoResult Build(string coreIsoPath, OverlayMerge overlay, string outputPath, MicrokernelIsoOptions options,
        CancellationToken cancellationToken = default)
    {
        using var core = IsoReader.Open(coreIsoPath);
        var layout = options.Layout;
        var kernel = core.Find(layout.KernelPath) ?? throw new CoreIsoException($"has no /{layout.KernelPath}");
        var coreInitrd = core.Find(layout.InitrdPath) ?? throw new CoreIsoException($"has no /{layout.InitrdPath}");
        var cfgPath = layout.BootConfigPath;
        var cfg = core.Find(cfgPath) ?? throw new CoreIsoException($"has no /{cfgPath}");
        var bootImage = layout.BootImagePath;
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

        // The initrd (see MicrokernelInitrd.WriteInitrd), written beside the output as .NAME.GUID.initrd.tmp (as
        // AtomicFile names its temporary files), so a killed build leaves it where a clean finds it, not in the
        // system's temp folder; Merge's spool goes there too.
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
                try
                {
                    summary = MicrokernelInitrd.WriteInitrd(() => core.OpenRead(coreInitrd), overlay, output, new InitrdWriteOptions
                    {
                        Mode = options.InitrdMode,
                        ModificationTime = options.ModificationTime,
                        CompressionLevel = options.CompressionLevel,
                        Limits = options.InitrdLimits,
                    }, temporary, cancellationToken);
                }
                catch (ReleaseInitrdException e)
                {
                    throw new CoreIsoException($"has a /{layout.InitrdPath} that {e.Reason}");
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
                KernelPath = layout.KernelPath,
                InitrdPath = layout.InitrdPath,
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
                if (path == layout.InitrdPath || path == cfgPath || path == layout.BootCatalogPath || path == "iso-metadata.yaml" || efi.Replaces(path))
                {
                    continue;
                }

                entries.Add(IsoWriterEntry.From(core, e));
            }

            entries.Add(IsoWriterEntry.File(layout.InitrdPath, initrdLength, () => File.OpenRead(initrd)));
            entries.Add(IsoWriterEntry.File(cfgPath, newCfg.Length, () => new MemoryStream(newCfg, writable: false)));
            entries.Add(IsoWriterEntry.File("iso-metadata.yaml", metadata.Length, () => new MemoryStream(metadata, writable: false)));
            entries.AddRange(efi.Entries);
            IsoWriter.WriteFile(outputPath, entries, new IsoWriterOptions
            {
                EfiBootImage = efi.BootImagePath,
                VolumeId = VolumeId(options.Version),
                Timestamp = DateTimeOffset.FromUnixTimeSeconds(options.ModificationTime),
                BootImage = bootImage,
                BootCatalog = layout.BootCatalogPath,
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

    /// <summary>Appends the kernel arguments to every <c>append</c> line (the boot loader's keywords are case-insensitive).</summary>
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
            kernel: {options.Layout.KernelPath}
            initrd: {options.Layout.InitrdPath}
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
