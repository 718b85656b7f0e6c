namespace Razor.Microkernel.Formats.Fetch;

/// <summary>One URL to fetch into the cache (an OverlayArchive, Gem, RubyGems or CoreIso item).</summary>
public sealed record UrlFetchRequest
{
    /// <summary>http(s):// or file:// URL, or a plain path.</summary>
    public required string Url { get; init; }

    /// <summary>The pin (item metadata or lock file). Without one, whatever the URL serves is accepted and its hash returned.</summary>
    public string? ExpectedSha256 { get; init; }

    public required string CacheDirectory { get; init; }

    /// <summary>Never touch the network: a cache miss is an <see cref="OfflineCacheMissException"/>.</summary>
    public bool Offline { get; init; }

    public DownloadOptions Download { get; init; } = new();

    public TimeSpan? CacheLockTimeout { get; init; }

    /// <summary>Re-hash the cached file before using it (default: size check; blobs are verified before they are stored).</summary>
    public bool VerifyCacheOnRead { get; init; }
}

public sealed record UrlFetchResult(string Url, string Path, string Sha256, long Size, bool FromCache)
{
    public LockedDownload ToLocked() => new(Url, Sha256, Size);
}

/// <summary>Fetches a URL through the content-addressed cache: a pinned hash already in the cache is served
/// without any lookup by URL; otherwise the URL's cache entry, else a verified download.</summary>
public static class UrlFetcher
{
    public static async Task<UrlFetchResult> FetchAsync(UrlFetchRequest request, IProgress<FetchEvent>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var cache = new DownloadCache(request.CacheDirectory, request.CacheLockTimeout, request.VerifyCacheOnRead);
        if (request.Offline)
        {
            return TryFromCache(cache, request, progress)
                ?? throw new OfflineCacheMissException($"'{request.Url}'" + (request.ExpectedSha256 is { } s ? $" (sha256 {s})" : ""),
                    Key(request.Url), cache.Root);
        }

        using var client = new DownloadClient(request.Download);
        return await FetchAsync(request.Url, request.ExpectedSha256, cache, client, progress, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The same, sharing one cache and one client between many URLs.</summary>
    public static async Task<UrlFetchResult> FetchAsync(string url, string? expectedSha256, DownloadCache cache, DownloadClient client,
        IProgress<FetchEvent>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentNullException.ThrowIfNull(client);
        var request = new UrlFetchRequest { Url = url, ExpectedSha256 = expectedSha256, CacheDirectory = cache.Root };
        if (TryFromCache(cache, request, progress) is { } hit)
        {
            return hit;
        }

        var key = Key(url);
        using (await cache.LockAsync(key, cancellationToken).ConfigureAwait(false))
        {
            if (TryFromCache(cache, request, progress) is { } hit2)
            {
                return hit2;
            }

            var partial = cache.PartialPath(key);
            for (var round = 1; ; round++)
            {
                await client.DownloadToFileAsync(url, partial, url, progress, cancellationToken).ConfigureAwait(false);
                try
                {
                    var entry = await cache.AddBlobAsync(key, partial, url, expectedSha256, source: url, cancellationToken: cancellationToken).ConfigureAwait(false);
                    return new UrlFetchResult(url, cache.BlobPath(entry.Sha256!), entry.Sha256!, entry.Size, FromCache: false);
                }
                catch (ChecksumMismatchException e) when (round == 1)
                {
                    // A resumed download may have joined two versions of the file: one clean download more.
                    progress?.Report(new FetchEvent(FetchEventKind.Retrying, url, url, Message: e.Message + " Downloading again from the start."));
                }
            }
        }
    }

    public static string Key(string url) => "url/" + url;

    private static UrlFetchResult? TryFromCache(DownloadCache cache, UrlFetchRequest request, IProgress<FetchEvent>? progress)
    {
        UrlFetchResult? result = null;
        if (request.ExpectedSha256 is { } pin)
        {
            if (cache.TryGetBlob(pin) is { } path)
            {
                result = new UrlFetchResult(request.Url, path, pin.ToLowerInvariant(), new FileInfo(path).Length, FromCache: true);
            }
        }
        else if (cache.TryGetEntry(Key(request.Url)) is { Sha256: { } sha } entry)
        {
            result = new UrlFetchResult(request.Url, cache.BlobPath(sha), sha, entry.Size, FromCache: true);
        }

        if (result is not null)
        {
            progress?.Report(new FetchEvent(FetchEventKind.FromCache, request.Url, result.Path, result.Size, result.Size));
        }

        return result;
    }
}
