using Microsoft.Build.Framework;
using Razor.Microkernel.Formats;
using Razor.Microkernel.Formats.Efi;
using Razor.Microkernel.Formats.Iso9660;

namespace Razor.Microkernel.Tasks;

/// <summary>
/// The ISO's UEFI boot inputs, checked before any layer is written (the ISO step meets the same problems only after
/// the layers and the overlay): at most one EfiLoader (RMK2080) and an x86_64 EFI application (RMK3320), else the
/// CoreIso's own EFI boot image — a file of the ISO (RMK3322), FAT (RMK3321), with a <c>grub.cfg</c> that has a kernel
/// line (RMK3323). Nothing is written. A missing or unreadable CoreIso or EfiLoader is left to the steps that report
/// it (the local input checks, BuildIso).
/// </summary>
public sealed class CheckEfiBoot : RmkTask
{
    public ITaskItem[] CoreIso { get; set; } = [];

    public ITaskItem[] EfiLoader { get; set; } = [];

    /// <summary>Where to keep what the last check that passed was given (the inputs' fingerprints and this assembly's
    /// identity): when nothing changed since, a build (a no-op one above all) spends stat calls instead of opening the
    /// ISO. Empty: every build checks.</summary>
    public string? Record { get; set; }

    protected override void ExecuteCore()
    {
        if (EfiLoader.Length > 1)
        {
            LogItemError(EfiLoader[1], "EfiLoader", "EfiLoaderCount", string.Join(", ", EfiLoader.Select(Display)));
            return;
        }

        var loader = EfiLoader.FirstOrDefault();
        if (CoreIso.Length != 1 || !File.Exists(CoreIso[0].GetMetadata("FullPath")) || (loader is not null && !File.Exists(loader.GetMetadata("FullPath"))))
        {
            return;
        }

        var record = RecordText(CoreIso[0], loader);
        if (CheckRecord.TryRead(Record, record) is not null)
        {
            return; // the same inputs passed before
        }

        IsoReader release;
        try
        {
            release = IsoReader.Open(CoreIso[0].GetMetadata("FullPath"));
        }
        catch (Exception e) when (e is MicrokernelFormatException or IOException or UnauthorizedAccessException)
        {
            return; // BuildIso reports a CoreIso it cannot read (RMK3301), as before this check
        }

        using (release)
        {
            try
            {
                MicrokernelEfi.Check(release, loader?.GetMetadata("FullPath"), CancellationToken);
            }
            catch (EfiBootException e)
            {
                Report(this, e, CoreIso[0], loader);
            }
            catch (Exception e) when (e is MicrokernelFormatException or IOException or UnauthorizedAccessException)
            {
                // A CoreIso damaged past its directories: BuildIso reports it when it copies the files.
                record = null;
            }
        }

        if (!string.IsNullOrEmpty(Record))
        {
            TryIo("LayerWriteFailed", Record, () => CheckRecord.Keep(Record, Log.HasLoggedErrors ? null : record, []));
        }
    }

    /// <summary>What the check depends on: each input's path and fingerprint and the check's own code; null when an
    /// input cannot be examined.</summary>
    private static string? RecordText(ITaskItem coreIso, ITaskItem? loader)
        => new CheckRecord(typeof(CheckEfiBoot)).File("core", coreIso.GetMetadata("FullPath")).File("efi", loader?.GetMetadata("FullPath")).Inputs;

    internal static string Display(ITaskItem item) => item.GetMetadata("SourceUrl") is { Length: > 0 } url ? url : item.ItemSpec;

    /// <summary>The coded error for a UEFI boot problem, at the item it comes from (the EfiLoader, else the CoreIso).</summary>
    internal static void Report(RmkTask task, EfiBootException e, ITaskItem coreIso, ITaskItem? loader)
    {
        switch (e.Problem)
        {
            case EfiBootProblem.LoaderNotEfiApplication:
                task.LogItemError(loader, "EfiLoader", "EfiLoaderNotEfi", loader is null ? e.File : Display(loader), e.Reason);
                break;
            case EfiBootProblem.ReleaseImageNotFat:
                task.LogItemError(coreIso, "CoreIso", "EfiReleaseImageNotFat", Display(coreIso), e.File, e.Reason);
                break;
            case EfiBootProblem.ReleaseImageNotAFile:
                task.LogItemError(coreIso, "CoreIso", "EfiReleaseImageNotAFile", Display(coreIso), e.File, e.Reason);
                break;
            default:
                task.LogItemError(coreIso, "CoreIso", "EfiReleaseConfig", Display(coreIso), e.File, e.Reason);
                break;
        }
    }
}
