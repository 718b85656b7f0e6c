using System.Globalization;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using Razor.Microkernel.Formats;
using Razor.Microkernel.Formats.Layers;
using Razor.Microkernel.Formats.SquashFs;

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

    protected override bool Write(LayerWriter writer)
    {
        var source = Image.GetMetadata("FullPath");
        if (!File.Exists(source))
        {
            Log.LogErrorWithCodeFromResources("TczImageMissing", Display);
            return false;
        }

        var prefixText = Image.GetMetadata("Prefix");
        if (!string.IsNullOrWhiteSpace(prefixText) && prefixText.Trim() != "/" && !ImagePath.TryNormalize(prefixText, out _, out var reason))
        {
            Log.LogErrorWithCodeFromResources("InvalidImagePath", "TczImage", Image.ItemSpec, prefixText, reason);
            return false;
        }

        var limits = SquashFsLimits.Default;
        if (!TryLimit(MaxBytes, "SquashfsMaxBytes", v => limits = limits with { MaxTotalBytes = v })
            || !TryLimit(MaxEntries, "SquashfsMaxEntries", v => limits = limits with { MaxEntries = v })
            || !TryLimit(MaxDepth, "SquashfsMaxDepth", v => limits = limits with { MaxDepth = (int)Math.Min(v, int.MaxValue) }))
        {
            return false;
        }

        var link = string.Equals(InstallMode?.Trim(), "Link", StringComparison.OrdinalIgnoreCase) && !string.IsNullOrEmpty(ExtensionName);
        var options = new SquashFsExtractOptions
        {
            Files = Image.GetMetadata("Files").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            Prefix = link ? $"tmp/tcloop/{ExtensionName}" : prefixText.Trim() == "/" ? string.Empty : prefixText,
            Limits = limits,
        };
        try
        {
            var result = SquashFsExtractor.ExtractToLayer(source, writer, options, CancellationToken);
            if (link)
            {
                LinkIntoRoot(source, limits, writer);
            }

            if (!string.IsNullOrEmpty(ExtensionName) && options.Files.Count == 0)
            {
                AddMarker(writer, ExtensionName);
            }

            foreach (var w in result.Warnings)
            {
                Log.LogWarningWithCodeFromResources(w.Kind == SquashFsWarningKind.SocketSkipped ? "SquashfsSocketSkipped" : "SquashfsXattrsIgnored",
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
            Log.LogErrorWithCodeFromResources("SquashfsMalformed", Display, e.Reason, e.Offset);
        }
        catch (FormatLimitException e)
        {
            Log.LogErrorWithCodeFromResources("SquashfsLimit", Display, e.Message);
        }
        catch (InvalidImagePathException e)
        {
            Log.LogErrorWithCodeFromResources("SquashfsMalformed", Display, e.Message, -1);
        }
        catch (LayerConflictException e)
        {
            Log.LogErrorWithCodeFromResources("SquashfsMalformed", Display, e.Message, -1);
        }

        return false;
    }

    /// <summary>As <c>cp -ais /tmp/tcloop/NAME/ /</c>: folders are made (with the image's attributes) and
    /// everything else becomes an absolute symlink into the mounted extension.</summary>
    private void LinkIntoRoot(string source, SquashFsLimits limits, LayerWriter writer)
    {
        using var image = SquashFsImage.Open(source, limits);
        foreach (var e in image.Entries())
        {
            CancellationToken.ThrowIfCancellationRequested();
            if (e.Path.Length == 0 || e.Type == SquashFsEntryType.Socket)
            {
                continue;
            }

            // Only what the extraction kept (Files may have filtered the image).
            if (writer.TypeOf($"tmp/tcloop/{ExtensionName}/{e.Path}") is null)
            {
                continue;
            }

            var owner = new Ownership(e.Uid, e.Gid, Owners.NameOfUser(e.Uid), Owners.NameOfGroup(e.Gid));
            if (e.Type == SquashFsEntryType.Directory)
            {
                writer.AddDirectory(e.Path, new EntryAttributes(e.Mode, owner, e.ModificationTime));
            }
            else
            {
                writer.AddSymlink(e.Path, $"/tmp/tcloop/{ExtensionName}/{e.Path}", new EntryAttributes(0x1FF, owner, e.ModificationTime));
            }
        }
    }

    /// <summary>tce-load's record of an installed extension: the extension's own startup script when it
    /// ships one (already in the layer), else an empty file. The folder is root:staff 0775 as on Tiny Core.</summary>
    private static void AddMarker(LayerWriter writer, string name)
    {
        const string folder = "usr/local/tce.installed";
        var staff = new Ownership(0, 50, "root", "staff");
        if (writer.TypeOf(folder) is null)
        {
            writer.AddDirectory(folder, new EntryAttributes(0x1FD, staff, PackOptions.DefaultModificationTime));
        }

        if (writer.TypeOf($"{folder}/{name}") is null)
        {
            writer.AddFile($"{folder}/{name}", new EntryAttributes(0x1A4, Ownership.Root, PackOptions.DefaultModificationTime), ReadOnlySpan<byte>.Empty);
        }
    }

    private bool TryLimit(string? text, string property, Action<long> set)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return true;
        }

        if (long.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0)
        {
            set(v);
            return true;
        }

        Log.LogErrorWithCodeFromResources("InvalidLimit", property, text);
        return false;
    }
}
