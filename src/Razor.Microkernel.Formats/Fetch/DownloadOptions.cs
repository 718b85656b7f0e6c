namespace Razor.Microkernel.Formats.Fetch;

/// <summary>Network behaviour. Defaults suit a real mirror; tests shorten the times.</summary>
public sealed record DownloadOptions
{
    /// <summary>At most this many large downloads at once (small metadata files use twice as many slots).</summary>
    public int MaxParallelDownloads { get; init; } = 4;

    /// <summary>Attempts per location before falling back to the next mirror (1 = no retry).</summary>
    public int MaxAttempts { get; init; } = 4;

    /// <summary>Delay before the first retry; doubled on each further retry, up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>A connect, response-headers wait or a single body read that takes longer than this fails the
    /// attempt (so a trickling body fails, while a slow but steady one does not).</summary>
    public TimeSpan InactivityTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Resume an interrupted download with an HTTP Range request when the server answers 206.</summary>
    public bool ResumeDownloads { get; init; } = true;

    public int MaxRedirects { get; init; } = 10;

    /// <summary>Largest small file (<c>.dep</c>, <c>.md5.txt</c>) accepted; a bigger one is a failure, not an allocation.</summary>
    public long MaxSmallFileBytes { get; init; } = 1 << 20;

    /// <summary>How often <see cref="FetchEventKind.Progress"/> is reported during one download.</summary>
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>User-Agent sent to mirrors.</summary>
    public string UserAgent { get; init; } = "Razor.Microkernel.Sdk";

    /// <summary>Replaces the default <see cref="SocketsHttpHandler"/> (proxies, tests). Not disposed by the client.</summary>
    public HttpMessageHandler? Handler { get; init; }

    internal TimeSpan Backoff(int failedAttempts)
    {
        var ms = InitialBackoff.TotalMilliseconds * Math.Pow(2, Math.Max(0, failedAttempts - 1));
        ms = Math.Min(ms, MaxBackoff.TotalMilliseconds);
        ms *= 1 + (Random.Shared.NextDouble() * 0.2);
        return TimeSpan.FromMilliseconds(ms);
    }
}

public enum FetchEventKind
{
    /// <summary>A download from the network begins.</summary>
    Started,

    /// <summary>Bytes arrived (at most once per <see cref="DownloadOptions.ProgressInterval"/>).</summary>
    Progress,

    /// <summary>An attempt failed and will be retried after a delay; <see cref="FetchEvent.Message"/> says why.</summary>
    Retrying,

    /// <summary>A location failed for good and the next mirror is tried.</summary>
    FallingBack,

    /// <summary>The file is downloaded and verified.</summary>
    Completed,

    /// <summary>The file was served from the cache without touching the network.</summary>
    FromCache,
}

/// <summary>One progress report. <see cref="Item"/> is what was asked for (<c>ruby.tcz</c>, a URL),
/// <see cref="Location"/> where it is being fetched from.</summary>
public sealed record FetchEvent(
    FetchEventKind Kind,
    string Item,
    string Location,
    long BytesReceived = 0,
    long? TotalBytes = null,
    double BytesPerSecond = 0,
    string? Message = null)
{
    public override string ToString() => Kind switch
    {
        FetchEventKind.Progress or FetchEventKind.Completed =>
            $"{Item}: {FormatSize(BytesReceived)}{(TotalBytes is { } t ? " of " + FormatSize(t) : "")} at {FormatSize((long)BytesPerSecond)}/s",
        _ => $"{Item}: {Kind} {Location}{(Message is null ? "" : " (" + Message + ")")}",
    };

    private static readonly System.Globalization.CultureInfo Invariant = System.Globalization.CultureInfo.InvariantCulture;

    public static string FormatSize(long bytes) => bytes switch
    {
        >= 1 << 30 => string.Create(Invariant, $"{bytes / (double)(1 << 30):0.0} GiB"),
        >= 1 << 20 => string.Create(Invariant, $"{bytes / (double)(1 << 20):0.0} MiB"),
        >= 1 << 10 => string.Create(Invariant, $"{bytes / 1024.0:0.0} KiB"),
        _ => $"{bytes} B",
    };
}
