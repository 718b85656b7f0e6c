using System.Buffers.Binary;
using System.IO.Hashing;
using System.Security.Cryptography;
using System.Text;

namespace Razor.Microkernel.Formats.Iso9660;

/// <summary>
/// The GPT of an isohybrid image with an EFI boot image, laid out as libisofs writes it for
/// <c>xorriso -as mkisofs … -isohybrid-mbr … -e IMAGE -no-emul-boot -isohybrid-gpt-basdat</c>: the header at
/// sector 1, 248 entries in sectors 2–63 (so the first usable sector is 64), and a backup (entries, then the
/// header in the last sector) in the image's last 16 blocks, after the padding that makes the whole image whole
/// 1 MiB cylinders. Two entries, both of type Basic Data with flags "required" and "read-only": "ISOHybrid" from
/// sector 0 to the backup area (it overlaps the GPT itself, as xorriso's does), and "ISOHybrid1" over the EFI image's
/// whole blocks. GUIDs are version-4 shaped but derived from the image's layout, so the image is reproducible; like
/// libisofs the partition GUIDs are the disk GUID with byte 9 changed by a counter. The volume space size in the
/// volume descriptors covers the padding and the backup, as xorriso's does.
/// </summary>
internal static class IsoHybridGpt
{
    private const int SectorBytes = 512;
    private const int EntriesStartSector = 2;
    private const int EntryCount = (64 - EntriesStartSector) * 4; // 248
    private const int EntryBytes = 128;
    private const int EntrySectors = EntryCount * EntryBytes / SectorBytes; // 62

    /// <summary>Blocks at the end of the image for the backup GPT: the entries and a header sector, in whole blocks.</summary>
    public const int BackupBlocks = (((EntryCount / 4) + 1) * SectorBytes + IsoBytes.BlockSize - 1) / IsoBytes.BlockSize; // 16

    private const long CylinderBlocks = 64 * 32 * 512 / IsoBytes.BlockSize; // 512 blocks: 1 MiB

    private static readonly Guid BasicData = new("EBD0A0A2-B9E5-4433-87C0-68B6B72699C7");
    private const ulong Flags = (1UL << 60) | 1; // read-only, required

    /// <summary>Blocks of the whole image: the ISO's, the backup GPT, padded between them to whole cylinders.</summary>
    public static long ImageBlocks(long contentBlocks) => (contentBlocks + BackupBlocks + CylinderBlocks - 1) / CylinderBlocks * CylinderBlocks;

    /// <summary>Sectors 1 to 63 (header and entries) and the backup area (<see cref="BackupBlocks"/> blocks).</summary>
    public static (byte[] Primary, byte[] Backup) Build(long imageBlocks, long efiBlock, long efiBytes, ReadOnlySpan<byte> seed)
    {
        var baseGuid = SHA256.HashData(seed)[..16];
        baseGuid[7] = (byte)((baseGuid[7] & 0x0F) | 0x40); // version 4 (the on-disk GUID is little-endian in its first three fields)
        baseGuid[8] = (byte)((baseGuid[8] & 0x3F) | 0x80); // RFC 4122 variant
        byte[] GuidNumber(int counter)
        {
            var g = (byte[])baseGuid.Clone();
            g[9] ^= (byte)counter;
            return g;
        }

        var totalSectors = imageBlocks * 4;
        var backupHeader = totalSectors - 1;
        var backupEntries = backupHeader - EntrySectors;
        var lastUsable = backupEntries - 1;
        var backupStart = (imageBlocks - BackupBlocks) * 4;
        var entries = new byte[EntryCount * EntryBytes];
        WriteEntry(entries.AsSpan(0, EntryBytes), GuidNumber(1), 0, backupStart - 1, "ISOHybrid");
        WriteEntry(entries.AsSpan(EntryBytes, EntryBytes), GuidNumber(2), efiBlock * 4, (efiBlock * 4) + (efiBytes / IsoBytes.BlockSize * 4) - 1, "ISOHybrid1");
        var entriesCrc = Crc32.HashToUInt32(entries);

        var primary = new byte[(64 - 1) * SectorBytes];
        var header = Header(1, backupHeader, 64, lastUsable, GuidNumber(0), EntriesStartSector, entriesCrc);
        header.CopyTo(primary, 0);
        entries.CopyTo(primary, (EntriesStartSector - 1) * SectorBytes);

        var backup = new byte[BackupBlocks * IsoBytes.BlockSize];
        entries.CopyTo(backup, (int)((backupEntries - backupStart) * SectorBytes));
        Header(backupHeader, 1, 64, lastUsable, GuidNumber(0), backupEntries, entriesCrc).CopyTo(backup, backup.Length - SectorBytes);
        return (primary, backup);
    }

    private static byte[] Header(long current, long other, long firstUsable, long lastUsable, byte[] diskGuid, long entriesLba, uint entriesCrc)
    {
        var h = new byte[SectorBytes];
        "EFI PART"u8.CopyTo(h);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(8), 0x00010000);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(12), 92);
        BinaryPrimitives.WriteUInt64LittleEndian(h.AsSpan(24), (ulong)current);
        BinaryPrimitives.WriteUInt64LittleEndian(h.AsSpan(32), (ulong)other);
        BinaryPrimitives.WriteUInt64LittleEndian(h.AsSpan(40), (ulong)firstUsable);
        BinaryPrimitives.WriteUInt64LittleEndian(h.AsSpan(48), (ulong)lastUsable);
        diskGuid.CopyTo(h, 56);
        BinaryPrimitives.WriteUInt64LittleEndian(h.AsSpan(72), (ulong)entriesLba);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(80), EntryCount);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(84), EntryBytes);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(88), entriesCrc);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(16), Crc32.HashToUInt32(h.AsSpan(0, 92)));
        return h;
    }

    private static void WriteEntry(Span<byte> e, byte[] guid, long first, long last, string name)
    {
        BasicData.TryWriteBytes(e);
        guid.CopyTo(e[16..]);
        BinaryPrimitives.WriteUInt64LittleEndian(e[32..], (ulong)first);
        BinaryPrimitives.WriteUInt64LittleEndian(e[40..], (ulong)last);
        BinaryPrimitives.WriteUInt64LittleEndian(e[48..], Flags);
        Encoding.Unicode.GetBytes(name).CopyTo(e[56..]);
    }
}
