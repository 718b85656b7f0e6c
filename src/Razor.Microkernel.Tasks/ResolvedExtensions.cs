using System.Globalization;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using Razor.Microkernel.Formats;
using Razor.Microkernel.Formats.Fetch;

namespace Razor.Microkernel.Tasks;

/// <summary>
/// FetchTcz's result kept in obj/ (each resolved extension: its cached file and metadata), so that a build whose
/// extension items, properties and lock file pins are unchanged, whose cached files are all still there and whose
/// local mirror folders' files are as the resolution found them (fingerprints: stat calls) skips the resolution (tens
/// of milliseconds of every no-op build) and returns the same items with the same messages. The first line is the key
/// of what decided the resolution; then, after a <c>#</c>, one line per path the resolution looked at in a local
/// mirror folder (<see cref="MirrorFolderFile.ToLine"/>); then one item per line: the path, then <c>name=value</c>
/// pairs, each escaped (<see cref="Uri.EscapeDataString(string)"/>) and separated by tabs.
/// </summary>
internal static class ResolvedExtensionsFile
{
    /// <summary>A kept resolution: its key, its items, and what it found in the mirror folders.</summary>
    public sealed record Kept(string Key, IReadOnlyList<ITaskItem> Items, IReadOnlyList<MirrorFolderFile> MirrorFolderFiles)
    {
        /// <summary>True when it was made with <paramref name="key"/>, every cached file exists and every mirror folder file
        /// is as it was found.</summary>
        public bool IsCurrent(string key) => string.Equals(Key, key, StringComparison.Ordinal) && Items.Count > 0
            && Items.All(i => File.Exists(i.ItemSpec)) && MirrorFolders.AllCurrent(MirrorFolderFiles);
    }

    public static void Write(string file, string key, IReadOnlyList<ITaskItem> items, IReadOnlyList<MirrorFolderFile> mirrorFolderFiles)
    {
        var text = new StringBuilder().Append(key).Append('\n');
        foreach (var f in mirrorFolderFiles)
        {
            text.Append('#').Append(f.ToLine()).Append('\n');
        }

        foreach (var item in items)
        {
            text.Append(Uri.EscapeDataString(item.ItemSpec));
            foreach (var name in item.MetadataNames.Cast<string>().Where(n => !IsWellKnown(n)).Order(StringComparer.Ordinal))
            {
                text.Append('\t').Append(Uri.EscapeDataString(name)).Append('=').Append(Uri.EscapeDataString(item.GetMetadata(name)));
            }

            text.Append('\n');
        }

        AtomicFile.WriteAllText(file, text.ToString(), shared: true);
    }

    /// <summary>The kept resolution, or null when there is none or it cannot be read.</summary>
    public static Kept? TryRead(string file)
    {
        if (!File.Exists(file))
        {
            return null;
        }

        var lines = File.ReadAllLines(file);
        if (lines.Length < 2)
        {
            return null;
        }

        var items = new List<ITaskItem>();
        var folderFiles = new List<MirrorFolderFile>();
        foreach (var line in lines.Skip(1).Where(l => l.Length > 0))
        {
            if (line[0] == '#')
            {
                if (MirrorFolderFile.TryParse(line[1..]) is not { } f)
                {
                    return null;
                }

                folderFiles.Add(f);
                continue;
            }

            var fields = line.Split('\t');
            var item = new TaskItem(Uri.UnescapeDataString(fields[0]));
            foreach (var field in fields.Skip(1))
            {
                var eq = field.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0)
                {
                    return null;
                }

                item.SetMetadata(Uri.UnescapeDataString(field[..eq]), Uri.UnescapeDataString(field[(eq + 1)..]));
            }

            items.Add(item);
        }

        return new Kept(lines[0], items, folderFiles);
    }

    /// <summary>The messages FetchTcz prints for a resolution from the cache.</summary>
    public static void LogResolved(RmkTask task, IReadOnlyList<ITaskItem> items)
    {
        long total = 0;
        foreach (var item in items)
        {
            var size = long.TryParse(item.GetMetadata("Size"), NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? s : 0;
            total += size;
            var deps = item.GetMetadata("Dependencies");
            task.Log.LogMessageFromResources(MessageImportance.Normal, "ExtensionResolved", item.GetMetadata("Name"), RmkTask.Bytes(size), item.GetMetadata("Md5"), "cache",
                deps.Length == 0 ? "-" : deps.Replace(";", ", ", StringComparison.Ordinal));
        }

        task.Log.LogMessageFromResources(MessageImportance.High, "ExtensionsSummary", items.Count, 0, RmkTask.Bytes(total));
    }

    private static bool IsWellKnown(string name) => name is "FullPath" or "RootDir" or "Filename" or "Extension" or "RelativeDir" or "Directory"
        or "RecursiveDir" or "Identity" or "ModifiedTime" or "CreatedTime" or "AccessedTime" or "DefiningProjectFullPath"
        or "DefiningProjectDirectory" or "DefiningProjectName" or "DefiningProjectExtension";
}
