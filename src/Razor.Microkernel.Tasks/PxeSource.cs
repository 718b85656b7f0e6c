using Microsoft.Build.Framework;
using Razor.Microkernel.Formats.Iso9660;
using Razor.Microkernel.Formats.Release;

namespace Razor.Microkernel.Tasks;

/// <summary>Where the network boot files' kernel and initrd come from: the release boot files ResolveTinyCoreRelease
/// returned (CoreKernel and CoreInitrd, or the mirror's), else the CoreIso. Opening it reports a bad ISO at its item.</summary>
internal sealed class PxeSource(ITaskItem[] releaseBootFiles, ITaskItem[] coreIso)
{
    /// <summary>The item the initrd comes from, its item type and how messages name it.</summary>
    public (ITaskItem? Item, string ItemType, string Name) Initrd
    {
        get
        {
            if (releaseBootFiles.Length >= 2)
            {
                var i = releaseBootFiles[1];
                return (i.GetMetadata("RmkItemType") == "CoreInitrd" ? i : null, i.GetMetadata("RmkItemType"), i.GetMetadata("RmkItemSpec"));
            }

            var iso = coreIso[0];
            return (iso, "CoreIso", Display(iso));
        }
    }

    public static string Display(ITaskItem item) => item.GetMetadata("SourceUrl") is { Length: > 0 } url ? url : item.ItemSpec;

    /// <summary>The boot files, or null with the error logged.</summary>
    public ReleaseBootFiles? Open(RmkTask task, TinyCoreRelease release)
    {
        if (releaseBootFiles.Length >= 2)
        {
            return ReleaseBootFiles.FromFiles(releaseBootFiles[0].ItemSpec, releaseBootFiles[1].ItemSpec);
        }

        if (coreIso.Length == 0)
        {
            return null;
        }

        var iso = coreIso[0];
        try
        {
            return ReleaseBootFiles.FromIso(iso.GetMetadata("FullPath"), release.IsoLayout);
        }
        catch (CoreIsoException e)
        {
            task.LogItemError(iso, "CoreIso", "CoreIsoShape", Display(iso), e.Reason);
        }
        catch (IsoFormatException e)
        {
            task.LogItemError(iso, "CoreIso", "CoreIsoMalformed", Display(iso), e.Message);
        }
        catch (FileNotFoundException)
        {
            task.LogItemError(iso, "CoreIso", "SourceFileMissing", "CoreIso", Display(iso));
        }

        return null;
    }
}
