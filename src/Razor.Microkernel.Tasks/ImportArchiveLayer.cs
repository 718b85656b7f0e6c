using Microsoft.Build.Framework;
using Razor.Microkernel.Formats;
using Razor.Microkernel.Formats.Layers;
using Razor.Microkernel.Formats.Mcollective;

namespace Razor.Microkernel.Tasks;

/// <summary>
/// Unpacks one OverlayArchive (tar, tar.gz/tgz, tar.bz2, tar.xz) into a layer below its Destination
/// (default the root), keeping modes, owners and links. Metadata: Destination, Owner, Group (override
/// every entry's), AllowDevices (default false).
/// </summary>
public sealed class ImportArchiveLayer : LayerTask
{
    [Required]
    public ITaskItem Archive { get; set; } = null!;

    /// <summary>The MCollective source tarball: unpacked below /usr/local/tce.installed into its one top folder
    /// (mcollective-VERSION), with /usr/local/mcollective linked to that folder, /usr/local/sbin/mcollectived to
    /// mcollectived.rb, and mcollectived.rb made executable.</summary>
    public bool Mcollective { get; set; }

    /// <summary>OverlayArchiveMaxBytes: bytes the archive may unpack to (empty: 1 GiB).</summary>
    public string? MaxBytes { get; set; }

    /// <summary>OverlayArchiveMaxEntries (empty: 1,000,000).</summary>
    public string? MaxEntries { get; set; }

    /// <summary>OverlayArchiveMaxDepth (empty: 256).</summary>
    public string? MaxDepth { get; set; }

    /// <summary>The archive's top-level names (for an archive with one top folder, that folder).</summary>
    [Output]
    public string[] TopLevelNames { get; private set; } = [];

    private string Kind => Mcollective ? "McollectiveArchive" : "OverlayArchive";

    protected override bool Write(LayerWriter writer)
    {
        var display = Archive.GetMetadata("SourceUrl") is { Length: > 0 } url ? url : Archive.ItemSpec;
        var source = Archive.GetMetadata("FullPath");
        if (!File.Exists(source))
        {
            LogItemError(Archive, Kind, "ArchiveMissing", Archive.ItemSpec);
            return false;
        }

        var destinationText = Archive.GetMetadata("Destination");
        var destination = string.Empty;
        if (!string.IsNullOrWhiteSpace(destinationText) && destinationText.Trim() != "/"
            && !ImagePath.TryNormalize(destinationText, out destination, out var reason))
        {
            LogItemError(Archive, Kind, "InvalidImagePath", Kind, Archive.ItemSpec, destinationText, reason);
            return false;
        }

        ArchiveImportOptions options;
        try
        {
            var owner = Archive.GetMetadata("Owner");
            var group = Archive.GetMetadata("Group");
            options = new ArchiveImportOptions
            {
                Destination = destination,
                Owner = string.IsNullOrWhiteSpace(owner) ? null : Owners.ResolveUser(owner.Trim()),
                Group = string.IsNullOrWhiteSpace(group) ? null : Owners.ResolveGroup(group.Trim()),
                AllowDevices = string.Equals(Archive.GetMetadata("AllowDevices"), "true", StringComparison.OrdinalIgnoreCase),
            };
            if (!TryLimit(MaxBytes, "OverlayArchiveMaxBytes", v => options = options with { MaxBytes = v })
                || !TryLimit(MaxEntries, "OverlayArchiveMaxEntries", v => options = options with { MaxEntries = v })
                || !TryLimit(MaxDepth, "OverlayArchiveMaxDepth", v => options = options with { MaxDepth = (int)Math.Min(v, int.MaxValue) }))
            {
                return false;
            }

            if (Mcollective)
            {
                destination = McollectiveLayer.InstallFolder;
            }
        }
        catch (InvalidAttributeException e)
        {
            LogItemError(Archive, Kind, "InvalidAttribute", Kind, Archive.ItemSpec, e.Attribute, e.Value, e.Reason);
            return false;
        }

        try
        {
            using var input = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            var result = Mcollective
                ? McollectiveLayer.ImportArchive(input, writer, options, CancellationToken)
                : ArchiveImporter.Import(input, writer, options, CancellationToken);
            TopLevelNames = [.. result.TopLevelNames];
            return true;
        }
        catch (McollectiveArchiveException e)
        {
            LogItemError(Archive, Kind, "McollectiveArchiveShape", display, e.Found);
        }
        catch (UnsafeArchiveEntryException e)
        {
            var resource = e.Kind switch
            {
                UnsafeEntryKind.Device => "ArchiveDevice",
                UnsafeEntryKind.UnsupportedType => "ArchiveUnsupportedEntry",
                UnsafeEntryKind.Duplicate => "ArchiveDuplicate",
                _ => "ArchiveEntryEscapes",
            };
            if (resource == "ArchiveEntryEscapes")
            {
                LogItemError(Archive, Kind, resource, display, "/" + destination, e.Message);
            }
            else
            {
                LogItemError(Archive, Kind, resource, display, e.Message);
            }
        }
        catch (FormatLimitException e)
        {
            LogItemError(Archive, Kind, "ArchiveLimit", display, e.Message);
        }
        catch (ArchiveTrailingDataException e)
        {
            LogItemError(Archive, Kind, "ArchiveTrailingData", display, e.Message);
        }
        catch (ArchiveFormatException e)
        {
            LogItemError(Archive, Kind, "ArchiveMalformed", display, e.Message);
        }
        catch (InvalidImagePathException e)
        {
            LogItemError(Archive, Kind, "ArchiveEntryEscapes", display, "/" + destination, e.Message);
        }

        return false;
    }
}
