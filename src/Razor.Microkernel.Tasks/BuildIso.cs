using System.Globalization;
using Microsoft.Build.Framework;
using Razor.Microkernel.Formats;
using Razor.Microkernel.Formats.Efi;
using Razor.Microkernel.Formats.Iso9660;
using Razor.Microkernel.Formats.Layers;

namespace Razor.Microkernel.Tasks;

/// <summary>
/// The bootable microkernel ISO: the Core release ISO with the overlay appended to its initrd, the kernel
/// arguments in its boot loader's configuration and iso-metadata.yaml for the Razor server, and a UEFI boot entry
/// (the release's own EFI image, or one made around an EfiLoader); the paths are the release's (TinyCoreVersion,
/// TinyCoreArch). Written atomically.
/// </summary>
public sealed class BuildIso : RmkTask
{
    [Required]
    public ITaskItem[] Layers { get; set; } = [];

    public ITaskItem[] Copies { get; set; } = [];

    [Required]
    public ITaskItem CoreIso { get; set; } = null!;

    [Required]
    public string OutputFile { get; set; } = string.Empty;

    [Required]
    public string Version { get; set; } = string.Empty;

    /// <summary>TinyCoreVersion and TinyCoreArch: the release whose ISO layout CoreIso has.</summary>
    [Required]
    public string TinyCoreVersion { get; set; } = string.Empty;

    [Required]
    public string TinyCoreArch { get; set; } = string.Empty;

    public string? KernelArgs { get; set; }

    public string? InitrdMode { get; set; }

    public string? SourceDateEpoch { get; set; }

    /// <summary>Write an isohybrid MBR (MicrokernelIsoHybrid).</summary>
    public bool Hybrid { get; set; }

    /// <summary>syslinux's isohdpfx.bin (MicrokernelIsoHybridMbr).</summary>
    public string? HybridMbr { get; set; }

    /// <summary>The EfiLoader item (a GRUB x86_64 EFI application), at most one.</summary>
    public ITaskItem[] EfiLoader { get; set; } = [];

    private static string Display(ITaskItem item) => CheckEfiBoot.Display(item);

    protected override void ExecuteCore()
    {
        var display = CoreIso.GetMetadata("SourceUrl") is { Length: > 0 } url ? url : CoreIso.ItemSpec;
        if (FindRelease(TinyCoreVersion, TinyCoreArch) is not { } release)
        {
            return;
        }

        if (!PropertyChecks.TryInitrdMode(InitrdMode, out var mode))
        {
            LogPropertyError("MicrokernelInitrdMode", "InitrdModeUnsupported", InitrdMode);
            return;
        }

        byte[]? mbr = null;
        if (Hybrid)
        {
            if (string.IsNullOrWhiteSpace(HybridMbr))
            {
                LogPropertyError("MicrokernelIsoHybrid", "HybridMbrNotFound");
                return;
            }

            if (!File.Exists(HybridMbr))
            {
                LogPropertyError("MicrokernelIsoHybridMbr", "SourceFileMissing", "MicrokernelIsoHybridMbr", HybridMbr);
                return;
            }

            mbr = File.ReadAllBytes(HybridMbr);
            if (mbr.Length != IsoWriter.HybridMbrTemplateBytes)
            {
                LogPropertyError("MicrokernelIsoHybridMbr", "HybridMbrInvalid", HybridMbr, mbr.Length);
                return;
            }
        }

        if (!PropertyChecks.IsMicrokernelVersion(Version))
        {
            LogPropertyError("MicrokernelVersion", "InvalidMicrokernelVersion", Version);
            return;
        }

        if (!PropertyChecks.IsKernelArgs(KernelArgs))
        {
            LogPropertyError("MicrokernelKernelArgs", "InvalidKernelArgs");
            return;
        }

        if (!TryGetModificationTime(SourceDateEpoch, out var mtime) || OverlayCopies(Copies) is not { } copies)
        {
            return;
        }

        var source = CoreIso.GetMetadata("FullPath");
        if (!File.Exists(source))
        {
            LogItemError(CoreIso, "CoreIso", "SourceFileMissing", "CoreIso", display);
            return;
        }

        if (EfiLoader.Length > 1)
        {
            LogItemError(EfiLoader[1], "EfiLoader", "EfiLoaderCount", string.Join(", ", EfiLoader.Select(Display)));
            return;
        }

        var loader = EfiLoader.FirstOrDefault();
        if (loader is not null && !File.Exists(loader.GetMetadata("FullPath")))
        {
            LogItemError(loader, "EfiLoader", "SourceFileMissing", "EfiLoader", Display(loader));
            return;
        }

        try
        {
            var merge = OverlayMerge.Create(LayerSources(Layers), copies, CancellationToken);
            var result = MicrokernelIso.Build(source, merge, OutputFile, new MicrokernelIsoOptions
            {
                Version = Version,
                Layout = release.IsoLayout,
                KernelArgs = KernelArgs ?? string.Empty,
                ModificationTime = mtime,
                InitrdMode = mode,
                HybridMbr = mbr is null ? (ReadOnlyMemory<byte>?)null : mbr,
                EfiLoader = loader?.GetMetadata("FullPath"),
            }, CancellationToken);
            Log.LogMessageFromResources(MessageImportance.High, "IsoSummary", ProjectName, OutputFile, result.OverlayEntries, Bytes(result.InitrdBytes));
            Log.LogMessageFromResources(MessageImportance.Normal, "IsoInitrdSummary", mode, result.Initrd.CoreEntries, result.Initrd.OverlayEntries,
                result.Initrd.Written, mbr is null ? string.Empty : result.EfiRoute == EfiRoute.None ? " (isohybrid MBR)" : " (isohybrid MBR and GPT)");
            if (result.EfiRoute != EfiRoute.None)
            {
                Log.LogMessageFromResources(MessageImportance.Normal, "IsoEfiSummary",
                    result.EfiRoute == EfiRoute.Loader ? $"EfiLoader {Display(loader!)} as EFI/BOOT/BOOTX64.EFI" : "the release's EFI boot image",
                    result.EfiConfigs.Count == 0 ? "its boot configuration unchanged" : "boot configuration " + string.Join(", ", result.EfiConfigs));
            }
        }
        catch (EfiBootException e)
        {
            CheckEfiBoot.Report(this, e, CoreIso, loader);
        }
        catch (CoreIsoException e)
        {
            LogItemError(CoreIso, "CoreIso", "CoreIsoShape", display, e.Reason);
        }
        catch (IsoFormatException e)
        {
            LogItemError(CoreIso, "CoreIso", "CoreIsoMalformed", display, e.Message);
        }
        catch (FormatLimitException e)
        {
            LogItemError(CoreIso, "CoreIso", "CoreIsoMalformed", display, e.Message);
        }
        catch (IsoWriteException e)
        {
            Log.LogErrorWithCodeFromResources("IsoWriteFailed", OutputFile, e.Message);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.LogErrorWithCodeFromResources("IsoWriteFailed", OutputFile, e.Message);
        }
    }
}
