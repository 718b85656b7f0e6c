using System.Security.Cryptography;
using System.Text;
using Razor.Microkernel.Formats.Fat;
using Razor.Microkernel.Formats.Iso9660;

namespace Razor.Microkernel.Formats.Efi;

/// <summary>What is wrong with the UEFI boot files of a build.</summary>
public enum EfiBootProblem
{
    /// <summary>The EfiLoader item is not an x86_64 PE/COFF EFI application.</summary>
    LoaderNotEfiApplication,

    /// <summary>The release ISO's El Torito EFI entry loads something that is not a FAT file system.</summary>
    ReleaseImageNotFat,

    /// <summary>The release ISO's El Torito EFI entry loads blocks that are no file of the ISO.</summary>
    ReleaseImageNotAFile,

    /// <summary>The release's GRUB configuration cannot be made to boot the microkernel (none found, no kernel line, too large).</summary>
    ConfigNotEditable,
}

/// <summary>A build's UEFI boot files cannot be made; <see cref="File"/> names the file (a path on the release
/// ISO, in its EFI image, or the loader).</summary>
public sealed class EfiBootException(EfiBootProblem problem, string file, string reason)
    : MicrokernelFormatException($"{file}: {reason}")
{
    public EfiBootProblem Problem { get; } = problem;

    public string File { get; } = file;

    public string Reason { get; } = reason;
}

/// <summary>Where the ISO's UEFI boot comes from.</summary>
public enum EfiRoute
{
    /// <summary>No UEFI boot: the release has no EFI image and no EfiLoader was given.</summary>
    None,

    /// <summary>The release ISO's own EFI boot image, its GRUB configuration given the kernel arguments.</summary>
    Release,

    /// <summary>A FAT image the SDK writes with the EfiLoader as <c>EFI/BOOT/BOOTX64.EFI</c> and its grub.cfg.</summary>
    Loader,
}

public sealed record MicrokernelEfiOptions
{
    /// <summary>A GRUB EFI application (the EfiLoader item); null uses the release's EFI image, if it has one.</summary>
    public string? LoaderPath { get; init; }

    public string KernelArgs { get; init; } = "";

    /// <summary>The kernel and initrd on the ISO (no leading <c>/</c>), as the release names them.</summary>
    public required string KernelPath { get; init; }

    public required string InitrdPath { get; init; }

    /// <summary>The image's version (the boot menu's title).</summary>
    public required string Version { get; init; }

    /// <summary>What makes this image's marker file unique (the kernel's and the initrd's SHA-256).</summary>
    public required string Identity { get; init; }

    public long ModificationTime { get; init; } = Layers.PackOptions.DefaultModificationTime;

    /// <summary>Where the FAT image is written until the ISO is (a <c>.NAME.GUID.efi.tmp</c> file).</summary>
    public required string TemporaryDirectory { get; init; }

    public string TemporaryName { get; init; } = "microkernel";
}

/// <summary>The files a UEFI route adds to the ISO (replacing the release's at the same paths) and the El Torito EFI
/// image among them. Dispose deletes the temporary FAT image.</summary>
public sealed class EfiPlan : IDisposable
{
    private readonly List<string> _temporary = [];

    public EfiRoute Route { get; init; }

    /// <summary>Path on the ISO of the FAT image the EFI entry boots; null for <see cref="EfiRoute.None"/>.</summary>
    public string? BootImagePath { get; init; }

    public List<IsoWriterEntry> Entries { get; } = [];

    /// <summary>The configuration files given the kernel arguments or written (ISO paths; <c>IMAGE:path</c> inside the FAT image).</summary>
    public List<string> Configs { get; } = [];

    public bool Replaces(string path) => Entries.Any(e => string.Equals(e.Path.Trim('/'), path.Trim('/'), StringComparison.Ordinal));

    internal string Temporary(MicrokernelEfiOptions o)
    {
        Directory.CreateDirectory(o.TemporaryDirectory);
        var path = Path.Combine(o.TemporaryDirectory, $".{o.TemporaryName}.{Guid.NewGuid():N}.efi.tmp");
        _temporary.Add(path);
        return path;
    }

    public void Dispose()
    {
        foreach (var t in _temporary)
        {
            File.Delete(t);
        }
    }
}

/// <summary>
/// The UEFI boot of the microkernel ISO. Two routes:
/// <list type="number">
/// <item>The release ISO's own EFI boot image (its El Torito catalog has a platform 0xEF entry): kept, and every
/// <c>grub.cfg</c> in it and on the ISO (Tiny Core's TinyCorePure64 keeps its menu in <c>/EFI/BOOT/grub/grub.cfg</c>;
/// others in <c>/boot/grub/grub.cfg</c> or inside the image) given the kernel arguments on each <c>linux</c> line;
/// when a configuration inside the image changes, the image is written again (same files, label, serial and at
/// least the same size). The initrd is replaced at the release's own path, so the menu boots the microkernel.</item>
/// <item>An EfiLoader (a GRUB EFI application the project supplies): a FAT image, written in-process, with the
/// loader as <c>EFI/BOOT/BOOTX64.EFI</c> and the SDK's <c>EFI/BOOT/grub.cfg</c>; the same configuration on the ISO
/// as <c>/EFI/BOOT/grub.cfg</c> (where a GRUB started from a CD finds <c>$cmdpath/grub.cfg</c>) and
/// <c>/boot/grub/grub.cfg</c>, and a marker file the configuration's <c>search</c> finds the ISO by.</item>
/// </list>
/// An EfiLoader replaces the release's EFI image when both exist.
/// </summary>
public static class MicrokernelEfi
{
    /// <summary>Where the SDK's FAT image goes on the ISO (as on Tiny Core's TinyCorePure64).</summary>
    public const string ImagePath = "EFI/BOOT/efiboot.img";

    public static EfiPlan Plan(IsoReader release, MicrokernelEfiOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(release);
        ArgumentNullException.ThrowIfNull(options);
        if (options.LoaderPath is { } loader)
        {
            return FromLoader(loader, options, cancellationToken);
        }

        var efi = release.BootEntries.FirstOrDefault(e => e.IsEfi);
        return efi is null ? new EfiPlan { Route = EfiRoute.None } : FromRelease(release, efi, options, cancellationToken);
    }

    /// <summary>
    /// What <see cref="Plan"/> would refuse, found without writing anything (so a build can refuse it before it writes
    /// any layer): the loader's PE/COFF headers when <paramref name="loaderPath"/> is given; else the release's EFI
    /// entry — a file of the ISO, a FAT image the reader reads, a <c>grub.cfg</c> in it or on the ISO with a kernel
    /// line. Returns the route <see cref="Plan"/> takes; throws the <see cref="EfiBootException"/> it would throw.
    /// </summary>
    public static EfiRoute Check(IsoReader release, string? loaderPath, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(release);
        if (loaderPath is not null)
        {
            CheckLoader(loaderPath);
            return EfiRoute.Loader;
        }

        var efi = release.BootEntries.FirstOrDefault(e => e.IsEfi);
        if (efi is null)
        {
            return EfiRoute.None;
        }

        using var plan = FromRelease(release, efi, null, cancellationToken);
        return plan.Route;
    }

    private static void CheckLoader(string loader)
    {
        using var s = File.OpenRead(loader);
        try
        {
            EfiApplication.Check(s);
        }
        catch (EfiApplicationException e)
        {
            throw new EfiBootException(EfiBootProblem.LoaderNotEfiApplication, loader, e.Reason);
        }
    }

    private static EfiPlan FromLoader(string loader, MicrokernelEfiOptions o, CancellationToken cancellationToken)
    {
        CheckLoader(loader);
        var id = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(o.Identity)))[..16];
        var marker = $"boot/grub/microkernel-{id}";
        var cfg = Encoding.UTF8.GetBytes(GrubConfig.ForMicrokernel($"Razor microkernel {o.Version}", "/" + marker, o.KernelPath, o.InitrdPath, o.KernelArgs));
        var markerText = Encoding.UTF8.GetBytes($"Razor microkernel {o.Version}\n");
        var plan = new EfiPlan { Route = EfiRoute.Loader, BootImagePath = ImagePath };
        try
        {
            var image = plan.Temporary(o);
            FatWriter.WriteFile(image,
            [
                FatWriterEntry.File("EFI/BOOT/BOOTX64.EFI", new FileInfo(loader).Length, () => File.OpenRead(loader)),
                FatWriterEntry.File("EFI/BOOT/grub.cfg", cfg),
            ], new FatWriterOptions { Timestamp = DateTimeOffset.FromUnixTimeSeconds(o.ModificationTime) }, cancellationToken);
            var length = new FileInfo(image).Length;
            plan.Entries.Add(IsoWriterEntry.File(ImagePath, length, () => File.OpenRead(image)));
            foreach (var path in new[] { "EFI/BOOT/grub.cfg", "boot/grub/grub.cfg" })
            {
                plan.Entries.Add(IsoWriterEntry.File(path, cfg.Length, () => new MemoryStream(cfg, writable: false)));
                plan.Configs.Add("/" + path);
            }

            plan.Configs.Insert(0, $"/{ImagePath}:EFI/BOOT/grub.cfg");
            plan.Entries.Add(IsoWriterEntry.File(marker, markerText.Length, () => new MemoryStream(markerText, writable: false)));
            return plan;
        }
        catch
        {
            plan.Dispose();
            throw;
        }
    }

    /// <summary>The release route; with <paramref name="o"/> null only what it reads is checked (nothing is edited or written).</summary>
    private static EfiPlan FromRelease(IsoReader release, IsoBootEntry efi, MicrokernelEfiOptions? o, CancellationToken cancellationToken)
    {
        var args = o?.KernelArgs ?? "";
        var file = release.FileAtBlock(efi.LoadBlock)
            ?? throw new EfiBootException(EfiBootProblem.ReleaseImageNotAFile, $"block {efi.LoadBlock}",
                "the release's El Torito EFI entry loads blocks that are no file of the ISO (an appended partition); give an EfiLoader item instead");
        var imageName = "/" + file.Path;
        var plan = new EfiPlan { Route = EfiRoute.Release, BootImagePath = file.Path };
        try
        {
            using var stream = release.OpenRead(file);
            FatImage fat;
            try
            {
                fat = FatImage.Open(stream, leaveOpen: true);
            }
            catch (Exception e) when (e is FatFormatException or FormatLimitException)
            {
                throw new EfiBootException(EfiBootProblem.ReleaseImageNotFat, imageName, $"the release's EFI boot image is not a FAT file system the SDK can read: {e.Message}");
            }

            using (fat)
            {
                var kernelLines = 0;
                var examined = new List<string>();
                var changedInImage = new Dictionary<string, byte[]>(StringComparer.OrdinalIgnoreCase);
                foreach (var e in fat.Entries.Where(e => !e.IsDirectory && e.Name.Equals("grub.cfg", StringComparison.OrdinalIgnoreCase)))
                {
                    var name = $"{imageName}:{e.Path}";
                    examined.Add(name);
                    using var s = fat.OpenRead(e);
                    var edited = GrubConfig.WithKernelArgs(GrubConfig.Read(s, e.Size, name), args, out var lines);
                    kernelLines += lines;
                    if (lines > 0 && !string.IsNullOrWhiteSpace(args))
                    {
                        changedInImage[e.Path] = Encoding.UTF8.GetBytes(edited);
                        plan.Configs.Add(name);
                    }
                }

                foreach (var e in release.Entries.Where(e => e.Type == IsoEntryType.File && e.Name.Equals("grub.cfg", StringComparison.OrdinalIgnoreCase)))
                {
                    var name = "/" + e.Path;
                    examined.Add(name);
                    using var s = release.OpenRead(e);
                    var edited = GrubConfig.WithKernelArgs(GrubConfig.Read(s, e.Size, name), args, out var lines);
                    kernelLines += lines;
                    if (lines > 0 && !string.IsNullOrWhiteSpace(args))
                    {
                        var bytes = Encoding.UTF8.GetBytes(edited);
                        plan.Entries.Add(IsoWriterEntry.File(e.Path, bytes.Length, () => new MemoryStream(bytes, writable: false), e.Mode, e.Uid, e.Gid));
                        plan.Configs.Add(name);
                    }
                }

                if (kernelLines == 0)
                {
                    throw examined.Count == 0
                        ? new EfiBootException(EfiBootProblem.ConfigNotEditable, imageName,
                            "the release boots UEFI from this image, but neither it nor the ISO holds a grub.cfg the SDK can give the kernel arguments (the configuration may be built into the loader); give an EfiLoader item instead")
                        : new EfiBootException(EfiBootProblem.ConfigNotEditable, string.Join(", ", examined),
                            "no 'linux' line: the SDK cannot see which kernel the release's UEFI menu boots; give an EfiLoader item instead");
                }

                if (o is not null && changedInImage.Count > 0)
                {
                    var image = plan.Temporary(o);
                    var entries = fat.Entries.Select(e => e.IsDirectory
                        ? FatWriterEntry.Directory(e.Path)
                        : changedInImage.TryGetValue(e.Path, out var bytes)
                            ? FatWriterEntry.File(e.Path, bytes)
                            : FatWriterEntry.File(e.Path, e.Size, () => fat.OpenRead(e)));
                    try
                    {
                        FatWriter.WriteFile(image, entries, new FatWriterOptions
                        {
                            VolumeLabel = ValidLabel(fat.VolumeLabel),
                            VolumeSerial = fat.VolumeSerial,
                            Timestamp = DateTimeOffset.FromUnixTimeSeconds(o.ModificationTime),
                            MinimumBytes = fat.ImageBytes,
                        }, cancellationToken);
                    }
                    catch (FatWriteException e)
                    {
                        // A name or size the reader accepts but the writer cannot hold (FAT forbids * ? : " < > | in names).
                        throw new EfiBootException(EfiBootProblem.ConfigNotEditable, string.Join(", ", changedInImage.Keys.Select(k => $"{imageName}:{k}")),
                            $"the EFI image that holds it cannot be written again with the arguments: {e.Message}; give an EfiLoader item instead");
                    }

                    var length = new FileInfo(image).Length;
                    plan.Entries.Add(IsoWriterEntry.File(file.Path, length, () => File.OpenRead(image), file.Mode, file.Uid, file.Gid));
                }
            }

            return plan;
        }
        catch
        {
            plan.Dispose();
            throw;
        }
    }

    /// <summary>The release image's label when the FAT writer can write it, else <c>EFIBOOT</c>.</summary>
    private static string ValidLabel(string label)
        => label.Length is > 0 and <= 11 && label.All(c => c is (>= 'A' and <= 'Z') or (>= '0' and <= '9') or ' ' || "!#$%&'()-@^_`{}~".Contains(c, StringComparison.Ordinal))
            ? label
            : "EFIBOOT";
}
