namespace Razor.Microkernel.Formats.Report;

/// <summary>
/// Something the build put into the image that the merge cannot name by itself: an extension (.tcz), a gem,
/// or a downloaded file (archive, RubyGems tarball). <see cref="Version"/> may be empty (extensions carry
/// theirs in the name); <see cref="Source"/> is where it came from (a URL or a file name, never a full path of
/// the build machine), and may be empty. User information in a URL is never printed.
/// </summary>
public sealed record ReportPackage(string Name, string Version, string Sha256, long Size, string Source = "")
{
    /// <summary>A file the build used, with its size and SHA-256 read from <paramref name="path"/> (which is not
    /// shown: pass a URL or the item's own spelling as <paramref name="source"/>).</summary>
    public static ReportPackage ForFile(string path, string name, string version = "", string source = "")
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(file));
        return new ReportPackage(name, version, hash, file.Length, source);
    }

    /// <summary>A .gem file: name and version from its specification (platform appended when not
    /// <c>ruby</c>), size and SHA-256 of the file.</summary>
    public static ReportPackage ForGem(string path, string source = "")
    {
        Gems.GemSpecification spec;
        using (var gem = File.OpenRead(path))
        {
            spec = Gems.GemPackage.Read(gem, System.IO.Path.GetFileName(path)).Specification;
        }

        var version = spec.Version.ToString();
        return ForFile(path, spec.Name, spec.Platform == "ruby" ? version : $"{version} ({spec.Platform})", source);
    }
}

/// <summary>
/// What the report shows besides the merged image. Everything is optional; the caller passes what it knows.
/// Nothing here may hold a machine path or a time: the report of the same build is the same bytes.
/// </summary>
public sealed record OverlayReportInfo
{
    /// <summary>The overlay's file name, shown in the title (e.g. <c>mc-linux-fs-snap.tar.gz</c>).</summary>
    public string OverlayFileName { get; init; } = "mc-linux-fs-snap.tar.gz";

    /// <summary>The project's name, shown under the title when given.</summary>
    public string ProjectName { get; init; } = string.Empty;

    /// <summary>Size of the compressed overlay in bytes; 0 or less when not known.</summary>
    public long CompressedBytes { get; init; }

    /// <summary>TCZ extensions in install order.</summary>
    public IReadOnlyList<ReportPackage> Extensions { get; init; } = [];

    /// <summary>Gems (and RubyGems itself) in install order.</summary>
    public IReadOnlyList<ReportPackage> Gems { get; init; } = [];

    /// <summary>Other downloaded inputs: overlay archives, MCollective, …</summary>
    public IReadOnlyList<ReportPackage> Downloads { get; init; } = [];

    /// <summary>Build properties worth showing (flavor, kernel, mirror, …), in the order given.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Properties { get; init; } = [];

    /// <summary>server.cfg settings, in the order given. The caller leaves secrets out; the report also refuses
    /// to print the value of any key that names a secret (see <see cref="OverlayReport.IsSecretKey"/>).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Settings { get; init; } = [];
}
