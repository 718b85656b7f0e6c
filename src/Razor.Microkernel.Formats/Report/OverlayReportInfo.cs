namespace Razor.Microkernel.Formats.Report;

/// <summary>
/// Something the build put into the image that the merge cannot name by itself: an extension (.tcz), a gem,
/// or a downloaded file (archive, RubyGems tarball). <see cref="Version"/> may be empty (extensions carry
/// theirs in the name); <see cref="Source"/> is where it came from (a URL or a file name, never a full path of
/// the build machine), and may be empty. User information in a URL is never printed.
/// </summary>
public sealed record ReportPackage(string Name, string Version, string Sha256, long Size, string Source = "");

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
