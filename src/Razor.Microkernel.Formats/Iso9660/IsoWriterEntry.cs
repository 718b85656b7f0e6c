namespace Razor.Microkernel.Formats.Iso9660;

/// <summary>One entry to write. Use the factories. <see cref="Mode"/> holds the twelve permission bits;
/// regular files supply <see cref="OpenContent"/>, which must yield exactly <see cref="Size"/> bytes and is
/// called once, when the file's bytes are written.</summary>
public sealed record IsoWriterEntry(
    string Path,
    IsoEntryType Type,
    int Mode,
    int Uid,
    int Gid,
    long Size,
    string LinkTarget,
    Func<Stream>? OpenContent)
{
    public static IsoWriterEntry Directory(string path, int mode = 0x1ED, int uid = 0, int gid = 0)
        => new(path, IsoEntryType.Directory, mode, uid, gid, 0, "", null);

    public static IsoWriterEntry File(string path, long size, Func<Stream> openContent, int mode = 0x1A4, int uid = 0, int gid = 0)
        => new(path, IsoEntryType.File, mode, uid, gid, size, "", openContent);

    public static IsoWriterEntry Symlink(string path, string target, int uid = 0, int gid = 0)
        => new(path, IsoEntryType.Symlink, 0x1FF, uid, gid, 0, target, null);

    /// <summary>An entry copied from an image being read (e.g. a release ISO): same path, attributes and, for
    /// files, content streamed from <paramref name="reader"/> when written. Devices, fifos and sockets cannot be copied.</summary>
    public static IsoWriterEntry From(IsoReader reader, IsoEntry entry)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(entry);
        return entry.Type switch
        {
            IsoEntryType.Directory => Directory(entry.Path, entry.Mode, entry.Uid, entry.Gid),
            IsoEntryType.File => File(entry.Path, entry.Size, () => reader.OpenRead(entry), entry.Mode, entry.Uid, entry.Gid),
            IsoEntryType.Symlink => Symlink(entry.Path, entry.LinkTarget, entry.Uid, entry.Gid),
            _ => throw new IsoWriteException(entry.Path, $"{entry.Type} entries cannot be copied into an image"),
        };
    }
}
