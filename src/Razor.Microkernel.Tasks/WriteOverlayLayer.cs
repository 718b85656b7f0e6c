using Microsoft.Build.Framework;
using Razor.Microkernel.Formats;
using Razor.Microkernel.Formats.Layers;

namespace Razor.Microkernel.Tasks;

/// <summary>
/// Writes the layer of the project's own OverlayFile, OverlayDirectory and OverlaySymlink items.
/// Files: Destination (a trailing '/' = into that folder, keeping a glob's recursive part), Mode (default
/// 0644), Owner and Group (default root). Folders: Mode (default 0755), Owner, Group. Symlinks: LinkTarget (MSBuild reserves "Target"),
/// stored verbatim; Owner, Group.
/// </summary>
public sealed class WriteOverlayLayer : LayerTask
{
    public ITaskItem[] Files { get; set; } = [];

    public ITaskItem[] Directories { get; set; } = [];

    public ITaskItem[] Symlinks { get; set; } = [];

    protected override bool Write(LayerWriter writer)
    {
        var plan = new List<Planned>();
        foreach (var item in Files)
        {
            var destination = item.GetMetadata("Destination");
            if (string.IsNullOrWhiteSpace(destination))
            {
                LogItemError(item, "OverlayFile", "OverlayFileNoDestination", item.ItemSpec);
                continue;
            }

            var source = item.GetMetadata("FullPath");
            if (!File.Exists(source))
            {
                LogItemError(item, "OverlayFile", "SourceFileMissing", "OverlayFile", item.ItemSpec);
                continue;
            }

            var target = destination.EndsWith('/') || destination.EndsWith('\\')
                ? destination + item.GetMetadata("RmkRecursiveDir").Replace('\\', '/') + Path.GetFileName(source)
                : destination;
            Add(plan, "OverlayFile", item, target, LayerEntryType.File, source);
        }

        foreach (var item in Directories)
        {
            Add(plan, "OverlayDirectory", item, item.ItemSpec, LayerEntryType.Directory, null);
        }

        foreach (var item in Symlinks)
        {
            var target = item.GetMetadata("LinkTarget");
            if (string.IsNullOrEmpty(target))
            {
                LogItemError(item, "OverlaySymlink", "OverlaySymlinkNoTarget", item.ItemSpec);
                continue;
            }

            Add(plan, "OverlaySymlink", item, item.ItemSpec, LayerEntryType.Symlink, target);
        }

        foreach (var group in plan.GroupBy(p => p.Path, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            LogItemError(group.Last().Item, group.Last().Kind, "DuplicateImagePath", "/" + group.Key,
                string.Join(", ", group.Select(p => $"{p.Kind} '{p.Item.ItemSpec}'")));
        }

        if (Log.HasLoggedErrors)
        {
            return false;
        }

        plan.Sort((a, b) => ImagePath.TreeOrder.Compare(a.Path, b.Path));
        foreach (var p in plan)
        {
            CancellationToken.ThrowIfCancellationRequested();
            try
            {
                switch (p.Type)
                {
                    case LayerEntryType.File:
                        using (var content = new FileStream(p.Value!, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16))
                        {
                            writer.AddFile(p.Path, p.Attributes, content, content.Length);
                        }

                        break;
                    case LayerEntryType.Directory:
                        writer.AddDirectory(p.Path, p.Attributes);
                        break;
                    default:
                        writer.AddSymlink(p.Path, p.Value!, p.Attributes);
                        break;
                }
            }
            catch (LayerConflictException e)
            {
                LogItemError(p.Item, p.Kind, "LayerConflict", p.Kind, p.Item.ItemSpec, "/" + p.Path, e.Reason);
            }
        }

        return !Log.HasLoggedErrors;
    }

    private void Add(List<Planned> plan, string kind, ITaskItem item, string imagePath, LayerEntryType type, string? value)
    {
        if (!ImagePath.TryNormalize(imagePath, out var path, out var reason))
        {
            LogItemError(item, kind, "InvalidImagePath", kind, item.ItemSpec, imagePath, reason);
            return;
        }

        try
        {
            var defaults = EntryAttributes.Default(type, PackOptions.DefaultModificationTime);
            var modeText = item.GetMetadata("Mode");
            var mode = type == LayerEntryType.Symlink || string.IsNullOrWhiteSpace(modeText) ? defaults.Mode : Owners.ParseMode(modeText);
            var owner = Owners.Parse(item.GetMetadata("Owner"), item.GetMetadata("Group"));
            plan.Add(new Planned(kind, item, path, type, value, defaults with { Mode = mode, Owner = owner }));
        }
        catch (InvalidAttributeException e)
        {
            LogItemError(item, kind, "InvalidAttribute", kind, item.ItemSpec, e.Attribute, e.Value, e.Reason);
        }
    }

    private sealed record Planned(string Kind, ITaskItem Item, string Path, LayerEntryType Type, string? Value, EntryAttributes Attributes);
}
