using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Razor.Microkernel.Formats.IO;

namespace Razor.Microkernel.Formats.SquashFs;

/// <summary>
/// A SquashFS 4.0 image opened for reading: superblock → metadata blocks → id, fragment tables → inodes →
/// directories → file data. Every layer validates what it reads and throws <see cref="SquashFsFormatException"/>
/// (with the byte offset) or <see cref="FormatLimitException"/>; nothing is allocated from a size field
/// before that field is checked. The image is read with positional reads and never loaded whole.
/// </summary>
public sealed class SquashFsImage : IDisposable
{
    private const int FragmentEntrySize = 16;
    private const int MaxNameLength = 256;

    private static readonly Encoding StrictUtf8 = new UTF8Encoding(false, throwOnInvalidBytes: true);

    private readonly PositionalSource _source;
    private readonly Superblock _sb;
    private readonly Codec _codec;
    private readonly MetadataReader _inodes;
    private readonly MetadataReader _directories;
    private readonly MetadataReader _fragments;
    private readonly long[] _fragmentIndex;
    private readonly int[] _ids;
    private readonly long _dataStart;
    private readonly FragmentCache _fragmentCache;

    private SquashFsImage(PositionalSource source, SquashFsLimits limits)
    {
        _source = source;
        Limits = limits;
        Span<byte> sbBytes = stackalloc byte[Superblock.Size];
        if (source.Length < Superblock.Size)
        {
            throw new SquashFsFormatException("the image is shorter than a SquashFS superblock", 0);
        }

        source.ReadExactly(0, sbBytes);
        _sb = Superblock.Parse(sbBytes, source.Length);
        _codec = Codec.For(_sb.Compression);
        _dataStart = Superblock.Size;
        if (_sb.HasCompressorOptions)
        {
            _dataStart = ReadCompressorOptions();
        }

        if (_sb.InodeTableStart < _dataStart)
        {
            throw new SquashFsFormatException("the inode table starts inside the superblock or compressor options", 64);
        }

        // Lookup tables: an uncompressed array of u64 metadata block positions at the table start.
        var idMeta = new MetadataReader(source, _codec, _sb.DirectoryTableStart, _sb.IdTableStart, "id table");
        var idIndex = ReadIndex(_sb.IdTableStart, _sb.IdCount, 4, "id table", 48);
        _ids = new int[_sb.IdCount];
        for (var i = 0; i < _ids.Length; i++)
        {
            var c = new MetaCursor(idIndex[i / (MetadataReader.BlockSize / 4)], i % (MetadataReader.BlockSize / 4) * 4);
            _ids[i] = (int)idMeta.ReadUInt32(ref c);
        }

        long fragmentEnd = _sb.FragmentTableStart;
        if (_sb.FragmentCount > 0)
        {
            if (_sb.FragmentTableStart < _sb.DirectoryTableStart || _sb.FragmentCount > (ulong)_sb.InodeTableStart)
            {
                throw new SquashFsFormatException($"the fragment table ({_sb.FragmentCount} entries at {_sb.FragmentTableStart}) does not fit the image", 16);
            }

            _fragmentIndex = ReadIndex(_sb.FragmentTableStart, _sb.FragmentCount, FragmentEntrySize, "fragment table", 80);
            fragmentEnd = _fragmentIndex[0];
        }
        else
        {
            _fragmentIndex = [];
        }

        _fragments = new MetadataReader(source, _codec, _sb.DirectoryTableStart, Math.Max(_sb.DirectoryTableStart, _sb.FragmentCount > 0 ? _sb.FragmentTableStart : _sb.DirectoryTableStart), "fragment table");

        // The directory table ends where the next table's first metadata block (or index) begins.
        var dirEnd = _sb.BytesUsed;
        void Bound(long p)
        {
            if (p >= _sb.DirectoryTableStart && p < dirEnd)
            {
                dirEnd = p;
            }
        }

        Bound(_sb.FragmentCount > 0 ? fragmentEnd : _sb.FragmentTableStart);
        Bound(idIndex[0]);
        Bound(_sb.IdTableStart);
        if (_sb.ExportTableStart != Superblock.Absent)
        {
            // The export table (inode number -> inode reference, for NFS) is not needed to read the image;
            // its index is still checked so that the directory table's end is known.
            var exportIndex = ReadIndex((long)_sb.ExportTableStart, Math.Max(_sb.InodeCount, 1u), 8, "export table", 88);
            Bound(exportIndex[0]);
            Bound((long)_sb.ExportTableStart);
        }

        if (_sb.XattrTableStart != Superblock.Absent)
        {
            Bound((long)_sb.XattrTableStart);
        }

        _inodes = new MetadataReader(source, _codec, _sb.InodeTableStart, _sb.DirectoryTableStart, "inode table");
        _directories = new MetadataReader(source, _codec, _sb.DirectoryTableStart, dirEnd, "directory table");
        _fragmentCache = new FragmentCache(Math.Clamp((32 << 20) / _sb.BlockSize, 8, 1024));
        Root = ToEntry(string.Empty, ReadInode(_sb.RootInode, 32));
        if (Root.Type != SquashFsEntryType.Directory)
        {
            throw new SquashFsFormatException("the root inode is not a directory", Root.Inode.Offset);
        }
    }

    public SquashFsLimits Limits { get; }

    public SquashFsCompression Compression => _sb.Compression;

    public int BlockSize => _sb.BlockSize;

    /// <summary>True when the image has an xattr table. Xattrs are never read.</summary>
    public bool HasXattrs => _sb.XattrTableStart != Superblock.Absent;

    /// <summary>The root folder (path "").</summary>
    public SquashFsEntry Root { get; }

    public static SquashFsImage Open(string path, SquashFsLimits? limits = null)
    {
        var source = PositionalSource.FromFile(path, SquashFsError);
        return Open(source, limits);
    }

    public static SquashFsImage Open(Stream seekable, SquashFsLimits? limits = null, bool leaveOpen = false)
        => Open(PositionalSource.FromStream(seekable, leaveOpen, SquashFsError), limits);

    private static Exception SquashFsError(string reason, long offset) => new SquashFsFormatException(reason, offset);

    private static SquashFsImage Open(PositionalSource source, SquashFsLimits? limits)
    {
        try
        {
            return new SquashFsImage(source, limits ?? SquashFsLimits.Default);
        }
        catch
        {
            source.Dispose();
            throw;
        }
    }

    public void Dispose() => _source.Dispose();

    /// <summary>Every entry below the root, depth first: a folder before its contents, siblings in the
    /// image's (bytewise) order. Refuses bad names, unsorted or duplicate names, loops and entries beyond
    /// the limits as it goes.</summary>
    public IEnumerable<SquashFsEntry> Entries()
    {
        var visited = new HashSet<long> { Root.InodeReference };
        var files = new HashSet<long>();
        long count = 0;
        long bytes = 0;
        var stack = new Stack<(string Path, int Depth, IEnumerator<DirEntry> Children)>();
        stack.Push((string.Empty, 0, ReadDirectory(Root.Inode).GetEnumerator()));
        while (stack.Count > 0)
        {
            var (dirPath, depth, children) = stack.Peek();
            if (!children.MoveNext())
            {
                stack.Pop();
                continue;
            }

            var d = children.Current;
            var path = dirPath.Length == 0 ? d.Name : dirPath + "/" + d.Name;
            if (++count > Limits.MaxEntries)
            {
                throw new FormatLimitException("entries in the image", count, Limits.MaxEntries);
            }

            if (depth + 1 > Limits.MaxDepth)
            {
                throw new FormatLimitException("path depth", depth + 1, Limits.MaxDepth);
            }

            var inode = ReadInode(d.InodeReference, d.Offset);
            if (inode.Type != d.Type)
            {
                throw new SquashFsFormatException($"'{path}': the directory entry says type {d.Type}, its inode is type {inode.Type}", d.Offset);
            }

            var entry = ToEntry(path, inode);
            // mksquashfs gives a hard-linked file an extended inode, so only those need remembering.
            if (inode.Type == 2 && (!inode.Extended || files.Add(inode.Reference)))
            {
                bytes += inode.FileSize;
                if (bytes > Limits.MaxTotalBytes)
                {
                    throw new FormatLimitException("total content bytes", bytes, Limits.MaxTotalBytes);
                }
            }

            yield return entry;
            if (inode.Type == 1)
            {
                if (!visited.Add(inode.Reference))
                {
                    throw new SquashFsFormatException($"'{path}': the folder is reached twice (a directory loop or a hard-linked folder)", d.Offset);
                }

                stack.Push((path, depth + 1, ReadDirectory(inode).GetEnumerator()));
            }
        }
    }

    /// <summary>A stream of a regular file's content (decompressed ahead in parallel, a few blocks deep).</summary>
    public Stream OpenRead(SquashFsEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.Type != SquashFsEntryType.File || entry.Inode is null)
        {
            throw new ArgumentException($"'{entry.Path}' is not a regular file of this image", nameof(entry));
        }

        var feed = new PrefetchFeed(this, Jobs(entry.Inode).GetEnumerator(), Math.Clamp((8 << 20) / BlockSize, 2, 4 * Environment.ProcessorCount));
        return new FileContentStream(feed, entry.Size);
    }

    // ---------------------------------------------------------------- tables

    private long ReadCompressorOptions()
    {
        Span<byte> h = stackalloc byte[2];
        _source.ReadExactly(Superblock.Size, h);
        var header = BinaryPrimitives.ReadUInt16LittleEndian(h);
        var stored = header & 0x7FFF;
        if (stored is 0 or > 64)
        {
            throw new SquashFsFormatException($"the compressor options block has size {stored}", Superblock.Size);
        }

        var reader = new MetadataReader(_source, _codec, Superblock.Size, Superblock.Size + 2 + stored, "compressor options");
        var c = new MetaCursor(Superblock.Size, 0);
        if (_sb.Compression == SquashFsCompression.Lz4)
        {
            var version = reader.ReadUInt32(ref c);
            if (version != 1)
            {
                throw new SquashFsFormatException($"lz4 format version {version} is not supported (only 1, the LZ4 block format)", Superblock.Size + 2);
            }
        }
        else
        {
            Span<byte> first = stackalloc byte[1];
            reader.Read(ref c, first);
        }

        return Superblock.Size + 2 + stored;
    }

    private long[] ReadIndex(long start, ulong count, int entrySize, string table, long fieldOffset)
    {
        var blocks = (count * (ulong)entrySize + MetadataReader.BlockSize - 1) / MetadataReader.BlockSize;
        if (blocks == 0 || (ulong)start + blocks * 8 > (ulong)_sb.BytesUsed)
        {
            throw new SquashFsFormatException($"the {table} index ({blocks} blocks at {start}) does not fit the image", fieldOffset);
        }

        var raw = ArrayPool<byte>.Shared.Rent((int)blocks * 8);
        try
        {
            _source.ReadExactly(start, raw.AsSpan(0, (int)blocks * 8));
            var result = new long[blocks];
            for (var i = 0; i < result.Length; i++)
            {
                var p = BinaryPrimitives.ReadUInt64LittleEndian(raw.AsSpan(i * 8));
                if (p < (ulong)_sb.DirectoryTableStart || p >= (ulong)start)
                {
                    throw new SquashFsFormatException($"the {table} index points at {p}, outside the table", start + i * 8);
                }

                result[i] = (long)p;
            }

            return result;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(raw);
        }
    }

    private int Id(int index, long offset)
    {
        if (index >= _ids.Length)
        {
            throw new SquashFsFormatException($"uid/gid index {index} is outside the id table ({_ids.Length} entries)", offset);
        }

        return _ids[index];
    }

    // ---------------------------------------------------------------- inodes

    internal Inode ReadInode(long reference, long referencedFrom)
    {
        var c = _inodes.At(reference >> 16, (int)(reference & 0xFFFF), referencedFrom);
        var at = _inodes.OffsetOf(c);
        Span<byte> h = stackalloc byte[16];
        _inodes.Read(ref c, h);
        var type = BinaryPrimitives.ReadUInt16LittleEndian(h);
        if (type is < 1 or > 14)
        {
            throw new SquashFsFormatException($"unknown inode type {type}", at);
        }

        var basic = type > 7 ? type - 7 : type;
        var extended = type > 7;
        var mode = BinaryPrimitives.ReadUInt16LittleEndian(h[2..]) & 0xFFF;
        var uid = Id(BinaryPrimitives.ReadUInt16LittleEndian(h[4..]), at);
        var gid = Id(BinaryPrimitives.ReadUInt16LittleEndian(h[6..]), at);
        var mtime = BinaryPrimitives.ReadUInt32LittleEndian(h[8..]);
        var number = BinaryPrimitives.ReadUInt32LittleEndian(h[12..]);
        var inode = new Inode
        {
            Reference = reference,
            Offset = at,
            Type = basic,
            Extended = extended,
            Mode = mode,
            Uid = uid,
            Gid = gid,
            ModificationTime = mtime,
            Number = number,
        };

        switch (type)
        {
            case 1:
            {
                var startBlock = _inodes.ReadUInt32(ref c);
                _inodes.ReadUInt32(ref c); // nlink
                var fileSize = _inodes.ReadUInt16(ref c);
                var offset = _inodes.ReadUInt16(ref c);
                return Directory(inode, startBlock, offset, fileSize, at);
            }

            case 8:
            {
                _inodes.ReadUInt32(ref c); // nlink
                var fileSize = _inodes.ReadUInt32(ref c);
                var startBlock = _inodes.ReadUInt32(ref c);
                _inodes.ReadUInt32(ref c); // parent
                _inodes.ReadUInt16(ref c); // index count: the index is not needed to list the folder
                var offset = _inodes.ReadUInt16(ref c);
                return Directory(inode, startBlock, offset, fileSize, at);
            }

            case 2:
            {
                var blocksStart = _inodes.ReadUInt32(ref c);
                var fragment = _inodes.ReadUInt32(ref c);
                var fragmentOffset = _inodes.ReadUInt32(ref c);
                var size = _inodes.ReadUInt32(ref c);
                return File(inode, blocksStart, size, fragment, fragmentOffset, c, at);
            }

            case 9:
            {
                var blocksStart = _inodes.ReadUInt64(ref c);
                var size = _inodes.ReadUInt64(ref c);
                _inodes.ReadUInt64(ref c); // sparse bytes
                _inodes.ReadUInt32(ref c); // nlink
                var fragment = _inodes.ReadUInt32(ref c);
                var fragmentOffset = _inodes.ReadUInt32(ref c);
                _inodes.ReadUInt32(ref c); // xattr
                return File(inode, blocksStart, size, fragment, fragmentOffset, c, at);
            }

            case 3:
            case 10:
            {
                _inodes.ReadUInt32(ref c); // nlink
                var size = _inodes.ReadUInt32(ref c);
                if (size == 0)
                {
                    throw new SquashFsFormatException("a symlink has an empty target", at);
                }

                if (size > (uint)Limits.MaxSymlinkLength)
                {
                    throw new FormatLimitException("symlink target bytes", size, Limits.MaxSymlinkLength);
                }

                var target = new byte[size];
                _inodes.Read(ref c, target);
                if (target.AsSpan().Contains((byte)0))
                {
                    throw new SquashFsFormatException("a symlink target contains NUL", at);
                }

                return Copy(inode, symlink: DecodeName(target));
            }

            case 4:
            case 5:
            case 11:
            case 12:
            {
                _inodes.ReadUInt32(ref c); // nlink
                return Copy(inode, rdev: _inodes.ReadUInt32(ref c));
            }

            default:
                _inodes.ReadUInt32(ref c); // nlink
                return inode;
        }
    }

    private Inode Directory(Inode i, uint startBlock, int offset, long fileSize, long at)
    {
        if (fileSize < 3)
        {
            throw new SquashFsFormatException($"a directory has file size {fileSize} (at least 3)", at);
        }

        return new Inode
        {
            Reference = i.Reference, Offset = i.Offset, Type = i.Type, Extended = i.Extended, Mode = i.Mode, Uid = i.Uid, Gid = i.Gid,
            ModificationTime = i.ModificationTime, Number = i.Number,
            DirStartBlock = startBlock, DirOffset = offset, DirFileSize = fileSize,
        };
    }

    private Inode File(Inode i, ulong blocksStart, ulong size, uint fragment, uint fragmentOffset, MetaCursor blockList, long at)
    {
        if (size > (ulong)Limits.MaxTotalBytes)
        {
            throw new FormatLimitException("file size", size > long.MaxValue ? long.MaxValue : (long)size, Limits.MaxTotalBytes);
        }

        var hasBlocks = size >= (ulong)_sb.BlockSize || (fragment == Inode.NoFragment && size > 0);
        if (hasBlocks && (blocksStart < (ulong)_dataStart || blocksStart > (ulong)_sb.InodeTableStart))
        {
            throw new SquashFsFormatException($"a file's data starts at {blocksStart}, outside the data area", at);
        }

        if (fragment != Inode.NoFragment)
        {
            if (fragment >= _sb.FragmentCount)
            {
                throw new SquashFsFormatException($"fragment index {fragment} is outside the fragment table ({_sb.FragmentCount} entries)", at);
            }

            if (fragmentOffset >= (uint)_sb.BlockSize || (long)size % _sb.BlockSize + fragmentOffset > (uint)_sb.BlockSize)
            {
                throw new SquashFsFormatException($"fragment offset {fragmentOffset} does not fit a block", at);
            }
        }

        return new Inode
        {
            Reference = i.Reference, Offset = i.Offset, Type = i.Type, Extended = i.Extended, Mode = i.Mode, Uid = i.Uid, Gid = i.Gid,
            ModificationTime = i.ModificationTime, Number = i.Number,
            BlocksStart = (long)blocksStart, FileSize = (long)size, Fragment = fragment, FragmentOffset = fragmentOffset, BlockList = blockList,
        };
    }

    private static Inode Copy(Inode i, string symlink = "", uint rdev = 0) => new()
    {
        Reference = i.Reference, Offset = i.Offset, Type = i.Type, Extended = i.Extended, Mode = i.Mode, Uid = i.Uid, Gid = i.Gid,
        ModificationTime = i.ModificationTime, Number = i.Number, SymlinkTarget = symlink, Rdev = rdev,
    };

    private static SquashFsEntry ToEntry(string path, Inode i)
    {
        var major = (int)((i.Rdev & 0xFFF00) >> 8);
        var minor = (int)((i.Rdev & 0xFF) | ((i.Rdev >> 12) & 0xFFF00));
        var size = i.Type switch
        {
            1 => i.DirFileSize,
            2 => i.FileSize,
            3 => Encoding.UTF8.GetByteCount(i.SymlinkTarget),
            _ => 0,
        };
        return new SquashFsEntry(path, (SquashFsEntryType)i.Type, i.Mode, i.Uid, i.Gid, i.ModificationTime, size, i.SymlinkTarget,
            i.Type is 4 or 5 ? major : 0, i.Type is 4 or 5 ? minor : 0, i.Number, i.Reference)
        {
            Inode = i,
        };
    }

    /// <summary>Names are bytes; UTF-8 when they are valid UTF-8, else each byte is one Latin-1 character.</summary>
    private static string DecodeName(ReadOnlySpan<byte> bytes)
    {
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            return Encoding.Latin1.GetString(bytes);
        }
    }

    // ---------------------------------------------------------------- directories

    internal readonly record struct DirEntry(string Name, long InodeReference, int Type, long Offset);

    private List<DirEntry> ReadDirectory(Inode dir)
    {
        var listing = dir.DirFileSize - 3;
        var result = new List<DirEntry>();
        if (listing == 0)
        {
            return result;
        }

        var c = _directories.At(dir.DirStartBlock, dir.DirOffset, dir.Offset);
        var inodeTableSize = _sb.DirectoryTableStart - _sb.InodeTableStart;
        Span<byte> header = stackalloc byte[12];
        Span<byte> fixedPart = stackalloc byte[8];
        Span<byte> name = stackalloc byte[MaxNameLength];
        Span<byte> previous = stackalloc byte[MaxNameLength];
        var previousLength = -1;
        long consumed = 0;
        while (consumed < listing)
        {
            var headerAt = _directories.OffsetOf(c);
            if (listing - consumed < 12)
            {
                throw new SquashFsFormatException("a directory listing ends inside a header", headerAt);
            }

            _directories.Read(ref c, header);
            consumed += 12;
            var count = BinaryPrimitives.ReadUInt32LittleEndian(header) + 1L;
            var startBlock = BinaryPrimitives.ReadUInt32LittleEndian(header[4..]);
            var baseNumber = BinaryPrimitives.ReadUInt32LittleEndian(header[8..]);
            _ = baseNumber;
            if (count > 256)
            {
                throw new SquashFsFormatException($"a directory header announces {count} entries (at most 256)", headerAt);
            }

            if (startBlock >= inodeTableSize)
            {
                throw new SquashFsFormatException($"a directory header points at inode block {startBlock}, outside the inode table", headerAt);
            }

            for (var k = 0; k < count; k++)
            {
                var at = _directories.OffsetOf(c);
                if (listing - consumed < 8)
                {
                    throw new SquashFsFormatException("a directory listing ends inside an entry", at);
                }

                _directories.Read(ref c, fixedPart);
                consumed += 8;
                var offset = BinaryPrimitives.ReadUInt16LittleEndian(fixedPart);
                var type = BinaryPrimitives.ReadUInt16LittleEndian(fixedPart[4..]);
                var nameLength = BinaryPrimitives.ReadUInt16LittleEndian(fixedPart[6..]) + 1;
                if (nameLength > MaxNameLength)
                {
                    throw new SquashFsFormatException($"a name of {nameLength} bytes is longer than {MaxNameLength}", at);
                }

                if (listing - consumed < nameLength)
                {
                    throw new SquashFsFormatException("a directory listing ends inside a name", at);
                }

                if (type is < 1 or > 7)
                {
                    throw new SquashFsFormatException($"a directory entry has type {type}", at);
                }

                if (offset >= MetadataReader.BlockSize)
                {
                    throw new SquashFsFormatException($"a directory entry points at offset {offset} inside an inode block", at);
                }

                var n = name[..nameLength];
                _directories.Read(ref c, n);
                consumed += nameLength;
                CheckName(n, at);
                if (previousLength >= 0 && n.SequenceCompareTo(previous[..previousLength]) <= 0)
                {
                    throw new SquashFsFormatException(
                        $"name '{DecodeName(n)}' follows '{DecodeName(previous[..previousLength])}': names in a folder must be unique and sorted (a duplicate name can hide a symlink behind a file)", at);
                }

                n.CopyTo(previous);
                previousLength = nameLength;
                result.Add(new DirEntry(DecodeName(n), ((long)startBlock << 16) | offset, type, at));
            }
        }

        return result;
    }

    private static void CheckName(ReadOnlySpan<byte> name, long at)
    {
        string? problem = null;
        if (name.Length == 0)
        {
            problem = "an empty name";
        }
        else if (name is [(byte)'.'] || name is [(byte)'.', (byte)'.'])
        {
            problem = $"the name '{Encoding.ASCII.GetString(name)}'";
        }
        else if (name.Contains((byte)'/'))
        {
            problem = "a name containing '/'";
        }
        else if (name.Contains((byte)0))
        {
            problem = "a name containing NUL";
        }

        if (problem is not null)
        {
            throw new SquashFsFormatException($"a directory entry has {problem}", at);
        }
    }

    // ---------------------------------------------------------------- data

    /// <summary>The blocks of a file, in order, read lazily from its block list.</summary>
    internal IEnumerable<BlockJob> Jobs(Inode file)
    {
        var bs = _sb.BlockSize;
        var count = file.HasFragment ? file.FileSize / bs : (file.FileSize + bs - 1) / bs;
        var c = file.BlockList;
        var position = file.BlocksStart;
        for (long i = 0; i < count; i++)
        {
            var at = _inodes.OffsetOf(c);
            var word = _inodes.ReadUInt32(ref c);
            var expected = (int)(i < count - 1 || file.HasFragment ? bs : file.FileSize - (i * bs));
            var stored = (int)(word & 0xFFFFFF);
            var uncompressed = (word & 0x1000000) != 0;
            if ((word & 0xFE000000) != 0 || stored > bs || (uncompressed && stored != expected) || (stored == 0 && uncompressed))
            {
                throw new SquashFsFormatException($"block {i} of a file has a bad size word 0x{word:x8}", at);
            }

            if (stored == 0)
            {
                yield return new BlockJob(BlockKind.Sparse, 0, 0, expected, 0);
                continue;
            }

            if (position + stored > _sb.InodeTableStart)
            {
                throw new SquashFsFormatException($"block {i} of a file lies outside the data area", at);
            }

            yield return new BlockJob(uncompressed ? BlockKind.Stored : BlockKind.Compressed, position, stored, expected, 0);
            position += stored;
        }

        var tail = file.FileSize - (count * bs);
        if (file.HasFragment && tail > 0)
        {
            yield return new BlockJob(BlockKind.Fragment, file.Fragment, (int)file.FragmentOffset, (int)tail, file.Offset);
        }
    }

    /// <summary>Starts decoding a block on the thread pool (sparse blocks are made at once).</summary>
    internal Task<DecodedBlock> Start(in BlockJob job)
    {
        switch (job.Kind)
        {
            case BlockKind.Sparse:
            {
                var buffer = ArrayPool<byte>.Shared.Rent(job.Expected);
                buffer.AsSpan(0, job.Expected).Clear();
                return Task.FromResult(new DecodedBlock(buffer, 0, job.Expected, true));
            }

            case BlockKind.Fragment:
                return Tail(GetFragment((uint)job.Position, job.ReferencedFrom), job);
            default:
            {
                var j = job;
                return Task.Run(() => DecodeData(j));
            }
        }
    }

    private static async Task<DecodedBlock> Tail(Task<FragmentBlock> fragment, BlockJob job)
    {
        var f = await fragment.ConfigureAwait(false);
        if (job.Stored + job.Expected > f.Length)
        {
            throw new SquashFsFormatException($"a file's tail ({job.Expected} bytes at {job.Stored}) lies outside its fragment block ({f.Length} bytes)", job.ReferencedFrom);
        }

        return new DecodedBlock(f.Data, job.Stored, job.Expected, false);
    }

    private DecodedBlock DecodeData(BlockJob job)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(_sb.BlockSize);
        try
        {
            var n = ReadBlock(job.Position, job.Stored, job.Kind == BlockKind.Compressed, buffer, "data");
            if (n != job.Expected)
            {
                throw new SquashFsFormatException($"a data block decodes to {n} bytes, {job.Expected} expected", job.Position);
            }

            return new DecodedBlock(buffer, 0, n, true);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    private int ReadBlock(long position, int stored, bool compressed, byte[] target, string what)
    {
        if (!compressed)
        {
            _source.ReadExactly(position, target.AsSpan(0, stored));
            return stored;
        }

        var raw = ArrayPool<byte>.Shared.Rent(stored);
        try
        {
            _source.ReadExactly(position, raw.AsSpan(0, stored));
            return MetadataReader.DecodeBlock(_codec, raw, stored, target.AsSpan(0, _sb.BlockSize), position, what);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(raw);
        }
    }

    internal Task<FragmentBlock> GetFragment(uint index, long referencedFrom)
    {
        if (_fragmentCache.TryGet(index, out var cached))
        {
            return cached;
        }

        if (index >= _sb.FragmentCount)
        {
            throw new SquashFsFormatException($"fragment index {index} is outside the fragment table", referencedFrom);
        }

        const int perBlock = MetadataReader.BlockSize / FragmentEntrySize;
        var c = new MetaCursor(_fragmentIndex[index / perBlock], (int)(index % perBlock) * FragmentEntrySize);
        var at = _fragments.OffsetOf(c);
        var start = _fragments.ReadUInt64(ref c);
        var size = _fragments.ReadUInt32(ref c);
        var stored = (int)(size & 0xFFFFFF);
        var uncompressed = (size & 0x1000000) != 0;
        if ((size & 0xFE000000) != 0 || stored == 0 || stored > _sb.BlockSize)
        {
            throw new SquashFsFormatException($"fragment {index} has a bad size word 0x{size:x8}", at);
        }

        if (start < (ulong)_dataStart || start + (ulong)stored > (ulong)_sb.InodeTableStart)
        {
            throw new SquashFsFormatException($"fragment {index} lies outside the data area", at);
        }

        var task = Task.Run(() =>
        {
            var data = GC.AllocateUninitializedArray<byte>(_sb.BlockSize);
            var n = ReadBlock((long)start, stored, !uncompressed, data, "fragment");
            return new FragmentBlock(data, n);
        });
        _fragmentCache.Add(index, task);
        return task;
    }
}

internal enum BlockKind
{
    Compressed,
    Stored,
    Sparse,
    Fragment,
}

/// <summary>One block of a file: for data blocks Position/Stored are the image offset and stored size; for a
/// fragment tail Position is the fragment index and Stored the offset in the fragment block.</summary>
internal readonly record struct BlockJob(BlockKind Kind, long Position, int Stored, int Expected, long ReferencedFrom);

internal readonly record struct DecodedBlock(byte[] Buffer, int Offset, int Length, bool Pooled);

internal sealed record FragmentBlock(byte[] Data, int Length);

/// <summary>Decoded fragment blocks, least recently used evicted first. Each block is decoded once while it
/// stays in the cache.</summary>
internal sealed class FragmentCache(int capacity)
{
    private readonly Dictionary<uint, LinkedListNode<(uint Index, Task<FragmentBlock> Task)>> _map = [];
    private readonly LinkedList<(uint Index, Task<FragmentBlock> Task)> _order = new();
    private readonly Lock _lock = new();

    public bool TryGet(uint index, out Task<FragmentBlock> task)
    {
        lock (_lock)
        {
            if (_map.TryGetValue(index, out var node))
            {
                _order.Remove(node);
                _order.AddFirst(node);
                task = node.Value.Task;
                return true;
            }
        }

        task = null!;
        return false;
    }

    public void Add(uint index, Task<FragmentBlock> task)
    {
        lock (_lock)
        {
            if (_map.ContainsKey(index))
            {
                return;
            }

            _map[index] = _order.AddFirst((index, task));
            while (_map.Count > capacity)
            {
                var last = _order.Last!;
                _order.RemoveLast();
                _map.Remove(last.Value.Index);
            }
        }
    }
}
