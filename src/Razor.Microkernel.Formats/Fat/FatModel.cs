namespace Razor.Microkernel.Formats.Fat;

/// <summary>The FAT variant, decided (as the specification says) by the number of data clusters alone.</summary>
public enum FatType
{
    /// <summary>Fewer than 4085 clusters; 12-bit FAT entries.</summary>
    Fat12,

    /// <summary>4085 to 65524 clusters; 16-bit FAT entries.</summary>
    Fat16,

    /// <summary>65525 clusters or more; 28-bit FAT entries, the root folder in a cluster chain.</summary>
    Fat32,
}

/// <summary>A FAT image is malformed, truncated or hostile (a loop in a cluster chain, a cluster out of range, a
/// name with <c>/</c> or <c>..</c>, …). <see cref="MicrokernelFormatException.Offset"/> is the byte offset in the
/// image where the problem was found.</summary>
public sealed class FatFormatException(string reason, long offset)
    : MicrokernelFormatException($"{reason} (at byte {offset})", offset)
{
    public string Reason { get; } = reason;
}

/// <summary>An entry handed to <see cref="FatWriter"/> cannot be written: a bad or duplicate path, a name FAT
/// cannot hold, content of another length than announced, more than the image can hold.</summary>
public sealed class FatWriteException(string path, string reason)
    : MicrokernelFormatException($"FAT entry '{path}': {reason}")
{
    public string EntryPath { get; } = path;

    public string Reason { get; } = reason;
}

/// <summary>One file or folder of a FAT image as read. <see cref="Path"/> is relative to the root,
/// <c>/</c>-separated, with the long (VFAT) name where there is one, else the 8.3 name (lowercased where the
/// entry's case flags say so). <see cref="ShortName"/> is the 8.3 name as stored (<c>GRUB.CFG</c>).
/// <see cref="RecordOffset"/> is the byte offset of the entry's 32-byte directory record.</summary>
public sealed record FatEntry(
    string Path,
    string ShortName,
    bool IsDirectory,
    long Size,
    int Attributes,
    uint FirstCluster,
    DateTime ModificationTime,
    long RecordOffset)
{
    public string Name => Path[(Path.LastIndexOf('/') + 1)..];
}

/// <summary>Caps on what one image may make the reader produce. Exceeding one raises <see cref="FormatLimitException"/>.</summary>
public sealed record FatLimits
{
    public static FatLimits Default { get; } = new();

    /// <summary>Entries in the image (files and folders, the root excluded).</summary>
    public int MaxEntries { get; init; } = 100_000;

    /// <summary>Path depth.</summary>
    public int MaxDepth { get; init; } = 64;

    /// <summary>Bytes of one folder (its cluster chain, or the fixed FAT12/16 root).</summary>
    public long MaxDirectoryBytes { get; init; } = 4L << 20;
}
