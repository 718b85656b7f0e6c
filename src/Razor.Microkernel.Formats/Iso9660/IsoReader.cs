using System.Buffers.Binary;
using System.Text;
using Razor.Microkernel.Formats.IO;

namespace Razor.Microkernel.Formats.Iso9660;

/// <summary>
/// Reads an ISO 9660 image: the volume descriptors (primary, Joliet, El Torito boot record), then the
/// directory tree, with Rock Ridge names and attributes (SUSP PX, NM, SL, PN, TF, CE, CL/RE) when the root
/// carries an SP entry, else Joliet names when a Joliet descriptor exists, else plain ISO 9660 names (or the
/// tree the caller names: <c>names</c> of <see cref="Open(string, IsoLimits?, IsoNameSource?)"/>). The tree
/// is walked and validated once, on open; file bytes are read on demand
/// with positional reads. Every malformation ends in one <see cref="IsoFormatException"/> with the byte
/// offset, or a <see cref="FormatLimitException"/>: extents are bounds-checked, directories reached twice
/// refused, names checked (empty, <c>.</c>, <c>..</c>, <c>/</c>, NUL, duplicates), sizes capped before use.
/// </summary>
public sealed class IsoReader : IDisposable
{
    private const int Block = IsoBytes.BlockSize;
    private readonly PositionalSource _source;
    private readonly IsoLimits _limits;
    private readonly IsoNameSource? _names;
    private readonly List<IsoEntry> _entries = [];
    private readonly Dictionary<string, IsoEntry> _byPath = new(StringComparer.Ordinal);
    private readonly HashSet<long> _visitedDirectories = [];
    private readonly DirectoryRecordReader _records;
    private readonly SystemUseReader _systemUse;

    private IsoReader(PositionalSource source, IsoLimits limits, IsoNameSource? names)
    {
        _source = source;
        _limits = limits;
        _names = names;
        _records = new DirectoryRecordReader(source, limits);
        _systemUse = new SystemUseReader(source, limits);
    }

    public string SystemId { get; private set; } = "";

    public string VolumeId { get; private set; } = "";

    /// <summary>Volume space size from the primary descriptor, in 2048-byte blocks.</summary>
    public long VolumeBlocks { get; private set; }

    public bool HasRockRidge { get; private set; }

    public bool HasJoliet { get; private set; }

    public IsoNameSource NameSource { get; private set; }

    /// <summary>The El Torito default entry, or null when the image has no boot record.</summary>
    public IsoBootEntry? Boot { get; private set; }

    /// <summary>Every El Torito entry: the default entry first, then the section entries (each with its section's
    /// platform: 0 x86 BIOS, 0xEF UEFI); empty when the image has no boot record.</summary>
    public IReadOnlyList<IsoBootEntry> BootEntries { get; private set; } = [];

    /// <summary>The regular file whose (first) extent starts at <paramref name="block"/>, e.g. the file a boot entry loads; or null.</summary>
    public IsoEntry? FileAtBlock(long block) => _entries.FirstOrDefault(e => e.Type == IsoEntryType.File && e.Extents.Count > 0 && e.Extents[0].Block == block && e.Size > 0);

    /// <summary>Every entry but the root, parents before children, siblings in ordinal name order.</summary>
    public IReadOnlyList<IsoEntry> Entries => _entries;

    /// <summary>Opens an image file. <paramref name="names"/> picks the tree to read (Rock Ridge on the primary
    /// tree, the Joliet tree, or the primary tree's plain ISO 9660 names); an image without that tree is an
    /// <see cref="IsoFormatException"/>. Null reads Rock Ridge when present, else Joliet, else ISO 9660.</summary>
    public static IsoReader Open(string path, IsoLimits? limits = null, IsoNameSource? names = null)
    {
        return Open(PositionalSource.FromFile(path, IsoError), limits, names);
    }

    /// <summary>Opens an image held in a readable, seekable stream (reads are serialised on it);
    /// <paramref name="names"/> as in <see cref="Open(string, IsoLimits?, IsoNameSource?)"/>.</summary>
    public static IsoReader Open(Stream stream, IsoLimits? limits = null, bool leaveOpen = false, IsoNameSource? names = null)
    {
        return Open(PositionalSource.FromStream(stream, leaveOpen, IsoError), limits, names);
    }

    private static Exception IsoError(string reason, long offset) => new IsoFormatException(reason, offset);

    private static IsoReader Open(PositionalSource source, IsoLimits? limits, IsoNameSource? names)
    {
        if (names is { } n && !Enum.IsDefined(n))
        {
            source.Dispose();
            throw new ArgumentOutOfRangeException(nameof(names), n, "not a name source");
        }

        var reader = new IsoReader(source, limits ?? IsoLimits.Default, names);
        try
        {
            reader.Load();
            return reader;
        }
        catch
        {
            reader.Dispose();
            throw;
        }
    }

    /// <summary>The entry at a path (leading and trailing <c>/</c> ignored), or null.</summary>
    public IsoEntry? Find(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return _byPath.GetValueOrDefault(path.Trim('/'));
    }

    /// <summary>A read-only stream over a regular file's bytes (positional reads; several may be open at once).</summary>
    public Stream OpenRead(IsoEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.Type != IsoEntryType.File)
        {
            throw new ArgumentException($"'{entry.Path}' is not a regular file", nameof(entry));
        }

        return new ExtentStream(_source, entry.Extents, entry.Size);
    }

    public void Dispose() => _source.Dispose();

    private void Load()
    {
        if (_source.Length < 17L * Block)
        {
            throw new IsoFormatException($"the image is {_source.Length} bytes, too small to hold a volume descriptor", _source.Length);
        }

        var sector = new byte[Block];
        byte[]? primaryRoot = null;
        byte[]? jolietRoot = null;
        long primaryRootOffset = 0, jolietRootOffset = 0;
        long bootCatalog = -1;
        var terminated = false;
        for (var lba = 16L; lba < 16 + 64 && !terminated; lba++)
        {
            var at = lba * Block;
            _source.ReadExactly(at, sector);
            if (!sector.AsSpan(1, 5).SequenceEqual("CD001"u8))
            {
                throw new IsoFormatException("a volume descriptor lacks the CD001 identifier", at + 1);
            }

            switch (sector[0])
            {
                case 0 when ElTorito.IsBootRecord(sector, out var catalog):
                    bootCatalog = catalog;
                    break;
                case 1 when primaryRoot is null:
                    ReadPrimary(sector, at);
                    primaryRoot = sector.AsSpan(156, 34).ToArray();
                    primaryRootOffset = at + 156;
                    break;
                case 2 when sector[88] == (byte)'%' && sector[89] == (byte)'/' && sector[90] is (byte)'@' or (byte)'C' or (byte)'E':
                    jolietRoot = sector.AsSpan(156, 34).ToArray();
                    jolietRootOffset = at + 156;
                    HasJoliet = true;
                    break;
                case 255:
                    terminated = true;
                    break;
            }
        }

        if (primaryRoot is null)
        {
            throw new IsoFormatException("no primary volume descriptor", 16L * Block);
        }

        if (!terminated)
        {
            throw new IsoFormatException("no volume descriptor set terminator in the first 64 descriptors", 80L * Block);
        }

        var root = _records.Parse(primaryRoot, primaryRootOffset);
        if (!root.IsDirectory)
        {
            throw new IsoFormatException("the root record is not a directory", primaryRootOffset);
        }

        DetectRockRidge(root);
        if (_names == IsoNameSource.RockRidge && !HasRockRidge)
        {
            throw new IsoFormatException("Rock Ridge names were asked for, but the primary tree has no Rock Ridge", primaryRootOffset);
        }

        if (_names == IsoNameSource.Joliet && jolietRoot is null)
        {
            throw new IsoFormatException("Joliet names were asked for, but the image has no Joliet volume descriptor", 16L * Block);
        }

        if (HasRockRidge && _names is null or IsoNameSource.RockRidge)
        {
            NameSource = IsoNameSource.RockRidge;
            Walk(root, "", 0, IsoNameSource.RockRidge);
        }
        else if (jolietRoot is not null && _names is null or IsoNameSource.Joliet)
        {
            var jroot = _records.Parse(jolietRoot, jolietRootOffset);
            if (!jroot.IsDirectory)
            {
                throw new IsoFormatException("the Joliet root record is not a directory", jolietRootOffset);
            }

            NameSource = IsoNameSource.Joliet;
            Walk(jroot, "", 0, IsoNameSource.Joliet);
        }
        else
        {
            NameSource = IsoNameSource.Iso9660;
            Walk(root, "", 0, IsoNameSource.Iso9660);
        }

        if (bootCatalog >= 0)
        {
            BootEntries = ElTorito.ReadCatalog(_source, bootCatalog);
            Boot = BootEntries[0];
        }
    }

    private void ReadPrimary(byte[] sector, long at)
    {
        if (BinaryPrimitives.ReadUInt16LittleEndian(sector.AsSpan(128)) != Block)
        {
            throw new IsoFormatException($"logical block size {BinaryPrimitives.ReadUInt16LittleEndian(sector.AsSpan(128))} is not supported (only 2048)", at + 128);
        }

        if (!IsoBytes.TryReadBoth32(sector.AsSpan(80), out var blocks))
        {
            throw new IsoFormatException("the volume space size's little- and big-endian halves differ", at + 80);
        }

        VolumeBlocks = blocks;
        SystemId = Encoding.ASCII.GetString(sector, 8, 32).TrimEnd(' ', '\0');
        VolumeId = Encoding.ASCII.GetString(sector, 40, 32).TrimEnd(' ', '\0');
    }

    private void DetectRockRidge(RawRecord root)
    {
        // The root's "." record must begin its system use area with SP (SUSP 1.12, 5.3).
        var dot = _records.Read(root, includeDots: true).FirstOrDefault();
        if (dot is null || dot.SystemUse.Length < 7 || dot.SystemUse[0] != (byte)'S' || dot.SystemUse[1] != (byte)'P'
            || dot.SystemUse[4] != 0xBE || dot.SystemUse[5] != 0xEF)
        {
            return;
        }

        _systemUse.Skip = dot.SystemUse[6];
        var susp = _systemUse.Parse(dot, IsoNameSource.RockRidge);
        HasRockRidge = susp.Rrip;
    }

    private void Walk(RawRecord dir, string path, int depth, IsoNameSource names)
    {
        if (!_visitedDirectories.Add(dir.Block))
        {
            throw new IsoFormatException($"directory '/{path}' is reached twice (a loop or a shared extent)", dir.RecordOffset);
        }

        var children = new List<(IsoEntry Entry, RawRecord Record)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var records = _records.Read(dir, includeDots: false).ToList();
        for (var i = 0; i < records.Count; i++)
        {
            var r = records[i];
            if (r.Associated)
            {
                continue; // associated files (Apple resource forks) share their file's name
            }

            var extents = new List<IsoExtent>();
            // Multi-extent files: records with the 0x80 flag continue in the next record of the same name.
            while (r.MultiExtent)
            {
                extents.Add(new IsoExtent(r.Block, r.Length));
                if (i + 1 >= records.Count || !records[i + 1].Identifier.AsSpan().SequenceEqual(r.Identifier))
                {
                    throw new IsoFormatException("a multi-extent file's last extent is missing", r.RecordOffset);
                }

                if (extents.Count >= _limits.MaxExtentsPerFile)
                {
                    throw new FormatLimitException("extents of one file", extents.Count + 1, _limits.MaxExtentsPerFile);
                }

                i++;
                r = records[i];
            }

            extents.Add(new IsoExtent(r.Block, r.Length));
            var first = extents.Count > 1 ? records[i - extents.Count + 1] : r;
            var susp = names == IsoNameSource.RockRidge ? _systemUse.Parse(first, names) : null;
            if (susp?.Relocated == true)
            {
                continue; // RE: the real place of this directory is a CL entry elsewhere
            }

            var name = susp?.Name ?? DirectoryRecordReader.DecodeIdentifier(first, names);
            CheckName(name, first.RecordOffset);
            if (!seen.Add(name))
            {
                throw new IsoFormatException($"'{name}' appears twice in directory '/{path}'", first.RecordOffset);
            }

            var childPath = path.Length == 0 ? name : path + "/" + name;
            if (_entries.Count + children.Count >= _limits.MaxEntries)
            {
                throw new FormatLimitException("entries", _entries.Count + children.Count + 1, _limits.MaxEntries);
            }

            var record = first;
            var isDir = first.IsDirectory;
            if (susp?.ChildLink is { } cl)
            {
                // CL: this placeholder stands for a relocated directory; read that directory's "." record.
                if (cl >= _source.Length / Block)
                {
                    throw new IsoFormatException($"a CL entry points at block {cl}, beyond the end of the image", first.RecordOffset);
                }

                var buffer = new byte[Block];
                _source.ReadExactly(cl * Block, buffer);
                record = _records.Parse(buffer.AsSpan(0, Math.Max((int)buffer[0], 34)), cl * Block);
                isDir = true;
                extents = [new IsoExtent(record.Block, record.Length)];
            }

            var length = 0L;
            foreach (var e in extents)
            {
                length += e.Length;
            }

            var type = susp?.Type ?? (isDir ? IsoEntryType.Directory : IsoEntryType.File);
            if (isDir != (type == IsoEntryType.Directory))
            {
                throw new IsoFormatException($"'{childPath}': the Rock Ridge file type disagrees with the directory flag", first.RecordOffset);
            }

            var entry = new IsoEntry(
                childPath,
                type,
                susp?.Mode ?? (isDir ? 0x16D : 0x124),
                susp?.Uid ?? 0,
                susp?.Gid ?? 0,
                susp?.Links ?? (isDir ? 2 : 1),
                type is IsoEntryType.File or IsoEntryType.Directory ? length : 0,
                susp?.LinkTarget ?? "",
                susp?.Major ?? 0,
                susp?.Minor ?? 0,
                susp?.Modified ?? first.Recorded,
                type is IsoEntryType.File ? extents : [],
                first.RecordOffset);
            if (type == IsoEntryType.Symlink && entry.LinkTarget.Length == 0)
            {
                throw new IsoFormatException($"symlink '{childPath}' has no SL target", first.RecordOffset);
            }

            children.Add((entry, record));
        }

        children.Sort((a, b) => string.CompareOrdinal(a.Entry.Name, b.Entry.Name));
        foreach (var (entry, record) in children)
        {
            _entries.Add(entry);
            _byPath[entry.Path] = entry;
            if (entry.IsDirectory)
            {
                if (depth + 1 >= _limits.MaxDepth)
                {
                    throw new FormatLimitException("path depth", depth + 2, _limits.MaxDepth);
                }

                Walk(record, entry.Path, depth + 1, names);
            }
        }
    }

    private static void CheckName(string name, long offset)
    {
        if (name.Length == 0 || name is "." or ".." || name.Contains('/', StringComparison.Ordinal) || name.Contains('\0', StringComparison.Ordinal))
        {
            throw new IsoFormatException($"invalid name '{name.Replace("\0", "\\0", StringComparison.Ordinal)}'", offset);
        }
    }
}
