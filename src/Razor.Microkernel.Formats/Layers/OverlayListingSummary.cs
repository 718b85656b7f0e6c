using System.Globalization;
using System.Text;

namespace Razor.Microkernel.Formats.Layers;

/// <summary>
/// The totals at the end of an overlay listing (<see cref="OverlayPacker.WriteListing"/>): one line per layer after
/// the "# bytes per layer" header, then "# N bytes M entries in all". A build that had nothing to do reads them back,
/// so it reports the same summary as the build that wrote the overlay.
/// </summary>
public sealed record OverlayListingSummary(int Entries, long ContentBytes, int Layers)
{
    private const string Header = "# bytes per layer";
    private const string LayerMarker = " dropped  ";
    private const string TotalSuffix = " entries in all";

    /// <summary>Reads the totals of the listing at <paramref name="path"/>.</summary>
    /// <exception cref="ListingFormatException">The listing has no totals the packer would have written.</exception>
    public static OverlayListingSummary Read(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 16, FileOptions.SequentialScan);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return Read(reader);
    }

    public static OverlayListingSummary Read(TextReader reader)
    {
        var inTotals = false;
        var layers = 0;
        var lineNumber = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (!inTotals)
            {
                inTotals = line.StartsWith(Header, StringComparison.Ordinal);
                continue;
            }

            if (line.Contains(LayerMarker, StringComparison.Ordinal))
            {
                layers++;
                continue;
            }

            // "#   <bytes> bytes <entries> entries in all"
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (line.EndsWith(TotalSuffix, StringComparison.Ordinal) && fields.Length == 7 && fields[0] == "#" && fields[2] == "bytes"
                && long.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var bytes)
                && int.TryParse(fields[3], NumberStyles.None, CultureInfo.InvariantCulture, out var entries))
            {
                return new OverlayListingSummary(entries, bytes, layers);
            }

            throw new ListingFormatException($"line {lineNumber} is neither a layer's line nor the totals: '{line}'", lineNumber);
        }

        throw new ListingFormatException(inTotals ? "the totals line is missing" : $"there is no '{Header}' section", lineNumber);
    }
}

/// <summary>An overlay listing that does not end with the totals the packer writes (edited or cut short).</summary>
public sealed class ListingFormatException(string reason, int line)
    : MicrokernelFormatException(reason)
{
    public string Reason { get; } = reason;

    /// <summary>1-based line where the problem was found (the last line read when something is missing).</summary>
    public int Line { get; } = line;
}
