using System.Globalization;
using Microsoft.Build.Framework;
using Razor.Microkernel.Formats;
using Razor.Microkernel.Formats.Layers;
using Razor.Microkernel.Formats.Report;

namespace Razor.Microkernel.Tasks;

/// <summary>
/// Merges the layers (in item order, first writer wins) into the gzip-compressed overlay and writes its
/// listing beside it. Each layer item carries LayerName metadata for messages.
/// </summary>
public sealed class PackOverlay : RmkTask
{
    [Required]
    public ITaskItem[] Layers { get; set; } = [];

    [Required]
    public string OutputFile { get; set; } = string.Empty;

    public string? ListingFile { get; set; }

    /// <summary>The HTML report beside the overlay (treemap of bytes, largest files, packages, settings).</summary>
    public string? ReportFile { get; set; }

    /// <summary>Resolved extensions (Name, Sha256, Size metadata) for the report.</summary>
    public ITaskItem[] Extensions { get; set; } = [];

    /// <summary>Gem and RubyGems files for the report.</summary>
    public ITaskItem[] Gems { get; set; } = [];

    /// <summary>Archives (OverlayArchive, McollectiveArchive) for the report.</summary>
    public ITaskItem[] Downloads { get; set; } = [];

    /// <summary>Build properties shown in the report, as Name=Value items.</summary>
    public ITaskItem[] ReportProperties { get; set; } = [];

    /// <summary>OverlayCopy items: Include = image path of a file, Destination = image path; Mode, Owner, Group.</summary>
    public ITaskItem[] Copies { get; set; } = [];

    /// <summary>Where the summary line is kept, for builds that have nothing to pack to print it again.</summary>
    public string? SummaryFile { get; set; }

    /// <summary>0–9; empty means 6.</summary>
    public string? CompressionLevel { get; set; }

    /// <summary>Seconds since the epoch for every entry; empty means the SDK's constant.</summary>
    public string? SourceDateEpoch { get; set; }

    [Output]
    public int EntryCount { get; private set; }

    [Output]
    public long CompressedBytes { get; private set; }

    protected override void ExecuteCore()
    {
        if (!PropertyChecks.TryCompressionLevel(CompressionLevel, out var level))
        {
            LogPropertyError("OverlayCompressionLevel", "InvalidCompressionLevel", CompressionLevel);
            return;
        }

        if (!TryGetModificationTime(SourceDateEpoch, out var mtime) || OverlayCopies(Copies) is not { } copies)
        {
            return;
        }

        var layers = LayerSources(Layers);
        PackResult result;
        try
        {
            result = OverlayPacker.PackToFile(layers, copies, OutputFile, ListingFile,
                new PackOptions { CompressionLevel = level, ModificationTime = mtime }, CancellationToken);
        }
        catch (OverlayCopySourceException e)
        {
            LogItemError(Copies.FirstOrDefault(c => c.ItemSpec.Trim().Trim('/') == e.SourcePath), "OverlayCopy", "OverlayCopySource", "/" + e.SourcePath, e.Reason);
            return;
        }
        catch (ArchiveFormatException e)
        {
            Log.LogErrorWithCodeFromResources("LayerCorrupt", Layers.FirstOrDefault()?.ItemSpec ?? "", e.Message);
            return;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.LogErrorWithCodeFromResources("OverlayWriteFailed", OutputFile, e.Message);
            return;
        }

        foreach (var c in result.Merge.Conflicts)
        {
            if (c.Kind == ConflictKind.SamePath)
            {
                LogFileDiagnostic(true, null, "MergeSamePath", "/" + c.Path, c.WinnerLayer, LayerWriter.Describe(c.WinnerType), c.LoserLayer, LayerWriter.Describe(c.LoserType));
            }
            else
            {
                LogFileDiagnostic(true, null, "MergeBelowNonDirectory", c.DroppedEntries, c.LoserLayer, "/" + c.Path, c.WinnerLayer, LayerWriter.Describe(c.WinnerType));
            }
        }

        if (!string.IsNullOrEmpty(ReportFile) && !TryIo("OverlayWriteFailed", ReportFile, () => WriteReport(result)))
        {
            return;
        }

        EntryCount = result.Merge.Entries.Count;
        CompressedBytes = result.CompressedBytes;
        // -v:n: every layer that went in, with its file; then the one line MSBuild's loggers know as the project's
        // output ("NAME -> path"), which the terminal logger shows after "succeeded".
        foreach (var (s, item) in result.Merge.Summaries.Zip(Layers))
        {
            var dropped = s.Dropped > 0 ? Log.FormatResourceString("PackLayerDropped", s.Dropped) : string.Empty;
            Log.LogMessageFromResources(MessageImportance.Normal, "PackLayer", s.Name, s.Entries, Bytes(s.Bytes), dropped, Relative(item.GetMetadata("FullPath")));
        }

        var summary = Log.FormatResourceString("PackSummary", ProjectName, OutputFile, EntryCount, Bytes(result.Merge.Summaries.Sum(s => s.Bytes)),
            layers.Count, Bytes(CompressedBytes));
        Log.LogMessage(MessageImportance.High, summary);
        if (!string.IsNullOrEmpty(SummaryFile))
        {
            TryIo("OverlayWriteFailed", SummaryFile, () => AtomicFile.WriteAllText(SummaryFile, summary + "\n"));
        }
    }

    private void WriteReport(PackResult result)
    {
        static string Source(ITaskItem i) => i.GetMetadata("SourceUrl") is { Length: > 0 } url ? url : Path.GetFileName(i.ItemSpec);
        static string Name(ITaskItem i) => i.GetMetadata("RmkName") is { Length: > 0 } n ? n : Path.GetFileName(i.ItemSpec);
        var info = new OverlayReportInfo
        {
            OverlayFileName = Path.GetFileName(OutputFile),
            ProjectName = ProjectName,
            CompressedBytes = result.CompressedBytes,
            Extensions = Extensions.Select(e => new ReportPackage(e.GetMetadata("Name"), string.Empty, e.GetMetadata("Sha256"),
                long.TryParse(e.GetMetadata("Size"), NumberStyles.None, CultureInfo.InvariantCulture, out var size) ? size : 0)).ToList(),
            Gems = Gems.Select(g => g.ItemSpec.EndsWith(".gem", StringComparison.OrdinalIgnoreCase) || g.GetMetadata("RmkName").EndsWith(".gem", StringComparison.OrdinalIgnoreCase)
                ? ReportPackage.ForGem(g.GetMetadata("FullPath"), Source(g))
                : ReportPackage.ForFile(g.GetMetadata("FullPath"), Name(g), string.Empty, Source(g))).ToList(),
            Downloads = Downloads.Select(d => ReportPackage.ForFile(d.GetMetadata("FullPath"), Name(d), string.Empty, Source(d))).ToList(),
            Properties = ReportProperties.Select(p => new KeyValuePair<string, string>(p.ItemSpec, p.GetMetadata("Value"))).ToList(),
            Settings = OverlayReport.ReadSettings(result.Merge),
        };
        OverlayReport.WriteToFile(ReportFile!, result.Merge, info);
    }
}
