namespace Razor.Microkernel.Formats.Layers;

public enum LayerEntryType
{
    File,
    Directory,
    Symlink,
    HardLink,
    CharacterDevice,
    BlockDevice,
    Fifo,
}

/// <summary>Owner, group, permission bits and time of an entry. Mode holds the twelve permission bits
/// (including setuid, setgid and sticky), never the file type.</summary>
public readonly record struct EntryAttributes(int Mode, Ownership Owner, long ModificationTime)
{
    public static EntryAttributes Default(LayerEntryType type, long mtime) => new(
        type switch
        {
            LayerEntryType.Directory => 0x1ED, // 0755
            LayerEntryType.Symlink => 0x1FF, // 0777
            _ => 0x1A4, // 0644
        },
        Ownership.Root,
        mtime);
}

/// <summary>Numeric uid/gid and the names stored beside them (empty when unknown).</summary>
public readonly record struct Ownership(int Uid, int Gid, string UserName, string GroupName)
{
    public static Ownership Root { get; } = new(0, 0, "root", "root");

    public override string ToString()
        => $"{(UserName.Length > 0 ? UserName : Uid.ToString(System.Globalization.CultureInfo.InvariantCulture))}/" +
           $"{(GroupName.Length > 0 ? GroupName : Gid.ToString(System.Globalization.CultureInfo.InvariantCulture))}";
}

/// <summary>One entry of a layer as read back: its normalised path, type, attributes and, for regular
/// files, where its bytes are in the layer file.</summary>
public sealed record LayerEntry(
    string Path,
    LayerEntryType Type,
    EntryAttributes Attributes,
    long Size,
    string LinkTarget,
    int DeviceMajor,
    int DeviceMinor,
    bool Implicit,
    long DataOffset)
{
    public bool IsDirectory => Type == LayerEntryType.Directory;
}
