using System.Globalization;
using System.Text;
using Razor.Microkernel.Formats.Compression;
using Razor.Microkernel.Formats.IO;
using Razor.Microkernel.Formats.Tar;

namespace Razor.Microkernel.Formats.Layers;

public sealed record PackOptions
{
    /// <summary>Modification time of every entry (SOURCE_DATE_EPOCH, or a constant).</summary>
    public long ModificationTime { get; init; } = DefaultModificationTime;

    /// <summary>zlib level 0–9; 6 is what gzip uses by default.</summary>
    public int CompressionLevel { get; init; } = 6;

    /// <summary>Compression threads; 0 = one per core.</summary>
    public int Workers { get; init; }

    /// <summary>2000-01-01T00:00:00Z: the time of every entry when SOURCE_DATE_EPOCH is not set.</summary>
    public const long DefaultModificationTime = 946684800;
}

public sealed record PackResult(OverlayMerge Merge, long UncompressedBytes, long CompressedBytes);

/// <summary>
/// Writes the merged layers as one gzip-compressed tar (what <c>tar zcvf … /usr …</c> gives: names
/// relative to <c>/</c>, folders with a trailing slash) and a listing beside it. Both are written
/// atomically; every entry gets the same time; no build-machine names, times or paths are stored.
/// </summary>
public static class OverlayPacker
{
    public static PackResult PackToFile(IReadOnlyList<LayerSource> layers, string outputPath, string? listingPath, PackOptions options,
        CancellationToken cancellationToken = default)
        => PackToFile(layers, [], outputPath, listingPath, options, cancellationToken);

    public static PackResult PackToFile(IReadOnlyList<LayerSource> layers, IReadOnlyList<OverlayCopy> copies, string outputPath, string? listingPath,
        PackOptions options, CancellationToken cancellationToken = default)
    {
        var merge = OverlayMerge.Create(layers, copies, cancellationToken);
        long uncompressed = 0;
        var compressed = AtomicFile.Write(outputPath, file =>
        {
            uncompressed = WriteTar(merge, file, options, cancellationToken);
            return file.Position;
        });
        if (listingPath is not null)
        {
            AtomicFile.Write(listingPath, s =>
            {
                using var w = new StreamWriter(s, new UTF8Encoding(false), 1 << 16, leaveOpen: true);
                WriteListing(merge, options.ModificationTime, w);
            });
        }

        return new PackResult(merge, uncompressed, compressed);
    }

    /// <summary>Writes the merged image as a gzip-compressed tar to <paramref name="output"/>.</summary>
    public static long WriteTar(OverlayMerge merge, Stream output, PackOptions options, CancellationToken cancellationToken = default)
    {
        using var layers = new LayerData(merge.Layers, cancellationToken);
        using var gzip = new ParallelGzipStream(output, options.CompressionLevel, options.Workers, leaveOpen: true, cancellationToken: cancellationToken);
        using var tar = new TarStreamWriter(gzip, leaveOpen: true);
        try
        {
            foreach (var m in merge.Entries)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var e = m.Entry;
                var name = e.IsDirectory ? m.Path + "/" : m.Path;
                var data = e.Type == LayerEntryType.File && e.Size > 0 ? layers.Open(m.LayerIndex, e.DataOffset, e.Size) : null;
                tar.WriteEntry(new TarHeader(name, e.Type, e.Attributes.Mode, e.Attributes.Owner, options.ModificationTime,
                    e.Size, e.LinkTarget, e.DeviceMajor, e.DeviceMinor), data);
            }

            tar.Finish();
            return tar.Position;
        }
        catch
        {
            gzip.Abandon(); // Ctrl+C or a failure: do not compress the rest of what is buffered
            throw;
        }
    }

    /// <summary>One line per entry in <c>tar -tv</c> style, then bytes and entries per layer, largest first.</summary>
    public static string Listing(OverlayMerge merge, long modificationTime)
    {
        using var w = new StringWriter(CultureInfo.InvariantCulture);
        WriteListing(merge, modificationTime, w);
        return w.ToString();
    }

    /// <summary>Writes the listing line by line (an overlay of many entries is not built in memory first).</summary>
    public static void WriteListing(OverlayMerge merge, long modificationTime, TextWriter sb)
    {
        var date = DateTimeOffset.FromUnixTimeSeconds(modificationTime).UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);
        foreach (var m in merge.Entries)
        {
            var e = m.Entry;
            var size = e.Type is LayerEntryType.CharacterDevice or LayerEntryType.BlockDevice
                ? $"{e.DeviceMajor},{e.DeviceMinor}"
                : e.Size.ToString(CultureInfo.InvariantCulture);
            sb.Write(ModeString(e.Type, e.Attributes.Mode));
            sb.Write(' ');
            sb.Write(e.Attributes.Owner.ToString().PadRight(14));
            sb.Write(' ');
            sb.Write(size.PadLeft(10));
            sb.Write(' ');
            sb.Write(date);
            sb.Write(' ');
            sb.Write(e.IsDirectory ? m.Path + "/" : m.Path);
            if (e.Type == LayerEntryType.Symlink)
            {
                sb.Write(" -> ");
                sb.Write(e.LinkTarget);
            }
            else if (e.Type == LayerEntryType.HardLink)
            {
                sb.Write(" link to ");
                sb.Write(e.LinkTarget);
            }

            sb.Write('\n');
        }

        sb.Write("\n# bytes per layer (content of regular files in the image), largest first\n");
        foreach (var s in merge.Summaries.OrderByDescending(s => s.Bytes).ThenBy(s => s.Name, StringComparer.Ordinal))
        {
            sb.Write(string.Create(CultureInfo.InvariantCulture, $"# {s.Bytes,14} bytes {s.Entries,7} entries {s.Dropped,6} dropped  {s.Name}\n"));
        }

        sb.Write(string.Create(CultureInfo.InvariantCulture, $"# {merge.Summaries.Sum(s => s.Bytes),14} bytes {merge.Entries.Count,7} entries in all\n"));
    }

    public static string ModeString(LayerEntryType type, int mode)
    {
        var c = new char[10];
        c[0] = type switch
        {
            LayerEntryType.Directory => 'd',
            LayerEntryType.Symlink => 'l',
            LayerEntryType.HardLink => 'h',
            LayerEntryType.CharacterDevice => 'c',
            LayerEntryType.BlockDevice => 'b',
            LayerEntryType.Fifo => 'p',
            _ => '-',
        };
        const string rwx = "rwxrwxrwx";
        for (var i = 0; i < 9; i++)
        {
            c[i + 1] = (mode & (1 << (8 - i))) != 0 ? rwx[i] : '-';
        }

        Special(3, 0x800, 's');
        Special(6, 0x400, 's');
        Special(9, 0x200, 't');
        return new string(c);

        void Special(int at, int bit, char lower)
        {
            if ((mode & bit) != 0)
            {
                c[at] = c[at] == 'x' ? lower : char.ToUpperInvariant(lower);
            }
        }
    }
}
