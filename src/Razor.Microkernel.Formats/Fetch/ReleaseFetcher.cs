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

    /// <summary>What an earlier fetch found in the local mirror folders (<see cref="ReleaseFetchResult.MirrorFolderFiles"/>):
    /// a file whose fingerprint is unchanged is not read again for its hashes.</summary>
    public IReadOnlyList<MirrorFolderFile> KnownMirrorFolderFiles { get; init; } = [];

    /// <summary>A file read from a local mirror folder is taken as the folder holds it (verified against its
    /// <c>.md5.txt</c>) even when <see cref="Lock"/> pins other bytes; the caller rewrites the lock file. False (the
    /// default, and locked mode): the pins hold for folders too.</summary>
    public bool MirrorFoldersOverrideLock { get; init; }
}

/// <summary>A release boot file in the cache (<see cref="Path"/>, never to be written to), and the local mirror folder's
/// file it was read from (null when it came from another mirror or the cache).</summary>
public sealed record FetchedReleaseFile(string Name, string Path, string Md5, string Sha256, long Size, bool FromCache, string? MirrorFolderFile = null)
{
    public LockedReleaseFile ToLocked() => new(Name, Md5, Sha256, Size);
}

/// <param name="Files">The kernel, then the initrd.</param>
/// <param name="MirrorFolderFiles">Every path looked at in the local mirror folders, found or not, with its fingerprint
/// (and a release file's hashes).</param>
public sealed record ReleaseFetchResult(IReadOnlyList<FetchedReleaseFile> Files, IReadOnlyList<MirrorFolderFile> MirrorFolderFiles);

/// <summary>
/// Fetches a release's kernel and initrd from the mirror's <c>release/distribution_files/</c> (each verified against
/// its <c>.md5.txt</c>, and against the lock file's SHA-256 when it pins one) through the content-addressed cache, so
/// a later build, offline or not, uses the same bytes. Local mirror folders at the head of the mirror list are read as
/// local inputs (see <see cref="MirrorFolders"/>): a file one of them has comes from it on every fetch.
/// </summary>
public static class ReleaseFetcher
{
    /// <summary>The kernel, then the initrd.</summary>
    /// <exception cref="ReleaseFileMissingException">A file is on no mirror (or in a mirror folder without its <c>.md5.txt</c>).</exception>
    /// <exception cref="OfflineCacheMissException">Offline, and the cache lacks a file.</exception>
    /// <exception cref="ChecksumMismatchException">A download does not match its <c>.md5.txt</c> or the lock file, on every mirror.</exception>
    /// <exception cref="DownloadFailedException">A file failed on every mirror after retries.</exception>
    public static async Task<ReleaseFetchResult> FetchAsync(ReleaseFetchRequest request, IProgress<FetchEvent>? progress = null,
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
        var folders = new MirrorFolders(mirrors, request.KnownMirrorFolderFiles);
        // Made on first use: a build whose release files are cached never loads the HTTP stack.
        using var client = request.Offline ? null : new LazyDownloadClient(request.Download);
        var files = new List<FetchedReleaseFile>();
        foreach (var name in new[] { request.Release.KernelFile, request.Release.InitrdFile })
        {
            files.Add(await FromFoldersAsync(request, name, folders, cache, progress, cancellationToken).ConfigureAwait(false)
                ?? await FetchOneAsync(request, name, [.. folders.Others], cache, client, progress, cancellationToken).ConfigureAwait(false));
        }

        return new ReleaseFetchResult(files, folders.Files);
    }

    /// <summary>The release files a fetch would read from the local mirror folders at the head of
    /// <paramref name="mirrors"/> (each file and its <c>.md5.txt</c>) that exist: what an IDE's up-to-date check can
    /// watch. Stat calls only.</summary>
    public static IReadOnlyList<string> ListMirrorFolderFiles(TinyCoreRelease release, IReadOnlyList<string> mirrors)
    {
        ArgumentNullException.ThrowIfNull(release);
        ArgumentNullException.ThrowIfNull(mirrors);
        try
        {
            var folders = new MirrorFolders([.. mirrors.Where(m => !string.IsNullOrWhiteSpace(m)).Select(FetchLocation.Normalize).Distinct()]);
            foreach (var name in new[] { release.KernelFile, release.InitrdFile })
            {
                if (folders.Find(release.DistributionFilesFolder + name) is { } path)
                {
                    folders.Look(path + ".md5.txt");
                }
            }

            return [.. folders.Files.Where(f => f.Exists).Select(f => f.Path)];
        }
        catch (FetchException)
        {
            return []; // the fetch reports it
        }
    }

    /// <summary>A release file from the first leading local mirror folder that has it, with its <c>.md5.txt</c> from the
    /// same folder (required, as on a mirror): hashed (or known by its fingerprint), checked against the <c>.md5.txt</c>
    /// and, unless the folder may override it, the lock file's pin, then kept in the cache by hash. Null when no leading
    /// folder has it and other mirrors follow.</summary>
    private static async Task<FetchedReleaseFile?> FromFoldersAsync(ReleaseFetchRequest request, string name, MirrorFolders folders, DownloadCache cache,
        IProgress<FetchEvent>? progress, CancellationToken cancellationToken)
    {
        if (folders.Folders.Count == 0)
        {
            return null;
        }

        var release = request.Release;
        var relative = release.DistributionFilesFolder + name;
        if (folders.Find(relative) is not { } path)
        {
            return folders.Others.Count > 0 ? null : throw new ReleaseFileMissingException(name, release, folders.PathsOf(relative));
        }

        var md5Bytes = await folders.ReadSmallAsync(path + ".md5.txt", request.Download.MaxSmallFileBytes, cancellationToken).ConfigureAwait(false)
            ?? throw new ReleaseFileMissingException(name, release, [path + ".md5.txt"]);
        var md5 = Md5Sum.Parse(System.Text.Encoding.UTF8.GetString(md5Bytes), name, path + ".md5.txt");
        var hashes = await folders.HashAsync(path, cancellationToken).ConfigureAwait(false);
        var what = $"release file '{name}' in the mirror folder ({path})";
        if (!string.Equals(md5, hashes.Md5, StringComparison.OrdinalIgnoreCase))
        {
            throw new ChecksumMismatchException(what + ", checked against its .md5.txt", "MD5", md5, hashes.Md5);
        }

        var pinned = request.Lock is { } l && l.Version == release.Version && l.Arch == release.Arch ? l.FindReleaseFile(name) : null;
        if (!request.MirrorFoldersOverrideLock && pinned is not null && !string.Equals(pinned.Sha256, hashes.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new ChecksumMismatchException(what + ", checked against the lock file", "SHA-256", pinned.Sha256.ToLowerInvariant(), hashes.Sha256);
        }

        var (entry, stored) = await cache.AddLocalFileAsync(Key(release, name), path, hashes, what, cancellationToken).ConfigureAwait(false);
        var result = new FetchedReleaseFile(name, cache.BlobPath(entry.Sha256!), entry.Md5!, entry.Sha256!, entry.Size, FromCache: !stored, path);
        progress?.Report(stored
            ? new FetchEvent(FetchEventKind.Completed, name, path, entry.Size, entry.Size)
            : new FetchEvent(FetchEventKind.FromCache, name, result.Path, entry.Size, entry.Size));
        return result;
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
