using System.Buffers;
using System.Text;
using Razor.Microkernel.Formats.IO;

namespace Razor.Microkernel.Formats.Iso9660;

/// <summary>A directory record as read (ECMA-119 9.1): its extent, flags, identifier bytes and system use area.</summary>
internal sealed record RawRecord(
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

/// <summary>
/// Reads directory records and directory extents: each record's length, both-endian halves, interleaving and
/// identifier length checked and its extent kept inside the image; a directory's records must start with "." and
/// "..", never cross a block, and the extent is capped by <see cref="IsoLimits.MaxDirectoryBytes"/>.
/// </summary>
internal sealed class DirectoryRecordReader(PositionalSource source, IsoLimits limits)
{
    private const int Block = IsoBytes.BlockSize;

    public RawRecord Parse(ReadOnlySpan<byte> rec, long offset)
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
        var imageBlocks = source.Length / Block;
        if (size > 0 && (start >= imageBlocks || blocks > imageBlocks - start))
        {
            throw new IsoFormatException($"extent at block {start} of {size} bytes lies beyond the end of the image ({imageBlocks} blocks)", offset + 2);
        }

        var suStart = 33 + nameLen + ((nameLen & 1) == 0 ? 1 : 0);
        var su = suStart < len ? rec[suStart..].ToArray() : [];
        return new RawRecord(offset, start, size, (flags & 0x02) != 0, (flags & 0x80) != 0, (flags & 0x04) != 0, rec.Slice(33, nameLen).ToArray(), su,
            offset + suStart, IsoBytes.ReadShortDate(rec[18..]));
    }

    public IEnumerable<RawRecord> Read(RawRecord dir, bool includeDots)
    {
        if (dir.Length > limits.MaxDirectoryBytes)
        {
            throw new FormatLimitException("directory bytes", dir.Length, limits.MaxDirectoryBytes);
        }

        var sector = ArrayPool<byte>.Shared.Rent(Block);
        try
        {
            var blocks = (dir.Length + Block - 1) / Block;
            var index = 0;
            for (var b = 0L; b < blocks; b++)
            {
                var at = (dir.Block + b) * Block;
                source.ReadExactly(at, sector.AsSpan(0, Block));
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

                    var record = Parse(sector.AsSpan(pos, len), at + pos);
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

    /// <summary>The name an identifier stands for: Joliet UCS-2 or Latin-1, without a file's version (<c>;1</c>) and trailing dot.</summary>
    public static string DecodeIdentifier(RawRecord r, IsoNameSource names)
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
}
