using System.Text;
using Microsoft.Build.Framework;
using Razor.Microkernel.Formats;
using Razor.Microkernel.Formats.IO;

namespace Razor.Microkernel.Tasks;

/// <summary>
/// Checks every local input file of the build before any of them is read, and records what each step was
/// built from. An input that does not exist is refused with its item's code (RMK2009, RMK2010, RMK2011); one
/// that is not a regular file after following symlinks (a link to /dev/zero, a FIFO, a device, a folder) with
/// RMK2041, so no reader ever blocks on a FIFO or reads a device without end.
/// <para>
/// With <see cref="SourcesFiles"/>, each input's fingerprint (size, modification and change times, inode: see
/// <see cref="InputFile"/>) is written to the step's <c>.sources</c> file (the item's <c>Sources</c>
/// metadata), only when it differs from what the file holds. Each step's target lists its <c>.sources</c> file
/// in its Inputs, so an input replaced by one with an older date (<c>cp -p</c>, <c>tar x</c>, <c>git
/// checkout</c>, <c>touch -d</c>) still runs the step: the up-to-date decision does not rest on timestamps alone.
/// </para>
/// Items: Include = the file (relative to the project, or full); metadata ItemType (OverlayFile, Gem, …) or
/// Property (McollectiveSecretsFile, MicrokernelIsoHybridMbr) for messages, Step (the target that reads it) and
/// Sources.
/// </summary>
public sealed class CheckLocalInputs : RmkTask
{
    /// <summary>The local inputs (the RmkLocalInput items).</summary>
    public ITaskItem[] Inputs { get; set; } = [];

    // The project's own items, checked before anything is downloaded or read (URL items are skipped: they become
    // cache files, which Inputs covers). Passed as they are, so that messages point at the element that defined them.
    public ITaskItem[] OverlayFile { get; set; } = [];

    public ITaskItem[] TczImage { get; set; } = [];

    public ITaskItem[] SshAuthorizedKey { get; set; } = [];

    public ITaskItem[] SshHostKey { get; set; } = [];

    public ITaskItem[] OverlayArchive { get; set; } = [];

    public ITaskItem[] McollectiveArchive { get; set; } = [];

    public ITaskItem[] Gem { get; set; } = [];

    public ITaskItem[] RubyGems { get; set; } = [];

    /// <summary>Checked unless both <see cref="MicrokernelIso"/> and <see cref="MicrokernelPxe"/> are false (the ISO and the
    /// network boot files read it).</summary>
    public ITaskItem[] CoreIso { get; set; } = [];

    /// <summary>EfiLoader items (checked, like CoreIso, only when the ISO is built).</summary>
    public ITaskItem[] EfiLoader { get; set; } = [];

    public string? MicrokernelIso { get; set; }

    public string? MicrokernelPxe { get; set; }

    /// <summary>The release's kernel and initrd (the network boot files; the kernel version is read from the kernel).</summary>
    public ITaskItem[] CoreKernel { get; set; } = [];

    public ITaskItem[] CoreInitrd { get; set; } = [];

    /// <summary>The McollectiveSecretsFile property, as a full path.</summary>
    public string? McollectiveSecretsFile { get; set; }

    /// <summary>MicrokernelIsoHybridMbr, checked when MicrokernelIsoHybrid is true.</summary>
    public string? MicrokernelIsoHybridMbr { get; set; }

    public bool MicrokernelIsoHybrid { get; set; }

    /// <summary>Only list the project's inputs (<see cref="ProjectInputs"/>), checking nothing: what Visual Studio's fast
    /// up-to-date check is given, from a design-time build.</summary>
    public bool ListOnly { get; set; }

    /// <summary>The project's local inputs, the one list of them (OverlayFile … CoreInitrd and EfiLoader items that are not URLs, the files
    /// below a Gem's PrebuiltExtensions folder, McollectiveSecretsFile, MicrokernelIsoHybridMbr), with ItemType or
    /// Property metadata (and Metadata=PrebuiltExtensions for those files).</summary>
    [Output]
    public ITaskItem[] ProjectInputs { get; private set; } = [];

    /// <summary>Every step's .sources file to keep: each is written with the fingerprints of the inputs whose
    /// Sources metadata names it (none for a step without local inputs). Empty: check only.</summary>
    public ITaskItem[] SourcesFiles { get; set; } = [];

    protected override void ExecuteCore()
    {
        var projectInputs = ListProjectInputs().ToArray();
        ProjectInputs = projectInputs;
        if (ListOnly)
        {
            return;
        }

        var fingerprints = new Dictionary<string, StringBuilder>(StringComparer.Ordinal);
        foreach (var file in SourcesFiles)
        {
            fingerprints.TryAdd(file.GetMetadata("FullPath"), new StringBuilder());
        }

        foreach (var input in Inputs.Concat(projectInputs))
        {
            CancellationToken.ThrowIfCancellationRequested();
            var path = input.GetMetadata("FullPath");
            InputFileStatus status;
            try
            {
                status = InputFile.Stat(path);
            }
            catch (IOException e)
            {
                Report(input, "InputUnreadable", e.Message);
                continue;
            }

            switch (status.Kind)
            {
                case InputFileKind.Missing:
                    ReportMissing(input);
                    continue;
                case not InputFileKind.Regular:
                    Report(input, "InputNotRegularFile", Describe(status.Kind));
                    continue;
            }

            var sources = input.GetMetadata("Sources");
            if (sources.Length > 0)
            {
                var full = Path.GetFullPath(sources);
                if (!fingerprints.TryGetValue(full, out var lines))
                {
                    fingerprints[full] = lines = new StringBuilder();
                }

                lines.Append(input.GetMetadata("Step")).Append('|').Append(path).Append('|').Append(status.Fingerprint).Append('\n');
            }
        }

        if (Log.HasLoggedErrors)
        {
            return;
        }

        foreach (var (file, lines) in fingerprints)
        {
            var text = lines.ToString();
            if (File.Exists(file) && string.Equals(File.ReadAllText(file), text, StringComparison.Ordinal))
            {
                continue;
            }

            TryIo("OverlayWriteFailed", file, () => AtomicFile.WriteAllText(file, text));
        }
    }

    /// <summary>The project's local items and files, with the item type (or property) and the file that defined each.</summary>
    private IEnumerable<ITaskItem> ListProjectInputs()
    {
        // As MSBuild's conditions read them ('off' and 'no' are false too); unset or not a switch word: built.
        var iso = !(PropertyChecks.TryParseSwitch(MicrokernelIso, out var isoSwitch) && isoSwitch == false);
        var pxe = !(PropertyChecks.TryParseSwitch(MicrokernelPxe, out var pxeSwitch) && pxeSwitch == false);
        (string Type, ITaskItem[] Items)[] lists =
        [
            (nameof(OverlayFile), OverlayFile), (nameof(TczImage), TczImage), (nameof(SshAuthorizedKey), SshAuthorizedKey),
            (nameof(SshHostKey), SshHostKey), (nameof(OverlayArchive), OverlayArchive), (nameof(McollectiveArchive), McollectiveArchive),
            (nameof(Gem), Gem), (nameof(RubyGems), RubyGems), (nameof(CoreIso), iso || pxe ? CoreIso : []),
            (nameof(CoreKernel), CoreKernel), (nameof(CoreInitrd), CoreInitrd), (nameof(EfiLoader), iso ? EfiLoader : []),
        ];
        foreach (var (type, items) in lists)
        {
            foreach (var item in items)
            {
                var spec = item.ItemSpec.Trim();
                if (spec.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || spec.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }

                var input = new Microsoft.Build.Utilities.TaskItem(item);
                input.SetMetadata("ItemType", type);
                input.SetMetadata("RmkDefiningProject", item.GetMetadata("RmkDefiningProject") is { Length: > 0 } d ? d : item.GetMetadata("DefiningProjectFullPath"));
                yield return input;
            }
        }

        // The files below each Gem's PrebuiltExtensions folder (relative to the project), which InstallGems copies in.
        var projectDirectory = string.IsNullOrEmpty(ProjectFile) ? Directory.GetCurrentDirectory() : Path.GetDirectoryName(Path.GetFullPath(ProjectFile))!;
        foreach (var folder in Gem.Select(g => g.GetMetadata("PrebuiltExtensions").Trim()).Where(f => f.Length > 0).Distinct(StringComparer.Ordinal))
        {
            var full = Path.GetFullPath(Path.Combine(projectDirectory, folder));
            if (!Directory.Exists(full))
            {
                continue; // InstallGems refuses it, naming it
            }

            foreach (var file in Directory.EnumerateFiles(full, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                var input = new Microsoft.Build.Utilities.TaskItem(file);
                input.SetMetadata("ItemType", nameof(Gem));
                input.SetMetadata("Metadata", "PrebuiltExtensions");
                yield return input;
            }
        }

        foreach (var (property, value) in new[]
        {
            (nameof(McollectiveSecretsFile), McollectiveSecretsFile),
            (nameof(MicrokernelIsoHybridMbr), MicrokernelIsoHybrid && iso ? MicrokernelIsoHybridMbr : null),
        })
        {
            if (!string.IsNullOrWhiteSpace(value))
            {
                var input = new Microsoft.Build.Utilities.TaskItem(value);
                input.SetMetadata("Property", property);
                yield return input;
            }
        }
    }

    private static string Describe(InputFileKind kind) => kind switch
    {
        InputFileKind.Directory => "a folder",
        InputFileKind.CharacterDevice => "a character device",
        InputFileKind.BlockDevice => "a block device",
        InputFileKind.Fifo => "a FIFO (named pipe)",
        InputFileKind.Socket => "a socket",
        _ => "a symlink loop or a special file",
    };

    private void ReportMissing(ITaskItem input)
    {
        var type = input.GetMetadata("ItemType");
        switch (type)
        {
            case "OverlayArchive":
                LogItemError(input, type, "ArchiveMissing", Spec(input));
                break;
            case "TczImage":
                LogItemError(input, type, "TczImageMissing", Spec(input));
                break;
            default:
                Report(input, "SourceFileMissing");
                break;
        }
    }

    /// <summary>Logs at the item's element, or at the property's for a file named by a property.</summary>
    private void Report(ITaskItem input, string resource, params object[] extra)
    {
        var property = input.GetMetadata("Property");
        if (property.Length > 0)
        {
            LogPropertyError(property, resource, [property, input.ItemSpec, .. extra]);
        }
        else
        {
            var type = input.GetMetadata("ItemType");
            LogItemError(input, type, resource, [type, Spec(input), .. extra]);
        }
    }

    private static string Spec(ITaskItem input)
        => input.GetMetadata("SourceUrl") is { Length: > 0 } url ? url
            : input.GetMetadata("RmkItemSpec") is { Length: > 0 } spec ? spec
            : input.ItemSpec;
}
