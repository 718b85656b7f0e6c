using System.Buffers.Binary;

namespace Razor.Microkernel.Formats.Iso9660;

/// <summary>
/// The isohybrid MBR as syslinux's <c>isohybrid</c> writes it (MBR mode): the 432 bytes of boot code of
/// <c>isohdpfx.bin</c>, the boot image's 512-byte sector number at 432 (where the code finds isolinux.bin), the
/// disk signature at 440, one active partition of type 0x17 from sector 0 over the whole image in a geometry of
/// 64 heads and 32 sectors, and the image padded to whole 1 MiB cylinders. With an EFI boot image (xorriso's
/// <c>-isohybrid-gpt-basdat</c>, as syslinux's <c>isohybrid --uefi</c>) the first partition has type 0x00 and the
/// second, type 0xEF with dummy CHS values, covers the EFI image; <see cref="IsoHybridGpt"/> adds the GPT.
/// </summary>
internal static class IsoHybrid
{
    public const int TemplateBytes = 432;

    private const int Heads = 64;
    private const int Sectors = 32;
    private const long CylinderBytes = Heads * Sectors * 512L;

    /// <summary>True when the boot image starts with an isohybrid-capable isolinux.bin (the signature the MBR jumps by, at 0x40).</summary>
    public static bool IsCapable(ReadOnlySpan<byte> bootImage)
        => bootImage.Length >= 0x44 && BinaryPrimitives.ReadUInt32LittleEndian(bootImage[0x40..]) == 0x7078C0FB;

    /// <summary>Zero bytes after the image's last block up to a whole cylinder.</summary>
    public static long Padding(long totalBlocks)
    {
        var size = totalBlocks * IsoBytes.BlockSize;
        var frac = size % CylinderBytes;
        return frac == 0 ? 0 : CylinderBytes - frac;
    }

    /// <param name="efi">The EFI image's first 512-byte sector and its sectors (rounded up), or null.</param>
    public static byte[] Mbr(ReadOnlySpan<byte> template, long bootImageBlock, uint diskId, long totalBlocks, (long Start, long Sectors)? efi = null)
    {
        var mbr = new byte[512];
        template.CopyTo(mbr);
        BinaryPrimitives.WriteUInt32LittleEndian(mbr.AsSpan(432), (uint)(bootImageBlock * 4));
        BinaryPrimitives.WriteUInt32LittleEndian(mbr.AsSpan(440), diskId);
        var cylinders = ((totalBlocks * IsoBytes.BlockSize) + Padding(totalBlocks)) / CylinderBytes;
        var cc = Math.Min(cylinders, 1024);
        var size = cylinders * Heads * Sectors;
        var p = mbr.AsSpan(446, 16);
        p[0] = 0x80;
        p[1] = 0; // begin head
        p[2] = 1; // begin sector
        p[3] = 0; // begin cylinder
        p[4] = (byte)(efi is null ? 0x17 : 0x00);
        p[5] = Heads - 1;
        p[6] = (byte)(Sectors + (((cc - 1) & 0x300) >> 2));
        p[7] = (byte)((cc - 1) & 0xFF);
        BinaryPrimitives.WriteUInt32LittleEndian(p[8..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(p[12..], (uint)size);
        if (efi is { } e)
        {
            var q = mbr.AsSpan(462, 16);
            q[0] = 0; // not active
            q[1] = 0xFE; // CHS: "beyond 8 GiB", as libisofs writes it
            q[2] = 0xFF;
            q[3] = 0xFF;
            q[4] = 0xEF; // EFI system partition
            q[5] = 0xFE;
            q[6] = 0xFF;
            q[7] = 0xFF;
            BinaryPrimitives.WriteUInt32LittleEndian(q[8..], (uint)e.Start);
            BinaryPrimitives.WriteUInt32LittleEndian(q[12..], (uint)e.Sectors);
        }

        mbr[510] = 0x55;
        mbr[511] = 0xAA;
        return mbr;
    }
}
