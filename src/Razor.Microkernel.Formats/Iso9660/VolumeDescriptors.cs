using System.Buffers.Binary;
using System.Text;

namespace Razor.Microkernel.Formats.Iso9660;

/// <summary>Where a tree's path tables are and how big: what a volume descriptor points at.</summary>
internal readonly record struct PathTableLocation(int Size, long LBlock, long MBlock);

/// <summary>
/// The volume descriptors from block 16 (ECMA-119 8): the primary descriptor, the Joliet supplementary descriptor
/// (UCS-2 identifiers, escape sequence <c>%/E</c>: level 3) and the set terminator. (The El Torito boot record
/// between them is <see cref="ElTorito"/>'s.)
/// </summary>
internal static class VolumeDescriptors
{
    private const int Block = IsoBytes.BlockSize;

    public static byte[] Primary(IsoWriterOptions options, long totalBlocks, PathTableLocation tables, IsoNode root)
    {
        var v = Descriptor(1, options, totalBlocks, tables, root.Block, root.Size, Text);
        v[881] = 1;
        return v;
    }

    public static byte[] Joliet(IsoWriterOptions options, long totalBlocks, PathTableLocation tables, IsoNode root)
    {
        var v = Descriptor(2, options, totalBlocks, tables, root.JolietBlock, root.JolietSize, Ucs2Text);
        "%/E"u8.CopyTo(v.AsSpan(88));
        v[881] = 1;
        return v;
    }

    public static byte[] Terminator()
    {
        var terminator = new byte[Block];
        terminator[0] = 255;
        "CD001"u8.CopyTo(terminator.AsSpan(1));
        terminator[6] = 1;
        return terminator;
    }

    private static byte[] Descriptor(byte type, IsoWriterOptions options, long totalBlocks, PathTableLocation tables, long rootBlock, long rootSize,
        FieldText text)
    {
        var v = new byte[Block];
        v[0] = type;
        "CD001"u8.CopyTo(v.AsSpan(1));
        v[6] = 1;
        text(v.AsSpan(8, 32), options.SystemId);
        text(v.AsSpan(40, 32), options.VolumeId);
        IsoBytes.WriteBoth32(v.AsSpan(80), (uint)totalBlocks);
        IsoBytes.WriteBoth16(v.AsSpan(120), 1);
        IsoBytes.WriteBoth16(v.AsSpan(124), 1);
        IsoBytes.WriteBoth16(v.AsSpan(128), Block);
        IsoBytes.WriteBoth32(v.AsSpan(132), (uint)tables.Size);
        BinaryPrimitives.WriteUInt32LittleEndian(v.AsSpan(140), (uint)tables.LBlock);
        BinaryPrimitives.WriteUInt32BigEndian(v.AsSpan(148), (uint)tables.MBlock);
        DirectoryRecords.WriteBare(v.AsSpan(156, 34), rootBlock, rootSize, directory: true, [0], options.Timestamp);
        text(v.AsSpan(190, 128), "");
        text(v.AsSpan(318, 128), "");
        text(v.AsSpan(446, 128), "");
        text(v.AsSpan(574, 128), options.ApplicationId);
        text(v.AsSpan(702, 37), "");
        text(v.AsSpan(739, 37), "");
        text(v.AsSpan(776, 37), "");
        IsoBytes.WriteLongDate(v.AsSpan(813), options.Timestamp);
        IsoBytes.WriteLongDate(v.AsSpan(830), options.Timestamp);
        IsoBytes.WriteLongDate(v.AsSpan(847), null);
        IsoBytes.WriteLongDate(v.AsSpan(864), options.Timestamp);
        return v;
    }

    private delegate void FieldText(Span<byte> field, string value);

    private static void Text(Span<byte> field, string value)
    {
        field.Fill((byte)' ');
        Encoding.ASCII.GetBytes(value).CopyTo(field);
    }

    /// <summary>A UCS-2 big-endian field padded with UCS-2 spaces (an odd field's last byte stays 0); the value
    /// is cut to the field (the Joliet volume id to 16 characters).</summary>
    private static void Ucs2Text(Span<byte> field, string value)
    {
        field.Clear();
        for (var i = 1; i < field.Length; i += 2)
        {
            field[i] = (byte)' ';
        }

        var bytes = Encoding.BigEndianUnicode.GetBytes(value);
        bytes.AsSpan(0, Math.Min(bytes.Length, field.Length & ~1)).CopyTo(field);
    }

    /// <summary>Checks an identifier: printable ASCII of at most <paramref name="max"/> characters.</summary>
    public static byte[] CheckIdentifier(string value, string what, int max = 32)
    {
        if (value.Length > max || value.Any(c => c is < ' ' or > '~'))
        {
            throw new IsoWriteException(value, $"the {what} must be printable ASCII of at most {max} characters");
        }

        return Encoding.ASCII.GetBytes(value);
    }
}
