using System.Buffers.Binary;

namespace Razor.Microkernel.Formats.SquashFs;

/// <summary>The compressors SquashFS 4.0 knows, by their on-disk id.</summary>
public enum SquashFsCompression
{
    Zlib = 1,
    Lzma = 2,
    Lzo = 3,
    Xz = 4,
    Lz4 = 5,
    Zstd = 6,
}

/// <summary>The 96-byte SquashFS 4.0 superblock, validated.</summary>
internal sealed record Superblock
{
    public const int Size = 96;
    public const uint Magic = 0x73717368;
    public const ulong Absent = ulong.MaxValue;

    public const ushort FlagInodesUncompressed = 0x1;
    public const ushort FlagDataUncompressed = 0x2;
    public const ushort FlagFragmentsUncompressed = 0x8;
    public const ushort FlagNoFragments = 0x10;
    public const ushort FlagAlwaysFragments = 0x20;
    public const ushort FlagCompressorOptions = 0x400;

    public uint InodeCount { get; init; }
    public uint ModificationTime { get; init; }
    public int BlockSize { get; init; }
    public uint FragmentCount { get; init; }
    public SquashFsCompression Compression { get; init; }
    public ushort Flags { get; init; }
    public ushort IdCount { get; init; }
    public long RootInode { get; init; }
    public long BytesUsed { get; init; }
    public long IdTableStart { get; init; }
    public ulong XattrTableStart { get; init; }
    public long InodeTableStart { get; init; }
    public long DirectoryTableStart { get; init; }
    public long FragmentTableStart { get; init; }
    public ulong ExportTableStart { get; init; }

    public bool HasCompressorOptions => (Flags & FlagCompressorOptions) != 0;

    public static Superblock Parse(ReadOnlySpan<byte> b, long imageLength)
    {
        if (b.Length < Size)
        {
            throw new SquashFsFormatException("the image is shorter than a SquashFS superblock", 0);
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(b) != Magic)
        {
            throw new SquashFsFormatException("not a SquashFS image (bad magic)", 0);
        }

        var major = BinaryPrimitives.ReadUInt16LittleEndian(b[28..]);
        var minor = BinaryPrimitives.ReadUInt16LittleEndian(b[30..]);
        if (major != 4 || minor != 0)
        {
            throw new SquashFsFormatException($"SquashFS version {major}.{minor} is not supported (only 4.0)", 28);
        }

        var blockSize = BinaryPrimitives.ReadUInt32LittleEndian(b[12..]);
        var blockLog = BinaryPrimitives.ReadUInt16LittleEndian(b[22..]);
        if (blockSize < 4096 || blockSize > (1u << 20) || (blockSize & (blockSize - 1)) != 0 || (1u << Math.Min((int)blockLog, 31)) != blockSize)
        {
            throw new SquashFsFormatException($"block size {blockSize} (log {blockLog}) is not a power of two from 4 KiB to 1 MiB", 12);
        }

        var compressor = BinaryPrimitives.ReadUInt16LittleEndian(b[20..]);
        if (compressor is < 1 or > 6)
        {
            throw new SquashFsFormatException($"unknown compressor id {compressor}", 20);
        }

        var sb = new Superblock
        {
            InodeCount = BinaryPrimitives.ReadUInt32LittleEndian(b[4..]),
            ModificationTime = BinaryPrimitives.ReadUInt32LittleEndian(b[8..]),
            BlockSize = (int)blockSize,
            FragmentCount = BinaryPrimitives.ReadUInt32LittleEndian(b[16..]),
            Compression = (SquashFsCompression)compressor,
            Flags = BinaryPrimitives.ReadUInt16LittleEndian(b[24..]),
            IdCount = BinaryPrimitives.ReadUInt16LittleEndian(b[26..]),
            RootInode = (long)(BinaryPrimitives.ReadUInt64LittleEndian(b[32..]) & 0xFFFF_FFFF_FFFF),
            BytesUsed = Position(b, 40, imageLength, "bytes_used"),
            IdTableStart = Position(b, 48, imageLength, "id table start"),
            XattrTableStart = BinaryPrimitives.ReadUInt64LittleEndian(b[56..]),
            InodeTableStart = Position(b, 64, imageLength, "inode table start"),
            DirectoryTableStart = Position(b, 72, imageLength, "directory table start"),
            FragmentTableStart = Position(b, 80, imageLength, "fragment table start"),
            ExportTableStart = BinaryPrimitives.ReadUInt64LittleEndian(b[88..]),
        };

        if (sb.BytesUsed > imageLength)
        {
            throw new SquashFsFormatException($"the image is truncated: the superblock says {sb.BytesUsed} bytes, the file has {imageLength}", 40);
        }

        if (sb.IdCount == 0)
        {
            throw new SquashFsFormatException("the id table is empty", 26);
        }

        if (sb.InodeTableStart < Size || sb.DirectoryTableStart < sb.InodeTableStart
            || sb.IdTableStart < sb.DirectoryTableStart
            || sb.IdTableStart >= sb.BytesUsed || sb.DirectoryTableStart >= sb.BytesUsed)
        {
            throw new SquashFsFormatException("the table positions in the superblock are out of order or beyond the image", 48);
        }

        if (sb.XattrTableStart != Absent && (sb.XattrTableStart >= (ulong)sb.BytesUsed || sb.XattrTableStart < (ulong)sb.DirectoryTableStart))
        {
            throw new SquashFsFormatException("the xattr table position is beyond the image", 56);
        }

        if (sb.ExportTableStart != Absent && (sb.ExportTableStart >= (ulong)sb.BytesUsed || sb.ExportTableStart < (ulong)sb.DirectoryTableStart))
        {
            throw new SquashFsFormatException("the export table position is beyond the image", 88);
        }

        return sb;
    }

    private static long Position(ReadOnlySpan<byte> b, int at, long imageLength, string what)
    {
        var v = BinaryPrimitives.ReadUInt64LittleEndian(b[at..]);
        if (v > (ulong)imageLength)
        {
            throw new SquashFsFormatException($"{what} {v} is beyond the end of the image ({imageLength} bytes)", at);
        }

        return (long)v;
    }
}
