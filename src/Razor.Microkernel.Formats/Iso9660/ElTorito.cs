using System.Buffers.Binary;
using Razor.Microkernel.Formats.IO;

namespace Razor.Microkernel.Formats.Iso9660;

/// <summary>
/// El Torito (1.0): the boot record volume descriptor that points at the boot catalog, the catalog itself (a
/// validation entry with its checksum, then the default entry: no emulation, load segment 0x7C0, the number of
/// 512-byte sectors the BIOS loads and the boot image's block) and the boot information table
/// (<c>-boot-info-table</c>) patched into the boot image. Both written and read here.
/// </summary>
internal static class ElTorito
{
    private const int Block = IsoBytes.BlockSize;

    public static byte[] BootRecord(long catalogBlock)
    {
        var v = new byte[Block];
        v[0] = 0;
        "CD001"u8.CopyTo(v.AsSpan(1));
        v[6] = 1;
        "EL TORITO SPECIFICATION"u8.CopyTo(v.AsSpan(7));
        BinaryPrimitives.WriteUInt32LittleEndian(v.AsSpan(71), (uint)catalogBlock);
        return v;
    }

    /// <summary>True when a volume descriptor is the El Torito boot record; <paramref name="catalogBlock"/> is then where the catalog is.</summary>
    public static bool IsBootRecord(ReadOnlySpan<byte> descriptor, out long catalogBlock)
    {
        catalogBlock = -1;
        if (descriptor[0] != 0 || !descriptor.Slice(7, 23).SequenceEqual("EL TORITO SPECIFICATION"u8))
        {
            return false;
        }

        catalogBlock = BinaryPrimitives.ReadUInt32LittleEndian(descriptor[71..]);
        return true;
    }

    public static byte[] Catalog(int loadSectors, long bootImageBlock)
    {
        var c = new byte[Block];
        c[0] = 1; // validation entry, platform 0 (x86)
        c[30] = 0x55;
        c[31] = 0xAA;
        ushort sum = 0;
        for (var i = 0; i < 32; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16LittleEndian(c.AsSpan(i));
        }

        BinaryPrimitives.WriteUInt16LittleEndian(c.AsSpan(28), (ushort)(0x10000 - sum));
        c[32] = 0x88; // bootable
        c[33] = 0; // no emulation
        BinaryPrimitives.WriteUInt16LittleEndian(c.AsSpan(34), 0); // load segment: default 0x7C0
        c[36] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(c.AsSpan(38), (ushort)loadSectors);
        BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(40), (uint)bootImageBlock);
        return c;
    }

    /// <summary>The boot information table (<c>-boot-info-table</c>) at byte 8 of the boot image: the primary
    /// descriptor's block, the image's block and length, and the checksum of its bytes from 64 on.</summary>
    public static void PatchBootInfoTable(byte[] image, long block)
    {
        uint sum = 0;
        Span<byte> word = stackalloc byte[4];
        for (var i = 64; i < image.Length; i += 4)
        {
            word.Clear();
            image.AsSpan(i, Math.Min(4, image.Length - i)).CopyTo(word);
            sum += BinaryPrimitives.ReadUInt32LittleEndian(word);
        }

        image.AsSpan(8, 56).Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(8), 16);
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(12), (uint)block);
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(16), (uint)image.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(20), sum);
    }

    /// <summary>Reads the catalog at block <paramref name="lba"/>: its validation entry and default entry.</summary>
    public static IsoBootEntry ReadCatalog(PositionalSource source, long lba)
    {
        var at = lba * Block;
        if (lba >= source.Length / Block)
        {
            throw new IsoFormatException($"the boot catalog block {lba} is beyond the end of the image", 16L * Block);
        }

        Span<byte> cat = stackalloc byte[64];
        source.ReadExactly(at, cat);
        if (cat[0] != 1 || cat[30] != 0x55 || cat[31] != 0xAA)
        {
            throw new IsoFormatException("the boot catalog's validation entry is malformed", at);
        }

        ushort sum = 0;
        for (var i = 0; i < 32; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16LittleEndian(cat[i..]);
        }

        if (sum != 0)
        {
            throw new IsoFormatException("the boot catalog's validation entry checksum is wrong", at + 28);
        }

        var entry = cat[32..];
        if (entry[0] is not (0x88 or 0x00))
        {
            throw new IsoFormatException($"the boot catalog's default entry has boot indicator 0x{entry[0]:X2}", at + 32);
        }

        var loadBlock = BinaryPrimitives.ReadUInt32LittleEndian(entry[8..]);
        if (loadBlock >= source.Length / Block)
        {
            throw new IsoFormatException($"the boot image block {loadBlock} is beyond the end of the image", at + 40);
        }

        return new IsoBootEntry(lba, cat[1], entry[0] == 0x88, entry[1], BinaryPrimitives.ReadUInt16LittleEndian(entry[2..]),
            BinaryPrimitives.ReadUInt16LittleEndian(entry[6..]), loadBlock);
    }
}
