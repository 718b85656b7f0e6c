namespace Razor.Microkernel.Formats.Layers;

/// <summary>A layer to merge: a display name (for messages) and the layer file.</summary>
public sealed record LayerSource(string Name, string Path);

public enum ConflictKind
{
    /// <summary>Two layers write the same path; the first one's entry is kept.</summary>
    SamePath,

    /// <summary>A later layer writes below a path that an earlier layer made a file, symlink or device;
    /// those entries are dropped.</summary>
    BelowNonDirectory,
}

/// <summary>A path two layers disagree on. The winner is always the earlier layer.</summary>
public sealed record MergeConflict(
    ConflictKind Kind,
    string Path,
    string WinnerLayer,
    LayerEntryType WinnerType,
    string LoserLayer,
    LayerEntryType LoserType,
    int DroppedEntries);

/// <summary>One entry of the merged image: which layer supplies it and, for hard links, the group it joins.</summary>
public sealed record MergedEntry(string Path, int LayerIndex, LayerEntry Entry, LayerEntry? DataSource);

/// <summary>A copy made on the merged image, after all layers: <c>cp Source Destination</c>. Skipped when
/// the destination already exists (a layer, such as the project's own files, supplied it: first writer wins).
/// <see cref="Mode"/> and <see cref="Owner"/> override the source's when given. An <see cref="Optional"/>
/// copy whose source is missing is skipped instead of being an error.</summary>
public sealed record OverlayCopy(string Source, string Destination, int? Mode = null, Ownership? Owner = null, bool Optional = false);

/// <summary>A copy's source is not a regular file of the merged image.</summary>
public sealed class OverlayCopySourceException(string source, string reason)
    : MicrokernelFormatException($"'/{source}' cannot be copied: {reason}")
{
    public string SourcePath { get; } = source;

    public string Reason { get; } = reason;
}

/// <summary>Per-layer summary: entries and content bytes that made it into the image, entries dropped.</summary>
public sealed record LayerSummary(string Name, int Entries, long Bytes, int Dropped);

/// <summary>
/// The merge of several layers, as tce-load's <c>cp -ais</c> without <c>-f</c> would leave them: layers
/// apply in order and the first writer of a path wins. Folders merge (an explicit folder wins over an
/// implicit one); anything a later layer puts below an earlier file, symlink or device is dropped. Every
/// disagreement is reported as a <see cref="MergeConflict"/>. Entries come out parents first, siblings in
/// ordinal order. Only headers are held in memory; file bytes stay in the layer files.
/// </summary>
public sealed class OverlayMerge
{
    private OverlayMerge(IReadOnlyList<LayerSource> layers, List<MergedEntry> entries, List<MergeConflict> conflicts, List<LayerSummary> summaries)
    {
        Layers = layers;
        Entries = entries;
        Conflicts = conflicts;
        Summaries = summaries;
    }

    public IReadOnlyList<LayerSource> Layers { get; }

    public IReadOnlyList<MergedEntry> Entries { get; }

    public IReadOnlyList<MergeConflict> Conflicts { get; }

    public IReadOnlyList<LayerSummary> Summaries { get; }

    public static OverlayMerge Create(IReadOnlyList<LayerSource> layers, CancellationToken cancellationToken = default)
        => Create(layers, [], cancellationToken);

    public static OverlayMerge Create(IReadOnlyList<LayerSource> layers, IReadOnlyList<OverlayCopy> copies, CancellationToken cancellationToken = default)
    {
        var merged = new Dictionary<string, (int Layer, LayerEntry Entry)>(StringComparer.Ordinal);
        var conflicts = new List<MergeConflict>();
        var conflictIndex = new Dictionary<(ConflictKind, string, int), int>();
        var filesByLayer = new List<Dictionary<string, LayerEntry>>();
        var dropped = new int[layers.Count];

        for (var li = 0; li < layers.Count; li++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var files = new Dictionary<string, LayerEntry>(StringComparer.Ordinal);
            filesByLayer.Add(files);
            foreach (var entry in LayerReader.ReadAll(layers[li].Path))
            {
                if (entry.Type == LayerEntryType.File)
                {
                    files[entry.Path] = entry;
                }

                var blocker = FindBlockingAncestor(merged, entry.Path);
                if (blocker is { } b)
                {
                    dropped[li]++;
                    var blockerEntry = merged[b];
                    if (blockerEntry.Layer == li)
                    {
                        // Cannot happen with layers from LayerWriter; tolerate and count as dropped.
                        continue;
                    }

                    AddOrCount(ConflictKind.BelowNonDirectory, b, li, () => new MergeConflict(ConflictKind.BelowNonDirectory, b, layers[blockerEntry.Layer].Name,
                        blockerEntry.Entry.Type, layers[li].Name, entry.Type, 1));
                    continue;
                }

                if (!merged.TryGetValue(entry.Path, out var existing))
                {
                    merged[entry.Path] = (li, entry);
                    continue;
                }

                if (existing.Entry.IsDirectory && entry.IsDirectory)
                {
                    // Folders merge. An explicit folder replaces an implicit one (even within one layer).
                    if (existing.Entry.Implicit && !entry.Implicit)
                    {
                        merged[entry.Path] = (li, entry);
                    }

                    continue;
                }

                if (existing.Layer == li)
                {
                    throw new ArchiveFormatException($"layer '{layers[li].Name}' holds '{entry.Path}' twice");
                }

                dropped[li]++;
                AddOrCount(ConflictKind.SamePath, entry.Path, li, () => new MergeConflict(ConflictKind.SamePath, entry.Path, layers[existing.Layer].Name,
                    existing.Entry.Type, layers[li].Name, entry.Type, 1));
            }
        }

        void AddOrCount(ConflictKind kind, string path, int loser, Func<MergeConflict> create)
        {
            if (conflictIndex.TryGetValue((kind, path, loser), out var at))
            {
                conflicts[at] = conflicts[at] with { DroppedEntries = conflicts[at].DroppedEntries + 1 };
            }
            else
            {
                conflictIndex[(kind, path, loser)] = conflicts.Count;
                conflicts.Add(create());
            }
        }

        // Copies on the merged image: the destination shares the source's bytes (and, unless overridden, its
        // attributes); an existing destination wins. A hard-linked source is copied as the file it links to.
        foreach (var copy in copies)
        {
            var source = ImagePath.Normalize(copy.Source);
            var destination = ImagePath.Normalize(copy.Destination);
            if (!merged.TryGetValue(source, out var src) || src.Entry.Type is not (LayerEntryType.File or LayerEntryType.HardLink))
            {
                if (copy.Optional && src.Entry is null)
                {
                    continue;
                }

                throw new OverlayCopySourceException(source, src.Entry is null ? "no layer has it" : $"it is a {LayerWriter.Describe(src.Entry.Type)}, not a file");
            }

            if (merged.ContainsKey(destination) || FindBlockingAncestor(merged, destination) is not null)
            {
                continue;
            }

            var data = src.Entry.Type == LayerEntryType.File ? src.Entry : filesByLayer[src.Layer][src.Entry.LinkTarget];
            var attributes = data.Attributes with
            {
                Mode = copy.Mode ?? data.Attributes.Mode,
                Owner = copy.Owner ?? data.Attributes.Owner,
            };
            var copied = data with { Path = destination, Attributes = attributes };
            filesByLayer[src.Layer][destination] = copied;
            merged[destination] = (src.Layer, copied);
        }

        // Parents a layer did not write itself (layers from LayerWriter always do) become implicit folders.
        foreach (var path in merged.Keys.ToArray())
        {
            foreach (var ancestor in ImagePath.Ancestors(path))
            {
                if (!merged.ContainsKey(ancestor))
                {
                    var li = merged[path].Layer;
                    merged[ancestor] = (li, new LayerEntry(ancestor, LayerEntryType.Directory,
                        EntryAttributes.Default(LayerEntryType.Directory, 0), 0, string.Empty, 0, 0, true, -1));
                }
            }
        }

        var paths = merged.Keys.ToArray();
        Array.Sort(paths, ImagePath.TreeOrder);
        var entries = new List<MergedEntry>(paths.Length);
        var firstOfGroup = new Dictionary<(int, string), string>();
        var entryCounts = new int[layers.Count];
        var bytes = new long[layers.Count];
        foreach (var path in paths)
        {
            var (li, e) = merged[path];
            entryCounts[li]++;
            if (e.Type is LayerEntryType.File or LayerEntryType.HardLink)
            {
                // A regular file and the hard links to it form a group; the first member in image order
                // carries the bytes and the others link to it.
                var sourcePath = e.Type == LayerEntryType.File ? e.Path : e.LinkTarget;
                if (!filesByLayer[li].TryGetValue(sourcePath, out var source))
                {
                    throw new ArchiveFormatException($"layer '{layers[li].Name}': hard link '{e.Path}' names '{sourcePath}', which is not a file of that layer");
                }

                // Every member shows the file's own attributes (a hard link has no attributes of its own).
                if (firstOfGroup.TryGetValue((li, sourcePath), out var first))
                {
                    entries.Add(new MergedEntry(path, li, source with { Path = path, Type = LayerEntryType.HardLink, LinkTarget = first, Size = 0, DataOffset = -1 }, null));
                }
                else
                {
                    firstOfGroup[(li, sourcePath)] = path;
                    bytes[li] += source.Size;
                    entries.Add(new MergedEntry(path, li, source with { Path = path }, source));
                }

                continue;
            }

            entries.Add(new MergedEntry(path, li, e, null));
        }

        var summaries = layers.Select((l, i) => new LayerSummary(l.Name, entryCounts[i], bytes[i], dropped[i])).ToList();
        return new OverlayMerge(layers, entries, conflicts, summaries);
    }

    private static string? FindBlockingAncestor(Dictionary<string, (int Layer, LayerEntry Entry)> merged, string path)
    {
        foreach (var ancestor in ImagePath.Ancestors(path))
        {
            if (merged.TryGetValue(ancestor, out var a) && !a.Entry.IsDirectory)
            {
                return ancestor;
            }
        }

        return null;
    }
}
