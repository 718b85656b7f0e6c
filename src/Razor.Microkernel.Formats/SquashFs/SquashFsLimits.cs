namespace Razor.Microkernel.Formats.SquashFs;

/// <summary>Caps on what one image may make the reader produce. Exceeding one raises
/// <see cref="FormatLimitException"/>.</summary>
public sealed record SquashFsLimits
{
    public static SquashFsLimits Default { get; } = new();

    /// <summary>Total bytes of regular-file content (sparse holes included; hard links counted once).</summary>
    public long MaxTotalBytes { get; init; } = 16L << 30;

    /// <summary>Entries in the image, the root excluded.</summary>
    public long MaxEntries { get; init; } = 1_000_000;

    /// <summary>Path depth (components of the longest path).</summary>
    public int MaxDepth { get; init; } = 256;

    /// <summary>Bytes of a symlink target.</summary>
    public int MaxSymlinkLength { get; init; } = 4096;
}
