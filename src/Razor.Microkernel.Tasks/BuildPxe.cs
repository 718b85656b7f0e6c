using Microsoft.Build.Framework;
using Razor.Microkernel.Formats.Iso9660;
using Razor.Microkernel.Formats.Layers;
using Razor.Microkernel.Formats.Pxe;

namespace Razor.Microkernel.Tasks;

/// <summary>
/// The network boot files beside the kernel WritePxeKernel copied: the release's initrd with the overlay (Append or
/// Merge, the same bytes as the ISO's initrd), boot.ipxe, pxelinux.cfg/default and SHA256SUMS. Written together and
/// atomically; the initrd (it holds the secrets) owner-only.
/// </summary>
public sealed class BuildPxe : RmkTask
{
    [Required]
    public ITaskItem[] Layers { get; set; } = [];

    public ITaskItem[] Copies { get; set; } = [];

    [Required]
    public string TinyCoreVersion { get; set; } = string.Empty;

    [Required]
    public string TinyCoreArch { get; set; } = string.Empty;

    /// <summary>The kernel and initrd files (ResolveTinyCoreRelease's ReleaseBootFiles); none: the CoreIso's.</summary>
    public ITaskItem[] ReleaseBootFiles { get; set; } = [];

    public ITaskItem[] CoreIso { get; set; } = [];

    [Required]
    public string Folder { get; set; } = string.Empty;

    public string? KernelArgs { get; set; }

    public string? InitrdMode { get; set; }

    public string? SourceDateEpoch { get; set; }

    protected override void ExecuteCore()
    {
        if (!PropertyChecks.TryInitrdMode(InitrdMode, out var mode))
        {
            LogPropertyError("MicrokernelInitrdMode", "InitrdModeUnsupported", InitrdMode);
            return;
        }

        if (!PropertyChecks.IsKernelArgs(KernelArgs))
        {
            LogPropertyError("MicrokernelKernelArgs", "InvalidKernelArgs");
            return;
        }

        if (FindRelease(TinyCoreVersion, TinyCoreArch) is not { } release || !TryGetModificationTime(SourceDateEpoch, out var mtime)
            || OverlayCopies(Copies) is not { } copies)
        {
            return;
        }

        var source = new PxeSource(ReleaseBootFiles, CoreIso);
        try
        {
            using var files = source.Open(this, release);
            if (files is null)
            {
                return;
            }

            var merge = OverlayMerge.Create(LayerSources(Layers), copies, CancellationToken);
            var result = MicrokernelPxe.Build(files, merge, Folder, new MicrokernelPxeOptions
            {
                Release = release,
                KernelArgs = KernelArgs ?? string.Empty,
                Initrd = new InitrdWriteOptions { Mode = mode, ModificationTime = mtime },
            }, CancellationToken);
            Log.LogMessageFromResources(MessageImportance.High, "PxeSummary", ProjectName, Folder,
                string.Join(", ", result.Files.Select(f => $"{f.RelativePath} {Bytes(f.Size)}").Append(MicrokernelPxe.SumsName)));
            Log.LogMessageFromResources(MessageImportance.Normal, "IsoInitrdSummary", mode, result.Initrd.CoreEntries, result.Initrd.OverlayEntries,
                result.Initrd.Written, string.Empty);
        }
        catch (ReleaseInitrdException e)
        {
            var (item, itemType, name) = source.Initrd;
            if (itemType == "CoreIso")
            {
                LogItemError(item, itemType, "CoreIsoShape", name, $"has a /{release.IsoLayout.InitrdPath} that {e.Reason}");
            }
            else
            {
                LogItemError(item, itemType, "ReleaseInitrdMalformed", itemType, name, e.Reason);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.LogErrorWithCodeFromResources("OverlayWriteFailed", Folder, e.Message);
        }
    }
}
