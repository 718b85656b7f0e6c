using System.Collections.Concurrent;
using Razor.Microkernel.Formats.Fetch;
using Razor.Microkernel.Formats.Release;

namespace Razor.Microkernel.Formats.Tcz;

/// <summary>One <c>TczExtension</c> item: a name (with or without <c>.tcz</c>, <c>KERNEL</c> allowed) and whether
/// its <c>.dep</c> tree comes with it.</summary>
public sealed record TczExtensionRequest(string Name, bool IncludeDependencies = true);

public sealed record TczFetchRequest
{
    public const string DefaultMirror = "http://distro.ibiblio.org/tinycorelinux";

    public required IReadOnlyList<TczExtensionRequest> Extensions { get; init; }

    /// <summary>The cache root (see <see cref="DownloadCache.DefaultRoot"/>).</summary>
    public required string CacheDirectory { get; init; }

    /// <summary>Mirror root: http(s):// URL, file:// URL or folder. Files are in the release's <see cref="TinyCoreRelease.TczFolder"/>.</summary>
    public string Mirror { get; init; } = DefaultMirror;

    /// <summary>Tried in order, per file, when the mirror before does not have the file or fails after its retries.</summary>
    public IReadOnlyList<string> MirrorFallbacks { get; init; } = [];

    public string Version { get; init; } = "4.x";

    public string Arch { get; init; } = "x86";

    /// <summary>Replaces <c>KERNEL</c> in names; null: the release's <see cref="TinyCoreRelease.DefaultKernel"/> (4.x only).
    /// A name with the placeholder and no kernel is a <see cref="KernelVersionRequiredException"/>.</summary>
    public string? Kernel { get; init; }

    /// <summary>The release <see cref="Version"/> and <see cref="Arch"/> name.</summary>
    /// <exception cref="UnknownReleaseException">They name no known release.</exception>
    public TinyCoreRelease Release => TinyCoreRelease.Find(Version, Arch);

    /// <summary><see cref="Kernel"/>, else the release's default (null when it has none).</summary>
    public string? EffectiveKernel => string.IsNullOrWhiteSpace(Kernel) ? Release.DefaultKernel : Kernel.Trim();

    /// <summary>Never touch the network; everything comes from the cache or the call fails with
    /// <see cref="OfflineCacheMissException"/>.</summary>
    public bool Offline { get; init; }

    /// <summary>A lock file whose SHA-256 pins are enforced (and whose blobs are served from the cache by hash).</summary>
    public LockFile? Lock { get; init; }

    /// <summary>Fetch <c>.dep</c> files from the mirror even when the cache has them.</summary>
    public bool RefreshMetadata { get; init; }

    public DownloadOptions Download { get; init; } = new();

    public TimeSpan? CacheLockTimeout { get; init; }

    /// <summary>Re-hash every cached .tcz before using it (default: size check; blobs are verified before they are stored).</summary>
    public bool VerifyCacheOnRead { get; init; }

    /// <summary>What an earlier fetch found in the local mirror folders (<see cref="TczFetchResult.MirrorFolderFiles"/>): a
    /// <c>.tcz</c> whose fingerprint is unchanged is not read again for its hashes.</summary>
    public IReadOnlyList<MirrorFolderFile> KnownMirrorFolderFiles { get; init; } = [];

    /// <summary>An extension read from a local mirror folder (see <see cref="MirrorFolders"/>) is taken as the folder holds it
    /// (verified against its <c>.md5.txt</c>) even when <see cref="Lock"/> pins other bytes; the caller rewrites the lock
    /// file, as after a refresh. False (the default, and locked mode): the pins hold for folders too, and a folder's
    /// <c>.tcz</c> with other bytes is a <see cref="ChecksumMismatchException"/>.</summary>
    public bool MirrorFoldersOverrideLock { get; init; }
}

/// <summary>A resolved extension: its verified <c>.tcz</c> in the cache (<see cref="Path"/>, never to be written to), and
/// the local mirror folder's file it was read from (<see cref="MirrorFolderFile"/>; null when it came from another mirror
/// or the cache).</summary>
public sealed record FetchedExtension(
    string Name,
    string Path,
    string Md5,
    string Sha256,
    long Size,
    IReadOnlyList<string> Dependencies,
    bool IsRoot,
    bool FromCache,
    string? MirrorFolderFile = null)
{
    public LockedExtension ToLocked() => new(Name, Md5, Sha256, Size, Dependencies);
}

/// <param name="Extensions">In install order: dependencies before dependants.</param>
/// <param name="Lock">Mirror, version, arch, kernel and the extensions; its <see cref="LockFile.Downloads"/> is empty
/// (add URL downloads with <see cref="LockFile.WithDownloads"/>).</param>
/// <param name="Warnings">Broken dependency cycles, extensions without an <c>.md5.txt</c>.</param>
/// <param name="MirrorFolderFiles">Every path the fetch looked at in the local mirror folders, found or not, with its
/// fingerprint (and a <c>.tcz</c>'s hashes): when all are still current (<see cref="MirrorFolders.AllCurrent"/>), the
/// folders would give the same result.</param>
public sealed record TczFetchResult(
    IReadOnlyList<FetchedExtension> Extensions,
    LockFile Lock,
    IReadOnlyList<DependencyCycle> Cycles,
    IReadOnlyList<string> Warnings,
    IReadOnlyList<MirrorFolderFile> MirrorFolderFiles);

/// <summary>Replaces <c>tce-load -w</c> for a project's extensions: resolves the <c>.dep</c> trees, downloads (in
/// parallel, bounded) and verifies each <c>.tcz</c> against its <c>.md5.txt</c> and the lock file, through the
/// content-addressed cache. Local mirror folders at the head of the mirror list are read as local inputs (see
/// <see cref="MirrorFolders"/>): an extension one of them has comes from it on every fetch, its <c>.dep</c> and
/// <c>.md5.txt</c> too, never from cached copies; the cache only keeps its verified bytes.</summary>
public static class TczFetcher
{
    /// <exception cref="MissingExtensionException">An extension is on no mirror; the chain shows who needs it.</exception>
    /// <exception cref="OfflineCacheMissException">Offline, and the cache lacks a file.</exception>
    /// <exception cref="DownloadFailedException">A file failed on every mirror after retries.</exception>
    /// <exception cref="ChecksumMismatchException">A file does not match its <c>.md5.txt</c> or the lock file, on every mirror.</exception>
    /// <exception cref="InvalidExtensionNameException">A name (or a name in a <c>.dep</c> file) is not valid.</exception>
    /// <exception cref="KernelVersionRequiredException">A name (or a name in a <c>.dep</c> file) has <c>KERNEL</c> and no kernel is known.</exception>
    /// <exception cref="UnknownReleaseException">The version and arch name no known release.</exception>
    public static async Task<TczFetchResult> FetchAsync(TczFetchRequest request, IProgress<FetchEvent>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var release = request.Release;
        var kernel = request.EffectiveKernel;
        var mirrors = new[] { request.Mirror }.Concat(request.MirrorFallbacks)
            .Where(m => !string.IsNullOrWhiteSpace(m)).Select(FetchLocation.Normalize).Distinct().ToList();
        if (mirrors.Count == 0 && !request.Offline)
        {
            throw new InvalidFetchInputException(request.Mirror ?? "", "no Tiny Core mirror is set");
        }

        var roots = request.Extensions.Select(e => new DependencyRoot(ExtensionName.Normalize(e.Name, kernel), e.IncludeDependencies))
            .ToList();
        var cache = new DownloadCache(request.CacheDirectory, request.CacheLockTimeout, request.VerifyCacheOnRead);
        var folders = new MirrorFolders(mirrors, request.KnownMirrorFolderFiles);
        // Made on first use: a warm build (everything in the cache) never loads the HTTP stack.
        using var client = request.Offline ? null : new LazyDownloadClient(request.Download);
        using var failFast = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var run = new Run(request, release, kernel, folders, cache, client, progress, failFast);

        var expansions = new List<Task>();
        foreach (var root in roots)
        {
            _ = run.Ensure(root.Name);
            if (root.IncludeDependencies)
            {
                expansions.Add(run.ExpandAsync(root.Name));
            }
        }

        try
        {
            await Task.WhenAll(expansions).ConfigureAwait(false);
        }
        catch
        {
            // The per-extension tasks hold the real errors.
        }

        await run.WaitAllAsync().ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();

        DependencyResolution resolution;
        try
        {
            resolution = DependencyResolver.Resolve(roots, name => run.States[name].Value.Result.Deps);
        }
        catch (MissingExtensionException e)
        {
            var state = run.States[e.Missing].Value.Result;
            if (state.OfflineMiss is { } miss)
            {
                throw new OfflineCacheMissException(miss.What, miss.Key, cache.Root, e.Chain);
            }

            throw new MissingExtensionException(e.Chain, state.Tried);
        }

        var rootNames = roots.Select(r => r.Name).ToHashSet(StringComparer.Ordinal);
        var fetched = resolution.Order.Select(name =>
        {
            var s = run.States[name].Value.Result;
            return new FetchedExtension(name, s.Path!, s.Md5!, s.Sha256!, s.Size, resolution.Dependencies[name], rootNames.Contains(name), s.FromCache,
                s.MirrorFolderFile);
        }).ToList();
        var lockFile = new LockFile
        {
            Mirror = mirrors.Count > 0 ? mirrors[0] : "",
            Version = request.Version,
            Arch = request.Arch,
            Kernel = kernel ?? "",
            Extensions = [.. fetched.Select(f => f.ToLocked())],
        };
        var warnings = resolution.Warnings.Concat(run.Warnings.OrderBy(w => w, StringComparer.Ordinal)).ToList();
        return new TczFetchResult(fetched, lockFile, resolution.Cycles, warnings, folders.Files);
    }

    /// <summary>The files a fetch would read from the local mirror folders at the head of the mirror list (each extension's
    /// <c>.tcz</c>, <c>.md5.txt</c> and <c>.dep</c>, through the <c>.dep</c> trees as far as the folders have them), that
    /// exist: what an IDE's up-to-date check can watch. Reads only the folders' <c>.dep</c> files; never the network, the
    /// cache or a lock file. A name that cannot be resolved (invalid, <c>KERNEL</c> without a kernel, in no folder) is
    /// left out with what lies below it: the fetch itself reports it.</summary>
    public static IReadOnlyList<string> ListMirrorFolderFiles(TczFetchRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        MirrorFolders folders;
        TinyCoreRelease release;
        try
        {
            release = request.Release;
            folders = new MirrorFolders([.. new[] { request.Mirror }.Concat(request.MirrorFallbacks)
                .Where(m => !string.IsNullOrWhiteSpace(m)).Select(FetchLocation.Normalize).Distinct()]);
        }
        catch (MicrokernelFormatException)
        {
            return []; // the fetch reports it
        }

        var kernel = request.EffectiveKernel;
        var pending = new Queue<(string Name, bool Dependencies)>();
        foreach (var e in request.Extensions)
        {
            pending.Enqueue((e.Name, e.IncludeDependencies));
        }

        var done = new HashSet<string>(StringComparer.Ordinal);
        while (pending.TryDequeue(out var next))
        {
            try
            {
                var name = ExtensionName.Normalize(next.Name, kernel);
                if (!done.Add(name) || folders.Find(release.TczFolder + name) is not { } tcz)
                {
                    continue;
                }

                folders.Look(tcz + ".md5.txt");
                if (!next.Dependencies)
                {
                    continue;
                }

                var dep = folders.ReadSmallAsync(tcz + ".dep", request.Download.MaxSmallFileBytes).GetAwaiter().GetResult();
                foreach (var d in DepFile.Parse(dep is null ? "" : System.Text.Encoding.UTF8.GetString(dep), kernel))
                {
                    pending.Enqueue((d, true));
                }
            }
            catch (MicrokernelFormatException)
            {
                // Left out: the fetch reports it.
            }
        }

        return [.. folders.Files.Where(f => f.Exists).Select(f => f.Path)];
    }

    private sealed record OfflineMiss(string What, string Key);

    private sealed class ExtensionState
    {
        public IReadOnlyList<string>? Deps { get; set; }

        public IReadOnlyList<string> Tried { get; set; } = [];

        public OfflineMiss? OfflineMiss { get; set; }

        public string? Path { get; set; }

        public string? Md5 { get; set; }

        public string? Sha256 { get; set; }

        public long Size { get; set; }

        public bool FromCache { get; set; }

        /// <summary>The local mirror folder's .tcz it was read from.</summary>
        public string? MirrorFolderFile { get; set; }

        /// <summary>"No .dep file" is recorded only once the extension itself is found: a missing extension has no
        /// .dep either, and caching that as "no dependencies" would outlive its arrival on the mirror.</summary>
        public CacheEntry? PendingDepEntry { get; set; }
    }

    private sealed class Run(TczFetchRequest request, TinyCoreRelease release, string? kernel, MirrorFolders folders, DownloadCache cache,
        LazyDownloadClient? client, IProgress<FetchEvent>? progress, CancellationTokenSource failFast)
    {
        /// <summary>The mirrors whose files come through the cache (after the leading local folders).</summary>
        private readonly IReadOnlyList<string> mirrors = folders.Others;

        private readonly ConcurrentDictionary<string, TaskCompletionSource<IReadOnlyList<string>?>> depsKnown = new(StringComparer.Ordinal);
        private readonly ConcurrentDictionary<string, byte> expanded = new(StringComparer.Ordinal);
        private readonly SemaphoreSlim metadataGate = new(Math.Max(1, request.Download.MaxParallelDownloads * 2));
        private readonly SemaphoreSlim downloadGate = new(Math.Max(1, request.Download.MaxParallelDownloads));
        private readonly string prefix = $"tcz/{request.Version}/{request.Arch}/";

        public ConcurrentDictionary<string, Lazy<Task<ExtensionState>>> States { get; } = new(StringComparer.Ordinal);

        public ConcurrentBag<string> Warnings { get; } = [];

        private CancellationToken Token => failFast.Token;

        public Task<ExtensionState> Ensure(string name)
            => States.GetOrAdd(name, n => new Lazy<Task<ExtensionState>>(() => Task.Run(() => ProcessAsync(n), CancellationToken.None))).Value;

        public async Task ExpandAsync(string name)
        {
            if (!expanded.TryAdd(name, 0))
            {
                return;
            }

            _ = Ensure(name);
            var deps = await depsKnown.GetOrAdd(name, _ => NewTcs()).Task.ConfigureAwait(false);
            if (deps is not null)
            {
                await Task.WhenAll(deps.Select(ExpandAsync)).ConfigureAwait(false);
            }
        }

        /// <summary>Waits for every started extension; rethrows the first real failure (cancellation of the others follows it).</summary>
        public async Task WaitAllAsync()
        {
            var tasks = States.Values.Select(l => l.Value).ToList();
            try
            {
                await Task.WhenAll(tasks).ConfigureAwait(false);
            }
            catch
            {
                var failures = tasks.Where(t => t.IsFaulted).Select(t => t.Exception!.InnerException!).ToList();
                var real = failures.FirstOrDefault(e => e is not OperationCanceledException);
                if (real is not null)
                {
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(real).Throw();
                }

                throw;
            }
        }

        private static TaskCompletionSource<IReadOnlyList<string>?> NewTcs() => new(TaskCreationOptions.RunContinuationsAsynchronously);

        private async Task<ExtensionState> ProcessAsync(string name)
        {
            var tcs = depsKnown.GetOrAdd(name, _ => NewTcs());
            try
            {
                var state = new ExtensionState();
                var deps = await ProcessCoreAsync(name, state, tcs).ConfigureAwait(false);
                tcs.TrySetResult(deps);
                state.Deps = state.Path is null || state.OfflineMiss is not null ? null : deps;
                if (state.Deps is not null && state.PendingDepEntry is { } pending)
                {
                    cache.SetEntry(pending);
                }

                return state;
            }
            catch (Exception e)
            {
                tcs.TrySetResult(null);
                if (e is not OperationCanceledException)
                {
                    await failFast.CancelAsync().ConfigureAwait(false);
                }

                throw;
            }
        }

        private string MirrorUrl(string mirror, string file) => FetchLocation.Combine(mirror, release.TczFolder + file);

        private IReadOnlyList<string> ParseDeps(string name, string? text)
        {
            try
            {
                return DepFile.Parse(text ?? "", kernel);
            }
            catch (InvalidExtensionNameException e)
            {
                throw new InvalidExtensionNameException(e.Name, $"{e.Reason} (listed in {name}.dep)");
            }
            catch (KernelVersionRequiredException e)
            {
                throw new KernelVersionRequiredException(e.Name, ExtensionName.WithoutSuffix(name));
            }
        }

        /// <summary>The extension from the first leading local mirror folder that has its <c>.tcz</c>: its <c>.dep</c> and
        /// <c>.md5.txt</c> from the same folder (each optional, as on a mirror), its bytes hashed (or known by their
        /// fingerprint) and checked against the <c>.md5.txt</c> and, unless the folder may override it, the lock file's pin,
        /// then kept in the cache (by hash; the cached <c>.dep</c> follows the folder's). Null when no leading folder has it.</summary>
        private async Task<IReadOnlyList<string>?> FromFoldersAsync(string name, string depKey, string tczKey, LockedExtension? pinned,
            ExtensionState state, TaskCompletionSource<IReadOnlyList<string>?> depsReady)
        {
            if (folders.Find(release.TczFolder + name) is not { } tcz)
            {
                return null;
            }

            var max = request.Download.MaxSmallFileBytes;
            var depBytes = await folders.ReadSmallAsync(tcz + ".dep", max, Token).ConfigureAwait(false);
            var depText = depBytes is null ? null : System.Text.Encoding.UTF8.GetString(depBytes);
            var deps = ParseDeps(name, depText);
            depsReady.TrySetResult(deps);
            var md5Bytes = await folders.ReadSmallAsync(tcz + ".md5.txt", max, Token).ConfigureAwait(false);
            string? md5 = null;
            if (md5Bytes is null)
            {
                Warnings.Add($"'{name}' has no .md5.txt in the mirror folder ({tcz}.md5.txt); its bytes are taken as they are.");
            }
            else
            {
                md5 = Md5Sum.Parse(System.Text.Encoding.UTF8.GetString(md5Bytes), name, tcz + ".md5.txt");
            }

            var hashes = await folders.HashAsync(tcz, Token).ConfigureAwait(false);
            var what = $"{name} in the mirror folder ({tcz})";
            if (md5 is not null && !string.Equals(md5, hashes.Md5, StringComparison.OrdinalIgnoreCase))
            {
                throw new ChecksumMismatchException(what + ", checked against its .md5.txt", "MD5", md5, hashes.Md5);
            }

            if (!request.MirrorFoldersOverrideLock && pinned is not null && !string.Equals(pinned.Sha256, hashes.Sha256, StringComparison.OrdinalIgnoreCase))
            {
                throw new ChecksumMismatchException(what + ", checked against the lock file", "SHA-256", pinned.Sha256.ToLowerInvariant(), hashes.Sha256);
            }

            cache.SetEntryIfChanged(depText is null
                ? new CacheEntry { Key = depKey, Exists = false, Source = tcz + ".dep" }
                : new CacheEntry { Key = depKey, Text = depText, Source = tcz + ".dep" });
            var (entry, stored) = await cache.AddLocalFileAsync(tczKey, tcz, hashes, what, Token).ConfigureAwait(false);
            Set(state, entry, fromCache: !stored);
            state.MirrorFolderFile = tcz;
            progress?.Report(stored
                ? new FetchEvent(FetchEventKind.Completed, name, tcz, entry.Size, entry.Size)
                : new FetchEvent(FetchEventKind.FromCache, name, state.Path!, state.Size, state.Size));
            return deps;
        }

        /// <summary>Finds the extension's dependencies (completing <paramref name="depsReady"/> as early as possible, so
        /// discovery of the tree does not wait for big downloads) and its verified .tcz.</summary>
        private async Task<IReadOnlyList<string>?> ProcessCoreAsync(string name, ExtensionState state,
            TaskCompletionSource<IReadOnlyList<string>?> depsReady)
        {
            var depKey = prefix + name + ".dep";
            var tczKey = prefix + name;
            var pinned = request.Lock is { } l && l.Version == request.Version && l.Arch == request.Arch ? l.FindExtension(name) : null;
            IReadOnlyList<string> Parse(string? text) => ParseDeps(name, text);

            // A local mirror folder before any other mirror that has the extension: the folder is what the build takes.
            if (folders.Folders.Count > 0)
            {
                if (await FromFoldersAsync(name, depKey, tczKey, pinned, state, depsReady).ConfigureAwait(false) is { } fromFolder)
                {
                    return fromFolder;
                }

                if (mirrors.Count == 0)
                {
                    state.Tried = folders.PathsOf(release.TczFolder + name);
                    return null;
                }
            }

            var depEntry = request.RefreshMetadata && client is not null ? null : cache.TryGetEntry(depKey);
            if (depEntry is not null)
            {
                depsReady.TrySetResult(Parse(depEntry.Exists ? depEntry.Text : null));
            }

            var tczCached = TryFromCache(name, tczKey, pinned, state);
            if (client is null)
            {
                if (depEntry is null)
                {
                    state.OfflineMiss = new OfflineMiss($"the dependency list of '{name}'", depKey);
                }
                else if (!tczCached)
                {
                    state.OfflineMiss = new OfflineMiss($"extension '{name}'", tczKey);
                }

                return depEntry is null ? null : Parse(depEntry.Exists ? depEntry.Text : null);
            }

            if (depEntry is not null && tczCached)
            {
                return Parse(depEntry.Exists ? depEntry.Text : null);
            }

            // The extension's home: the first mirror with its .md5.txt. Its .dep is authoritative (404 = none).
            string? home = null;
            string? homeMd5 = null;
            Exception? failure = null;
            foreach (var mirror in mirrors)
            {
                var url = MirrorUrl(mirror, name + ".md5.txt");
                try
                {
                    var bytes = await GetSmallAsync(url).ConfigureAwait(false);
                    if (bytes is not null)
                    {
                        home = mirror;
                        homeMd5 = Md5Sum.Parse(System.Text.Encoding.UTF8.GetString(bytes), name, url);
                        break;
                    }
                }
                catch (DownloadFailedException e)
                {
                    failure = e;
                    progress?.Report(new FetchEvent(FetchEventKind.FallingBack, name + ".md5.txt", url, Message: e.Message));
                }
            }

            if (home is null && failure is not null)
            {
                throw failure; // cannot tell whether the extension exists
            }

            string? depText;
            if (depEntry is not null)
            {
                depText = depEntry.Exists ? depEntry.Text : null;
            }
            else
            {
                depText = null;
                var found = false;
                foreach (var mirror in home is null ? mirrors : [home])
                {
                    var url = MirrorUrl(mirror, name + ".dep");
                    var bytes = await GetSmallAsync(url).ConfigureAwait(false);
                    if (bytes is not null)
                    {
                        depText = System.Text.Encoding.UTF8.GetString(bytes);
                        cache.SetEntry(new CacheEntry { Key = depKey, Text = depText, Source = url });
                        found = true;
                        break;
                    }
                }

                if (!found)
                {
                    state.PendingDepEntry = new CacheEntry { Key = depKey, Exists = false, Source = home ?? mirrors.FirstOrDefault() };
                }
            }

            var deps = Parse(depText);
            depsReady.TrySetResult(deps);
            if (!tczCached)
            {
                await DownloadTczAsync(name, tczKey, pinned, state, home, homeMd5).ConfigureAwait(false);
            }

            return deps;
        }

        private async Task<byte[]?> GetSmallAsync(string url)
        {
            await metadataGate.WaitAsync(Token).ConfigureAwait(false);
            try
            {
                return await client!.Value.TryGetBytesAsync(url, Token).ConfigureAwait(false);
            }
            finally
            {
                metadataGate.Release();
            }
        }

        private async Task DownloadTczAsync(string name, string key, LockedExtension? pinned, ExtensionState state, string? home, string? homeMd5)
        {
            using (await cache.LockAsync(key, Token).ConfigureAwait(false))
            {
                if (TryFromCache(name, key, pinned, state))
                {
                    return;
                }

                var tried = new List<string>();
                Exception? failure = null;
                var order = home is null ? mirrors : [home, .. mirrors.Where(m => m != home)];
                foreach (var mirror in order)
                {
                    var url = MirrorUrl(mirror, name);
                    try
                    {
                        var md5 = mirror == home ? homeMd5 : await GetMd5Async(name, url).ConfigureAwait(false);
                        for (var round = 1; ; round++)
                        {
                            await downloadGate.WaitAsync(Token).ConfigureAwait(false);
                            try
                            {
                                await client!.Value.DownloadToFileAsync(url, cache.PartialPath(key), name, progress, Token).ConfigureAwait(false);
                            }
                            finally
                            {
                                downloadGate.Release();
                            }

                            try
                            {
                                var entry = await cache.AddBlobAsync(key, cache.PartialPath(key), name, pinned?.Sha256, md5, url, cancellationToken: Token).ConfigureAwait(false);
                                Set(state, entry, fromCache: false);
                                return;
                            }
                            catch (ChecksumMismatchException e) when (round == 1)
                            {
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

                if (failure is not null)
                {
                    throw failure;
                }

                state.Tried = [.. folders.PathsOf(release.TczFolder + name), .. tried];
            }
        }

        private async Task<string?> GetMd5Async(string name, string tczUrl)
        {
            var url = tczUrl + ".md5.txt";
            var bytes = await GetSmallAsync(url).ConfigureAwait(false);
            if (bytes is null)
            {
                Warnings.Add($"'{name}' has no .md5.txt at {url}; it is verified by its lock file SHA-256 only, if any.");
                return null;
            }

            return Md5Sum.Parse(System.Text.Encoding.UTF8.GetString(bytes), name, url);
        }

        private bool TryFromCache(string name, string key, LockedExtension? pinned, ExtensionState state)
        {
            var entry = cache.TryGetEntry(key);
            if (entry is { Sha256: not null } && (pinned is null || string.Equals(pinned.Sha256, entry.Sha256, StringComparison.OrdinalIgnoreCase)))
            {
                Set(state, entry, fromCache: true);
            }
            else if (pinned is not null && cache.TryGetBlob(pinned.Sha256, pinned.Size) is not null)
            {
                var pinnedEntry = new CacheEntry { Key = key, Sha256 = pinned.Sha256.ToLowerInvariant(), Size = pinned.Size, Md5 = pinned.Md5, Source = "lock file" };
                cache.SetEntry(pinnedEntry);
                Set(state, pinnedEntry, fromCache: true);
            }
            else
            {
                return false;
            }

            progress?.Report(new FetchEvent(FetchEventKind.FromCache, name, state.Path!, state.Size, state.Size));
            return true;
        }

        private void Set(ExtensionState state, CacheEntry entry, bool fromCache)
        {
            state.Path = cache.BlobPath(entry.Sha256!);
            state.Sha256 = entry.Sha256;
            state.Md5 = entry.Md5;
            state.Size = entry.Size;
            state.FromCache = fromCache;
        }
    }
}
