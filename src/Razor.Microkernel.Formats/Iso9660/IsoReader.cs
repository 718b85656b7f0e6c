using System.Buffers;
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
    private int _suspSkip;

    private IsoReader(PositionalSource source, IsoLimits limits, IsoNameSource? names)
    {
        _source = source;
        _limits = limits;
        _names = names;
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
                case 0 when sector.AsSpan(7, 23).SequenceEqual("EL TORITO SPECIFICATION"u8):
                    bootCatalog = BinaryPrimitives.ReadUInt32LittleEndian(sector.AsSpan(71));
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

        var root = ParseRecord(primaryRoot, primaryRootOffset);
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
            var jroot = ParseRecord(jolietRoot, jolietRootOffset);
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
            ReadBootCatalog(bootCatalog);
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

    private void ReadBootCatalog(long lba)
    {
        var at = lba * Block;
        if (lba >= _source.Length / Block)
        {
            throw new IsoFormatException($"the boot catalog block {lba} is beyond the end of the image", 16L * Block);
        }

        Span<byte> cat = stackalloc byte[64];
        _source.ReadExactly(at, cat);
        if (cat[0] != 1 || cat[30] != 0x55 || cat[31] != 0xAA)
        {
            throw new IsoFormatException("the boot catalog's validation entry is malformed", at);
        }

        ushort sum = 0;
        for (var i = 0; i < 32; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16LittleEndian(cat[i..]);
        }

        if (sum != 0)
        {
            throw new IsoFormatException("the boot catalog's validation entry checksum is wrong", at + 28);
        }

        var entry = cat[32..];
        if (entry[0] is not (0x88 or 0x00))
        {
            throw new IsoFormatException($"the boot catalog's default entry has boot indicator 0x{entry[0]:X2}", at + 32);
        }

        var loadBlock = BinaryPrimitives.ReadUInt32LittleEndian(entry[8..]);
        if (loadBlock >= _source.Length / Block)
        {
            throw new IsoFormatException($"the boot image block {loadBlock} is beyond the end of the image", at + 40);
        }

        Boot = new IsoBootEntry(lba, cat[1], entry[0] == 0x88, entry[1], BinaryPrimitives.ReadUInt16LittleEndian(entry[2..]),
            BinaryPrimitives.ReadUInt16LittleEndian(entry[6..]), loadBlock);
    }

    private void DetectRockRidge(RawRecord root)
    {
        // The root's "." record must begin its system use area with SP (SUSP 1.12, 5.3).
        var dot = ReadDirectoryRecords(root, includeDots: true).FirstOrDefault();
        if (dot is null || dot.SystemUse.Length < 7 || dot.SystemUse[0] != (byte)'S' || dot.SystemUse[1] != (byte)'P'
            || dot.SystemUse[4] != 0xBE || dot.SystemUse[5] != 0xEF)
        {
            return;
        }

        _suspSkip = dot.SystemUse[6];
        var susp = ParseSusp(dot, IsoNameSource.RockRidge);
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
        var records = ReadDirectoryRecords(dir, includeDots: false).ToList();
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
            var susp = names == IsoNameSource.RockRidge ? ParseSusp(first, names) : null;
            if (susp?.Relocated == true)
            {
                continue; // RE: the real place of this directory is a CL entry elsewhere
            }

            var name = susp?.Name ?? DecodeIdentifier(first, names);
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
                record = ParseRecord(buffer.AsSpan(0, Math.Max((int)buffer[0], 34)), cl * Block);
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

    private static string DecodeIdentifier(RawRecord r, IsoNameSource names)
    {
        var id = r.Identifier;
        string name;
        if (names == IsoNameSource.Joliet)
        {
            if (id.Length % 2 != 0)
            {
                throw new IsoFormatException("a Joliet name has an odd number of bytes", r.RecordOffset + 33);
            }

            name = Encoding.BigEndianUnicode.GetString(id);
        }
        else
        {
            name = Encoding.Latin1.GetString(id);
        }

        if (!r.IsDirectory)
        {
            var semicolon = name.LastIndexOf(';');
            if (semicolon >= 0)
            {
                name = name[..semicolon];
            }

            if (name.EndsWith('.') && name.Length > 1)
            {
                name = name[..^1];
            }
        }

        return name;
    }

    private sealed record RawRecord(
        long RecordOffset,
        long Block,
        long Length,
        bool IsDirectory,
        bool MultiExtent,
        bool Associated,
        byte[] Identifier,
        byte[] SystemUse,
        long SystemUseOffset,
        DateTimeOffset Recorded);

    private RawRecord ParseRecord(ReadOnlySpan<byte> rec, long offset)
    {
        int len = rec[0];
        if (len < 34 || len > rec.Length)
        {
            throw new IsoFormatException($"directory record length {len} is invalid", offset);
        }

        rec = rec[..len];
        if (!IsoBytes.TryReadBoth32(rec[2..], out var lba))
        {
            throw new IsoFormatException("a directory record's extent location halves differ", offset + 2);
        }

        if (!IsoBytes.TryReadBoth32(rec[10..], out var size))
        {
            throw new IsoFormatException("a directory record's data length halves differ", offset + 10);
        }

        var flags = rec[25];
        if (rec[26] != 0 || rec[27] != 0)
        {
            throw new IsoFormatException("interleaved files are not supported", offset + 26);
        }

        int nameLen = rec[32];
        if (nameLen == 0 || 33 + nameLen > len)
        {
            throw new IsoFormatException($"file identifier length {nameLen} does not fit the record of {len} bytes", offset + 32);
        }

        var start = (long)lba + rec[1];
        var blocks = (size + (long)Block - 1) / Block;
        var imageBlocks = _source.Length / Block;
        if (size > 0 && (start >= imageBlocks || blocks > imageBlocks - start))
        {
            throw new IsoFormatException($"extent at block {start} of {size} bytes lies beyond the end of the image ({imageBlocks} blocks)", offset + 2);
        }

        var suStart = 33 + nameLen + ((nameLen & 1) == 0 ? 1 : 0);
        var su = suStart < len ? rec[suStart..].ToArray() : [];
        return new RawRecord(offset, start, size, (flags & 0x02) != 0, (flags & 0x80) != 0, (flags & 0x04) != 0, rec.Slice(33, nameLen).ToArray(), su,
            offset + suStart, IsoBytes.ReadShortDate(rec[18..]));
    }

    private IEnumerable<RawRecord> ReadDirectoryRecords(RawRecord dir, bool includeDots)
    {
        if (dir.Length > _limits.MaxDirectoryBytes)
        {
            throw new FormatLimitException("directory bytes", dir.Length, _limits.MaxDirectoryBytes);
        }

        var sector = ArrayPool<byte>.Shared.Rent(Block);
        try
        {
            var blocks = (dir.Length + Block - 1) / Block;
            var index = 0;
            for (var b = 0L; b < blocks; b++)
            {
                var at = (dir.Block + b) * Block;
                _source.ReadExactly(at, sector.AsSpan(0, Block));
                var end = (int)Math.Min(Block, dir.Length - (b * Block));
                var pos = 0;
                while (pos < end)
                {
                    int len = sector[pos];
                    if (len == 0)
                    {
                        break; // the rest of this block is padding
                    }

                    if (pos + len > end)
                    {
                        throw new IsoFormatException($"a directory record of {len} bytes crosses the end of its block or directory", at + pos);
                    }

                    var record = ParseRecord(sector.AsSpan(pos, len), at + pos);
                    var dot = record.Identifier.Length == 1 && record.Identifier[0] <= 1;
                    if (index < 2 != dot)
                    {
                        throw new IsoFormatException(dot ? "a '.' or '..' record after the first two" : "a directory does not start with '.' and '..'", at + pos);
                    }

                    if (includeDots || !dot)
                    {
                        yield return record;
                    }

                    index++;
                    pos += len;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(sector);
        }
    }

    private sealed class Susp
    {
        public bool Rrip;
        public IsoEntryType? Type;
        public int? Mode;
        public int? Uid;
        public int? Gid;
        public int? Links;
        public string? Name;
        public string? LinkTarget;
        public int? Major;
        public int? Minor;
        public DateTimeOffset? Modified;
        public long? ChildLink;
        public bool Relocated;
    }

    private Susp ParseSusp(RawRecord record, IsoNameSource names)
    {
        var result = new Susp();
        StringBuilder? name = null;
        var nameDone = false;
        var symlink = new List<string>();
        var symlinkRoot = false;
        var symlinkContinues = false;
        var symlinkDone = false;
        var targetBytes = 0;
        var area = record.SystemUse.AsMemory();
        var areaOffset = record.SystemUseOffset;
        var skip = record.Identifier is [0] && record.SystemUse.Length >= 7 && record.SystemUse[0] == (byte)'S' ? 0 : _suspSkip;
        if (skip > 0)
        {
            area = skip <= area.Length ? area[skip..] : Memory<byte>.Empty;
            areaOffset += skip;
        }

        var continuations = 0;
        while (true)
        {
            (long Block, int Offset, int Length)? next = null;
            var span = area.Span;
            var pos = 0;
            while (span.Length - pos >= 4)
            {
                var sig = BinaryPrimitives.ReadUInt16BigEndian(span[pos..]);
                int len = span[pos + 2];
                if (len < 4)
                {
                    if (sig == 0 && len == 0)
                    {
                        break; // zero padding
                    }

                    throw new IsoFormatException($"a system use entry has length {len}", areaOffset + pos + 2);
                }

                if (len > span.Length - pos)
                {
                    throw new IsoFormatException($"a system use entry of {len} bytes overruns its area", areaOffset + pos + 2);
                }

                var e = span.Slice(pos, len);
                var at = areaOffset + pos;
                switch ((char)(sig >> 8), (char)(sig & 0xFF))
                {
                    case ('C', 'E'):
                        Need(e, 28, at);
                        if (!IsoBytes.TryReadBoth32(e[4..], out var ceBlock) || !IsoBytes.TryReadBoth32(e[12..], out var ceOffset)
                            || !IsoBytes.TryReadBoth32(e[20..], out var ceLength))
                        {
                            throw new IsoFormatException("a CE entry's both-endian halves differ", at);
                        }

                        if (ceOffset >= Block || ceLength > Block - ceOffset || ceBlock >= _source.Length / Block)
                        {
                            throw new IsoFormatException($"a CE continuation area (block {ceBlock}, offset {ceOffset}, {ceLength} bytes) is out of bounds", at);
                        }

                        next = (ceBlock, (int)ceOffset, (int)ceLength);
                        break;
                    case ('S', 'T'):
                        pos = span.Length;
                        continue;
                    case ('E', 'R'):
                        Need(e, 8, at);
                        var idLen = e[4];
                        if (8 + idLen <= len)
                        {
                            var id = Encoding.ASCII.GetString(e.Slice(8, idLen));
                            result.Rrip |= id is "RRIP_1991A" or "IEEE_P1282" or "IEEE_1282";
                        }

                        break;
                    case ('R', 'R'):
                        result.Rrip = true;
                        break;
                    case ('P', 'X'):
                        Need(e, 36, at);
                        result.Rrip = true;
                        var mode = BinaryPrimitives.ReadUInt32LittleEndian(e[4..]);
                        result.Mode = (int)(mode & 0xFFF);
                        result.Type = (mode & 0xF000) switch
                        {
                            0x8000 => IsoEntryType.File,
                            0x4000 => IsoEntryType.Directory,
                            0xA000 => IsoEntryType.Symlink,
                            0x2000 => IsoEntryType.CharacterDevice,
                            0x6000 => IsoEntryType.BlockDevice,
                            0x1000 => IsoEntryType.Fifo,
                            0xC000 => IsoEntryType.Socket,
                            _ => throw new IsoFormatException($"PX file type 0{Convert.ToString(mode & 0xF000, 8)} is unknown", at + 4),
                        };
                        result.Links = (int)Math.Min(int.MaxValue, BinaryPrimitives.ReadUInt32LittleEndian(e[12..]));
                        result.Uid = (int)BinaryPrimitives.ReadUInt32LittleEndian(e[20..]);
                        result.Gid = (int)BinaryPrimitives.ReadUInt32LittleEndian(e[28..]);
                        break;
                    case ('P', 'N'):
                        Need(e, 20, at);
                        var dev = ((ulong)BinaryPrimitives.ReadUInt32LittleEndian(e[4..]) << 32) | BinaryPrimitives.ReadUInt32LittleEndian(e[12..]);
                        result.Major = (int)(((dev >> 8) & 0xFFF) | ((dev >> 32) & 0x7FFFF000));
                        result.Minor = (int)((dev & 0xFF) | ((dev >> 12) & 0x7FFFFF00));
                        break;
                    case ('N', 'M'):
                        Need(e, 5, at);
                        if (nameDone)
                        {
                            break;
                        }

                        if ((e[4] & 0x06) != 0)
                        {
                            throw new IsoFormatException("an NM entry names '.' or '..'", at + 4);
                        }

                        name ??= new StringBuilder();
                        name.Append(Encoding.UTF8.GetString(e[5..]));
                        if (name.Length > _limits.MaxSymlinkLength)
                        {
                            throw new FormatLimitException("name length", name.Length, _limits.MaxSymlinkLength);
                        }

                        nameDone = (e[4] & 0x01) == 0;
                        break;
                    case ('S', 'L'):
                        Need(e, 5, at);
                        if (symlinkDone)
                        {
                            break;
                        }

                        ParseSymlink(e, at, symlink, ref symlinkRoot, ref symlinkContinues, ref targetBytes);
                        symlinkDone = (e[4] & 0x01) == 0;
                        break;
                    case ('T', 'F'):
                        Need(e, 5, at);
                        result.Modified = ParseTimestamps(e) ?? result.Modified;
                        break;
                    case ('C', 'L'):
                        Need(e, 12, at);
                        if (!IsoBytes.TryReadBoth32(e[4..], out var clBlock))
                        {
                            throw new IsoFormatException("a CL entry's both-endian halves differ", at + 4);
                        }

                        result.ChildLink = clBlock;
                        break;
                    case ('R', 'E'):
                        result.Relocated = true;
                        break;
                }

                pos += len;
            }

            if (next is not { } n)
            {
                break;
            }

            if (++continuations > _limits.MaxContinuations)
            {
                throw new FormatLimitException("SUSP continuation areas of one record", continuations, _limits.MaxContinuations);
            }

            var buffer = new byte[n.Length];
            areaOffset = (n.Block * Block) + n.Offset;
            _source.ReadExactly(areaOffset, buffer);
            area = buffer;
        }

        if (names == IsoNameSource.RockRidge && name is not null)
        {
            result.Name = name.ToString();
        }

        if (result.Type == IsoEntryType.Symlink || symlink.Count > 0 || symlinkRoot)
        {
            result.LinkTarget = (symlinkRoot ? "/" : "") + string.Join('/', symlink);
        }

        return result;
    }

    private void ParseSymlink(ReadOnlySpan<byte> e, long at, List<string> parts, ref bool root, ref bool continues, ref int total)
    {
        var pos = 5;
        while (pos < e.Length)
        {
            if (pos + 2 > e.Length || pos + 2 + e[pos + 1] > e.Length)
            {
                throw new IsoFormatException("an SL component overruns its entry", at + pos);
            }

            var flags = e[pos];
            int len = e[pos + 1];
            string text;
            if ((flags & 0x02) != 0)
            {
                text = ".";
            }
            else if ((flags & 0x04) != 0)
            {
                text = "..";
            }
            else if ((flags & 0x08) != 0)
            {
                if (parts.Count == 0 && !continues)
                {
                    root = true;
                }

                text = "";
            }
            else
            {
                text = Encoding.UTF8.GetString(e.Slice(pos + 2, len));
            }

            total += text.Length + 1;
            if (total > _limits.MaxSymlinkLength)
            {
                throw new FormatLimitException("symlink target length", total, _limits.MaxSymlinkLength);
            }

            if ((flags & 0x08) == 0)
            {
                if (continues && parts.Count > 0)
                {
                    parts[^1] += text;
                }
                else
                {
                    parts.Add(text);
                }
            }

            continues = (flags & 0x01) != 0;
            pos += 2 + len;
        }
    }

    private static DateTimeOffset? ParseTimestamps(ReadOnlySpan<byte> e)
    {
        var flags = e[4];
        var size = (flags & 0x80) != 0 ? 17 : 7;
        var pos = 5;
        for (var bit = 0; bit < 7; bit++)
        {
            if ((flags & (1 << bit)) == 0)
            {
                continue;
            }

            if (pos + size > e.Length)
            {
                return null;
            }

            if (bit == 1 && size == 7)
            {
                return IsoBytes.ReadShortDate(e[pos..]);
            }

            pos += size;
        }

        return null;
    }

    private static void Need(ReadOnlySpan<byte> entry, int length, long at)
    {
        if (entry.Length < length)
        {
            throw new IsoFormatException($"a {(char)entry[0]}{(char)entry[1]} entry of {entry.Length} bytes is shorter than {length}", at);
        }
    }

    private sealed class ExtentStream(PositionalSource source, IReadOnlyList<IsoExtent> extents, long length) : Stream
    {
        private long _position;

        public override bool CanRead => true;

        public override bool CanSeek => true;

        public override bool CanWrite => false;

        public override long Length => length;

        public override long Position
        {
            get => _position;
            set => _position = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value));
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_position >= length || buffer.Length == 0)
            {
                return 0;
            }

            var skip = _position;
            foreach (var e in extents)
            {
                if (skip >= e.Length)
                {
                    skip -= e.Length;
                    continue;
                }

                var n = (int)Math.Min(buffer.Length, e.Length - skip);
                source.ReadExactly((e.Block * Block) + skip, buffer[..n]);
                _position += n;
                return n;
            }

            return 0;
        }

        public override long Seek(long offset, SeekOrigin origin)
        {
            Position = origin switch
            {
                SeekOrigin.Begin => offset,
                SeekOrigin.Current => _position + offset,
                _ => length + offset,
            };
            return _position;
        }

        public override void Flush()
        {
        }

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
