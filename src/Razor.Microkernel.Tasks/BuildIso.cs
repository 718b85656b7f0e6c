using System.Globalization;
using Microsoft.Build.Framework;
using Razor.Microkernel.Formats;
using Razor.Microkernel.Formats.Iso9660;
using Razor.Microkernel.Formats.Layers;

namespace Razor.Microkernel.Tasks;

/// <summary>
/// The bootable microkernel ISO: the Core release ISO with the overlay appended to its initrd, the kernel
/// arguments in its boot loader's configuration and iso-metadata.yaml for the Razor server; the paths are the
/// release's (TinyCoreVersion, TinyCoreArch). Written atomically.
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
            }, CancellationToken);
            Log.LogMessageFromResources(MessageImportance.High, "IsoSummary", ProjectName, OutputFile, result.OverlayEntries, Bytes(result.InitrdBytes));
            Log.LogMessageFromResources(MessageImportance.Normal, "IsoInitrdSummary", mode, result.Initrd.CoreEntries, result.Initrd.OverlayEntries,
                result.Initrd.Written, mbr is null ? string.Empty : " (isohybrid MBR)");
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
