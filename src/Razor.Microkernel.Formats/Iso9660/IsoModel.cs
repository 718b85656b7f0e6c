namespace Razor.Microkernel.Formats.Iso9660;

/// <summary>An ISO 9660 image is malformed, truncated, hostile or uses something this reader does not support
/// (interleaving, block sizes other than 2048). <see cref="MicrokernelFormatException.Offset"/> is the byte
/// offset in the image where the problem was found.</summary>
public sealed class IsoFormatException(string reason, long offset, Exception? inner = null)
    : MicrokernelFormatException($"{reason} (at byte {offset})", offset, inner)
{
    public string Reason { get; } = reason;
}

/// <summary>An entry handed to <see cref="IsoWriter"/> cannot be written: a bad or duplicate path, a name
/// or value the format cannot hold, content of another length than announced.</summary>
public sealed class IsoWriteException(string path, string reason)
    : MicrokernelFormatException($"ISO entry '{path}': {reason}")
{
    public string EntryPath { get; } = path;

    public string Reason { get; } = reason;
}

public enum IsoEntryType
{
    File,
    Directory,
    Symlink,
    CharacterDevice,
    BlockDevice,
    Fifo,
    Socket,
}

/// <summary>Where the names of <see cref="IsoReader.Entries"/> come from.</summary>
public enum IsoNameSource
{
    /// <summary>Plain ISO 9660 identifiers, version (<c>;1</c>) and a trailing dot removed.</summary>
    Iso9660,

    /// <summary>The Joliet (UCS-2) tree of the supplementary volume descriptor.</summary>
    Joliet,

    /// <summary>Rock Ridge NM names on the primary tree, with PX modes and owners, SL symlinks, PN devices.</summary>
    RockRidge,
}

/// <summary>A run of bytes of a file: <see cref="Block"/> is the first 2048-byte block, <see cref="Length"/> the bytes.</summary>
public readonly record struct IsoExtent(long Block, long Length);

/// <summary>One entry of the image as read. <see cref="Path"/> is relative to the root, <c>/</c>-separated.
/// <see cref="Mode"/> is the twelve permission bits (0555 for folders and 0444 for files without Rock Ridge).
/// <see cref="RecordOffset"/> is the byte offset of the entry's directory record.</summary>
public sealed record IsoEntry(
    string Path,
    IsoEntryType Type,
    int Mode,
    int Uid,
    int Gid,
    int LinkCount,
    long Size,
    string LinkTarget,
    int DeviceMajor,
    int DeviceMinor,
    DateTimeOffset ModificationTime,
    IReadOnlyList<IsoExtent> Extents,
    long RecordOffset)
{
    public bool IsDirectory => Type == IsoEntryType.Directory;

    public string Name => Path[(Path.LastIndexOf('/') + 1)..];
}

/// <summary>An El Torito boot entry: the default (initial) entry or a section entry. <see cref="PlatformId"/> is 0
/// for x86 BIOS and 0xEF for UEFI; <see cref="SectorCount"/> is in 512-byte sectors (an EFI entry says 0 for an image
/// of more than 65535 sectors: the whole image); <see cref="LoadBlock"/> is the 2048-byte block the boot image starts at.</summary>
public sealed record IsoBootEntry(
    long CatalogBlock,
    int PlatformId,
    bool Bootable,
    int MediaType,
    int LoadSegment,
    int SectorCount,
    long LoadBlock)
{
    public bool IsEfi => PlatformId == 0xEF;
}

/// <summary>Caps on what one image may make the reader produce. Exceeding one raises <see cref="FormatLimitException"/>.</summary>
public sealed record IsoLimits
{
    public static IsoLimits Default { get; } = new();

    /// <summary>Entries in the image, the root excluded.</summary>
    public int MaxEntries { get; init; } = 1_000_000;

    /// <summary>Path depth (components of the longest path).</summary>
    public int MaxDepth { get; init; } = 256;

    /// <summary>Bytes of one directory's extent.</summary>
    public long MaxDirectoryBytes { get; init; } = 16L << 20;

    /// <summary>Bytes of a symlink target or of a name.</summary>
    public int MaxSymlinkLength { get; init; } = 4096;

    /// <summary>SUSP continuation areas followed for one directory record.</summary>
    public int MaxContinuations { get; init; } = 64;

    /// <summary>Extents of one (multi-extent) file.</summary>
    public int MaxExtentsPerFile { get; init; } = 1024;
}
