using Razor.Microkernel.Formats.Release;

namespace Razor.Microkernel.Formats.Fetch;

/// <summary>A release boot file is on none of the mirrors (neither it nor its <c>.md5.txt</c>).</summary>
public sealed class ReleaseFileMissingException(string name, TinyCoreRelease release, IReadOnlyList<string> locationsTried)
    : FetchException($"{release} has no '{name}' on the mirror (tried: {string.Join(", ", locationsTried)}).")
{
    public string Name { get; } = name;

    public TinyCoreRelease Release { get; } = release;

    public IReadOnlyList<string> LocationsTried { get; } = locationsTried;
}

public sealed record ReleaseFetchRequest
{
    public required TinyCoreRelease Release { get; init; }

    public required string CacheDirectory { get; init; }

    /// <summary>Mirror root: http(s):// URL, file:// URL or folder.</summary>
    public required string Mirror { get; init; }

    public IReadOnlyList<string> MirrorFallbacks { get; init; } = [];

    public bool Offline { get; init; }

    /// <summary>The lock file whose <see cref="LockFile.ReleaseFiles"/> pin the files (served from the cache by hash).</summary>
    public LockFile? Lock { get; init; }

    public DownloadOptions Download { get; init; } = new();

    public TimeSpan? CacheLockTimeout { get; init; }
}

/// <summary>A release boot file in the cache (<see cref="Path"/>, never to be written to).</summary>
public sealed record FetchedReleaseFile(string Name, string Path, string Md5, string Sha256, long Size, bool FromCache)
{
    public LockedReleaseFile ToLocked() => new(Name, Md5, Sha256, Size);
}

/// <summary>
/// Fetches a release's kernel and initrd from the mirror's <c>release/distribution_files/</c> (each verified against
/// its <c>.md5.txt</c>, and against the lock file's SHA-256 when it pins one) through the content-addressed cache, so
/// a later build, offline or not, uses the same bytes.
/// </summary>
public static class ReleaseFetcher
{
    /// <summary>The kernel, then the initrd.</summary>
    /// <exception cref="ReleaseFileMissingException">A file is on no mirror.</exception>
    /// <exception cref="OfflineCacheMissException">Offline, and the cache lacks a file.</exception>
    /// <exception cref="ChecksumMismatchException">A download does not match its <c>.md5.txt</c> or the lock file, on every mirror.</exception>
    /// <exception cref="DownloadFailedException">A file failed on every mirror after retries.</exception>
    public static async Task<IReadOnlyList<FetchedReleaseFile>> FetchAsync(ReleaseFetchRequest request, IProgress<FetchEvent>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var mirrors = new[] { request.Mirror }.Concat(request.MirrorFallbacks)
            .Where(m => !string.IsNullOrWhiteSpace(m)).Select(FetchLocation.Normalize).Distinct().ToList();
        if (mirrors.Count == 0 && !request.Offline)
        {
            throw new InvalidFetchInputException(request.Mirror ?? "", "no Tiny Core mirror is set");
        }

        var cache = new DownloadCache(request.CacheDirectory, request.CacheLockTimeout);
        // Made on first use: a build whose release files are cached never loads the HTTP stack.
        using var client = request.Offline ? null : new LazyDownloadClient(request.Download);
        var files = new List<FetchedReleaseFile>();
        foreach (var name in new[] { request.Release.KernelFile, request.Release.InitrdFile })
        {
            files.Add(await FetchOneAsync(request, name, mirrors, cache, client, progress, cancellationToken).ConfigureAwait(false));
        }

        return files;
    }

    /// <summary>The cache key of a release file.</summary>
    public static string Key(TinyCoreRelease release, string name) => $"release/{release.Version}/{release.Arch}/{name}";

    private static async Task<FetchedReleaseFile> FetchOneAsync(ReleaseFetchRequest request, string name, List<string> mirrors, DownloadCache cache,
        LazyDownloadClient? client, IProgress<FetchEvent>? progress, CancellationToken cancellationToken)
    {
        var release = request.Release;
        var key = Key(release, name);
        var pinned = request.Lock is { } l && l.Version == release.Version && l.Arch == release.Arch ? l.FindReleaseFile(name) : null;
        if (FromCache(cache, key, name, pinned, progress) is { } hit)
        {
            return hit;
        }

        if (client is null)
        {
            throw new OfflineCacheMissException($"release file '{name}'" + (pinned is null ? "" : $" (sha256 {pinned.Sha256})"), key, cache.Root);
        }

        using (await cache.LockAsync(key, cancellationToken).ConfigureAwait(false))
        {
            if (FromCache(cache, key, name, pinned, progress) is { } hit2)
            {
                return hit2;
            }

            var tried = new List<string>();
            Exception? failure = null;
            foreach (var mirror in mirrors)
            {
                var url = FetchLocation.Combine(mirror, release.DistributionFilesFolder + name);
                try
                {
                    var md5Bytes = await client.Value.TryGetBytesAsync(url + ".md5.txt", cancellationToken).ConfigureAwait(false);
                    if (md5Bytes is null)
                    {
                        tried.Add(url + ".md5.txt");
                        continue;
                    }

                    var md5 = Md5Sum.Parse(System.Text.Encoding.UTF8.GetString(md5Bytes), name, url + ".md5.txt");
                    for (var round = 1; ; round++)
                    {
                        await client.Value.DownloadToFileAsync(url, cache.PartialPath(key), name, progress, cancellationToken).ConfigureAwait(false);
                        try
                        {
                            var entry = await cache.AddBlobAsync(key, cache.PartialPath(key), $"release file '{name}' ({url})", pinned?.Sha256, md5, url,
                                cancellationToken: cancellationToken).ConfigureAwait(false);
                            return new FetchedReleaseFile(name, cache.BlobPath(entry.Sha256!), entry.Md5!, entry.Sha256!, entry.Size, FromCache: false);
                        }
                        catch (ChecksumMismatchException e) when (round == 1)
                        {
                            // A resumed download may have joined two versions of the file: one clean download more.
                            progress?.Report(new FetchEvent(FetchEventKind.Retrying, name, url, Message: e.Message + " Downloading again from the start."));
                        }
                    }
                }
                catch (DownloadNotFoundException)
                {
                    tried.Add(url);
                }
                catch (Exception e) when (e is DownloadFailedException or ChecksumMismatchException or InvalidFetchInputException)
                {
                    tried.Add(url);
                    failure = e;
                    progress?.Report(new FetchEvent(FetchEventKind.FallingBack, name, url, Message: e.Message));
                }
            }

            throw failure ?? new ReleaseFileMissingException(name, release, tried);
        }
    }

    private static FetchedReleaseFile? FromCache(DownloadCache cache, string key, string name, LockedReleaseFile? pinned, IProgress<FetchEvent>? progress)
    {
        FetchedReleaseFile? result = null;
        if (pinned is not null)
        {
            if (cache.TryGetBlob(pinned.Sha256, pinned.Size) is { } path)
            {
                result = new FetchedReleaseFile(name, path, pinned.Md5, pinned.Sha256.ToLowerInvariant(), pinned.Size, FromCache: true);
            }
        }
        else if (cache.TryGetEntry(key) is { Sha256: { } sha, Md5: { } md5 } entry)
        {
            result = new FetchedReleaseFile(name, cache.BlobPath(sha), md5, sha, entry.Size, FromCache: true);
        }

        if (result is not null)
        {
            progress?.Report(new FetchEvent(FetchEventKind.FromCache, name, result.Path, result.Size, result.Size));
        }

        return result;
    }
}
