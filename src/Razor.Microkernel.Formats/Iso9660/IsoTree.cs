using System.Text;

namespace Razor.Microkernel.Formats.Iso9660;

/// <summary>One node of the tree being written: the entry, its names in the primary (ISO 9660 + Rock Ridge) and
/// Joliet trees, and where its extent lands.</summary>
internal sealed class IsoNode(string name, IsoNode? parent, IsoWriterEntry entry)
{
    public string Name { get; } = name;

    public IsoNode? Parent { get; } = parent;

    public IsoWriterEntry Entry { get; set; } = entry;

    /// <summary>A folder made because something lies below it, not given as an entry (yet).</summary>
    public bool Implicit { get; set; }

    public List<IsoNode> Children { get; } = [];

    public byte[] IsoId { get; set; } = [];

    public string SortName { get; set; } = "";

    public string SortExt { get; set; } = "";

    public long Block { get; set; }

    public long Size { get; set; }

    public int DirNumber { get; set; }

    public byte[]? Content { get; set; } // boot catalog, patched boot image

    public List<DirectoryRecordPlan> Records { get; } = []; // directories: ".", "..", children (in order)

    // Joliet tree (directories): its own extent and number; children without symlinks, in Joliet order.
    public string JolietName { get; set; } = "";

    public byte[] JolietId { get; set; } = [];

    public long JolietBlock { get; set; }

    public long JolietSize { get; set; }

    public int JolietDirNumber { get; set; }

    public List<IsoNode> JolietChildren { get; } = [];

    public bool IsDirectory => Entry.Type == IsoEntryType.Directory;

    public string Path => Parent is null ? "" : Parent.Parent is null ? Name : Parent.Path + "/" + Name;
}

/// <summary>The entries to write as a tree: paths checked, missing parent folders made (implicit, 0755), each path once.</summary>
internal sealed class IsoTree
{
    public IsoNode Root { get; } = new("", null, IsoWriterEntry.Directory("/"));

    public IsoNode? Find(string path)
    {
        var node = Root;
        foreach (var part in path.Trim('/').Split('/'))
        {
            node = node.Children.Find(c => c.Name == part);
            if (node is null)
            {
                return null;
            }
        }

        return node;
    }

    public IsoNode Add(IsoWriterEntry entry)
    {
        var parts = SplitPath(entry.Path);
        if ((entry.Mode & ~0xFFF) != 0 || entry.Uid < 0 || entry.Gid < 0)
        {
            throw new IsoWriteException(entry.Path, "mode must be the twelve permission bits and uid/gid not negative");
        }

        switch (entry.Type)
        {
            case IsoEntryType.File:
                if (entry.Size is < 0 or > uint.MaxValue)
                {
                    throw new IsoWriteException(entry.Path, $"size {entry.Size} does not fit one ISO 9660 extent");
                }

                if (entry.OpenContent is null && entry.Size > 0)
                {
                    throw new IsoWriteException(entry.Path, "a file with content needs OpenContent");
                }

                break;
            case IsoEntryType.Symlink:
                if (entry.LinkTarget.Length == 0 || entry.LinkTarget.Contains('\0', StringComparison.Ordinal) || Encoding.UTF8.GetByteCount(entry.LinkTarget) > 4096)
                {
                    throw new IsoWriteException(entry.Path, "a symlink target must be 1 to 4096 bytes without NUL");
                }

                break;
            case IsoEntryType.Directory:
                break;
            default:
                throw new IsoWriteException(entry.Path, $"{entry.Type} entries are not supported");
        }

        if (parts.Length == 0)
        {
            if (entry.Type != IsoEntryType.Directory)
            {
                throw new IsoWriteException(entry.Path, "the root must be a directory");
            }

            Root.Entry = entry;
            return Root;
        }

        var node = Root;
        for (var i = 0; i < parts.Length - 1; i++)
        {
            var next = node.Children.Find(c => c.Name == parts[i]);
            if (next is null)
            {
                next = new IsoNode(parts[i], node, IsoWriterEntry.Directory(string.Join('/', parts[..(i + 1)]))) { Implicit = true };
                node.Children.Add(next);
            }
            else if (!next.IsDirectory)
            {
                throw new IsoWriteException(entry.Path, $"'{next.Path}' is not a directory");
            }

            node = next;
        }

        var existing = node.Children.Find(c => c.Name == parts[^1]);
        if (existing is not null)
        {
            if (existing.Implicit && entry.Type == IsoEntryType.Directory)
            {
                existing.Entry = entry;
                existing.Implicit = false;
                return existing;
            }

            throw new IsoWriteException(entry.Path, "the path is given twice");
        }

        var child = new IsoNode(parts[^1], node, entry);
        node.Children.Add(child);
        return child;
    }

    /// <summary>The regular files below <paramref name="dir"/>, depth first in the (sorted) child order.</summary>
    public static void CollectFiles(IsoNode dir, List<IsoNode> files)
    {
        foreach (var c in dir.Children)
        {
            if (c.IsDirectory)
            {
                CollectFiles(c, files);
            }
            else if (c.Entry.Type == IsoEntryType.File)
            {
                files.Add(c);
            }
        }
    }

    /// <summary>The folders below <paramref name="root"/> (itself first), breadth first, in the given child order.</summary>
    public static IEnumerable<IsoNode> BreadthFirst(IsoNode root, Func<IsoNode, IEnumerable<IsoNode>> children)
    {
        var queue = new Queue<IsoNode>();
        queue.Enqueue(root);
        while (queue.Count > 0)
        {
            var d = queue.Dequeue();
            yield return d;
            foreach (var c in children(d).Where(c => c.IsDirectory))
            {
                queue.Enqueue(c);
            }
        }
    }

    /// <summary>Reads a (small) file entry's content whole: the boot image, which is patched before it is written.</summary>
    public static byte[] ReadAll(IsoWriterEntry entry)
    {
        var data = new byte[entry.Size];
        using var s = entry.OpenContent?.Invoke() ?? Stream.Null;
        var done = 0;
        while (done < data.Length)
        {
            var n = s.Read(data, done, data.Length - done);
            if (n <= 0)
            {
                throw new IsoWriteException(entry.Path, $"content ended after {done} of {data.Length} bytes");
            }

            done += n;
        }

        return data;
    }

    private static string[] SplitPath(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var trimmed = path.Trim('/');
        if (trimmed.Length == 0 || trimmed == ".")
        {
            return [];
        }

        var parts = trimmed.Split('/');
        foreach (var p in parts)
        {
            if (p.Length == 0 || p is "." or ".." || p.Contains('\0', StringComparison.Ordinal) || Encoding.UTF8.GetByteCount(p) > 255)
            {
                throw new InvalidImagePathException(path, "components must be 1 to 255 bytes, not '.' or '..', without NUL");
            }
        }

        return parts;
    }
}
