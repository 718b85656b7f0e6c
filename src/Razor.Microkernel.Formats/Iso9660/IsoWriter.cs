using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Razor.Microkernel.Formats.Iso9660;

/// <summary>One entry to write. Use the factories. <see cref="Mode"/> holds the twelve permission bits;
/// regular files supply <see cref="OpenContent"/>, which must yield exactly <see cref="Size"/> bytes and is
/// called once, when the file's bytes are written.</summary>
public sealed record IsoWriterEntry(
    string Path,
    IsoEntryType Type,
    int Mode,
    int Uid,
    int Gid,
    long Size,
    string LinkTarget,
    Func<Stream>? OpenContent)
{
    public static IsoWriterEntry Directory(string path, int mode = 0x1ED, int uid = 0, int gid = 0)
        => new(path, IsoEntryType.Directory, mode, uid, gid, 0, "", null);

    public static IsoWriterEntry File(string path, long size, Func<Stream> openContent, int mode = 0x1A4, int uid = 0, int gid = 0)
        => new(path, IsoEntryType.File, mode, uid, gid, size, "", openContent);

    public static IsoWriterEntry Symlink(string path, string target, int uid = 0, int gid = 0)
        => new(path, IsoEntryType.Symlink, 0x1FF, uid, gid, 0, target, null);

    /// <summary>An entry copied from an image being read (e.g. a release ISO): same path, attributes and, for
    /// files, content streamed from <paramref name="reader"/> when written. Devices, fifos and sockets cannot be copied.</summary>
    public static IsoWriterEntry From(IsoReader reader, IsoEntry entry)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(entry);
        return entry.Type switch
        {
            IsoEntryType.Directory => Directory(entry.Path, entry.Mode, entry.Uid, entry.Gid),
            IsoEntryType.File => File(entry.Path, entry.Size, () => reader.OpenRead(entry), entry.Mode, entry.Uid, entry.Gid),
            IsoEntryType.Symlink => Symlink(entry.Path, entry.LinkTarget, entry.Uid, entry.Gid),
            _ => throw new IsoWriteException(entry.Path, $"{entry.Type} entries cannot be copied into an image"),
        };
    }
}

/// <summary>What to write around the entries.</summary>
public sealed record IsoWriterOptions
{
    /// <summary>Volume identifier, printable ASCII, at most 32 characters.</summary>
    public string VolumeId { get; init; } = "CDROM";

    public string SystemId { get; init; } = "LINUX";

    public string ApplicationId { get; init; } = "RAZOR.MICROKERNEL.SDK";

    /// <summary>Every date in the image (volume descriptors, directory records, Rock Ridge TF).</summary>
    public DateTimeOffset Timestamp { get; init; } = DateTimeOffset.UnixEpoch;

    /// <summary>Path (in the tree) of a file to boot with El Torito, no emulation, e.g.
    /// <c>boot/isolinux/isolinux.bin</c>; null writes no boot record.</summary>
    public string? BootImage { get; init; }

    /// <summary>Path of the boot catalog file the writer adds (it must not be among the entries).</summary>
    public string BootCatalog { get; init; } = "boot/isolinux/boot.cat";

    /// <summary>512-byte sectors the BIOS loads (<c>-boot-load-size</c>).</summary>
    public int BootLoadSectors { get; init; } = 4;

    /// <summary>Patch the boot information table (<c>-boot-info-table</c>) into the boot image.</summary>
    public bool BootInfoTable { get; init; } = true;

    /// <summary>An isohybrid MBR template (the 432 bytes of syslinux's <c>isohdpfx.bin</c>): when given, the
    /// image gets an MBR as syslinux's <c>isohybrid</c> writes it (one active partition of type 0x17 from sector
    /// 0, 64 heads, 32 sectors) and is padded to whole 1 MiB cylinders, so the same file boots from USB. Needs a
    /// <see cref="BootImage"/> that is an isohybrid-capable isolinux.bin.</summary>
    public ReadOnlyMemory<byte>? HybridMbr { get; init; }

    /// <summary>MBR disk signature of the isohybrid MBR (fixed, so the image is reproducible).</summary>
    public uint HybridMbrId { get; init; }

    /// <summary>Largest boot image accepted (it is held in memory to be patched).</summary>
    public int MaxBootImageBytes { get; init; } = 16 << 20;

    /// <summary>Add a Joliet tree (<c>mkisofs -J</c>): a supplementary volume descriptor (UCS-2 level 3) with its
    /// own directories and path tables, naming the same file extents as the primary tree. See
    /// <see cref="IsoWriter"/> for how names are mapped.</summary>
    public bool Joliet { get; init; } = true;
}

/// <summary>
/// Writes an ISO 9660 image with Rock Ridge (RRIP 1.10: PX modes, owners and link counts, NM names of any
/// length, SL symlinks, TF dates; CE continuation areas where a record overflows) and optionally an El Torito
/// no-emulation boot image with its catalog and boot information table. Deterministic: entries are sorted,
/// every date is <see cref="IsoWriterOptions.Timestamp"/>, and the same input always gives the same bytes.
/// The output is written sequentially (never sought) and file contents are streamed from their openers; only
/// the boot image is held in memory. ISO 9660 names are uppercase d-characters (up to 30 characters, as
/// <c>mkisofs -l</c>), made unique per directory; real names come from Rock Ridge.
/// <para>With <see cref="IsoWriterOptions.Joliet"/> (the default) a Joliet tree follows, as <c>mkisofs -J</c>
/// writes it: the descriptor after the primary one (and the boot record), its path tables after the primary
/// ones, its directories after the primary directories; files are written once and both trees point at them.
/// Joliet names are the real names in UCS-2 (big-endian, no <c>;1</c> version, as genisoimage and xorriso),
/// with each of <c>* / : ; ? \</c>, control characters, characters outside the BMP and trailing dots (which
/// Linux and Windows drop when reading) replaced by <c>_</c>. A name longer than 64 UCS-2 characters is cut to
/// 64, keeping its extension (the last <c>.</c> and up to 15 characters after it); when a changed name meets
/// another name of the directory, <c>_1</c>, <c>_2</c>, … goes before the extension, the stem cut further to
/// stay within 64. Names that need no change are never renamed; changed ones are settled in ordinal order of
/// their real names, so the result is deterministic. (genisoimage cuts without keeping the extension and
/// fails on a clash; xorriso numbers every clashing name.) Names compare ordinally, as in both tools.
/// Symlinks have no Joliet form and are left out of the Joliet tree, as xorriso does (genisoimage lists them
/// as empty files). The Joliet volume id is the volume id cut to 16 characters.</para>
/// </summary>
public static class IsoWriter
{
    private const int Block = IsoBytes.BlockSize;
    private const int MaxRecord = 254;

    /// <summary>Size of an isohybrid MBR template (syslinux's <c>isohdpfx.bin</c>: the boot code before the partition table).</summary>
    public const int HybridMbrTemplateBytes = 432;

    /// <summary>True when <paramref name="bootImage"/> (its first 0x44 bytes suffice) is an isohybrid-capable
    /// isolinux.bin (syslinux 3.72 and later): the signature the isohybrid MBR jumps by, at byte 0x40.</summary>
    public static bool IsHybridCapable(ReadOnlySpan<byte> bootImage)
        => bootImage.Length >= 0x44 && BinaryPrimitives.ReadUInt32LittleEndian(bootImage[0x40..]) == 0x7078C0FB;

    public static void Write(Stream output, IEnumerable<IsoWriterEntry> entries, IsoWriterOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(entries);
        ArgumentNullException.ThrowIfNull(options);
        var layout = new Layout(options);
        layout.Build(entries);
        layout.Emit(output, cancellationToken);
    }

    /// <summary>Writes the image to a file atomically (a temporary sibling renamed over the target).</summary>
    public static void WriteFile(string path, IEnumerable<IsoWriterEntry> entries, IsoWriterOptions options, CancellationToken cancellationToken = default)
        => AtomicFile.Write(path, s => Write(s, entries, options, cancellationToken));

    private sealed class Node(string name, Node? parent, IsoWriterEntry entry)
    {
        public string Name { get; } = name;

        public Node? Parent { get; } = parent;

        public IsoWriterEntry Entry { get; set; } = entry;

        public bool Implicit { get; set; }

        public List<Node> Children { get; } = [];

        public byte[] IsoId { get; set; } = [];

        public string SortName { get; set; } = "";

        public string SortExt { get; set; } = "";

        public long Block { get; set; }

        public long Size { get; set; }

        public int DirNumber { get; set; }

        public byte[]? Content { get; set; } // boot catalog, patched boot image

        public List<RecordSu> Records { get; } = []; // directories: ".", "..", children (in order)

        // Joliet tree (directories): its own extent and number; children without symlinks, in Joliet order.
        public string JolietName { get; set; } = "";

        public byte[] JolietId { get; set; } = [];

        public long JolietBlock { get; set; }

        public long JolietSize { get; set; }

        public int JolietDirNumber { get; set; }

        public List<Node> JolietChildren { get; } = [];

        public bool IsDirectory => Entry.Type == IsoEntryType.Directory;

        public string Path => Parent is null ? "" : Parent.Parent is null ? Name : Parent.Path + "/" + Name;
    }

    /// <summary>System use of one directory record: the entries kept in the record and, when they overflow,
    /// a chain of continuation areas.</summary>
    private sealed class RecordSu
    {
        public required Node Target { get; init; }

        public required byte[] Id { get; init; }

        public List<byte[]> InRecord { get; } = [];

        public ContinuationArea? Continuation { get; set; }

        public int RecordLength { get; set; }
    }

    private sealed class ContinuationArea
    {
        public List<byte[]> Entries { get; } = [];

        public ContinuationArea? Next { get; set; }

        public long Block { get; set; }

        public int Offset { get; set; }

        public int Length => Entries.Sum(e => e.Length) + (Next is null ? 0 : 28);
    }

    private sealed class Layout(IsoWriterOptions options)
    {
        private readonly Node _root = new("", null, IsoWriterEntry.Directory("/"));
        private readonly List<Node> _directories = [];
        private readonly List<Node> _files = [];
        private readonly List<ContinuationArea> _areas = [];
        private readonly List<Node> _jolietDirectories = [];
        private byte[] _pathTableL = [];
        private byte[] _pathTableM = [];
        private byte[] _jolietPathTableL = [];
        private byte[] _jolietPathTableM = [];
        private long _jolietPathTableLBlock;
        private long _jolietPathTableMBlock;
        private Node? _boot;
        private Node? _catalog;
        private long _pathTableLBlock;
        private long _pathTableMBlock;
        private long _catalogBlock;
        private long _totalBlocks;
        private byte[] _volumeId = [];

        public void Build(IEnumerable<IsoWriterEntry> entries)
        {
            _volumeId = CheckIdentifier(options.VolumeId, "volume id");
            CheckIdentifier(options.SystemId, "system id");
            CheckIdentifier(options.ApplicationId, "application id", 128);
            foreach (var e in entries)
            {
                Add(e);
            }

            if (options.HybridMbr is not null && options.BootImage is null)
            {
                throw new IsoWriteException("/", "an isohybrid MBR needs a boot image");
            }

            if (options.BootImage is { } bootPath)
            {
                _boot = Find(bootPath) ?? throw new IsoWriteException(bootPath, "the boot image is not among the entries");
                if (_boot.Entry.Type != IsoEntryType.File)
                {
                    throw new IsoWriteException(bootPath, "the boot image is not a regular file");
                }

                if (_boot.Entry.Size > options.MaxBootImageBytes || (options.BootInfoTable && _boot.Entry.Size < 64))
                {
                    throw new IsoWriteException(bootPath, $"a boot image of {_boot.Entry.Size} bytes is not supported");
                }

                if (options.BootLoadSectors is < 1 or > 0xFFFF)
                {
                    throw new IsoWriteException(bootPath, $"boot load size {options.BootLoadSectors} is out of range");
                }

                _boot.Content = ReadAll(_boot.Entry);
                if (options.HybridMbr is { } mbr)
                {
                    if (mbr.Length != HybridMbrTemplateBytes)
                    {
                        throw new IsoWriteException(bootPath, $"the isohybrid MBR template has {mbr.Length} bytes, not {HybridMbrTemplateBytes}");
                    }

                    if (!IsHybridCapable(_boot.Content))
                    {
                        throw new IsoWriteException(bootPath, "the boot image is not isohybrid-capable (no signature at byte 0x40)");
                    }
                }
                _catalog = Add(IsoWriterEntry.File(options.BootCatalog, Block, () => Stream.Null, 0x124)); // r--r--r--, as xorriso
                _catalog.Content = new byte[Block];
            }

            AssignIsoNames(_root);
            BuildRecords();
            if (options.Joliet)
            {
                AssignJolietNames(_root);
                CollectJolietDirectories();
            }

            AssignBlocks();
        }

        private static byte[] CheckIdentifier(string value, string what, int max = 32)
        {
            if (value.Length > max || value.Any(c => c is < ' ' or > '~'))
            {
                throw new IsoWriteException(value, $"the {what} must be printable ASCII of at most {max} characters");
            }

            return Encoding.ASCII.GetBytes(value);
        }

        private Node? Find(string path)
        {
            var node = _root;
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

        private Node Add(IsoWriterEntry entry)
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

                _root.Entry = entry;
                return _root;
            }

            var node = _root;
            for (var i = 0; i < parts.Length - 1; i++)
            {
                var next = node.Children.Find(c => c.Name == parts[i]);
                if (next is null)
                {
                    next = new Node(parts[i], node, IsoWriterEntry.Directory(string.Join('/', parts[..(i + 1)]))) { Implicit = true };
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

            var child = new Node(parts[^1], node, entry);
            node.Children.Add(child);
            return child;
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

        private byte[] ReadAll(IsoWriterEntry entry)
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

        // ---- ISO 9660 names -------------------------------------------------------------------------------

        private static void AssignIsoNames(Node dir)
        {
            dir.Children.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
            var used = new HashSet<string>(StringComparer.Ordinal);
            foreach (var c in dir.Children)
            {
                string name, ext;
                if (c.IsDirectory)
                {
                    (name, ext) = (Map(c.Name.Replace('.', '_')), "");
                    name = Truncate(name, 31);
                }
                else
                {
                    var dot = c.Name.LastIndexOf('.');
                    (name, ext) = dot > 0 ? (Map(c.Name[..dot].Replace('.', '_')), Map(c.Name[(dot + 1)..])) : (Map(c.Name.Replace('.', '_')), "");
                    ext = Truncate(ext, 8);
                    name = Truncate(name, 30 - ext.Length);
                }

                if (name.Length == 0)
                {
                    name = "_";
                }

                var n = 1;
                var candidate = name;
                while (!used.Add(candidate + "." + ext))
                {
                    var suffix = "_" + n++.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    candidate = Truncate(name, (c.IsDirectory ? 31 : 30 - ext.Length) - suffix.Length) + suffix;
                }

                c.SortName = candidate;
                c.SortExt = ext;
                c.IsoId = Encoding.ASCII.GetBytes(c.IsDirectory ? candidate : candidate + "." + ext + ";1");
            }

            // ECMA-119 9.3: records ordered by name, then extension (space-padded, so a prefix sorts first).
            dir.Children.Sort((a, b) =>
            {
                var r = string.CompareOrdinal(a.SortName, b.SortName);
                return r != 0 ? r : string.CompareOrdinal(a.SortExt, b.SortExt);
            });
            foreach (var c in dir.Children.Where(c => c.IsDirectory))
            {
                AssignIsoNames(c);
            }
        }

        private static string Truncate(string s, int max) => s.Length <= max ? s : s[..Math.Max(0, max)];

        private static string Map(string s)
        {
            var b = new StringBuilder(s.Length);
            foreach (var ch in s)
            {
                var u = char.ToUpperInvariant(ch);
                b.Append(u is (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '_' ? u : '_');
            }

            return b.ToString();
        }

        // ---- Joliet -------------------------------------------------------------------------------------

        private const int JolietMaxName = 64;
        private const int JolietMaxExtension = 16; // the dot and up to 15 characters

        private static void AssignJolietNames(Node dir)
        {
            var children = dir.Children.Where(c => c.Entry.Type != IsoEntryType.Symlink).ToList();
            children.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
            var used = new HashSet<string>(StringComparer.Ordinal);
            var changed = new List<(Node Node, string Mapped)>();
            foreach (var c in children)
            {
                var mapped = JolietMap(c.Name);
                if (mapped.Length <= JolietMaxName && mapped == c.Name)
                {
                    c.JolietName = mapped;
                    used.Add(mapped);
                }
                else
                {
                    changed.Add((c, mapped));
                }
            }

            foreach (var (c, mapped) in changed)
            {
                var dot = mapped.LastIndexOf('.');
                var (stem, ext) = dot > 0 && mapped.Length - dot <= JolietMaxExtension ? (mapped[..dot], mapped[dot..]) : (mapped, "");
                var candidate = NoTrailingDots(Truncate(stem, JolietMaxName - ext.Length) + ext);
                var n = 1;
                while (!used.Add(candidate))
                {
                    var suffix = "_" + n++.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    candidate = Truncate(stem, JolietMaxName - ext.Length - suffix.Length) + suffix + ext;
                }

                c.JolietName = candidate;
            }

            children.Sort((a, b) => string.CompareOrdinal(a.JolietName, b.JolietName));
            foreach (var c in children)
            {
                c.JolietId = Encoding.BigEndianUnicode.GetBytes(c.JolietName);
                dir.JolietChildren.Add(c);
                if (c.IsDirectory)
                {
                    AssignJolietNames(c);
                }
            }
        }

        /// <summary>A name as Joliet can hold it: characters Joliet forbids, control characters, characters outside
        /// UCS-2 (a surrogate pair becomes one <c>_</c>) and trailing dots replaced by <c>_</c>; not yet cut.</summary>
        private static string JolietMap(string name)
        {
            var b = new StringBuilder(name.Length);
            for (var i = 0; i < name.Length; i++)
            {
                var ch = name[i];
                if (char.IsHighSurrogate(ch) && i + 1 < name.Length && char.IsLowSurrogate(name[i + 1]))
                {
                    i++;
                    b.Append('_');
                }
                else
                {
                    b.Append(ch is < ' ' or '*' or '/' or ':' or ';' or '?' or '\\' || char.IsSurrogate(ch) ? '_' : ch);
                }
            }

            return NoTrailingDots(b.ToString());
        }

        private static string NoTrailingDots(string name)
        {
            var end = name.Length;
            while (end > 0 && name[end - 1] == '.')
            {
                end--;
            }

            return end == name.Length ? name : name[..end] + new string('_', name.Length - end);
        }

        private void CollectJolietDirectories()
        {
            // Path-table order: breadth first, children in Joliet order.
            foreach (var d in BreadthFirst(_root, n => n.JolietChildren))
            {
                d.JolietDirNumber = _jolietDirectories.Count + 1;
                _jolietDirectories.Add(d);
            }
        }

        /// <summary>The folders below <paramref name="root"/> (itself first), breadth first, in the given child order.</summary>
        private static IEnumerable<Node> BreadthFirst(Node root, Func<Node, IEnumerable<Node>> children)
        {
            var queue = new Queue<Node>();
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

        private static int JolietRecordLength(int idLength) => 33 + idLength + ((idLength & 1) == 0 ? 1 : 0);

        private static IEnumerable<(Node Target, byte[] Id)> JolietRecords(Node d)
        {
            yield return (d, [0]);
            yield return (d.Parent ?? d, [1]);
            foreach (var c in d.JolietChildren)
            {
                yield return (c, c.JolietId);
            }
        }

        // ---- Rock Ridge ---------------------------------------------------------------------------------

        private const string ErId = "RRIP_1991A";
        private const string ErDescription = "THE ROCK RIDGE INTERCHANGE PROTOCOL PROVIDES SUPPORT FOR POSIX FILE SYSTEM SEMANTICS";
        private const string ErSource = "PLEASE CONTACT DISC PUBLISHER FOR SPECIFICATION SOURCE.  SEE PUBLISHER IDENTIFIER IN PRIMARY VOLUME DESCRIPTOR FOR CONTACT INFORMATION.";

        private static byte[] Entry(string sig, int version, ReadOnlySpan<byte> data)
        {
            var e = new byte[4 + data.Length];
            e[0] = (byte)sig[0];
            e[1] = (byte)sig[1];
            e[2] = (byte)e.Length;
            e[3] = (byte)version;
            data.CopyTo(e.AsSpan(4));
            return e;
        }

        private static int NlinkOf(Node n) => n.IsDirectory ? 2 + n.Children.Count(c => c.IsDirectory) : 1;

        private static byte[] Px(Node n)
        {
            var typeBits = n.Entry.Type switch
            {
                IsoEntryType.Directory => 0x4000,
                IsoEntryType.Symlink => 0xA000,
                _ => 0x8000,
            };
            Span<byte> d = stackalloc byte[32];
            IsoBytes.WriteBoth32(d, (uint)(typeBits | n.Entry.Mode));
            IsoBytes.WriteBoth32(d[8..], (uint)NlinkOf(n));
            IsoBytes.WriteBoth32(d[16..], (uint)n.Entry.Uid);
            IsoBytes.WriteBoth32(d[24..], (uint)n.Entry.Gid);
            return Entry("PX", 1, d);
        }

        private byte[] Tf()
        {
            Span<byte> d = stackalloc byte[1 + 21];
            d[0] = 0x0E; // modify, access, attributes
            IsoBytes.WriteShortDate(d[1..], options.Timestamp);
            IsoBytes.WriteShortDate(d[8..], options.Timestamp);
            IsoBytes.WriteShortDate(d[15..], options.Timestamp);
            return Entry("TF", 1, d);
        }

        private static IEnumerable<byte[]> Nm(string name)
        {
            var bytes = Encoding.UTF8.GetBytes(name);
            for (var at = 0; at < bytes.Length; at += 250)
            {
                var n = Math.Min(250, bytes.Length - at);
                var d = new byte[1 + n];
                d[0] = (byte)(at + n < bytes.Length ? 0x01 : 0);
                bytes.AsSpan(at, n).CopyTo(d.AsSpan(1));
                yield return Entry("NM", 1, d);
            }
        }

        private static List<byte[]> Sl(string target)
        {
            var components = new List<byte[]>();
            if (target.StartsWith('/'))
            {
                components.Add([0x08, 0]);
            }

            foreach (var part in target.Split('/', StringSplitOptions.RemoveEmptyEntries))
            {
                if (part == ".")
                {
                    components.Add([0x02, 0]);
                }
                else if (part == "..")
                {
                    components.Add([0x04, 0]);
                }
                else
                {
                    var bytes = Encoding.UTF8.GetBytes(part);
                    for (var at = 0; at < bytes.Length; at += 248)
                    {
                        var n = Math.Min(248, bytes.Length - at);
                        var c = new byte[2 + n];
                        c[0] = (byte)(at + n < bytes.Length ? 0x01 : 0);
                        c[1] = (byte)n;
                        bytes.AsSpan(at, n).CopyTo(c.AsSpan(2));
                        components.Add(c);
                    }
                }
            }

            var entries = new List<byte[]>();
            var current = new List<byte[]>();
            var size = 0;
            void Flush(bool more)
            {
                var d = new byte[1 + size];
                d[0] = (byte)(more ? 0x01 : 0);
                var pos = 1;
                foreach (var c in current)
                {
                    c.CopyTo(d, pos);
                    pos += c.Length;
                }

                entries.Add(Entry("SL", 1, d));
                current.Clear();
                size = 0;
            }

            foreach (var c in components)
            {
                if (size + c.Length > 250)
                {
                    Flush(more: true);
                }

                current.Add(c);
                size += c.Length;
            }

            Flush(more: false);
            return entries;
        }

        private byte[] Er()
        {
            var d = new byte[4 + ErId.Length + ErDescription.Length + ErSource.Length];
            d[0] = (byte)ErId.Length;
            d[1] = (byte)ErDescription.Length;
            d[2] = (byte)ErSource.Length;
            d[3] = 1;
            Encoding.ASCII.GetBytes(ErId + ErDescription + ErSource).CopyTo(d, 4);
            return Entry("ER", 1, d);
        }

        private void BuildRecords()
        {
            // Directories in path-table order: breadth first, children in ISO order.
            foreach (var d in BreadthFirst(_root, n => n.Children))
            {
                d.DirNumber = _directories.Count + 1;
                _directories.Add(d);
            }

            foreach (var d in _directories)
            {
                var dot = new List<byte[]>();
                if (d == _root)
                {
                    dot.Add([(byte)'S', (byte)'P', 7, 1, 0xBE, 0xEF, 0]);
                }

                dot.Add(Px(d));
                dot.Add(Tf());
                if (d == _root)
                {
                    dot.Add(Er());
                }

                d.Records.Add(MakeRecord(d, [0], dot));
                d.Records.Add(MakeRecord(d.Parent ?? d, [1], [Px(d.Parent ?? d), Tf()]));
                foreach (var c in d.Children)
                {
                    var su = new List<byte[]> { Px(c), Tf() };
                    su.AddRange(Nm(c.Name));
                    if (c.Entry.Type == IsoEntryType.Symlink)
                    {
                        su.AddRange(Sl(c.Entry.LinkTarget));
                    }

                    d.Records.Add(MakeRecord(c, c.IsoId, su));
                }
            }
        }

        private RecordSu MakeRecord(Node target, byte[] id, List<byte[]> su)
        {
            var fixedLength = 33 + id.Length + ((id.Length & 1) == 0 ? 1 : 0);
            var budget = MaxRecord - fixedLength;
            var record = new RecordSu { Target = target, Id = id };
            var total = su.Sum(e => e.Length);
            var i = 0;
            var used = 0;
            if (total <= budget)
            {
                record.InRecord.AddRange(su);
                used = total;
                i = su.Count;
            }
            else
            {
                while (i < su.Count && used + su[i].Length <= budget - 28)
                {
                    used += su[i].Length;
                    record.InRecord.Add(su[i++]);
                }

                used += 28; // CE
                ContinuationArea? previous = null;
                while (i < su.Count)
                {
                    var area = new ContinuationArea();
                    var rest = su.Skip(i).Sum(e => e.Length);
                    var capacity = rest <= Block ? Block : Block - 28;
                    var areaUsed = 0;
                    while (i < su.Count && areaUsed + su[i].Length <= capacity)
                    {
                        areaUsed += su[i].Length;
                        area.Entries.Add(su[i++]);
                    }

                    _areas.Add(area);
                    if (previous is null)
                    {
                        record.Continuation = area;
                    }
                    else
                    {
                        previous.Next = area;
                    }

                    previous = area;
                }
            }

            var length = fixedLength + used;
            record.RecordLength = length + (length & 1);
            return record;
        }

        // ---- Layout -------------------------------------------------------------------------------------

        private void AssignBlocks()
        {
            var next = 16L + 1 + (_boot is null ? 0 : 1) + (options.Joliet ? 1 : 0) + 1; // PVD, boot record, Joliet SVD, terminator
            BuildPathTables();
            _pathTableLBlock = next;
            next += Blocks(_pathTableL.Length);
            _pathTableMBlock = next;
            next += Blocks(_pathTableM.Length);
            if (options.Joliet)
            {
                _jolietPathTableLBlock = next;
                next += Blocks(_jolietPathTableL.Length);
                _jolietPathTableMBlock = next;
                next += Blocks(_jolietPathTableM.Length);
            }
            if (_catalog is not null)
            {
                _catalogBlock = next++;
                _catalog.Block = _catalogBlock;
                _catalog.Size = Block;
            }

            foreach (var d in _directories)
            {
                var size = 0L;
                foreach (var r in d.Records)
                {
                    if ((size % Block) + r.RecordLength > Block)
                    {
                        size = ((size / Block) + 1) * Block;
                    }

                    size += r.RecordLength;
                }

                d.Size = Blocks(size) * Block;
                d.Block = next;
                next += Blocks(size);
            }

            foreach (var d in _jolietDirectories)
            {
                var size = 0L;
                foreach (var (_, id) in JolietRecords(d))
                {
                    var length = JolietRecordLength(id.Length);
                    if ((size % Block) + length > Block)
                    {
                        size = ((size / Block) + 1) * Block;
                    }

                    size += length;
                }

                d.JolietSize = Blocks(size) * Block;
                d.JolietBlock = next;
                next += Blocks(size);
            }

            // Continuation areas packed into blocks, never crossing a block boundary.
            var offset = 0;
            if (_areas.Count > 0)
            {
                foreach (var a in _areas)
                {
                    if (offset + a.Length > Block)
                    {
                        next++;
                        offset = 0;
                    }

                    a.Block = next;
                    a.Offset = offset;
                    offset += a.Length;
                }

                next++;
            }

            CollectFiles(_root);
            foreach (var f in _files)
            {
                f.Size = f.Entry.Size;
                if (f == _catalog)
                {
                    continue;
                }

                f.Block = f.Size == 0 ? 0 : next;
                next += Blocks(f.Size);
            }

            _totalBlocks = next;
            // The path tables were built before directories had blocks: rebuild them with real locations.
            BuildPathTables();
        }

        private void CollectFiles(Node dir)
        {
            foreach (var c in dir.Children)
            {
                if (c.IsDirectory)
                {
                    CollectFiles(c);
                }
                else if (c.Entry.Type == IsoEntryType.File)
                {
                    _files.Add(c);
                }
            }
        }

        private static long Blocks(long bytes) => (bytes + Block - 1) / Block;

        private void BuildPathTables()
        {
            (_pathTableL, _pathTableM) = PathTables(_directories, d => d.IsoId, d => d.Block, d => d.DirNumber);
            if (options.Joliet)
            {
                (_jolietPathTableL, _jolietPathTableM) = PathTables(_jolietDirectories, d => d.JolietId, d => d.JolietBlock, d => d.JolietDirNumber);
            }
        }

        private PathTablePair PathTables(List<Node> directories, Func<Node, byte[]> idOf, Func<Node, long> blockOf, Func<Node, int> numberOf)
        {
            if (directories.Count > 0xFFFF)
            {
                throw new IsoWriteException("/", $"{directories.Count} directories do not fit a path table");
            }

            var size = 0;
            foreach (var d in directories)
            {
                var idLen = d == _root ? 1 : idOf(d).Length;
                size += 8 + idLen + (idLen & 1);
            }

            var l = new byte[size];
            var m = new byte[size];
            var pos = 0;
            foreach (var d in directories)
            {
                var id = d == _root ? new byte[] { 0 } : idOf(d);
                var block = (uint)blockOf(d);
                var parent = (ushort)numberOf(d.Parent ?? d);
                l[pos] = m[pos] = (byte)id.Length;
                BinaryPrimitives.WriteUInt32LittleEndian(l.AsSpan(pos + 2), block);
                BinaryPrimitives.WriteUInt16LittleEndian(l.AsSpan(pos + 6), parent);
                BinaryPrimitives.WriteUInt32BigEndian(m.AsSpan(pos + 2), block);
                BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(pos + 6), parent);
                id.CopyTo(l, pos + 8);
                id.CopyTo(m, pos + 8);
                pos += 8 + id.Length + (id.Length & 1);
            }

            return new PathTablePair(l, m);
        }

        private readonly record struct PathTablePair(byte[] L, byte[] M);

        // ---- Emit ---------------------------------------------------------------------------------------

        public void Emit(Stream output, CancellationToken cancellationToken)
        {
            var w = new BlockWriter(output);
            if (options.HybridMbr is { } template)
            {
                w.Write(HybridMbr(template.Span));
                w.Zero((16 * Block) - 512);
            }
            else
            {
                w.Zero(16 * Block);
            }

            w.Write(PrimaryDescriptor());
            if (_boot is not null)
            {
                w.Write(BootRecord());
            }

            if (options.Joliet)
            {
                w.Write(JolietDescriptor());
            }

            var terminator = new byte[Block];
            terminator[0] = 255;
            "CD001"u8.CopyTo(terminator.AsSpan(1));
            terminator[6] = 1;
            w.Write(terminator);
            w.Expect(_pathTableLBlock, "path table");
            w.WritePadded(_pathTableL);
            w.WritePadded(_pathTableM);
            if (options.Joliet)
            {
                w.Expect(_jolietPathTableLBlock, "Joliet path table");
                w.WritePadded(_jolietPathTableL);
                w.WritePadded(_jolietPathTableM);
            }
            if (_catalog is not null)
            {
                w.Expect(_catalogBlock, "boot catalog");
                w.Write(BootCatalog());
            }

            foreach (var d in _directories)
            {
                cancellationToken.ThrowIfCancellationRequested();
                w.Expect(d.Block, d.Path);
                w.Write(DirectoryExtent(d));
            }

            foreach (var d in _jolietDirectories)
            {
                cancellationToken.ThrowIfCancellationRequested();
                w.Expect(d.JolietBlock, "Joliet " + d.Path);
                w.Write(JolietDirectoryExtent(d));
            }

            if (_areas.Count > 0)
            {
                var block = new byte[Block];
                var current = _areas[0].Block;
                foreach (var a in _areas)
                {
                    if (a.Block != current)
                    {
                        w.Write(block);
                        block.AsSpan().Clear();
                        current = a.Block;
                    }

                    var pos = a.Offset;
                    foreach (var e in a.Entries)
                    {
                        e.CopyTo(block, pos);
                        pos += e.Length;
                    }

                    if (a.Next is { } n)
                    {
                        Ce(n).CopyTo(block, pos);
                    }
                }

                w.Write(block);
            }

            foreach (var f in _files)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (f == _catalog || f.Size == 0)
                {
                    continue;
                }

                w.Expect(f.Block, f.Path);
                if (f == _boot)
                {
                    if (options.BootInfoTable)
                    {
                        PatchBootInfoTable(f.Content!, f.Block);
                    }

                    w.WritePadded(f.Content!);
                    continue;
                }

                using var s = f.Entry.OpenContent!();
                w.CopyPadded(s, f.Size, f.Path, cancellationToken);
            }

            w.Expect(_totalBlocks, "end of image");
            if (options.HybridMbr is not null)
            {
                w.Zero(HybridPadding());
            }

            output.Flush();
        }

        private const int Heads = 64;
        private const int Sectors = 32;
        private const long CylinderBytes = Heads * Sectors * 512L;

        private long HybridPadding()
        {
            var size = _totalBlocks * Block;
            var frac = size % CylinderBytes;
            return frac == 0 ? 0 : CylinderBytes - frac;
        }

        /// <summary>The MBR syslinux's isohybrid writes (MBR mode, partition 1, offset 0, type 0x17).</summary>
        private byte[] HybridMbr(ReadOnlySpan<byte> template)
        {
            var mbr = new byte[512];
            template.CopyTo(mbr);
            BinaryPrimitives.WriteUInt32LittleEndian(mbr.AsSpan(432), (uint)(_boot!.Block * 4));
            BinaryPrimitives.WriteUInt32LittleEndian(mbr.AsSpan(440), options.HybridMbrId);
            var cylinders = ((_totalBlocks * Block) + HybridPadding()) / CylinderBytes;
            var cc = Math.Min(cylinders, 1024);
            var size = cylinders * Heads * Sectors;
            var p = mbr.AsSpan(446, 16);
            p[0] = 0x80;
            p[1] = 0; // begin head
            p[2] = 1; // begin sector
            p[3] = 0; // begin cylinder
            p[4] = 0x17;
            p[5] = Heads - 1;
            p[6] = (byte)(Sectors + (((cc - 1) & 0x300) >> 2));
            p[7] = (byte)((cc - 1) & 0xFF);
            BinaryPrimitives.WriteUInt32LittleEndian(p[8..], 0);
            BinaryPrimitives.WriteUInt32LittleEndian(p[12..], (uint)size);
            mbr[510] = 0x55;
            mbr[511] = 0xAA;
            return mbr;
        }

        private static void PatchBootInfoTable(byte[] image, long block)
        {
            uint sum = 0;
            Span<byte> word = stackalloc byte[4];
            for (var i = 64; i < image.Length; i += 4)
            {
                word.Clear();
                image.AsSpan(i, Math.Min(4, image.Length - i)).CopyTo(word);
                sum += BinaryPrimitives.ReadUInt32LittleEndian(word);
            }

            image.AsSpan(8, 56).Clear();
            BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(8), 16);
            BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(12), (uint)block);
            BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(16), (uint)image.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(20), sum);
        }

        private static byte[] Ce(ContinuationArea area)
        {
            Span<byte> d = stackalloc byte[24];
            IsoBytes.WriteBoth32(d, (uint)area.Block);
            IsoBytes.WriteBoth32(d[8..], (uint)area.Offset);
            IsoBytes.WriteBoth32(d[16..], (uint)area.Length);
            return Entry("CE", 1, d);
        }

        private byte[] DirectoryExtent(Node d)
        {
            var extent = new byte[d.Size];
            var pos = 0;
            foreach (var r in d.Records)
            {
                if ((pos % Block) + r.RecordLength > Block)
                {
                    pos = ((pos / Block) + 1) * Block;
                }

                WriteRecord(extent.AsSpan(pos, r.RecordLength), r);
                pos += r.RecordLength;
            }

            return extent;
        }

        private byte[] JolietDirectoryExtent(Node d)
        {
            var extent = new byte[d.JolietSize];
            var pos = 0;
            foreach (var (target, id) in JolietRecords(d))
            {
                var length = JolietRecordLength(id.Length);
                if ((pos % Block) + length > Block)
                {
                    pos = ((pos / Block) + 1) * Block;
                }

                var (block, size) = target.IsDirectory ? (target.JolietBlock, target.JolietSize) : (target.Block, target.Size);
                WriteBareRecord(extent.AsSpan(pos, length), block, size, target.IsDirectory, id);
                pos += length;
            }

            return extent;
        }

        /// <summary>A directory record without system use: extent, size, date, flags, identifier.</summary>
        private void WriteBareRecord(Span<byte> rec, long block, long size, bool directory, ReadOnlySpan<byte> id)
        {
            rec[0] = (byte)rec.Length;
            IsoBytes.WriteBoth32(rec[2..], (uint)block);
            IsoBytes.WriteBoth32(rec[10..], (uint)size);
            IsoBytes.WriteShortDate(rec[18..], options.Timestamp);
            rec[25] = (byte)(directory ? 0x02 : 0);
            IsoBytes.WriteBoth16(rec[28..], 1);
            rec[32] = (byte)id.Length;
            id.CopyTo(rec[33..]);
        }

        private void WriteRecord(Span<byte> rec, RecordSu r)
        {
            var n = r.Target;
            rec[0] = (byte)rec.Length;
            IsoBytes.WriteBoth32(rec[2..], (uint)n.Block);
            IsoBytes.WriteBoth32(rec[10..], (uint)(n.Entry.Type == IsoEntryType.Symlink ? 0 : n.Size));
            IsoBytes.WriteShortDate(rec[18..], options.Timestamp);
            rec[25] = (byte)(n.IsDirectory ? 0x02 : 0);
            IsoBytes.WriteBoth16(rec[28..], 1);
            rec[32] = (byte)r.Id.Length;
            r.Id.CopyTo(rec[33..]);
            var pos = 33 + r.Id.Length + ((r.Id.Length & 1) == 0 ? 1 : 0);
            foreach (var e in r.InRecord)
            {
                e.CopyTo(rec[pos..]);
                pos += e.Length;
            }

            if (r.Continuation is { } c)
            {
                Ce(c).CopyTo(rec[pos..]);
            }
        }

        private byte[] PrimaryDescriptor()
        {
            var v = VolumeDescriptor(1, _pathTableL.Length, _pathTableLBlock, _pathTableMBlock, _root.Block, _root.Size, Text);
            v[881] = 1;
            return v;
        }

        /// <summary>The Joliet supplementary volume descriptor: UCS-2 identifiers, escape sequence <c>%/E</c> (level 3).</summary>
        private byte[] JolietDescriptor()
        {
            var v = VolumeDescriptor(2, _jolietPathTableL.Length, _jolietPathTableLBlock, _jolietPathTableMBlock, _root.JolietBlock, _root.JolietSize, Ucs2Text);
            "%/E"u8.CopyTo(v.AsSpan(88));
            v[881] = 1;
            return v;
        }

        private byte[] VolumeDescriptor(byte type, int pathTableSize, long pathTableL, long pathTableM, long rootBlock, long rootSize, FieldText text)
        {
            var v = new byte[Block];
            v[0] = type;
            "CD001"u8.CopyTo(v.AsSpan(1));
            v[6] = 1;
            text(v.AsSpan(8, 32), options.SystemId);
            text(v.AsSpan(40, 32), Encoding.ASCII.GetString(_volumeId));
            IsoBytes.WriteBoth32(v.AsSpan(80), (uint)_totalBlocks);
            IsoBytes.WriteBoth16(v.AsSpan(120), 1);
            IsoBytes.WriteBoth16(v.AsSpan(124), 1);
            IsoBytes.WriteBoth16(v.AsSpan(128), Block);
            IsoBytes.WriteBoth32(v.AsSpan(132), (uint)pathTableSize);
            BinaryPrimitives.WriteUInt32LittleEndian(v.AsSpan(140), (uint)pathTableL);
            BinaryPrimitives.WriteUInt32BigEndian(v.AsSpan(148), (uint)pathTableM);
            WriteBareRecord(v.AsSpan(156, 34), rootBlock, rootSize, directory: true, [0]);
            text(v.AsSpan(190, 128), "");
            text(v.AsSpan(318, 128), "");
            text(v.AsSpan(446, 128), "");
            text(v.AsSpan(574, 128), options.ApplicationId);
            text(v.AsSpan(702, 37), "");
            text(v.AsSpan(739, 37), "");
            text(v.AsSpan(776, 37), "");
            IsoBytes.WriteLongDate(v.AsSpan(813), options.Timestamp);
            IsoBytes.WriteLongDate(v.AsSpan(830), options.Timestamp);
            IsoBytes.WriteLongDate(v.AsSpan(847), null);
            IsoBytes.WriteLongDate(v.AsSpan(864), options.Timestamp);
            return v;
        }

        private delegate void FieldText(Span<byte> field, string value);

        private static void Text(Span<byte> field, string value)
        {
            field.Fill((byte)' ');
            Encoding.ASCII.GetBytes(value).CopyTo(field);
        }

        /// <summary>A UCS-2 big-endian field padded with UCS-2 spaces (an odd field's last byte stays 0); the value
        /// is cut to the field (the Joliet volume id to 16 characters).</summary>
        private static void Ucs2Text(Span<byte> field, string value)
        {
            field.Clear();
            for (var i = 1; i < field.Length; i += 2)
            {
                field[i] = (byte)' ';
            }

            var bytes = Encoding.BigEndianUnicode.GetBytes(value);
            bytes.AsSpan(0, Math.Min(bytes.Length, field.Length & ~1)).CopyTo(field);
        }

        private byte[] BootRecord()
        {
            var v = new byte[Block];
            v[0] = 0;
            "CD001"u8.CopyTo(v.AsSpan(1));
            v[6] = 1;
            "EL TORITO SPECIFICATION"u8.CopyTo(v.AsSpan(7));
            BinaryPrimitives.WriteUInt32LittleEndian(v.AsSpan(71), (uint)_catalogBlock);
            return v;
        }

        private byte[] BootCatalog()
        {
            var c = new byte[Block];
            c[0] = 1; // validation entry, platform 0 (x86)
            c[30] = 0x55;
            c[31] = 0xAA;
            ushort sum = 0;
            for (var i = 0; i < 32; i += 2)
            {
                sum += BinaryPrimitives.ReadUInt16LittleEndian(c.AsSpan(i));
            }

            BinaryPrimitives.WriteUInt16LittleEndian(c.AsSpan(28), (ushort)(0x10000 - sum));
            c[32] = 0x88; // bootable
            c[33] = 0; // no emulation
            BinaryPrimitives.WriteUInt16LittleEndian(c.AsSpan(34), 0); // load segment: default 0x7C0
            c[36] = 0;
            BinaryPrimitives.WriteUInt16LittleEndian(c.AsSpan(38), (ushort)options.BootLoadSectors);
            BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(40), (uint)_boot!.Block);
            return c;
        }
    }

    private sealed class BlockWriter(Stream output)
    {
        private long _position;

        public void Expect(long block, string what)
        {
            if (_position != block * Block)
            {
                throw new InvalidOperationException($"layout error: {what} expected at block {block}, writer at byte {_position}");
            }
        }

        public void Write(ReadOnlySpan<byte> bytes)
        {
            output.Write(bytes);
            _position += bytes.Length;
        }

        public void Zero(long count)
        {
            var zeros = new byte[Block];
            while (count > 0)
            {
                var n = (int)Math.Min(count, Block);
                Write(zeros.AsSpan(0, n));
                count -= n;
            }
        }

        public void WritePadded(ReadOnlySpan<byte> bytes)
        {
            Write(bytes);
            Pad();
        }

        public void CopyPadded(Stream s, long size, string path, CancellationToken cancellationToken)
        {
            var buffer = ArrayPool<byte>.Shared.Rent(1 << 16);
            try
            {
                var left = size;
                while (left > 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var n = s.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
                    if (n <= 0)
                    {
                        throw new IsoWriteException(path, $"content ended {left} bytes before the announced size {size}");
                    }

                    Write(buffer.AsSpan(0, n));
                    left -= n;
                }

                if (s.Read(buffer, 0, 1) > 0)
                {
                    throw new IsoWriteException(path, $"content is longer than the announced size {size}");
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            Pad();
        }

        private void Pad()
        {
            var rest = (int)(_position % Block);
            if (rest != 0)
            {
                Zero(Block - rest);
            }
        }
    }
}
