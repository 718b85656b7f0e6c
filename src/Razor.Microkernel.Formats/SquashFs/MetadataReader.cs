using System.Buffers;
using System.Buffers.Binary;
using Razor.Microkernel.Formats.IO;

namespace Razor.Microkernel.Formats.SquashFs;

/// <summary>A position inside a metadata table: the image offset of a metadata block's header and an
/// offset into its decoded bytes.</summary>
internal struct MetaCursor(long block, int offset)
{
    public long Block = block;
    public int Offset = offset;

    public override readonly string ToString() => $"{Block}+{Offset}";
}

/// <summary>Reads metadata blocks (u16 header: low 15 bits stored size, bit 15 stored uncompressed; at most
/// 8 KiB decoded) of one table, bounded to [start, end), with a bounded cache of decoded blocks. Records may
/// span blocks.</summary>
internal sealed class MetadataReader(PositionalSource source, Codec codec, long start, long end, string table)
{
    public const int BlockSize = 8192;
    private const int CacheCapacity = 2048;

    private readonly Dictionary<long, Block> _cache = [];
    private readonly Lock _lock = new();

    public long Start { get; } = start;

    public long End { get; } = end;

    public string Table { get; } = table;

    /// <summary>A cursor for a reference (block offset from the table start, offset in the decoded block).</summary>
    public MetaCursor At(long blockOffset, int offset, long referencedFrom)
    {
        if (blockOffset < 0 || blockOffset >= End - Start || offset < 0 || offset >= BlockSize)
        {
            throw new SquashFsFormatException($"a reference ({blockOffset}, {offset}) points outside the {Table}", referencedFrom);
        }

        return new MetaCursor(Start + blockOffset, offset);
    }

    /// <summary>The image offset of the byte a cursor points at: exact in a block stored uncompressed, the
    /// block's header in a compressed one.</summary>
    public long OffsetOf(MetaCursor cursor)
    {
        var block = Get(cursor.Block);
        return block.Stored && cursor.Offset <= block.Data.Length ? cursor.Block + 2 + cursor.Offset : cursor.Block;
    }

    public void Read(ref MetaCursor cursor, Span<byte> target)
    {
        while (target.Length > 0)
        {
            var block = Get(cursor.Block);
            if (cursor.Offset > block.Data.Length)
            {
                throw new SquashFsFormatException($"a reference points past the end of a {Table} block ({cursor.Offset} > {block.Data.Length})", cursor.Block);
            }

            var available = block.Data.Length - cursor.Offset;
            if (available == 0)
            {
                cursor = new MetaCursor(block.Next, 0);
                continue;
            }

            var n = Math.Min(available, target.Length);
            block.Data.AsSpan(cursor.Offset, n).CopyTo(target);
            target = target[n..];
            cursor.Offset += n;
        }
    }

    public void Skip(ref MetaCursor cursor, long count)
    {
        while (count > 0)
        {
            var block = Get(cursor.Block);
            if (cursor.Offset > block.Data.Length)
            {
                throw new SquashFsFormatException($"a reference points past the end of a {Table} block", cursor.Block);
            }

            var available = block.Data.Length - cursor.Offset;
            if (available == 0)
            {
                cursor = new MetaCursor(block.Next, 0);
                continue;
            }

            var n = (int)Math.Min(available, count);
            cursor.Offset += n;
            count -= n;
        }
    }

    public ushort ReadUInt16(ref MetaCursor cursor)
    {
        Span<byte> b = stackalloc byte[2];
        Read(ref cursor, b);
        return BinaryPrimitives.ReadUInt16LittleEndian(b);
    }

    public uint ReadUInt32(ref MetaCursor cursor)
    {
        Span<byte> b = stackalloc byte[4];
        Read(ref cursor, b);
        return BinaryPrimitives.ReadUInt32LittleEndian(b);
    }

    public ulong ReadUInt64(ref MetaCursor cursor)
    {
        Span<byte> b = stackalloc byte[8];
        Read(ref cursor, b);
        return BinaryPrimitives.ReadUInt64LittleEndian(b);
    }

    private Block Get(long position)
    {
        lock (_lock)
        {
            if (_cache.TryGetValue(position, out var cached))
            {
                return cached;
            }
        }

        var block = Load(position);
        lock (_lock)
        {
            if (_cache.Count >= CacheCapacity)
            {
                _cache.Clear();
            }

            _cache[position] = block;
        }

        return block;
    }

    private Block Load(long position)
    {
        if (position < Start || position > End - 2)
        {
            throw new SquashFsFormatException($"a {Table} block is referenced outside the table", position);
        }

        Span<byte> header = stackalloc byte[2];
        source.ReadExactly(position, header);
        var h = BinaryPrimitives.ReadUInt16LittleEndian(header);
        var stored = h & 0x7FFF;
        var uncompressed = (h & 0x8000) != 0;
        if (stored == 0 || stored > BlockSize)
        {
            throw new SquashFsFormatException($"a {Table} block has stored size {stored} (1 to {BlockSize} allowed)", position);
        }

        if (stored > End - position - 2)
        {
            throw new SquashFsFormatException($"a {Table} block runs past the end of its table", position);
        }

        var raw = ArrayPool<byte>.Shared.Rent(stored);
        try
        {
            source.ReadExactly(position + 2, raw.AsSpan(0, stored));
            byte[] data;
            if (uncompressed)
            {
                data = raw.AsSpan(0, stored).ToArray();
            }
            else
            {
                var decoded = ArrayPool<byte>.Shared.Rent(BlockSize);
                try
                {
                    var n = DecodeBlock(codec, raw, stored, decoded.AsSpan(0, BlockSize), position, Table);
                    data = decoded.AsSpan(0, n).ToArray();
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(decoded);
                }
            }

            if (data.Length == 0)
            {
                throw new SquashFsFormatException($"a {Table} block decodes to nothing", position);
            }

            return new Block(data, position + 2 + stored, uncompressed);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(raw);
        }
    }

    /// <summary>Runs the codec and turns whatever it throws into a format error at <paramref name="offset"/>.</summary>
    internal static int DecodeBlock(Codec codec, byte[] raw, int length, Span<byte> target, long offset, string what)
    {
        try
        {
            return codec.Decode(raw, length, target);
        }
        catch (Exception e) when (e is not (OutOfMemoryException or OperationCanceledException or SquashFsFormatException))
        {
            throw new SquashFsFormatException($"a {what} block does not decompress: {e.Message}", offset, e);
        }
    }

    private sealed record Block(byte[] Data, long Next, bool Stored);
}
