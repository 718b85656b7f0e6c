namespace Razor.Microkernel.Formats.SquashFs;

public enum SquashFsEntryType
{
    Directory = 1,
    File = 2,
    Symlink = 3,
    BlockDevice = 4,
    CharacterDevice = 5,
    Fifo = 6,
    Socket = 7,
}

/// <summary>One entry of an image. <see cref="Path"/> is relative to the image root, '/'-separated, never
/// empty (except for <see cref="SquashFsImage.Root"/>). Entries that share <see cref="InodeReference"/> are
/// hard links to one inode. <see cref="Size"/> is the content length of a file, the target length of a
/// symlink, the listing size of a directory (as unsquashfs shows it) and 0 otherwise.</summary>
public sealed record SquashFsEntry(
    string Path,
    SquashFsEntryType Type,
    int Mode,
    int Uid,
    int Gid,
    long ModificationTime,
    long Size,
    string SymlinkTarget,
    int DeviceMajor,
    int DeviceMinor,
    uint InodeNumber,
    long InodeReference)
{
    internal Inode Inode { get; init; } = null!;
}

/// <summary>A parsed inode. Type is the basic type (1–7) whether or not the inode is extended.</summary>
internal sealed class Inode
{
    public long Reference { get; init; }

    /// <summary>Image offset of the metadata block that holds the inode (for error messages).</summary>
    public long Offset { get; init; }

    public int Type { get; init; }

    public bool Extended { get; init; }

    public int Mode { get; init; }

    public int Uid { get; init; }

    public int Gid { get; init; }

    public uint ModificationTime { get; init; }

    public uint Number { get; init; }

    public uint DirStartBlock { get; init; }

    public int DirOffset { get; init; }

    public long DirFileSize { get; init; }

    public long BlocksStart { get; init; }

    public long FileSize { get; init; }

    public uint Fragment { get; init; } = NoFragment;

    public uint FragmentOffset { get; init; }

    public MetaCursor BlockList { get; init; }

    public string SymlinkTarget { get; init; } = string.Empty;

    public uint Rdev { get; init; }

    public const uint NoFragment = 0xFFFF_FFFF;

    public bool HasFragment => Fragment != NoFragment;
}
