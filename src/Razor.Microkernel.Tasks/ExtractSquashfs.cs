using System.Globalization;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using Razor.Microkernel.Formats;
using Razor.Microkernel.Formats.Layers;
using Razor.Microkernel.Formats.SquashFs;
using Razor.Microkernel.Formats.Tcz;

namespace Razor.Microkernel.Tasks;

/// <summary>
/// Writes the contents of one SquashFS image (a Tiny Core .tcz) into a layer, read in-process: no mount,
/// no unsquashfs, no root. Item metadata: Files (a ';'-list of paths or globs to keep; default all) and
/// Prefix (an image folder to place the contents under, e.g. /tmp/tcloop/util-linux).
/// </summary>
public sealed class ExtractSquashfs : LayerTask
{
    [Required]
    public ITaskItem Image { get; set; } = null!;

    /// <summary>Limits; empty uses the reader's defaults.</summary>
    public string? MaxBytes { get; set; }

    public string? MaxEntries { get; set; }

    public string? MaxDepth { get; set; }

    /// <summary>For a resolved extension: its name without .tcz. Then, as tce-load, the layer gets
    /// /usr/local/tce.installed/NAME (the extension's own startup script, or an empty marker).</summary>
    public string? ExtensionName { get; set; }

    /// <summary>Copy (default): files at their own paths. Link: files under /tmp/tcloop/NAME and symlinks
    /// from their own paths to them, as <c>tce-load -i</c> and <c>cp -ais</c> leave a live system.</summary>
    public string? InstallMode { get; set; }

    /// <summary>The layer as an item, with EntryCount and ContentBytes metadata.</summary>
    [Output]
    public ITaskItem? LayerItem { get; private set; }

    /// <summary>How messages name the image: the item, or the extension and its cached file.</summary>
    private string Display => string.IsNullOrEmpty(ExtensionName) ? Image.ItemSpec : $"{ExtensionName}.tcz ({Image.ItemSpec})";

    /// <summary>The item type the image came from: a resolved TczExtension or a TczImage.</summary>
    private string Kind => string.IsNullOrEmpty(ExtensionName) ? "TczImage" : "TczExtension";

    protected override bool Write(LayerWriter writer)
    {
        var source = Image.GetMetadata("FullPath");
        if (!File.Exists(source))
        {
            LogImageError("TczImageMissing", Display);
            return false;
        }

        var prefixText = Image.GetMetadata("Prefix");
        if (!string.IsNullOrWhiteSpace(prefixText) && prefixText.Trim() != "/" && !ImagePath.TryNormalize(prefixText, out _, out var reason))
        {
            LogImageError("InvalidImagePath", "TczImage", Image.ItemSpec, prefixText, reason);
            return false;
        }

        var limits = SquashFsLimits.Default;
        if (!TryLimit(MaxBytes, "SquashfsMaxBytes", v => limits = limits with { MaxTotalBytes = v })
            || !TryLimit(MaxEntries, "SquashfsMaxEntries", v => limits = limits with { MaxEntries = v })
            || !TryLimit(MaxDepth, "SquashfsMaxDepth", v => limits = limits with { MaxDepth = (int)Math.Min(v, int.MaxValue) }))
        {
            return false;
        }

        var options = new SquashFsExtractOptions
        {
            Files = Image.GetMetadata("Files").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            Prefix = prefixText.Trim() == "/" ? string.Empty : prefixText,
            Limits = limits,
        };
        try
        {
            var result = string.IsNullOrEmpty(ExtensionName)
                ? SquashFsExtractor.ExtractToLayer(source, writer, options, CancellationToken)
                : ExtensionInstaller.Install(source, ExtensionName, writer, options,
                    string.Equals(InstallMode?.Trim(), "Link", StringComparison.OrdinalIgnoreCase), CancellationToken);

            foreach (var w in result.Warnings)
            {
                LogItemWarning(UserItem, Kind, w.Kind == SquashFsWarningKind.SocketSkipped ? "SquashfsSocketSkipped" : "SquashfsXattrsIgnored",
                    Display, "/" + w.Path);
            }

            var item = new TaskItem(Layer);
            item.SetMetadata("EntryCount", result.Entries.ToString(CultureInfo.InvariantCulture));
            item.SetMetadata("ContentBytes", result.ContentBytes.ToString(CultureInfo.InvariantCulture));
            item.SetMetadata("Image", source);
            LayerItem = item;
            return true;
        }
        catch (SquashFsFormatException e)
        {
            LogImageError("SquashfsMalformed", Display, e.Reason, e.Offset);
        }
        catch (FormatLimitException e)
        {
            LogImageError("SquashfsLimit", Display, e.Message);
        }
        catch (InvalidImagePathException e)
        {
            LogImageError("SquashfsMalformed", Display, e.Message, -1);
        }
        catch (LayerConflictException e)
        {
            LogImageError("SquashfsMalformed", Display, e.Message, -1);
        }

        return false;
    }

    /// <summary>For a TczImage, the item; for an extension, no item of the project names it when it is a dependency
    /// (then the project file is named).</summary>
    private ITaskItem? UserItem => string.IsNullOrEmpty(ExtensionName) || Image.GetMetadata("RmkItemSpec").Length > 0 ? Image : null;

    private void LogImageError(string resource, params object?[] args) => LogItemError(UserItem, Kind, resource, args);
}
