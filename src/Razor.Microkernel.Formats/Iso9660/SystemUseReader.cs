using System.Buffers.Binary;
using System.Text;
using Razor.Microkernel.Formats.IO;

namespace Razor.Microkernel.Formats.Iso9660;

/// <summary>What the system use entries of one directory record say (null where they say nothing).</summary>
internal sealed class SystemUseFields
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

/// <summary>
/// Reads the system use area of a directory record (SUSP 1.12 with Rock Ridge: CE, ST, ER, RR, PX, PN, NM, SL, TF,
/// CL, RE), following continuation areas up to <see cref="IsoLimits.MaxContinuations"/>; every entry is checked
/// against its area and its minimum length, names and symlink targets are capped.
/// </summary>
internal sealed class SystemUseReader(PositionalSource source, IsoLimits limits)
{
    private const int Block = IsoBytes.BlockSize;

    /// <summary>Bytes to skip at the start of every system use area but the root's "." (the SP entry's LEN_SKP).</summary>
    public int Skip { get; set; }

    public SystemUseFields Parse(RawRecord record, IsoNameSource names)
    {
        var result = new SystemUseFields();
        StringBuilder? name = null;
        var nameDone = false;
        var symlink = new List<string>();
        var symlinkRoot = false;
        var symlinkContinues = false;
        var symlinkDone = false;
        var targetBytes = 0;
        var area = record.SystemUse.AsMemory();
        var areaOffset = record.SystemUseOffset;
        var skip = record.Identifier is [0] && record.SystemUse.Length >= 7 && record.SystemUse[0] == (byte)'S' ? 0 : Skip;
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

                        if (ceOffset >= Block || ceLength > Block - ceOffset || ceBlock >= source.Length / Block)
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
                        if (name.Length > limits.MaxSymlinkLength)
                        {
                            throw new FormatLimitException("name length", name.Length, limits.MaxSymlinkLength);
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

            if (++continuations > limits.MaxContinuations)
            {
                throw new FormatLimitException("SUSP continuation areas of one record", continuations, limits.MaxContinuations);
            }

            var buffer = new byte[n.Length];
            areaOffset = (n.Block * Block) + n.Offset;
            source.ReadExactly(areaOffset, buffer);
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
            if (total > limits.MaxSymlinkLength)
            {
                throw new FormatLimitException("symlink target length", total, limits.MaxSymlinkLength);
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

}
