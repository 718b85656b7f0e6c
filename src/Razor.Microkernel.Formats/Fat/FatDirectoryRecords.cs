using System.Buffers.Binary;
using System.Text;

namespace Razor.Microkernel.Formats.Fat;

/// <summary>
/// The 32-byte directory records: the 8.3 entry (name, attributes, case flags, times, first cluster, size) and the
/// VFAT long-name entries before it (13 UTF-16 characters each, numbered down to 1, bound to their 8.3 entry by a
/// checksum of its name); 8.3 aliases for long names; DOS dates and times.
/// </summary>
internal static class FatDirectoryRecords
{
    public const int Size = FatGeometry.DirectoryEntryBytes;
    public const byte AttrReadOnly = 0x01;
    public const byte AttrHidden = 0x02;
    public const byte AttrSystem = 0x04;
    public const byte AttrVolumeId = 0x08;
    public const byte AttrDirectory = 0x10;
    public const byte AttrArchive = 0x20;
    public const byte AttrLongName = 0x0F;
    public const int LongNameCharsPerEntry = 13;
    public const int MaxLongName = 255;

    /// <summary>Characters an 8.3 name may hold besides A–Z and 0–9.</summary>
    private const string ShortSpecials = "!#$%&'()-@^_`{}~";

    /// <summary>Characters a long name may not hold (besides control characters).</summary>
    private const string LongForbidden = "\"*/:<>?\\|";

    /// <summary>The checksum of an 11-byte 8.3 name that each of its long-name entries carries.</summary>
    public static byte Checksum(ReadOnlySpan<byte> shortName)
    {
        byte sum = 0;
        for (var i = 0; i < 11; i++)
        {
            sum = (byte)(((sum & 1) << 7) + (sum >> 1) + shortName[i]);
        }

        return sum;
    }

    // ---- reading -------------------------------------------------------------------------------------

    /// <summary>The name an 8.3 record stands for: base and extension without padding, joined by a dot, each
    /// lowercased when the record's case flags (NT byte 12: 0x08 base, 0x10 extension) say so.</summary>
    public static string ShortNameText(ReadOnlySpan<byte> record, bool applyCaseFlags)
    {
        Span<byte> raw = stackalloc byte[11];
        record[..11].CopyTo(raw);
        if (raw[0] == 0x05)
        {
            raw[0] = 0xE5; // a name starting with 0xE5 is stored as 0x05
        }

        var flags = applyCaseFlags ? record[12] : (byte)0;
        var name = Encoding.Latin1.GetString(raw[..8]).TrimEnd(' ');
        var ext = Encoding.Latin1.GetString(raw[8..]).TrimEnd(' ');
        if ((flags & 0x08) != 0)
        {
            name = name.ToLowerInvariant();
        }

        if ((flags & 0x10) != 0)
        {
            ext = ext.ToLowerInvariant();
        }

        return ext.Length == 0 ? name : name + "." + ext;
    }

    /// <summary>Appends the characters of one long-name entry (up to its NUL) to <paramref name="chars"/>.</summary>
    public static void LongNameChars(ReadOnlySpan<byte> record, Span<char> chars)
    {
        var i = 0;
        foreach (var (at, count) in new[] { (1, 5), (14, 6), (28, 2) })
        {
            for (var k = 0; k < count; k++)
            {
                chars[i++] = (char)BinaryPrimitives.ReadUInt16LittleEndian(record[(at + (2 * k))..]);
            }
        }
    }

    /// <summary>Why <paramref name="name"/> (read from an image) cannot be a path component, or null when it can.</summary>
    public static string? NameProblem(string name)
    {
        if (name.Length == 0)
        {
            return "an empty name";
        }

        if (name is "." or "..")
        {
            return $"the name '{name}'";
        }

        foreach (var c in name)
        {
            if (c < ' ' || c is '/' or '\\')
            {
                return $"the name '{Printable(name)}' holds '{Printable(c.ToString())}'";
            }
        }

        return null;
    }

    public static string Printable(string s)
    {
        var b = new StringBuilder(s.Length);
        foreach (var c in s)
        {
            b.Append(c < ' ' ? $"\\x{(int)c:x2}" : c.ToString());
        }

        return b.ToString();
    }

    public static DateTime DosTime(ushort date, ushort time)
    {
        int year = 1980 + (date >> 9), month = (date >> 5) & 0x0F, day = date & 0x1F;
        int hour = time >> 11, minute = (time >> 5) & 0x3F, second = (time & 0x1F) * 2;
        if (month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 59)
        {
            return new DateTime(1980, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        }

        return new DateTime(year, month, day, hour, minute, second, DateTimeKind.Utc);
    }

    // ---- writing -------------------------------------------------------------------------------------

    /// <summary>True when <paramref name="name"/> is already an upper-case 8.3 name (it needs no long name).</summary>
    public static bool IsShortName(string name)
    {
        var dot = name.IndexOf('.', StringComparison.Ordinal);
        var (b, e) = dot < 0 ? (name, "") : (name[..dot], name[(dot + 1)..]);
        return b.Length is >= 1 and <= 8 && e.Length <= 3 && (dot < 0 || e.Length > 0) && !e.Contains('.', StringComparison.Ordinal)
            && b.All(IsShortChar) && e.All(IsShortChar);
    }

    private static bool IsShortChar(char c) => c is (>= 'A' and <= 'Z') or (>= '0' and <= '9') || ShortSpecials.Contains(c, StringComparison.Ordinal);

    /// <summary>Why <paramref name="name"/> cannot be written as a long name, or null.</summary>
    public static string? LongNameProblem(string name)
    {
        if (NameProblem(name) is { } p)
        {
            return p;
        }

        if (name.Length > MaxLongName)
        {
            return $"a name of {name.Length} characters (at most {MaxLongName})";
        }

        if (name.EndsWith('.') || name.EndsWith(' ') || name.StartsWith(' '))
        {
            return $"the name '{name}' starts with a space or ends with a dot or a space";
        }

        foreach (var c in name)
        {
            if (LongForbidden.Contains(c, StringComparison.Ordinal) || char.IsSurrogate(c))
            {
                return $"the name '{name}' holds '{c}', which FAT names cannot";
            }
        }

        return null;
    }

    /// <summary>The 11 bytes of the 8.3 alias of a long name, unique among <paramref name="used"/> (which it is added
    /// to): the name upper-cased with other characters as <c>_</c>, cut to 8.3; when that loses anything, a
    /// <c>~N</c> tail, as Windows makes them.</summary>
    public static byte[] ShortAlias(string name, HashSet<string> used)
    {
        var upper = name.ToUpperInvariant();
        var dot = upper.LastIndexOf('.');
        var (stem, ext) = dot > 0 ? (upper[..dot], upper[(dot + 1)..]) : (upper, "");
        var lossy = false;
        string Clean(string s, int max)
        {
            var b = new StringBuilder();
            foreach (var c in s)
            {
                if (c is ' ' or '.')
                {
                    lossy = true;
                    continue;
                }

                b.Append(IsShortChar(c) ? c : '_');
                lossy |= !IsShortChar(c);
            }

            if (b.Length > max)
            {
                lossy = true;
                b.Length = max;
            }

            return b.ToString();
        }

        var s = Clean(stem, 8);
        var e = Clean(ext, 3);
        if (s.Length == 0)
        {
            s = "_";
            lossy = true;
        }

        var candidate = s.PadRight(8) + e.PadRight(3);
        if (lossy || used.Contains(candidate))
        {
            for (var n = 1; ; n++)
            {
                var tail = "~" + n.ToString(System.Globalization.CultureInfo.InvariantCulture);
                candidate = (s[..Math.Min(s.Length, 8 - tail.Length)] + tail).PadRight(8) + e.PadRight(3);
                if (!used.Contains(candidate))
                {
                    break;
                }
            }
        }

        used.Add(candidate);
        var bytes = Encoding.ASCII.GetBytes(candidate);
        if (bytes[0] == 0xE5)
        {
            bytes[0] = 0x05;
        }

        return bytes;
    }

    /// <summary>The records of one entry: its long-name entries (last first, as they are stored) when
    /// <paramref name="longName"/> is given, then the 8.3 entry.</summary>
    public static void Write(Span<byte> at, ReadOnlySpan<byte> shortName, string? longName, byte attributes, uint firstCluster, uint size,
        ushort date, ushort time)
    {
        var pos = 0;
        if (longName is not null)
        {
            var count = (longName.Length + LongNameCharsPerEntry - 1) / LongNameCharsPerEntry;
            var sum = Checksum(shortName);
            for (var n = count; n >= 1; n--)
            {
                var r = at.Slice(pos, Size);
                r.Clear();
                r[0] = (byte)(n | (n == count ? 0x40 : 0));
                r[11] = AttrLongName;
                r[13] = sum;
                var i = (n - 1) * LongNameCharsPerEntry;
                foreach (var (off, chars) in new[] { (1, 5), (14, 6), (28, 2) })
                {
                    for (var k = 0; k < chars; k++, i++)
                    {
                        var c = i < longName.Length ? longName[i] : i == longName.Length ? '\0' : '\uFFFF';
                        BinaryPrimitives.WriteUInt16LittleEndian(r[(off + (2 * k))..], c);
                    }
                }

                pos += Size;
            }
        }

        var e = at.Slice(pos, Size);
        e.Clear();
        shortName.CopyTo(e);
        e[11] = attributes;
        BinaryPrimitives.WriteUInt16LittleEndian(e[14..], time); // created
        BinaryPrimitives.WriteUInt16LittleEndian(e[16..], date);
        BinaryPrimitives.WriteUInt16LittleEndian(e[18..], date); // accessed
        BinaryPrimitives.WriteUInt16LittleEndian(e[20..], (ushort)(firstCluster >> 16));
        BinaryPrimitives.WriteUInt16LittleEndian(e[22..], time); // written
        BinaryPrimitives.WriteUInt16LittleEndian(e[24..], date);
        BinaryPrimitives.WriteUInt16LittleEndian(e[26..], (ushort)firstCluster);
        BinaryPrimitives.WriteUInt32LittleEndian(e[28..], size);
    }

    /// <summary>Records a name takes: one 8.3 entry, plus its long-name entries.</summary>
    public static int RecordCount(string? longName) => 1 + (longName is null ? 0 : (longName.Length + LongNameCharsPerEntry - 1) / LongNameCharsPerEntry);

    public static (ushort Date, ushort Time) ToDos(DateTimeOffset t)
    {
        var u = t.UtcDateTime;
        if (u.Year < 1980)
        {
            u = new DateTime(1980, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        }
        else if (u.Year > 2107)
        {
            u = new DateTime(2107, 12, 31, 23, 59, 58, DateTimeKind.Utc);
        }

        return ((ushort)(((u.Year - 1980) << 9) | (u.Month << 5) | u.Day), (ushort)((u.Hour << 11) | (u.Minute << 5) | (u.Second / 2)));
    }
}
