using System.Globalization;
using Microsoft.Build.Framework;
using Razor.Microkernel.Formats;
using Razor.Microkernel.Formats.Layers;

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

    /// <summary>OverlayCopy items: Include = image path of a file, Destination = image path; Mode, Owner, Group.</summary>
    public ITaskItem[] Copies { get; set; } = [];

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
        var level = 6;
        if (!string.IsNullOrWhiteSpace(CompressionLevel)
            && (!int.TryParse(CompressionLevel.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out level) || level > 9))
        {
            Log.LogErrorWithCodeFromResources("InvalidCompressionLevel", CompressionLevel);
            return;
        }

        var mtime = PackOptions.DefaultModificationTime;
        if (!string.IsNullOrWhiteSpace(SourceDateEpoch)
            && (!long.TryParse(SourceDateEpoch.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out mtime) || mtime > 0x1FFFFFFFFL))
        {
            Log.LogErrorWithCodeFromResources("InvalidSourceDateEpoch", SourceDateEpoch);
            return;
        }

        var copies = new List<OverlayCopy>();
        foreach (var c in Copies)
        {
            try
            {
                var mode = c.GetMetadata("Mode");
                var owner = c.GetMetadata("Owner");
                var group = c.GetMetadata("Group");
                copies.Add(new OverlayCopy(ImagePath.Normalize(c.ItemSpec), ImagePath.Normalize(c.GetMetadata("Destination")),
                    string.IsNullOrWhiteSpace(mode) ? null : Owners.ParseMode(mode),
                    string.IsNullOrWhiteSpace(owner) && string.IsNullOrWhiteSpace(group) ? null : Owners.Parse(owner, group),
                    string.Equals(c.GetMetadata("Optional"), "true", StringComparison.OrdinalIgnoreCase)));
            }
            catch (InvalidImagePathException e)
            {
                Log.LogErrorWithCodeFromResources("InvalidImagePath", "OverlayCopy", c.ItemSpec, e.ImagePathText, e.Reason);
            }
            catch (InvalidAttributeException e)
            {
                Log.LogErrorWithCodeFromResources("InvalidAttribute", "OverlayCopy", c.ItemSpec, e.Attribute, e.Value, e.Reason);
            }
        }

        if (Log.HasLoggedErrors)
        {
            return;
        }

        var layers = Layers.Select(l => new LayerSource(
            string.IsNullOrEmpty(l.GetMetadata("LayerName")) ? Path.GetFileNameWithoutExtension(l.ItemSpec) : l.GetMetadata("LayerName"),
            l.GetMetadata("FullPath"))).ToList();
        PackResult result;
        try
        {
            result = OverlayPacker.PackToFile(layers, copies, OutputFile, ListingFile,
                new PackOptions { CompressionLevel = level, ModificationTime = mtime }, CancellationToken);
        }
        catch (OverlayCopySourceException e)
        {
            Log.LogErrorWithCodeFromResources("OverlayCopySource", "/" + e.SourcePath, e.Reason);
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
                Log.LogWarningWithCodeFromResources("MergeSamePath", "/" + c.Path, c.WinnerLayer, LayerWriter.Describe(c.WinnerType), c.LoserLayer, LayerWriter.Describe(c.LoserType));
            }
            else
            {
                Log.LogWarningWithCodeFromResources("MergeBelowNonDirectory", c.DroppedEntries, c.LoserLayer, "/" + c.Path, c.WinnerLayer, LayerWriter.Describe(c.WinnerType));
            }
        }

        EntryCount = result.Merge.Entries.Count;
        CompressedBytes = result.CompressedBytes;
        Log.LogMessageFromResources(MessageImportance.High, "PackSummary", EntryCount, Bytes(result.Merge.Summaries.Sum(s => s.Bytes)),
            layers.Count, OutputFile, Bytes(CompressedBytes));
    }
}
