using Microsoft.Build.Framework;
using Razor.Microkernel.Formats.Pxe;

namespace Razor.Microkernel.Tasks;

/// <summary>Copies the release's kernel into the network boot folder under the release's kernel name, atomically.
/// Its own step, so that a change of settings (which re-makes the initrd) does not copy the kernel again.</summary>
public sealed class WritePxeKernel : RmkTask
{
    [Required]
    public string TinyCoreVersion { get; set; } = string.Empty;

    [Required]
    public string TinyCoreArch { get; set; } = string.Empty;

    /// <summary>The kernel and initrd files (ResolveTinyCoreRelease's ReleaseBootFiles); none: the CoreIso's.</summary>
    public ITaskItem[] ReleaseBootFiles { get; set; } = [];

    public ITaskItem[] CoreIso { get; set; } = [];

    /// <summary>The network boot folder ($(OutDir)pxe/).</summary>
    [Required]
    public string Folder { get; set; } = string.Empty;

    protected override void ExecuteCore()
    {
        if (FindRelease(TinyCoreVersion, TinyCoreArch) is not { } release)
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

            var kernel = MicrokernelPxe.WriteKernel(files, Folder, release, CancellationToken);
            Log.LogMessageFromResources(MessageImportance.Normal, "PxeKernelCopied", kernel.RelativePath, Bytes(kernel.Size));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.LogErrorWithCodeFromResources("OverlayWriteFailed", Path.Combine(Folder, release.KernelFile), e.Message);
        }
    }
}
