using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Razor.Microkernel.Formats.Compression;
using Razor.Microkernel.Formats.Cpio;
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
}

public sealed record MicrokernelIsoResult(string KernelSha256, string InitrdSha256, long InitrdBytes, int OverlayEntries);

/// <summary>A Tiny Core release ISO that is not the shape a microkernel is built from.</summary>
public sealed class CoreIsoException(string reason) : MicrokernelFormatException($"the Core ISO {reason}")
{
    public string Reason { get; } = reason;
}

/// <summary>
/// Part 2 of the procedure, in-process: the release ISO's files, with <c>core.gz</c> followed by the overlay as a
/// gzip'd newc cpio (the kernel unpacks concatenated archives, so core.gz itself is kept byte for byte: the
/// Append mode), <c>isolinux.cfg</c> carrying the kernel arguments, and <c>iso-metadata.yaml</c> with the
/// SHA-256 of kernel and initrd in the Razor server's format; El Torito no-emulation boot of isolinux.bin.
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
        if (core.Find(bootImage) is null)
        {
            throw new CoreIsoException($"has no /{bootImage}");
        }

        // The initrd: the release's core.gz unchanged, then the overlay as one gzip member of a newc cpio. Written
        // beside the output as .NAME.GUID.initrd.tmp (as AtomicFile names its temporary files), so a killed build
        // leaves it where a clean finds it, not in the system's temp folder.
        var full = Path.GetFullPath(outputPath);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var initrd = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.initrd.tmp");
        try
        {
            using (var output = File.Create(initrd))
            {
                using (var original = core.OpenRead(coreGz))
                {
                    original.CopyTo(output);
                }

                using var gzip = new ParallelGzipStream(output, options.CompressionLevel, leaveOpen: true, cancellationToken: cancellationToken);
                try
                {
                    WriteCpio(overlay, gzip, options.ModificationTime, cancellationToken);
                }
                catch
                {
                    gzip.Abandon(); // Ctrl+C or a failure: do not compress the rest of what is buffered
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
            var entries = new List<IsoWriterEntry>();
            foreach (var e in core.Entries)
            {
                var path = e.Path.TrimStart('/');
                if (path == options.InitrdPath || path == cfgPath || path == $"{options.IsolinuxDir}/boot.cat" || path == "iso-metadata.yaml")
                {
                    continue;
                }

                entries.Add(IsoWriterEntry.From(core, e));
            }

            entries.Add(IsoWriterEntry.File(options.InitrdPath, initrdLength, () => File.OpenRead(initrd)));
            entries.Add(IsoWriterEntry.File(cfgPath, newCfg.Length, () => new MemoryStream(newCfg, writable: false)));
            entries.Add(IsoWriterEntry.File("iso-metadata.yaml", metadata.Length, () => new MemoryStream(metadata, writable: false)));
            IsoWriter.WriteFile(outputPath, entries, new IsoWriterOptions
            {
                VolumeId = VolumeId(options.Version),
                Timestamp = DateTimeOffset.FromUnixTimeSeconds(options.ModificationTime),
                BootImage = bootImage,
                BootCatalog = $"{options.IsolinuxDir}/boot.cat",
            }, cancellationToken);
            return new MicrokernelIsoResult(kernelSha, initrdSha, initrdLength, overlay.Entries.Count);
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

    /// <summary>The merged overlay as a newc cpio: parents first, hard links as one inode, data from the layers.</summary>
    public static void WriteCpio(OverlayMerge overlay, Stream output, long modificationTime, CancellationToken cancellationToken = default)
    {
        var streams = new FileStream?[overlay.Layers.Count];
        try
        {
            using var cpio = new NewcWriter(output, modificationTime, leaveOpen: true);
            var links = overlay.Entries.Where(m => m.Entry.Type == LayerEntryType.HardLink)
                .GroupBy(m => m.Entry.LinkTarget, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
            foreach (var m in overlay.Entries)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var e = m.Entry;
                var a = e.Attributes;
                var type = e.Type switch
                {
                    LayerEntryType.Directory => CpioEntryType.Directory,
                    LayerEntryType.Symlink => CpioEntryType.Symlink,
                    LayerEntryType.CharacterDevice => CpioEntryType.CharacterDevice,
                    LayerEntryType.BlockDevice => CpioEntryType.BlockDevice,
                    LayerEntryType.Fifo => CpioEntryType.Fifo,
                    LayerEntryType.HardLink => (CpioEntryType?)null,
                    _ => CpioEntryType.File,
                };
                if (type is null)
                {
                    continue; // written with the file it links to
                }

                var entry = new CpioEntry(m.Path, type.Value, a.Mode, a.Owner.Uid, a.Owner.Gid, e.LinkTarget, e.DeviceMajor, e.DeviceMinor);
                if (type != CpioEntryType.File)
                {
                    cpio.Write(entry);
                    continue;
                }

                var layer = streams[m.LayerIndex] ??= new FileStream(overlay.Layers[m.LayerIndex].Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 17);
                using var data = new IO.CancellingStream(new IO.WindowStream(layer, e.DataOffset, e.Size), cancellationToken);
                if (links.TryGetValue(m.Path, out var group))
                {
                    var members = new List<CpioEntry> { entry };
                    members.AddRange(group.Select(l => entry with { Path = l.Path }));
                    cpio.WriteHardLinks(members, data, e.Size);
                }
                else
                {
                    cpio.Write(entry, data, e.Size);
                }
            }

            cpio.Finish();
        }
        finally
        {
            foreach (var s in streams)
            {
                s?.Dispose();
            }
        }
    }

    private static string Sha256(string path)
    {
        using var s = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(s));
    }
}
