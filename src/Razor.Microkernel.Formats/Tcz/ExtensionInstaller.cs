using Razor.Microkernel.Formats.Layers;
using Razor.Microkernel.Formats.SquashFs;

namespace Razor.Microkernel.Formats.Tcz;

/// <summary>
/// Lays a Tiny Core extension into a layer the way <c>tce-load -i</c> leaves a live system: Copy (files at
/// their own paths, as copy2fs) or Link (files under <c>/tmp/tcloop/NAME</c>, where tce-load mounts the image,
/// and <c>cp -ais</c>'s symlinks from their own paths), plus tce-load's record
/// <c>/usr/local/tce.installed/NAME</c> unless only some files were taken (copied by hand, not installed).
/// </summary>
public static class ExtensionInstaller
{
    public const string InstalledFolder = "usr/local/tce.installed";

    /// <param name="options">Files and limits; with <paramref name="link"/> the prefix is /tmp/tcloop/NAME.</param>
    public static SquashFsExtractResult Install(string imagePath, string name, LayerWriter writer, SquashFsExtractOptions options, bool link,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (link)
        {
            options = options with { Prefix = $"tmp/tcloop/{name}" };
        }

        var result = SquashFsExtractor.ExtractToLayer(imagePath, writer, options, cancellationToken);
        if (link)
        {
            LinkIntoRoot(imagePath, name, options.Limits, writer, cancellationToken);
        }

        if (options.Files.Count == 0)
        {
            AddMarker(writer, name, writer.DefaultModificationTime);
        }

        return result;
    }

    /// <summary>As <c>cp -ais /tmp/tcloop/NAME/ /</c>: folders are made (with the image's attributes) and
    /// everything else becomes an absolute symlink into the mounted extension.</summary>
    private static void LinkIntoRoot(string source, string name, SquashFsLimits limits, LayerWriter writer, CancellationToken cancellationToken)
    {
        using var image = SquashFsImage.Open(source, limits);
        foreach (var e in image.Entries())
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (e.Path.Length == 0 || e.Type == SquashFsEntryType.Socket)
            {
                continue;
            }

            // Only what the extraction kept (Files may have filtered the image).
            if (writer.TypeOf($"tmp/tcloop/{name}/{e.Path}") is null)
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
                writer.AddSymlink(e.Path, $"/tmp/tcloop/{name}/{e.Path}", new EntryAttributes(0x1FF, owner, e.ModificationTime));
            }
        }
    }

    /// <summary>tce-load's record of an installed extension: the extension's own startup script when it
    /// ships one (already in the layer), else an empty file. The folder is root:staff 0775 as on Tiny Core.</summary>
    private static void AddMarker(LayerWriter writer, string name, long modificationTime)
    {
        const string folder = InstalledFolder;
        var staff = new Ownership(0, 50, "root", "staff");
        if (writer.TypeOf(folder) is null)
        {
            writer.AddDirectory(folder, new EntryAttributes(0x1FD, staff, modificationTime));
        }

        if (writer.TypeOf($"{folder}/{name}") is null)
        {
            writer.AddFile($"{folder}/{name}", new EntryAttributes(0x1A4, Ownership.Root, modificationTime), ReadOnlySpan<byte>.Empty);
        }
    }
}
