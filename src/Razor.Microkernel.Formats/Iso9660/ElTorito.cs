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

    /// <summary>The platform id of UEFI boot images (El Torito section headers).</summary>
    public const byte EfiPlatform = 0xEF;

    /// <summary>The catalog: the validation entry (platform x86), the default entry for the BIOS boot image and, when
    /// <paramref name="efi"/> is given, a final section header for platform 0xEF with one no-emulation entry for
    /// the EFI boot image, as <c>xorriso -as mkisofs … -eltorito-alt-boot -e IMAGE -no-emul-boot</c> writes it.</summary>
    public static byte[] Catalog(int loadSectors, long bootImageBlock, (long Block, long Bytes)? efi = null)
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
        if (efi is { } e)
        {
            c[64] = 0x91; // final section header
            c[65] = EfiPlatform;
            BinaryPrimitives.WriteUInt16LittleEndian(c.AsSpan(66), 1);
            c[96] = 0x88; // bootable, no emulation, load segment 0, system type 0
            BinaryPrimitives.WriteUInt16LittleEndian(c.AsSpan(102), EfiLoadSectors(e.Bytes));
            BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(104), (uint)e.Block);
        }

        return c;
    }

    /// <summary>The sector count of an EFI entry: the image's whole 2048-byte blocks in 512-byte sectors, or 0 ("the
    /// whole image", which UEFI firmware reads from the FAT itself) when that does not fit 16 bits.</summary>
    public static ushort EfiLoadSectors(long bytes)
    {
        var sectors = (bytes + Block - 1) / Block * 4;
        return sectors > 0xFFFF ? (ushort)0 : (ushort)Math.Max(1, sectors);
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

    /// <summary>Reads the catalog at block <paramref name="lba"/>: its validation entry, the default entry and the
    /// entries of every section that follows in the catalog's first block (sections headed 0x90, the last 0x91;
    /// extension records 0x44 skipped). Each entry's platform is its section's.</summary>
    public static List<IsoBootEntry> ReadCatalog(PositionalSource source, long lba)
    {
        var at = lba * Block;
        if (lba >= source.Length / Block)
        {
            throw new IsoFormatException($"the boot catalog block {lba} is beyond the end of the image", 16L * Block);
        }

        var cat = new byte[Block];
        source.ReadExactly(at, cat);
        if (cat[0] != 1 || cat[30] != 0x55 || cat[31] != 0xAA)
        {
            throw new IsoFormatException("the boot catalog's validation entry is malformed", at);
        }

        ushort sum = 0;
        for (var i = 0; i < 32; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16LittleEndian(cat.AsSpan(i));
        }

        if (sum != 0)
        {
            throw new IsoFormatException("the boot catalog's validation entry checksum is wrong", at + 28);
        }

        var entries = new List<IsoBootEntry> { ReadEntry(source, cat, 32, cat[1], lba, at, "default entry") };
        var pos = 64;
        while (pos + 32 <= Block && cat[pos] is 0x90 or 0x91)
        {
            var final = cat[pos] == 0x91;
            var platform = cat[pos + 1];
            int count = BinaryPrimitives.ReadUInt16LittleEndian(cat.AsSpan(pos + 2));
            pos += 32;
            for (var i = 0; i < count; i++)
            {
                if (pos + 32 > Block)
                {
                    throw new IsoFormatException($"a section of {count} entries runs past the catalog's block", at + pos);
                }

                entries.Add(ReadEntry(source, cat, pos, platform, lba, at, "section entry"));
                pos += 32;
                while (pos + 32 <= Block && cat[pos] == 0x44)
                {
                    pos += 32; // section entry extension
                }
            }

            if (final)
            {
                break;
            }
        }

        return entries;
    }

    private static IsoBootEntry ReadEntry(PositionalSource source, byte[] cat, int pos, byte platform, long lba, long at, string what)
    {
        var entry = cat.AsSpan(pos, 32);
        if (entry[0] is not (0x88 or 0x00))
        {
            throw new IsoFormatException($"the boot catalog's {what} has boot indicator 0x{entry[0]:X2}", at + pos);
        }

        var loadBlock = BinaryPrimitives.ReadUInt32LittleEndian(entry[8..]);
        if (loadBlock >= source.Length / Block)
        {
            throw new IsoFormatException($"the boot image block {loadBlock} is beyond the end of the image", at + pos + 8);
        }

        return new IsoBootEntry(lba, platform, entry[0] == 0x88, entry[1], BinaryPrimitives.ReadUInt16LittleEndian(entry[2..]),
            BinaryPrimitives.ReadUInt16LittleEndian(entry[6..]), loadBlock);
    }
}
