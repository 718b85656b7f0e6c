using Microsoft.Build.Framework;
using Razor.Microkernel.Formats;
using Razor.Microkernel.Formats.Layers;

namespace Razor.Microkernel.Tasks;

/// <summary>
/// For a build that had nothing to pack (the overlay was up to date): the same one-line summary PackOverlay logs
/// ("NAME -> overlay (N entries, … of content from L layers, … compressed)"), read back from the overlay's listing, so
/// every build ends by saying what is in the output.
/// </summary>
public sealed class ReportOverlay : RmkTask
{
    [Required]
    public string OutputFile { get; set; } = string.Empty;

    [Required]
    public string ListingFile { get; set; } = string.Empty;

    protected override void ExecuteCore()
    {
        OverlayListingSummary summary;
        long compressed;
        try
        {
            summary = OverlayListingSummary.Read(ListingFile);
            compressed = new FileInfo(OutputFile).Length;
        }
        catch (Exception e) when (e is ListingFormatException or IOException or UnauthorizedAccessException)
        {
            LogFileDiagnostic(true, ListingFile, "ListingUnreadable", ListingFile, e.Message);
            return;
        }

        Log.LogMessageFromResources(MessageImportance.High, "PackSummary", ProjectName, OutputFile, summary.Entries, Bytes(summary.ContentBytes),
            summary.Layers, Bytes(compressed));
    }
}
