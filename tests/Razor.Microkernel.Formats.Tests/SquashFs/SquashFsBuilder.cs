using System.Buffers.Binary;
using System.Text;

namespace Razor.Microkernel.Formats.Tests.SquashFs;

/// <summary>
/// A tiny SquashFS 4.0 writer for hand-made (and hostile) test images: uncompressed metadata and data, no
/// fragments, no xattrs, gzip named as the compressor. It writes exactly what it is told: names are not
/// checked, sorting can be switched off, an entry can name any node (hard links, loops). After
/// <see cref="Build"/>, the image offsets of inodes and names are known so tests can patch single fields.
/// </summary>
internal sealed class SquashFsBuilder
{
    private const int MetaBlock = 8192;
    private readonly List<Node> _nodes = [];
    private readonly List<uint> _ids = [0];

    public SquashFsBuilder()
    {
        Root = Add(new Node(1, 0x1ED));
    }

    public int Root { get; }

    public int BlockSize { get; init; } = 4096;

    public bool SortEntries { get; set; } = true;

    public uint ModificationTime { get; set; } = 1_300_000_000;

    /// <summary>Image offset of each node's inode (the 16-byte header), after <see cref="Build"/>.</summary>
    public Dictionary<int, long> InodeOffsets { get; } = [];

    /// <summary>Image offset of each directory entry's 8-byte fixed part, by (folder, name), after Build.</summary>
    public Dictionary<(int Folder, string Name), long> EntryOffsets { get; } = [];

    /// <summary>Image offset of each folder's first directory header, after Build.</summary>
    public Dictionary<int, long> HeaderOffsets { get; } = [];

    public long InodeTableStart { get; private set; }

    public long DirectoryTableStart { get; private set; }

    public int Directory(int parent, string name, int mode = 0x1ED)
    {
        var n = Add(new Node(1, mode));
        Entry(parent, name, n);
        return n;
    }

    public int File(int parent, string name, byte[] content, int mode = 0x1A4, uint uid = 0)
    {
        var n = Add(new Node(2, mode) { Data = content, UidIndex = IdIndex(uid) });
        Entry(parent, name, n);
        return n;
    }

    /// <summary>An extended file inode (type 9) of <paramref name="size"/> bytes: holes, then <paramref name="tail"/>
    /// as its last block (so the size can pass 4 GiB in a tiny image).</summary>
    public int SparseFile(int parent, string name, long size, byte[] tail)
    {
        var n = Add(new Node(9, 0x1A4) { Data = tail, Size = size });
        Entry(parent, name, n);
        return n;
    }

    /// <summary>A small file (shorter than a block) stored as a tail in the image's one fragment block.</summary>
    public int FragmentFile(int parent, string name, byte[] content)
    {
        var n = Add(new Node(2, 0x1A4) { Data = content, InFragment = true });
        Entry(parent, name, n);
        return n;
    }

    /// <summary>Image offset of the fragment table's one entry ({u64 start, u32 size, u32 unused}), after Build.</summary>
    public long FragmentEntryOffset { get; private set; }

    public int Symlink(int parent, string name, string target)
    {
        var n = Add(new Node(3, 0x1FF) { Target = Encoding.UTF8.GetBytes(target) });
        Entry(parent, name, n);
        return n;
    }

    public int Device(int parent, string name, bool block, uint rdev)
    {
        var n = Add(new Node(block ? 4 : 5, 0x1A4) { Rdev = rdev });
        Entry(parent, name, n);
        return n;
    }

    public int Special(int parent, string name, int type)
    {
        var n = Add(new Node(type, 0x1A4));
        Entry(parent, name, n);
        return n;
    }

    /// <summary>An entry naming any node: a second name for a file (hard link), a folder again (loop), etc.</summary>
    public void Entry(int folder, string name, int node) => Entry(folder, Encoding.UTF8.GetBytes(name), node);

    public void Entry(int folder, byte[] name, int node) => _nodes[folder].Children.Add((name, node));

    private int Add(Node n)
    {
        _nodes.Add(n);
        return _nodes.Count - 1;
    }

    private ushort IdIndex(uint id)
    {
        var i = _ids.IndexOf(id);
        if (i < 0)
        {
            _ids.Add(id);
            i = _ids.Count - 1;
        }

        return (ushort)i;
    }

    public byte[] Build()
    {
        var image = new MemoryStream();
        image.Write(new byte[96]);

        // Data: whole blocks stored uncompressed; small files marked InFragment share one stored fragment block.
        var blocksStart = new long[_nodes.Count];
        var fragmentOffsets = new int[_nodes.Count];
        var fragment = new MemoryStream();
        foreach (var (n, i) in _nodes.Select((n, i) => (n, i)))
        {
            if (n.InFragment)
            {
                fragmentOffsets[i] = (int)fragment.Position;
                fragment.Write(n.Data);
            }
            else if (n.Type is 2 or 9)
            {
                blocksStart[i] = n.Data.Length > 0 ? image.Position : 0;
                image.Write(n.Data);
            }
        }

        var fragmentStart = image.Position;
        image.Write(fragment.ToArray());

        // Like mksquashfs, a file with more than one name gets an extended inode (which has a link count).
        var refs = new int[_nodes.Count];
        foreach (var c in _nodes.SelectMany(n => n.Children))
        {
            refs[c.Node]++;
        }

        var types = _nodes.Select((n, i) => n.Type == 2 && refs[i] > 1 ? 9 : n.Type).ToArray();
        long SizeOf(Node n) => n.Size > 0 ? n.Size : n.Data.Length;

        // Pass 1: inode positions in the (unsplit) inode stream.
        var inodePos = new long[_nodes.Count];
        long p = 0;
        foreach (var (n, i) in _nodes.Select((n, i) => (n, i)))
        {
            inodePos[i] = p;
            p += types[i] switch
            {
                1 => 32,
                2 when n.InFragment => 32,
                2 => 32 + (4 * ((n.Data.Length + BlockSize - 1) / BlockSize)),
                3 => 24 + n.Target.Length,
                9 => 56 + (4 * ((SizeOf(n) + BlockSize - 1) / BlockSize)),
                4 or 5 => 24,
                _ => 20,
            };
        }

        // Pass 2: directory listings.
        var dirStream = new MemoryStream();
        var dirPos = new long[_nodes.Count];
        var dirSize = new int[_nodes.Count];
        var entryPositions = new List<(int Folder, string Name, long StreamPos)>();
        var headerPositions = new Dictionary<int, long>();
        foreach (var (n, i) in _nodes.Select((n, i) => (n, i)))
        {
            if (n.Type != 1)
            {
                continue;
            }

            dirPos[i] = dirStream.Position;
            var children = SortEntries ? n.Children.OrderBy(c => c.Name, ByteComparer.Instance).ToList() : n.Children;
            var k = 0;
            while (k < children.Count)
            {
                var startBlock = Ref(inodePos[children[k].Node]) >> 16;
                var run = children.Skip(k).Take(256).TakeWhile(c => Ref(inodePos[c.Node]) >> 16 == startBlock).ToList();
                headerPositions.TryAdd(i, dirStream.Position);
                Write32(dirStream, (uint)run.Count - 1);
                Write32(dirStream, (uint)startBlock);
                Write32(dirStream, (uint)children[k].Node + 1);
                foreach (var c in run)
                {
                    entryPositions.Add((i, Encoding.UTF8.GetString(c.Name), dirStream.Position));
                    Write16(dirStream, (ushort)(Ref(inodePos[c.Node]) & 0xFFFF));
                    Write16(dirStream, (ushort)(short)(c.Node - children[k].Node));
                    Write16(dirStream, (ushort)(_nodes[c.Node].Type > 7 ? _nodes[c.Node].Type - 7 : _nodes[c.Node].Type));
                    Write16(dirStream, (ushort)(c.Name.Length - 1));
                    dirStream.Write(c.Name);
                }

                k += run.Count;
            }

            dirSize[i] = (int)(dirStream.Position - dirPos[i]) + 3;
        }

        // Pass 3: inodes.
        var inodes = new MemoryStream();
        foreach (var (n, i) in _nodes.Select((n, i) => (n, i)))
        {
            Write16(inodes, (ushort)types[i]);
            Write16(inodes, (ushort)n.Mode);
            Write16(inodes, n.UidIndex);
            Write16(inodes, 0);
            Write32(inodes, ModificationTime);
            Write32(inodes, (uint)i + 1);
            switch (types[i])
            {
                case 1:
                    var r = Ref(dirPos[i]);
                    Write32(inodes, (uint)(r >> 16));
                    Write32(inodes, 2);
                    Write16(inodes, (ushort)dirSize[i]);
                    Write16(inodes, (ushort)(r & 0xFFFF));
                    Write32(inodes, 1);
                    break;
                case 2 when n.InFragment:
                    Write32(inodes, 0);
                    Write32(inodes, 0);
                    Write32(inodes, (uint)fragmentOffsets[i]);
                    Write32(inodes, (uint)n.Data.Length);
                    break;
                case 2:
                    Write32(inodes, (uint)blocksStart[i]);
                    Write32(inodes, 0xFFFFFFFF);
                    Write32(inodes, 0);
                    Write32(inodes, (uint)n.Data.Length);
                    for (var off = 0; off < n.Data.Length; off += BlockSize)
                    {
                        Write32(inodes, (uint)Math.Min(BlockSize, n.Data.Length - off) | 0x1000000);
                    }

                    break;
                case 9:
                    Write64(inodes, (ulong)blocksStart[i]);
                    Write64(inodes, (ulong)SizeOf(n));
                    Write64(inodes, (ulong)(SizeOf(n) - n.Data.Length));
                    Write32(inodes, (uint)refs[i]);
                    Write32(inodes, 0xFFFFFFFF);
                    Write32(inodes, 0);
                    Write32(inodes, 0xFFFFFFFF);
                    var count = (SizeOf(n) + BlockSize - 1) / BlockSize;
                    var dataBlocks = (n.Data.Length + BlockSize - 1) / BlockSize;
                    for (long k = 0; k < count - dataBlocks; k++)
                    {
                        Write32(inodes, 0);
                    }

                    for (var off = 0; off < n.Data.Length; off += BlockSize)
                    {
                        Write32(inodes, (uint)Math.Min(BlockSize, n.Data.Length - off) | 0x1000000);
                    }

                    break;
                case 3:
                    Write32(inodes, 1);
                    Write32(inodes, (uint)n.Target.Length);
                    inodes.Write(n.Target);
                    break;
                case 4 or 5:
                    Write32(inodes, 1);
                    Write32(inodes, n.Rdev);
                    break;
                default:
                    Write32(inodes, 1);
                    break;
            }
        }

        InodeTableStart = image.Position;
        WriteMeta(image, inodes.ToArray());
        DirectoryTableStart = image.Position;
        WriteMeta(image, dirStream.ToArray());
        var fragmentCount = fragment.Length > 0 ? 1u : 0u;
        var fragmentTableStart = image.Position;
        if (fragmentCount > 0)
        {
            var entry = new MemoryStream();
            Write64(entry, (ulong)fragmentStart);
            Write32(entry, (uint)fragment.Length | 0x1000000);
            Write32(entry, 0);
            var entryBlock = image.Position;
            FragmentEntryOffset = entryBlock + 2;
            WriteMeta(image, entry.ToArray());
            fragmentTableStart = image.Position;
            Write64(image, (ulong)entryBlock);
        }

        var idBlock = image.Position;
        var ids = new MemoryStream();
        foreach (var id in _ids)
        {
            Write32(ids, id);
        }

        WriteMeta(image, ids.ToArray());
        var idIndex = image.Position;
        Write64(image, (ulong)idBlock);
        var bytesUsed = image.Position;

        foreach (var (n, i) in _nodes.Select((n, i) => (n, i)))
        {
            InodeOffsets[i] = InodeTableStart + Abs(inodePos[i]);
        }

        foreach (var (folder, name, pos) in entryPositions)
        {
            EntryOffsets[(folder, name)] = DirectoryTableStart + Abs(pos);
        }

        foreach (var (folder, pos) in headerPositions)
        {
            HeaderOffsets[folder] = DirectoryTableStart + Abs(pos);
        }

        var sb = new byte[96];
        var s = sb.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(s, 0x73717368);
        BinaryPrimitives.WriteUInt32LittleEndian(s[4..], (uint)_nodes.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(s[8..], ModificationTime);
        BinaryPrimitives.WriteUInt32LittleEndian(s[12..], (uint)BlockSize);
        BinaryPrimitives.WriteUInt32LittleEndian(s[16..], fragmentCount);
        BinaryPrimitives.WriteUInt16LittleEndian(s[20..], 1);
        BinaryPrimitives.WriteUInt16LittleEndian(s[22..], (ushort)Math.Log2(BlockSize));
        BinaryPrimitives.WriteUInt16LittleEndian(s[24..], (ushort)(0x1 | 0x2 | 0x8 | 0x200 | (fragmentCount == 0 ? 0x10 : 0)));
        BinaryPrimitives.WriteUInt16LittleEndian(s[26..], (ushort)_ids.Count);
        BinaryPrimitives.WriteUInt16LittleEndian(s[28..], 4);
        BinaryPrimitives.WriteUInt16LittleEndian(s[30..], 0);
        BinaryPrimitives.WriteUInt64LittleEndian(s[32..], (ulong)Ref(inodePos[Root]));
        BinaryPrimitives.WriteUInt64LittleEndian(s[40..], (ulong)bytesUsed);
        BinaryPrimitives.WriteUInt64LittleEndian(s[48..], (ulong)idIndex);
        BinaryPrimitives.WriteUInt64LittleEndian(s[56..], ulong.MaxValue);
        BinaryPrimitives.WriteUInt64LittleEndian(s[64..], (ulong)InodeTableStart);
        BinaryPrimitives.WriteUInt64LittleEndian(s[72..], (ulong)DirectoryTableStart);
        BinaryPrimitives.WriteUInt64LittleEndian(s[80..], (ulong)(fragmentCount > 0 ? fragmentTableStart : idBlock));
        BinaryPrimitives.WriteUInt64LittleEndian(s[88..], ulong.MaxValue);
        var bytes = image.ToArray();
        sb.CopyTo(bytes, 0);
        return bytes;
    }

    /// <summary>A metadata reference (block offset from the table start, offset inside the block) for a
    /// position in the unsplit stream.</summary>
    private static long Ref(long streamPos) => ((streamPos / MetaBlock * (MetaBlock + 2)) << 16) | (streamPos % MetaBlock);

    private static long Abs(long streamPos) => (streamPos / MetaBlock * (MetaBlock + 2)) + 2 + (streamPos % MetaBlock);

    private static void WriteMeta(Stream image, byte[] data)
    {
        for (var off = 0; off < data.Length; off += MetaBlock)
        {
            var n = Math.Min(MetaBlock, data.Length - off);
            Write16(image, (ushort)(n | 0x8000));
            image.Write(data, off, n);
        }
    }

    private static void Write16(Stream s, ushort v)
    {
        Span<byte> b = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(b, v);
        s.Write(b);
    }

    private static void Write32(Stream s, uint v)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, v);
        s.Write(b);
    }

    private static void Write64(Stream s, ulong v)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, v);
        s.Write(b);
    }

    private sealed record Node(int Type, int Mode)
    {
        public List<(byte[] Name, int Node)> Children { get; } = [];

        public byte[] Data { get; init; } = [];

        public byte[] Target { get; init; } = [];

        public uint Rdev { get; init; }

        public long Size { get; init; }

        public bool InFragment { get; init; }

        public ushort UidIndex { get; init; }
    }

    private sealed class ByteComparer : IComparer<byte[]>
    {
        public static ByteComparer Instance { get; } = new();

        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }
}
