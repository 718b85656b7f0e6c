using System.Text;
using System.Text.Json;

namespace Razor.Microkernel.Formats.Fetch;

/// <summary>A resolved extension as the lock file pins it.</summary>
public sealed record LockedExtension(string Name, string Md5, string Sha256, long Size, IReadOnlyList<string> Dependencies)
{
    public bool ContentEquals(LockedExtension other)
        => Name == other.Name && Md5 == other.Md5 && Sha256 == other.Sha256 && Size == other.Size
            && Dependencies.SequenceEqual(other.Dependencies, StringComparer.Ordinal);
}

/// <summary>A URL download (OverlayArchive, Gem, RubyGems, CoreIso) as the lock file pins it.</summary>
public sealed record LockedDownload(string Url, string Sha256, long Size);

/// <summary>A release boot file fetched from the mirror's <c>release/distribution_files/</c> (the kernel, the initrd), by name.</summary>
public sealed record LockedReleaseFile(string Name, string Md5, string Sha256, long Size);

public enum LockChangeKind
{
    Added,
    Removed,
    Changed,
}

/// <summary>One difference between the lock file on disk and what the build resolved.
/// <see cref="Section"/> is <c>tinyCore</c> (mirror, version, arch, kernel, order), <c>extension</c>, <c>download</c> or
/// <c>release file</c>.</summary>
public sealed record LockFileChange(string Section, string Name, LockChangeKind Kind, string? Old, string? New)
{
    public override string ToString() => Kind switch
    {
        LockChangeKind.Added => $"{Section} '{Name}' added: {New}",
        LockChangeKind.Removed => $"{Section} '{Name}' removed (was {Old})",
        _ => $"{Section} '{Name}' changed: {Old} → {New}",
    };
}

/// <summary>The structured difference reported in locked mode.</summary>
public sealed record LockFileDiff(IReadOnlyList<LockFileChange> Changes)
{
    public bool IsEmpty => Changes.Count == 0;

    /// <summary>True when anything but the mirror changed: the mirror is where bytes come from, not what they are.</summary>
    public bool ChangesResolution => Changes.Any(c => !(c.Section == "tinyCore" && c.Name == "mirror"));

    public override string ToString() => IsEmpty ? "no changes" : string.Join(Environment.NewLine, Changes);
}

/// <summary><c>microkernel.lock.json</c>: the Tiny Core source, the resolved extensions in install order with their
/// MD5, SHA-256 and size, every URL download with its SHA-256, and the release boot files fetched from the mirror
/// (only when there are any, so lock files without them keep their bytes). Written deterministically (fixed property
/// order, downloads sorted by URL, two-space indent, <c>\n</c> line ends) and only when its content changes.</summary>
public sealed record LockFile
{
    public const string FileName = "microkernel.lock.json";
    public const int CurrentFormatVersion = 1;

    public string Mirror { get; init; } = "";

    public string Version { get; init; } = "";

    public string Arch { get; init; } = "";

    public string Kernel { get; init; } = "";

    public IReadOnlyList<LockedExtension> Extensions { get; init; } = [];

    public IReadOnlyList<LockedDownload> Downloads { get; init; } = [];

    /// <summary>Release boot files from the mirror (kernel first, then initrd).</summary>
    public IReadOnlyList<LockedReleaseFile> ReleaseFiles { get; init; } = [];

    public LockedReleaseFile? FindReleaseFile(string name) => ReleaseFiles.FirstOrDefault(f => f.Name == name);

    public LockedExtension? FindExtension(string name) => Extensions.FirstOrDefault(e => e.Name == name);

    public LockedDownload? FindDownload(string url) => Downloads.FirstOrDefault(d => d.Url == url);

    /// <summary>A copy with these downloads added or replaced (by URL).</summary>
    public LockFile WithDownloads(IEnumerable<LockedDownload> downloads)
    {
        var map = Downloads.ToDictionary(d => d.Url, StringComparer.Ordinal);
        foreach (var d in downloads)
        {
            map[d.Url] = d;
        }

        return this with { Downloads = [.. map.Values.OrderBy(d => d.Url, StringComparer.Ordinal)] };
    }

    public string ToJson()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, NewLine = "\n", Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteNumber("formatVersion", CurrentFormatVersion);
            w.WriteStartObject("tinyCore");
            w.WriteString("mirror", Mirror);
            w.WriteString("version", Version);
            w.WriteString("arch", Arch);
            w.WriteString("kernel", Kernel);
            w.WriteEndObject();
            w.WriteStartArray("extensions");
            foreach (var e in Extensions)
            {
                w.WriteStartObject();
                w.WriteString("name", e.Name);
                w.WriteString("md5", e.Md5);
                w.WriteString("sha256", e.Sha256);
                w.WriteNumber("size", e.Size);
                w.WriteStartArray("dependencies");
                foreach (var d in e.Dependencies)
                {
                    w.WriteStringValue(d);
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteStartArray("downloads");
            foreach (var d in Downloads.OrderBy(d => d.Url, StringComparer.Ordinal))
            {
                w.WriteStartObject();
                w.WriteString("url", d.Url);
                w.WriteString("sha256", d.Sha256);
                w.WriteNumber("size", d.Size);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            if (ReleaseFiles.Count > 0)
            {
                w.WriteStartArray("releaseFiles");
                foreach (var f in ReleaseFiles)
                {
                    w.WriteStartObject();
                    w.WriteString("name", f.Name);
                    w.WriteString("md5", f.Md5);
                    w.WriteString("sha256", f.Sha256);
                    w.WriteNumber("size", f.Size);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
            }

            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    /// <exception cref="InvalidLockFileException">Not JSON, a newer format, or a required field missing.</exception>
    public static LockFile Parse(string json, string pathForMessages = FileName)
    {
        try
        {
            using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            var root = doc.RootElement;
            var format = root.GetProperty("formatVersion").GetInt32();
            if (format > CurrentFormatVersion)
            {
                throw new InvalidLockFileException(pathForMessages, $"format version {format} is newer than this SDK understands ({CurrentFormatVersion})");
            }

            var tc = root.GetProperty("tinyCore");
            return new LockFile
            {
                Mirror = tc.GetProperty("mirror").GetString() ?? "",
                Version = tc.GetProperty("version").GetString() ?? "",
                Arch = tc.GetProperty("arch").GetString() ?? "",
                Kernel = tc.GetProperty("kernel").GetString() ?? "",
                Extensions = [.. root.GetProperty("extensions").EnumerateArray().Select(e => new LockedExtension(
                    Required(e, "name"), Required(e, "md5"), Required(e, "sha256"), e.GetProperty("size").GetInt64(),
                    e.TryGetProperty("dependencies", out var deps) ? [.. deps.EnumerateArray().Select(d => d.GetString() ?? "")] : []))],
                Downloads = root.TryGetProperty("downloads", out var dl)
                    ? [.. dl.EnumerateArray().Select(d => new LockedDownload(Required(d, "url"), Required(d, "sha256"), d.TryGetProperty("size", out var s) ? s.GetInt64() : 0))]
                    : [],
                ReleaseFiles = root.TryGetProperty("releaseFiles", out var rf)
                    ? [.. rf.EnumerateArray().Select(f => new LockedReleaseFile(Required(f, "name"), Required(f, "md5"), Required(f, "sha256"), f.GetProperty("size").GetInt64()))]
                    : [],
            };
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new InvalidLockFileException(pathForMessages, e.Message, e);
        }
    }

    private static string Required(JsonElement e, string name)
        => e.GetProperty(name).GetString() is { Length: > 0 } s ? s : throw new FormatException($"'{name}' is empty");

    /// <summary>The lock file at <paramref name="path"/>, or null when there is none.</summary>
    public static LockFile? TryRead(string path)
        => File.Exists(path) ? Parse(File.ReadAllText(path), path) : null;

    /// <summary>Writes the file (atomically) unless it already holds exactly this content. Returns true when written.</summary>
    public bool WriteIfChanged(string path)
    {
        var json = ToJson();
        if (File.Exists(path) && File.ReadAllText(path) == json)
        {
            return false;
        }

        AtomicFile.WriteAllText(path, json, shared: true);
        return true;
    }

    /// <summary>What would change if <paramref name="current"/> replaced <paramref name="locked"/> (null: no lock file yet,
    /// everything is added).</summary>
    public static LockFileDiff Compare(LockFile? locked, LockFile current)
    {
        ArgumentNullException.ThrowIfNull(current);
        var changes = new List<LockFileChange>();
        var old = locked ?? new LockFile();
        void Field(string name, string a, string b)
        {
            if (a != b)
            {
                changes.Add(new LockFileChange("tinyCore", name, locked is null ? LockChangeKind.Added : LockChangeKind.Changed, locked is null ? null : a, b));
            }
        }

        Field("mirror", old.Mirror, current.Mirror);
        Field("version", old.Version, current.Version);
        Field("arch", old.Arch, current.Arch);
        Field("kernel", old.Kernel, current.Kernel);

        static string Describe(LockedExtension e) => $"md5 {e.Md5}, sha256 {e.Sha256}, {e.Size} bytes, deps [{string.Join(", ", e.Dependencies)}]";
        var oldExt = old.Extensions.ToDictionary(e => e.Name, StringComparer.Ordinal);
        var newExt = current.Extensions.ToDictionary(e => e.Name, StringComparer.Ordinal);
        foreach (var e in old.Extensions.Where(e => !newExt.ContainsKey(e.Name)))
        {
            changes.Add(new LockFileChange("extension", e.Name, LockChangeKind.Removed, Describe(e), null));
        }

        foreach (var e in current.Extensions)
        {
            if (!oldExt.TryGetValue(e.Name, out var o))
            {
                changes.Add(new LockFileChange("extension", e.Name, LockChangeKind.Added, null, Describe(e)));
            }
            else if (!o.ContentEquals(e))
            {
                changes.Add(new LockFileChange("extension", e.Name, LockChangeKind.Changed, Describe(o), Describe(e)));
            }
        }

        var commonOld = old.Extensions.Select(e => e.Name).Where(newExt.ContainsKey).ToList();
        var commonNew = current.Extensions.Select(e => e.Name).Where(oldExt.ContainsKey).ToList();
        if (!commonOld.SequenceEqual(commonNew, StringComparer.Ordinal))
        {
            changes.Add(new LockFileChange("tinyCore", "order", LockChangeKind.Changed, string.Join(", ", commonOld), string.Join(", ", commonNew)));
        }

        var oldDl = old.Downloads.ToDictionary(d => d.Url, StringComparer.Ordinal);
        var newDl = current.Downloads.ToDictionary(d => d.Url, StringComparer.Ordinal);
        foreach (var d in old.Downloads.Where(d => !newDl.ContainsKey(d.Url)).OrderBy(d => d.Url, StringComparer.Ordinal))
        {
            changes.Add(new LockFileChange("download", d.Url, LockChangeKind.Removed, d.Sha256, null));
        }

        foreach (var d in current.Downloads.OrderBy(d => d.Url, StringComparer.Ordinal))
        {
            if (!oldDl.TryGetValue(d.Url, out var o))
            {
                changes.Add(new LockFileChange("download", d.Url, LockChangeKind.Added, null, d.Sha256));
            }
            else if (o.Sha256 != d.Sha256 || o.Size != d.Size)
            {
                changes.Add(new LockFileChange("download", d.Url, LockChangeKind.Changed, $"{o.Sha256} ({o.Size} bytes)", $"{d.Sha256} ({d.Size} bytes)"));
            }
        }

        var oldRf = old.ReleaseFiles.ToDictionary(f => f.Name, StringComparer.Ordinal);
        var newRf = current.ReleaseFiles.ToDictionary(f => f.Name, StringComparer.Ordinal);
        foreach (var f in old.ReleaseFiles.Where(f => !newRf.ContainsKey(f.Name)))
        {
            changes.Add(new LockFileChange("release file", f.Name, LockChangeKind.Removed, f.Sha256, null));
        }

        foreach (var f in current.ReleaseFiles)
        {
            if (!oldRf.TryGetValue(f.Name, out var o))
            {
                changes.Add(new LockFileChange("release file", f.Name, LockChangeKind.Added, null, f.Sha256));
            }
            else if (o != f)
            {
                changes.Add(new LockFileChange("release file", f.Name, LockChangeKind.Changed, $"{o.Sha256} ({o.Size} bytes)", $"{f.Sha256} ({f.Size} bytes)"));
            }
        }

        return new LockFileDiff(changes);
    }
}
