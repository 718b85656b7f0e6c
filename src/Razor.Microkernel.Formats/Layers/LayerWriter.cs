using Razor.Microkernel.Formats.Tar;

namespace Razor.Microkernel.Formats.Layers;

/// <summary>
/// Writes one layer: an uncompressed POSIX tar of the entries a build step adds, at their final image
/// paths. Paths are normalised; missing parent folders are added as implicit root-owned 0755 folders
/// (marked so that an explicit folder from any layer wins over them at merge). Inside one layer a path is
/// written once, nothing is written below a symlink or a non-folder, and a hard link names a regular file
/// written earlier in the same layer.
/// </summary>
public sealed class LayerWriter : IDisposable
{
    /// <summary>PAX attribute that marks a folder the writer created only because a child needed it.</summary>
    public const string ImplicitAttribute = "RMK.implicit";

    private static readonly KeyValuePair<string, string>[] ImplicitMarker = [new(ImplicitAttribute, "1")];

    private readonly TarStreamWriter _tar;
    private readonly Dictionary<string, Written> _written = new(StringComparer.Ordinal);

    public LayerWriter(Stream output, long defaultModificationTime = 0, bool leaveOpen = false)
    {
        _tar = new TarStreamWriter(output, leaveOpen);
        DefaultModificationTime = defaultModificationTime;
    }

    /// <summary>The time given to implicit folders.</summary>
    public long DefaultModificationTime { get; }

    public int EntryCount { get; private set; }

    /// <summary>Bytes of regular-file content written.</summary>
    public long ContentBytes { get; private set; }

    /// <summary>True when the path was written to this layer (explicitly or as an implicit folder).</summary>
    public bool Contains(string path) => _written.ContainsKey(ImagePath.Normalize(path));

    public LayerEntryType? TypeOf(string path)
        => _written.TryGetValue(ImagePath.Normalize(path), out var w) ? w.Type : null;

    public void AddDirectory(string path, EntryAttributes attributes)
    {
        var p = ImagePath.Normalize(path);
        if (_written.TryGetValue(p, out var existing))
        {
            if (existing.Type != LayerEntryType.Directory)
            {
                throw new LayerConflictException(p, $"a folder cannot be added where the layer already has a {Describe(existing.Type)}");
            }

            if (!existing.Implicit)
            {
                return; // the same folder twice: the first one stands
            }

            // An explicit folder after an implicit one: write it again; readers let the explicit one win.
        }
        else
        {
            EnsureParents(p);
        }

        Write(p, LayerEntryType.Directory, attributes, implicitFolder: false);
    }

    public void AddFile(string path, EntryAttributes attributes, Stream content, long length)
    {
        var p = PrepareNew(path);
        _tar.WriteEntry(new TarHeader(p, LayerEntryType.File, attributes.Mode, attributes.Owner, attributes.ModificationTime, length), content);
        _written[p] = new Written(LayerEntryType.File, false);
        EntryCount++;
        ContentBytes += length;
    }

    public void AddFile(string path, EntryAttributes attributes, ReadOnlySpan<byte> content)
    {
        using var ms = new MemoryStream(content.ToArray(), writable: false);
        AddFile(path, attributes, ms, content.Length);
    }

    /// <summary>Adds a symlink. The target is stored verbatim: it is never followed or resolved.</summary>
    public void AddSymlink(string path, string target, EntryAttributes attributes)
    {
        if (string.IsNullOrEmpty(target) || target.Contains('\0', StringComparison.Ordinal))
        {
            throw new LayerConflictException(path, "a symlink needs a non-empty target without NUL");
        }

        var p = PrepareNew(path);
        Write(p, LayerEntryType.Symlink, attributes, false, target);
    }

    /// <summary>Adds a hard link to a regular file written earlier in this layer.</summary>
    public void AddHardLink(string path, string targetPath, EntryAttributes attributes)
    {
        var target = ImagePath.Normalize(targetPath);
        if (!_written.TryGetValue(target, out var t) || t.Type != LayerEntryType.File)
        {
            throw new LayerConflictException(path, $"a hard link must name a regular file earlier in the same layer; '{target}' is not one");
        }

        var p = PrepareNew(path);
        Write(p, LayerEntryType.HardLink, attributes, false, target);
    }

    public void AddDevice(string path, LayerEntryType type, int major, int minor, EntryAttributes attributes)
    {
        if (type is not (LayerEntryType.CharacterDevice or LayerEntryType.BlockDevice))
        {
            throw new ArgumentOutOfRangeException(nameof(type));
        }

        var p = PrepareNew(path);
        _tar.WriteEntry(new TarHeader(p, type, attributes.Mode, attributes.Owner, attributes.ModificationTime,
            DeviceMajor: major, DeviceMinor: minor), null);
        _written[p] = new Written(type, false);
        EntryCount++;
    }

    public void AddFifo(string path, EntryAttributes attributes)
    {
        var p = PrepareNew(path);
        Write(p, LayerEntryType.Fifo, attributes, false);
    }

    /// <summary>Ends the tar. Call once, after the last entry.</summary>
    public void Finish() => _tar.Finish();

    public void Dispose() => _tar.Dispose();

    /// <summary>A word for an entry type in messages: file, folder, symlink, …</summary>
    public static string Describe(LayerEntryType type) => type switch
    {
        LayerEntryType.File => "file",
        LayerEntryType.Directory => "folder",
        LayerEntryType.Symlink => "symlink",
        LayerEntryType.HardLink => "hard link",
        LayerEntryType.CharacterDevice => "character device",
        LayerEntryType.BlockDevice => "block device",
        LayerEntryType.Fifo => "fifo",
        _ => type.ToString(),
    };

    private string PrepareNew(string path)
    {
        var p = ImagePath.Normalize(path);
        if (_written.TryGetValue(p, out var existing))
        {
            throw new LayerConflictException(p, $"the layer already has a {Describe(existing.Type)} at this path");
        }

        EnsureParents(p);
        return p;
    }

    private void EnsureParents(string p)
    {
        foreach (var ancestor in ImagePath.Ancestors(p))
        {
            if (_written.TryGetValue(ancestor, out var w))
            {
                if (w.Type == LayerEntryType.Directory)
                {
                    continue;
                }

                throw new LayerConflictException(p, $"'{ancestor}' is a {Describe(w.Type)} in this layer, so nothing can be placed below it");
            }

            Write(ancestor, LayerEntryType.Directory, EntryAttributes.Default(LayerEntryType.Directory, DefaultModificationTime), implicitFolder: true);
        }
    }

    private void Write(string p, LayerEntryType type, EntryAttributes a, bool implicitFolder, string link = "")
    {
        var name = type == LayerEntryType.Directory ? p + "/" : p;
        _tar.WriteEntry(new TarHeader(name, type, a.Mode, a.Owner, a.ModificationTime, 0, link,
            ExtraAttributes: implicitFolder ? ImplicitMarker : null), null);
        _written[p] = new Written(type, implicitFolder);
        EntryCount++;
    }

    private readonly record struct Written(LayerEntryType Type, bool Implicit);
}
