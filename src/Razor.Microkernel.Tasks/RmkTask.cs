using System.Globalization;
using System.Resources;
using Microsoft.Build.Framework;
using Razor.Microkernel.Formats;
using Task = Microsoft.Build.Utilities.Task;

namespace Razor.Microkernel.Tasks;

/// <summary>
/// Base of every task: messages come from Strings.resx with their RMK codes, Ctrl+C cancels through a
/// token the library honours, and a cancelled or failed task returns false with a coded error.
/// </summary>
public abstract partial class RmkTask : Task, ICancelableTask
{
    internal static readonly ResourceManager Strings = new("Razor.Microkernel.Tasks.Strings", typeof(RmkTask).Assembly);

    private readonly CancellationTokenSource _cancel = new();

    protected RmkTask()
        : base(Strings)
    {
    }

    protected CancellationToken CancellationToken => _cancel.Token;

    public void Cancel() => _cancel.Cancel();

    public sealed override bool Execute()
    {
        try
        {
            ExecuteCore();
        }
        catch (OperationCanceledException) when (_cancel.IsCancellationRequested)
        {
            Log.LogErrorWithCodeFromResources("Cancelled");
        }

        return !Log.HasLoggedErrors;
    }

    protected abstract void ExecuteCore();

    /// <summary>Formats a byte count for people: 1.2 MB.</summary>
    protected internal static string Bytes(long n) => n switch
    {
        < 1024 => $"{n} B",
        < 1024 * 1024 => string.Format(CultureInfo.InvariantCulture, "{0:0.0} KB", n / 1024.0),
        < 1024L * 1024 * 1024 => string.Format(CultureInfo.InvariantCulture, "{0:0.0} MB", n / (1024.0 * 1024)),
        _ => string.Format(CultureInfo.InvariantCulture, "{0:0.00} GB", n / (1024.0 * 1024 * 1024)),
    };

    /// <summary>MicrokernelFlavor as the targets compare it (MSBuild conditions ignore case): exactly Development or
    /// Production; "1" or " Production" are not flavors.</summary>
    internal static bool TryParseFlavor(string? text, out Formats.Mcollective.MicrokernelFlavor flavor)
    {
        foreach (var f in Enum.GetValues<Formats.Mcollective.MicrokernelFlavor>())
        {
            if (string.Equals(text, f.ToString(), StringComparison.OrdinalIgnoreCase))
            {
                flavor = f;
                return true;
            }
        }

        flavor = default;
        return false;
    }

    /// <summary>SOURCE_DATE_EPOCH: the time of every entry; empty means the SDK's constant. False (RMK4002 logged)
    /// when it is not a whole number of seconds that a tar header can hold.</summary>
    protected bool TryGetModificationTime(string? sourceDateEpoch, out long modificationTime)
    {
        modificationTime = Formats.Layers.PackOptions.DefaultModificationTime;
        if (string.IsNullOrWhiteSpace(sourceDateEpoch))
        {
            return true;
        }

        if (long.TryParse(sourceDateEpoch.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out modificationTime) && modificationTime <= 0x1FFFFFFFFL)
        {
            return true;
        }

        LogPropertyError("SOURCE_DATE_EPOCH", "InvalidSourceDateEpoch", sourceDateEpoch);
        return false;
    }

    /// <summary>A limit property (SquashfsMaxBytes, OverlayArchiveMaxEntries, …): empty keeps the reader's default; otherwise a
    /// whole number greater than 0, else RMK4004 at the property.</summary>
    protected internal bool TryLimit(string? text, string property, Action<long> set)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return true;
        }

        if (long.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0)
        {
            set(v);
            return true;
        }

        LogPropertyError(property, "InvalidLimit", property, text);
        return false;
    }

    /// <summary>The layers to merge, in item order, named by their LayerName metadata.</summary>
    protected static List<Formats.Layers.LayerSource> LayerSources(ITaskItem[] layers) => layers.Select(l => new Formats.Layers.LayerSource(
        string.IsNullOrEmpty(l.GetMetadata("LayerName")) ? Path.GetFileNameWithoutExtension(l.ItemSpec) : l.GetMetadata("LayerName"),
        l.GetMetadata("FullPath"))).ToList();

    /// <summary>OverlayCopy items (Include = image path of a file, Destination, Mode, Owner, Group, Optional);
    /// null (errors logged) when one is not valid.</summary>
    protected List<Formats.Layers.OverlayCopy>? OverlayCopies(ITaskItem[] items)
    {
        var copies = new List<Formats.Layers.OverlayCopy>();
        foreach (var c in items)
        {
            try
            {
                var mode = c.GetMetadata("Mode");
                var owner = c.GetMetadata("Owner");
                var group = c.GetMetadata("Group");
                copies.Add(new Formats.Layers.OverlayCopy(Formats.Layers.ImagePath.Normalize(c.ItemSpec), Formats.Layers.ImagePath.Normalize(c.GetMetadata("Destination")),
                    string.IsNullOrWhiteSpace(mode) ? null : Formats.Layers.Owners.ParseMode(mode),
                    string.IsNullOrWhiteSpace(owner) && string.IsNullOrWhiteSpace(group) ? null : Formats.Layers.Owners.Parse(owner, group),
                    string.Equals(c.GetMetadata("Optional"), "true", StringComparison.OrdinalIgnoreCase)));
            }
            catch (InvalidImagePathException e)
            {
                LogItemError(c, "OverlayCopy", "InvalidImagePath", "OverlayCopy", c.ItemSpec, e.ImagePathText, e.Reason);
            }
            catch (InvalidAttributeException e)
            {
                LogItemError(c, "OverlayCopy", "InvalidAttribute", "OverlayCopy", c.ItemSpec, e.Attribute, e.Value, e.Reason);
            }
        }

        return Log.HasLoggedErrors ? null : copies;
    }

    /// <summary>The release TinyCoreVersion and TinyCoreArch name; null (RMK4012 logged) when the SDK does not know it.</summary>
    protected Formats.Release.TinyCoreRelease? FindRelease(string? version, string? arch)
    {
        try
        {
            return Formats.Release.TinyCoreRelease.Find(version, arch);
        }
        catch (Formats.Release.UnknownReleaseException e)
        {
            LogPropertyError("TinyCoreVersion", "UnknownRelease", e.Version, e.Arch, Formats.Release.TinyCoreRelease.KnownList);
            return null;
        }
    }

    /// <summary>TinyCoreKernel as the project set it: empty, or a kernel version (RMK4014 logged when it is not one).
    /// The same rule for the check before any work (CheckMicrokernelProperties) and ResolveTinyCoreRelease.</summary>
    protected bool CheckTinyCoreKernel(string? kernel, Formats.Release.TinyCoreRelease release)
    {
        var text = (kernel ?? "").Trim();
        if (text.Length == 0 || Formats.Release.KernelImage.IsKernelRelease(text))
        {
            return true;
        }

        LogPropertyError("TinyCoreKernel", "InvalidTinyCoreKernel", text, release.ExampleKernel);
        return false;
    }

    /// <summary>CoreKernel and CoreInitrd: at most one of each (RMK2061), and both or neither (RMK2060). The same rule for
    /// the check before any work and ResolveTinyCoreRelease.</summary>
    protected bool CheckReleaseBootFileItems(ITaskItem[] coreKernel, ITaskItem[] coreInitrd)
    {
        var ok = true;
        foreach (var (items, type) in new[] { (coreKernel, "CoreKernel"), (coreInitrd, "CoreInitrd") })
        {
            if (items.Length > 1)
            {
                LogItemError(items[1], type, "ReleaseBootFileCount", type, string.Join(", ", items.Select(i => i.ItemSpec)));
                ok = false;
            }
        }

        if (coreKernel.Length > 0 != coreInitrd.Length > 0)
        {
            var (given, type, missing) = coreKernel.Length > 0 ? (coreKernel[0], "CoreKernel", "CoreInitrd") : (coreInitrd[0], "CoreInitrd", "CoreKernel");
            LogItemError(given, type, "ReleaseBootFilesPair", type, given.GetMetadata("SourceUrl") is { Length: > 0 } url ? url : given.ItemSpec, missing);
            ok = false;
        }

        return ok;
    }

    /// <summary>Logs an I/O failure while writing an output, without a stack trace.</summary>
    protected bool TryIo(string resource, string path, Action action)
    {
        try
        {
            action();
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException && e is not MicrokernelFormatException)
        {
            Log.LogErrorWithCodeFromResources(resource, path, e.Message);
            return false;
        }
    }
}
