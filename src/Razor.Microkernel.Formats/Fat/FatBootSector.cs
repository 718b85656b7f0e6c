using System.Buffers.Binary;
using System.Text;

namespace Razor.Microkernel.Formats.Fat;

/// <summary>
/// The boot sector's BIOS parameter block and what follows from it: where the FATs, the fixed root folder
/// (FAT12/16) and the data clusters are, how many clusters there are and so which FAT type the image is. Parsed
/// with every field checked against the others and against the image's length; written for FAT12 and FAT16.
/// </summary>
internal sealed record FatGeometry
{
    public const int DirectoryEntryBytes = 32;

    public required int BytesPerSector { get; init; }

    public required int SectorsPerCluster { get; init; }

    public required int ReservedSectors { get; init; }

    public required int FatCount { get; init; }

    /// <summary>Entries of the fixed root folder (FAT12/16); 0 on FAT32.</summary>
    public required int RootEntries { get; init; }

    public required long TotalSectors { get; init; }

    public required long SectorsPerFat { get; init; }

    public required byte Media { get; init; }

    /// <summary>FAT32: the root folder's first cluster; 0 otherwise.</summary>
    public uint RootCluster { get; init; }

    /// <summary>The FAT that is read (FAT32 with mirroring off names one; else the first).</summary>
    public int ActiveFat { get; init; }

    public uint VolumeSerial { get; init; }

    public string VolumeLabel { get; init; } = "NO NAME";

    public int ClusterBytes => BytesPerSector * SectorsPerCluster;

    public long RootDirectorySectors => ((RootEntries * (long)DirectoryEntryBytes) + BytesPerSector - 1) / BytesPerSector;

    public long FirstDataSector => ReservedSectors + (FatCount * SectorsPerFat) + RootDirectorySectors;

    public long ClusterCount => (TotalSectors - FirstDataSector) / SectorsPerCluster;

    public FatType Type => ClusterCount < 4085 ? FatType.Fat12 : ClusterCount < 65525 ? FatType.Fat16 : FatType.Fat32;

    /// <summary>The highest valid cluster number (data clusters are numbered from 2).</summary>
    public uint MaxCluster => (uint)(ClusterCount + 1);

    public long FatOffset(int index) => (ReservedSectors + (index * SectorsPerFat)) * BytesPerSector;

    public long FatBytes => SectorsPerFat * BytesPerSector;

    public long RootDirectoryOffset => (ReservedSectors + (FatCount * SectorsPerFat)) * BytesPerSector;

    public long ClusterOffset(uint cluster) => (FirstDataSector * BytesPerSector) + ((cluster - 2L) * ClusterBytes);

    public long ImageBytes => TotalSectors * BytesPerSector;

    /// <summary>Reads and checks the boot sector (at least its first 512 bytes) of an image of <paramref name="imageLength"/> bytes.</summary>
    public static FatGeometry Parse(ReadOnlySpan<byte> s, long imageLength)
    {
        if (s.Length < 512)
        {
            throw new FatFormatException($"the image is {imageLength} bytes, too small for a boot sector", 0);
        }

        if (s[510] != 0x55 || s[511] != 0xAA)
        {
            throw new FatFormatException("the boot sector lacks the 0x55AA signature: not a FAT file system", 510);
        }

        int bps = BinaryPrimitives.ReadUInt16LittleEndian(s[11..]);
        if (bps is not (512 or 1024 or 2048 or 4096))
        {
            throw new FatFormatException($"{bps} bytes per sector is not a FAT sector size", 11);
        }

        int spc = s[13];
        if (spc == 0 || (spc & (spc - 1)) != 0)
        {
            throw new FatFormatException($"{spc} sectors per cluster is not a power of two", 13);
        }

        if ((long)spc * bps > 64 * 1024)
        {
            throw new FatFormatException($"clusters of {spc * bps} bytes are larger than 64 KiB", 13);
        }

        int reserved = BinaryPrimitives.ReadUInt16LittleEndian(s[14..]);
        if (reserved == 0)
        {
            throw new FatFormatException("no reserved sectors (the boot sector itself is one)", 14);
        }

        int fats = s[16];
        if (fats is < 1 or > 4)
        {
            throw new FatFormatException($"{fats} FATs", 16);
        }

        int rootEntries = BinaryPrimitives.ReadUInt16LittleEndian(s[17..]);
        long total = BinaryPrimitives.ReadUInt16LittleEndian(s[19..]);
        if (total == 0)
        {
            total = BinaryPrimitives.ReadUInt32LittleEndian(s[32..]);
        }

        var media = s[21];
        if (media is not (0xF0 or >= 0xF8))
        {
            throw new FatFormatException($"media descriptor 0x{media:X2} is not a FAT media type", 21);
        }

        long fatSize = BinaryPrimitives.ReadUInt16LittleEndian(s[22..]);
        var fat32Layout = fatSize == 0;
        if (fat32Layout)
        {
            fatSize = BinaryPrimitives.ReadUInt32LittleEndian(s[36..]);
        }

        if (total == 0 || fatSize == 0)
        {
            throw new FatFormatException("the total sector count or the FAT size is zero", total == 0 ? 19 : 22);
        }

        if (total * bps > imageLength)
        {
            throw new FatFormatException($"the file system claims {total * bps} bytes, the image has {imageLength}", 19);
        }

        var g = new FatGeometry
        {
            BytesPerSector = bps,
            SectorsPerCluster = spc,
            ReservedSectors = reserved,
            FatCount = fats,
            RootEntries = rootEntries,
            TotalSectors = total,
            SectorsPerFat = fatSize,
            Media = media,
        };
        if (g.FirstDataSector >= total || g.ClusterCount < 1)
        {
            throw new FatFormatException($"the FATs and the root folder ({g.FirstDataSector} sectors) leave no data clusters in {total} sectors", 19);
        }

        var type = g.Type;
        if ((type == FatType.Fat32) != fat32Layout)
        {
            throw new FatFormatException($"{g.ClusterCount} clusters make a {type} file system, but the boot sector is laid out for {(fat32Layout ? "FAT32" : "FAT12/16")}", 22);
        }

        var bitsPerEntry = type switch { FatType.Fat12 => 12, FatType.Fat16 => 16, _ => 32 };
        if (fatSize * bps * 8 / bitsPerEntry < g.ClusterCount + 2)
        {
            throw new FatFormatException($"a FAT of {fatSize} sectors cannot hold {g.ClusterCount} clusters", fat32Layout ? 36 : 22);
        }

        if (type == FatType.Fat32)
        {
            if (rootEntries != 0)
            {
                throw new FatFormatException("a FAT32 boot sector gives a fixed root folder", 17);
            }

            var root = BinaryPrimitives.ReadUInt32LittleEndian(s[44..]) & 0x0FFFFFFF;
            if (root < 2 || root > g.MaxCluster)
            {
                throw new FatFormatException($"the root folder's cluster {root} is out of range (2 to {g.MaxCluster})", 44);
            }

            var flags = BinaryPrimitives.ReadUInt16LittleEndian(s[40..]);
            var active = (flags & 0x80) != 0 ? flags & 0x0F : 0;
            if (active >= fats)
            {
                throw new FatFormatException($"the active FAT {active} does not exist ({fats} FATs)", 40);
            }

            return g with
            {
                RootCluster = root,
                ActiveFat = active,
                VolumeSerial = s[66] == 0x29 ? BinaryPrimitives.ReadUInt32LittleEndian(s[67..]) : 0,
                VolumeLabel = s[66] == 0x29 ? Label(s.Slice(71, 11)) : "NO NAME",
            };
        }

        if (rootEntries == 0)
        {
            throw new FatFormatException("a FAT12/16 boot sector gives no root folder entries", 17);
        }

        return g with
        {
            VolumeSerial = s[38] == 0x29 ? BinaryPrimitives.ReadUInt32LittleEndian(s[39..]) : 0,
            VolumeLabel = s[38] == 0x29 ? Label(s.Slice(43, 11)) : "NO NAME",
        };
    }

    private static string Label(ReadOnlySpan<byte> field) => Encoding.Latin1.GetString(field).TrimEnd(' ', '\0');

    /// <summary>The boot sector of a FAT12/16 image with this geometry: a jump to a halt loop (the image is not
    /// meant to boot from BIOS), the parameter block, the extended boot signature with serial and label.</summary>
    public byte[] WriteBootSector(string oemName)
    {
        if (Type == FatType.Fat32)
        {
            throw new InvalidOperationException("the writer makes FAT12/16 only");
        }

        var s = new byte[BytesPerSector];
        s[0] = 0xEB;
        s[1] = 0x3C;
        s[2] = 0x90;
        Encoding.ASCII.GetBytes(oemName.PadRight(8)[..8]).CopyTo(s, 3);
        BinaryPrimitives.WriteUInt16LittleEndian(s.AsSpan(11), (ushort)BytesPerSector);
        s[13] = (byte)SectorsPerCluster;
        BinaryPrimitives.WriteUInt16LittleEndian(s.AsSpan(14), (ushort)ReservedSectors);
        s[16] = (byte)FatCount;
        BinaryPrimitives.WriteUInt16LittleEndian(s.AsSpan(17), (ushort)RootEntries);
        if (TotalSectors <= 0xFFFF)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(s.AsSpan(19), (ushort)TotalSectors);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(s.AsSpan(32), (uint)TotalSectors);
        }

        s[21] = Media;
        BinaryPrimitives.WriteUInt16LittleEndian(s.AsSpan(22), (ushort)SectorsPerFat);
        BinaryPrimitives.WriteUInt16LittleEndian(s.AsSpan(24), 32); // sectors per track
        BinaryPrimitives.WriteUInt16LittleEndian(s.AsSpan(26), 64); // heads
        s[36] = 0x80; // drive number
        s[38] = 0x29; // extended boot signature: serial, label and type follow
        BinaryPrimitives.WriteUInt32LittleEndian(s.AsSpan(39), VolumeSerial);
        Encoding.ASCII.GetBytes(VolumeLabel.PadRight(11)).CopyTo(s, 43);
        Encoding.ASCII.GetBytes(Type == FatType.Fat12 ? "FAT12   " : "FAT16   ").CopyTo(s, 54);
        // Boot code: hlt; jmp $-1 — the image is a UEFI system partition, not a BIOS boot disk.
        s[62] = 0xF4;
        s[63] = 0xEB;
        s[64] = 0xFD;
        s[510] = 0x55;
        s[511] = 0xAA;
        return s;
    }
}
