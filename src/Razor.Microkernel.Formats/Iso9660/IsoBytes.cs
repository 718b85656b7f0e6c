using System.Buffers.Binary;
using System.Globalization;

namespace Razor.Microkernel.Formats.Iso9660;

/// <summary>Both-endian fields and ISO 9660 dates.</summary>
internal static class IsoBytes
{
    public const int BlockSize = 2048;

    public static void WriteBoth32(Span<byte> at, uint value)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(at, value);
        BinaryPrimitives.WriteUInt32BigEndian(at[4..], value);
    }

    public static void WriteBoth16(Span<byte> at, ushort value)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(at, value);
        BinaryPrimitives.WriteUInt16BigEndian(at[2..], value);
    }

    /// <summary>Reads a both-endian u32; returns false when the two halves disagree.</summary>
    public static bool TryReadBoth32(ReadOnlySpan<byte> at, out uint value)
    {
        value = BinaryPrimitives.ReadUInt32LittleEndian(at);
        return value == BinaryPrimitives.ReadUInt32BigEndian(at[4..]);
    }

    /// <summary>7-byte recording date (directory records, Rock Ridge TF short form).</summary>
    public static void WriteShortDate(Span<byte> at, DateTimeOffset time)
    {
        var utc = time.ToUniversalTime();
        at[0] = (byte)Math.Clamp(utc.Year - 1900, 0, 255);
        at[1] = (byte)utc.Month;
        at[2] = (byte)utc.Day;
        at[3] = (byte)utc.Hour;
        at[4] = (byte)utc.Minute;
        at[5] = (byte)utc.Second;
        at[6] = 0;
    }

    public static DateTimeOffset ReadShortDate(ReadOnlySpan<byte> at)
    {
        try
        {
            if (at[1] is < 1 or > 12 || at[2] is < 1 or > 31 || at[3] > 23 || at[4] > 59 || at[5] > 59)
            {
                return DateTimeOffset.UnixEpoch;
            }

            var offset = TimeSpan.FromMinutes(15 * (sbyte)at[6]);
            if (offset < TimeSpan.FromHours(-14) || offset > TimeSpan.FromHours(14))
            {
                offset = TimeSpan.Zero;
            }

            return new DateTimeOffset(1900 + at[0], at[1], at[2], at[3], at[4], at[5], offset);
        }
        catch (ArgumentException)
        {
            return DateTimeOffset.UnixEpoch;
        }
    }

    /// <summary>17-byte volume descriptor date: <c>YYYYMMDDHHMMSScc</c> and a zone byte.</summary>
    public static void WriteLongDate(Span<byte> at, DateTimeOffset? time)
    {
        if (time is not { } t)
        {
            at[..16].Fill((byte)'0');
            at[16] = 0;
            return;
        }

        var utc = t.ToUniversalTime();
        var text = utc.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture) + "00";
        for (var i = 0; i < 16; i++)
        {
            at[i] = (byte)text[i];
        }

        at[16] = 0;
    }
}
