using System.Text;
using Razor.Microkernel.Formats.Layers;

namespace Razor.Microkernel.Formats.Mcollective;

/// <summary>The MCollective tarball is not shaped like mcollective-VERSION/ with mcollectived.rb.</summary>
public sealed class McollectiveArchiveException(string found)
    : MicrokernelFormatException($"not an MCollective source tarball (found: {found})")
{
    public string Found { get; } = found;
}

/// <summary>What MCollective puts into the image: its unpacked tarball and links, server.cfg and the facts file.</summary>
public static class McollectiveLayer
{
    public const string InstallFolder = "usr/local/tce.installed";

    /// <summary>
    /// Steps 1–4 of the procedure's MCollective part: the tarball unpacked into /usr/local/tce.installed
    /// (its one top folder, mcollective-VERSION), mcollectived.rb made executable, /usr/local/mcollective linked
    /// to the folder and /usr/local/sbin/mcollectived to mcollectived.rb.
    /// </summary>
    public static ArchiveImportResult ImportArchive(Stream archive, LayerWriter writer, ArchiveImportOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options = options with
        {
            Destination = InstallFolder,
            AdjustMode = (path, mode) => path.Count(c => c == '/') == 1 && path.EndsWith("/mcollectived.rb", StringComparison.Ordinal) ? mode | 0x49 : mode,
        };
        var result = ArchiveImporter.Import(archive, writer, options, cancellationToken);
        var top = result.TopLevelNames;
        if (top.Count != 1 || !top[0].StartsWith("mcollective-", StringComparison.Ordinal))
        {
            throw new McollectiveArchiveException(string.Join(", ", top));
        }

        var folder = $"{InstallFolder}/{top[0]}";
        if (writer.TypeOf($"{folder}/mcollectived.rb") != LayerEntryType.File)
        {
            throw new McollectiveArchiveException($"{top[0]} without mcollectived.rb");
        }

        var link = EntryAttributes.Default(LayerEntryType.Symlink, writer.DefaultModificationTime);
        writer.AddSymlink("usr/local/mcollective", "/" + folder, link);
        writer.AddSymlink("usr/local/sbin/mcollectived", "/usr/local/mcollective/mcollectived.rb", link);
        return result;
    }

    /// <summary>server.cfg (root, 0640) at <paramref name="configPath"/> and the facts file its plugin.yaml names (root, 0644).</summary>
    public static void WriteSettings(LayerWriter writer, string configPath, ServerConfig config, IReadOnlyList<(string Name, string Value)> facts)
    {
        var mtime = writer.DefaultModificationTime;
        var factsBytes = FactsFile.WriteUtf8(facts);
        writer.AddFile(configPath, new EntryAttributes(ServerConfigWriter.FileMode, Ownership.Root, mtime), ServerConfigWriter.WriteUtf8(config));
        if (config.FactsPath is { } factsPath)
        {
            writer.AddFile(factsPath, new EntryAttributes(0x1A4, Ownership.Root, mtime), factsBytes);
        }
    }

    /// <summary>The PSK in the server.cfg of an existing settings layer, or null when there is none or it is
    /// unreadable (so that a generated development PSK can be kept across incremental builds).</summary>
    public static string? ReadPsk(string layerPath, string configPath)
    {
        if (!File.Exists(layerPath))
        {
            return null;
        }

        try
        {
            using var layer = File.OpenRead(layerPath);
            var entry = LayerReader.ReadEntries(layer).FirstOrDefault(e => e.Path == configPath && e.Type == LayerEntryType.File);
            if (entry is null || entry.Size > 1 << 20)
            {
                return null;
            }

            var bytes = new byte[entry.Size];
            layer.Position = entry.DataOffset;
            layer.ReadExactly(bytes);
            return McollectiveConfigParser.Parse(Encoding.UTF8.GetString(bytes)).PluginConf.TryGetValue("psk", out var psk) ? psk : null;
        }
        catch (Exception e) when (e is MicrokernelFormatException or IOException)
        {
            return null;
        }
    }
}
