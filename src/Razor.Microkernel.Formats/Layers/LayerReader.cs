using System.Formats.Tar;

namespace Razor.Microkernel.Formats.Layers;

/// <summary>Reads a layer file back: its entries in written order with normalised paths and, for regular
/// files, the offset of their bytes in the layer (for copying without another pass).</summary>
public static class LayerReader
{
    /// <summary>Reads every entry of a seekable layer stream.</summary>
    public static IEnumerable<LayerEntry> ReadEntries(Stream layer)
    {
        if (!layer.CanSeek)
        {
            throw new ArgumentException("a layer is read from a seekable stream", nameof(layer));
        }

        using var reader = new TarReader(layer, leaveOpen: true);
        while (true)
        {
            TarEntry? entry;
            long headerAt = layer.Position;
            try
            {
                entry = reader.GetNextEntry(copyData: false);
            }
            catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException or ArgumentException)
            {
                throw new ArchiveFormatException($"layer is corrupt: {e.Message}", headerAt, e);
            }

            if (entry is null)
            {
                yield break;
            }

            yield return Convert(entry, headerAt);
        }
    }

    /// <summary>Reads every entry of the layer file at <paramref name="path"/>.</summary>
    public static List<LayerEntry> ReadAll(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return ReadEntries(stream).ToList();
    }

    internal static LayerEntry Convert(TarEntry entry, long offset)
    {
        var type = entry.EntryType switch
        {
            TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile => LayerEntryType.File,
            TarEntryType.Directory => LayerEntryType.Directory,
            TarEntryType.SymbolicLink => LayerEntryType.Symlink,
            TarEntryType.HardLink => LayerEntryType.HardLink,
            TarEntryType.CharacterDevice => LayerEntryType.CharacterDevice,
            TarEntryType.BlockDevice => LayerEntryType.BlockDevice,
            TarEntryType.Fifo => LayerEntryType.Fifo,
            _ => throw new ArchiveFormatException($"layer entry '{entry.Name}' has unsupported type {entry.EntryType}", offset),
        };

        string path;
        string link = entry.LinkName ?? string.Empty;
        try
        {
            path = ImagePath.Normalize(entry.Name);
            if (type == LayerEntryType.HardLink)
            {
                link = ImagePath.Normalize(link);
            }
        }
        catch (InvalidImagePathException e)
        {
            throw new ArchiveFormatException($"layer entry has an invalid path: {e.Message}", offset, e);
        }

        var (uname, gname, major, minor, isImplicit) = entry is PosixTarEntry p
            ? (p.UserName ?? string.Empty, p.GroupName ?? string.Empty, p.DeviceMajor, p.DeviceMinor,
                p is PaxTarEntry pax && pax.ExtendedAttributes.TryGetValue(LayerWriter.ImplicitAttribute, out var v) && v == "1")
            : (string.Empty, string.Empty, 0, 0, false);
        var attributes = new EntryAttributes((int)entry.Mode & 0xFFF, new Ownership(entry.Uid, entry.Gid, uname, gname),
            entry.ModificationTime.ToUnixTimeSeconds());
        return new LayerEntry(path, type, attributes, type == LayerEntryType.File ? entry.Length : 0, link, major, minor,
            isImplicit, type == LayerEntryType.File ? entry.DataOffset : -1);
    }
}
