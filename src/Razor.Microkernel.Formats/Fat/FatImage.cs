using System.Buffers.Binary;
using Razor.Microkernel.Formats.IO;

namespace Razor.Microkernel.Formats.Fat;

/// <summary>
/// Reads a FAT12, FAT16 or FAT32 image (an EFI system partition, an El Torito EFI boot image): the boot sector,
/// the FAT, then the folder tree with VFAT long names, walked and checked once on open; file bytes are read on
/// demand. Layered like the other readers (boot sector → FAT → directory records → data), each layer checks what
/// it reads, and every malformation ends in one <see cref="FatFormatException"/> with the byte offset, or a
/// <see cref="FormatLimitException"/>: cluster chains are followed link by link (a free, bad or out-of-range link,
/// a chain longer than its file's size or than a folder may be — a loop or a cross-link — is refused), a folder
/// reached twice is refused, names are checked (empty, <c>.</c>, <c>..</c>, <c>/</c>, <c>\</c>, control
/// characters, duplicates ignoring case), long-name entries must be complete and match their 8.3 entry, and
/// nothing is allocated from a size field before it was checked against the image.
/// </summary>
public sealed class FatImage : IDisposable
{
    private readonly PositionalSource _source;
    private readonly FatLimits _limits;
    private readonly List<FatEntry> _entries = [];
    private readonly Dictionary<string, FatEntry> _byPath = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<uint> _visitedDirectories = [];
    private FatGeometry _geometry = null!;
    private FatTable _fat = null!;

    private FatImage(PositionalSource source, FatLimits limits)
    {
        _source = source;
        _limits = limits;
    }

    public FatType Type => _geometry.Type;

    /// <summary>The volume label of the boot sector (<c>NO NAME</c> when it has none).</summary>
    public string VolumeLabel => _geometry.VolumeLabel;

    /// <summary>The volume serial number of the boot sector (0 when it has none).</summary>
    public uint VolumeSerial => _geometry.VolumeSerial;

    /// <summary>Bytes the file system spans (total sectors × sector size).</summary>
    public long ImageBytes => _geometry.ImageBytes;

    public int ClusterBytes => _geometry.ClusterBytes;

    public long ClusterCount => _geometry.ClusterCount;

    /// <summary>Every file and folder but the root, parents before children, siblings in ordinal order ignoring case.</summary>
    public IReadOnlyList<FatEntry> Entries => _entries;

    public static FatImage Open(string path, FatLimits? limits = null) => Open(PositionalSource.FromFile(path, FatError), limits);

    /// <summary>Opens an image held in a readable, seekable stream (reads are serialised on it).</summary>
    public static FatImage Open(Stream stream, FatLimits? limits = null, bool leaveOpen = false)
        => Open(PositionalSource.FromStream(stream, leaveOpen, FatError), limits);

    private static Exception FatError(string reason, long offset) => new FatFormatException(reason, offset);

    private static FatImage Open(PositionalSource source, FatLimits? limits)
    {
        var image = new FatImage(source, limits ?? FatLimits.Default);
        try
        {
            image.Load();
            return image;
        }
        catch
        {
            image.Dispose();
            throw;
        }
    }

    /// <summary>The entry at a path (ignoring case, as FAT does; leading and trailing <c>/</c> ignored), or null.</summary>
    public FatEntry? Find(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return _byPath.GetValueOrDefault(path.Trim('/'));
    }

    /// <summary>A read-only stream over a file's bytes, following its (checked) cluster chain.</summary>
    public Stream OpenRead(FatEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.IsDirectory)
        {
            throw new ArgumentException($"'{entry.Path}' is a folder", nameof(entry));
        }

        var chain = entry.Size == 0 ? [] : _fat.Chain(entry.FirstCluster, ClustersFor(entry.Size), entry.Path, entry.RecordOffset);
        return new FatFileStream(_source, _geometry, chain, entry.Size);
    }

    public void Dispose() => _source.Dispose();

    private long ClustersFor(long bytes) => (bytes + _geometry.ClusterBytes - 1) / _geometry.ClusterBytes;

    private void Load()
    {
        Span<byte> boot = stackalloc byte[512];
        if (_source.Length < 512)
        {
            throw new FatFormatException($"the image is {_source.Length} bytes, too small for a boot sector", 0);
        }

        _source.ReadExactly(0, boot);
        _geometry = FatGeometry.Parse(boot, _source.Length);
        _fat = FatTable.Read(_source, _geometry);
        if (_geometry.Type == FatType.Fat32)
        {
            Walk(ReadChain(_geometry.RootCluster, "the root folder", 44), "", 0, isRoot: true);
        }
        else
        {
            var bytes = _geometry.RootEntries * (long)FatDirectoryRecords.Size;
            if (bytes > _limits.MaxDirectoryBytes)
            {
                throw new FormatLimitException("folder bytes", bytes, _limits.MaxDirectoryBytes);
            }

            var root = new byte[bytes];
            _source.ReadExactly(_geometry.RootDirectoryOffset, root);
            Walk([(root, _geometry.RootDirectoryOffset)], "", 0, isRoot: true);
        }
    }

    /// <summary>A folder's clusters, read; the chain may not be longer than a folder may be.</summary>
    private List<(byte[] Bytes, long Offset)> ReadChain(uint first, string owner, long recordOffset)
    {
        var maxClusters = Math.Max(1, _limits.MaxDirectoryBytes / _geometry.ClusterBytes);
        var chain = _fat.Chain(first, maxClusters + 1, owner, recordOffset);
        if (chain.Count > maxClusters)
        {
            throw new FormatLimitException("folder bytes", chain.Count * (long)_geometry.ClusterBytes, _limits.MaxDirectoryBytes);
        }

        var parts = new List<(byte[], long)>(chain.Count);
        foreach (var c in chain)
        {
            var at = _geometry.ClusterOffset(c);
            var bytes = new byte[_geometry.ClusterBytes];
            _source.ReadExactly(at, bytes);
            parts.Add((bytes, at));
        }

        return parts;
    }

    private void Walk(List<(byte[] Bytes, long Offset)> parts, string path, int depth, bool isRoot)
    {
        var children = new List<FatEntry>();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        Span<char> longName = stackalloc char[20 * FatDirectoryRecords.LongNameCharsPerEntry];
        var longCount = 0;      // entries of the long name being collected
        var longExpected = 0;   // the sequence number the next long-name entry must have
        byte longChecksum = 0;
        long longOffset = 0;
        var index = 0;
        var ended = false;
        foreach (var (bytes, offset) in parts)
        {
            for (var pos = 0; pos + FatDirectoryRecords.Size <= bytes.Length && !ended; pos += FatDirectoryRecords.Size, index++)
            {
                var r = bytes.AsSpan(pos, FatDirectoryRecords.Size);
                var at = offset + pos;
                if (r[0] == 0x00)
                {
                    ended = true; // no entries follow
                    break;
                }

                if (r[0] == 0xE5)
                {
                    longExpected = 0; // deleted
                    continue;
                }

                var attributes = r[11];
                if ((attributes & 0x3F) == FatDirectoryRecords.AttrLongName)
                {
                    var ord = r[0];
                    var n = ord & 0x1F;
                    if ((ord & 0x40) != 0)
                    {
                        if (longExpected != 0)
                        {
                            throw new FatFormatException("a long name starts before the previous one ended", at);
                        }

                        if (n is < 1 or > 20)
                        {
                            throw new FatFormatException($"a long name of {n} entries", at);
                        }

                        longCount = n;
                        longChecksum = r[13];
                        longOffset = at;
                        longName.Fill('\uFFFF');
                    }
                    else if (longExpected == 0 || n != longExpected || r[13] != longChecksum)
                    {
                        throw new FatFormatException("a long-name entry out of sequence", at);
                    }

                    FatDirectoryRecords.LongNameChars(r, longName.Slice((n - 1) * FatDirectoryRecords.LongNameCharsPerEntry, FatDirectoryRecords.LongNameCharsPerEntry));
                    longExpected = n - 1;
                    if (longExpected == 0)
                    {
                        longExpected = -1; // complete: the 8.3 entry must follow
                    }

                    continue;
                }

                string? name = null;
                if (longExpected > 0)
                {
                    throw new FatFormatException("a long name is cut short by an 8.3 entry", at);
                }

                if (longExpected == -1)
                {
                    if (FatDirectoryRecords.Checksum(r) != longChecksum)
                    {
                        throw new FatFormatException("a long name's checksum does not match its 8.3 entry", longOffset);
                    }

                    var text = longName[..(longCount * FatDirectoryRecords.LongNameCharsPerEntry)];
                    var end = text.IndexOf('\0');
                    name = new string(end >= 0 ? text[..end] : text);
                    if (name.Contains('\uFFFF', StringComparison.Ordinal))
                    {
                        throw new FatFormatException("a long name holds padding before its end", longOffset);
                    }
                }

                longExpected = 0;
                if ((attributes & FatDirectoryRecords.AttrVolumeId) != 0)
                {
                    continue; // the volume label
                }

                var isDot = r[0] == (byte)'.' && (r[1..11].SequenceEqual("          "u8) || r[1..11].SequenceEqual(".         "u8));
                if (isDot)
                {
                    if (isRoot || index > 1 || name is not null)
                    {
                        throw new FatFormatException("a '.' or '..' entry outside the start of a subfolder", at);
                    }

                    continue;
                }

                name ??= FatDirectoryRecords.ShortNameText(r, applyCaseFlags: true);
                if (FatDirectoryRecords.NameProblem(name) is { } problem)
                {
                    throw new FatFormatException($"{problem} in folder '/{path}'", at);
                }

                if (!seen.Add(name))
                {
                    throw new FatFormatException($"'{name}' appears twice in folder '/{path}' (FAT names ignore case)", at);
                }

                if (_entries.Count + children.Count >= _limits.MaxEntries)
                {
                    throw new FormatLimitException("entries", _entries.Count + children.Count + 1, _limits.MaxEntries);
                }

                var cluster = (uint)BinaryPrimitives.ReadUInt16LittleEndian(r[26..]);
                if (_geometry.Type == FatType.Fat32)
                {
                    cluster |= (uint)BinaryPrimitives.ReadUInt16LittleEndian(r[20..]) << 16;
                    cluster &= 0x0FFFFFFF;
                }

                var isDirectory = (attributes & FatDirectoryRecords.AttrDirectory) != 0;
                var size = isDirectory ? 0 : BinaryPrimitives.ReadUInt32LittleEndian(r[28..]);
                var childPath = path.Length == 0 ? name : path + "/" + name;
                if (isDirectory || size > 0)
                {
                    _fat.CheckStart(cluster, $"'{childPath}'", at);
                }

                if (!isDirectory && size > 0)
                {
                    // Check the chain now: exactly as many clusters as the size needs.
                    var chain = _fat.Chain(cluster, ClustersFor(size), $"'{childPath}'", at);
                    if (chain.Count != ClustersFor(size))
                    {
                        throw new FatFormatException($"'{childPath}' has {size} bytes but its chain ends after {chain.Count} clusters", at);
                    }
                }

                children.Add(new FatEntry(childPath, FatDirectoryRecords.ShortNameText(r, applyCaseFlags: false), isDirectory, size, attributes,
                    isDirectory || size > 0 ? cluster : 0,
                    FatDirectoryRecords.DosTime(BinaryPrimitives.ReadUInt16LittleEndian(r[24..]), BinaryPrimitives.ReadUInt16LittleEndian(r[22..])), at));
            }

            if (ended)
            {
                break;
            }
        }

        if (longExpected != 0)
        {
            throw new FatFormatException("a long name is not followed by its 8.3 entry", longOffset);
        }

        children.Sort((a, b) =>
        {
            var c = string.Compare(a.Name, b.Name, StringComparison.OrdinalIgnoreCase);
            return c != 0 ? c : string.CompareOrdinal(a.Name, b.Name);
        });
        foreach (var child in children)
        {
            _entries.Add(child);
            _byPath[child.Path] = child;
        }

        foreach (var child in children.Where(c => c.IsDirectory))
        {
            if (depth + 1 >= _limits.MaxDepth)
            {
                throw new FormatLimitException("path depth", depth + 2, _limits.MaxDepth);
            }

            if (!_visitedDirectories.Add(child.FirstCluster) || (_geometry.Type == FatType.Fat32 && child.FirstCluster == _geometry.RootCluster))
            {
                throw new FatFormatException($"folder '/{child.Path}' is reached twice (a loop or a shared cluster)", child.RecordOffset);
            }

            Walk(ReadChain(child.FirstCluster, $"'{child.Path}'", child.RecordOffset), child.Path, depth + 1, isRoot: false);
        }
    }

    private sealed class FatFileStream(PositionalSource source, FatGeometry geometry, List<uint> chain, long length) : PositionalReadStream(length)
    {
        protected override int ReadAt(long position, Span<byte> buffer)
        {
            var index = (int)(position / geometry.ClusterBytes);
            var within = (int)(position % geometry.ClusterBytes);
            var n = (int)Math.Min(buffer.Length, geometry.ClusterBytes - within);
            source.ReadExactly(geometry.ClusterOffset(chain[index]) + within, buffer[..n]);
            return n;
        }
    }
}
