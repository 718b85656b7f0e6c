using System.Globalization;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using Razor.Microkernel.Formats.Fetch;
using Task = System.Threading.Tasks.Task;

namespace Razor.Microkernel.Tasks;

/// <summary>
/// Downloads the items that name an http(s):// URL (OverlayArchive, Gem, RubyGems) into the shared cache and
/// returns them as local files with their metadata kept. A Sha256 on the item pins the content; without one
/// the first download's hash is recorded in microkernel.lock.json and enforced after. Production images
/// require a pin or a lock entry for every URL.
/// </summary>
public sealed class FetchUrls : RmkTask
{
    [Required]
    public ITaskItem[] Items { get; set; } = [];

    public string? CacheDirectory { get; set; }

    public bool Offline { get; set; }

    [Required]
    public string LockFile { get; set; } = string.Empty;

    public bool LockedMode { get; set; }

    [Required]
    public string Flavor { get; set; } = "Development";

    /// <summary>The items as cached local files, with their own metadata plus SourceUrl, Sha256 and RmkName.</summary>
    [Output]
    public ITaskItem[] Fetched { get; private set; } = [];

    /// <summary>The item type the URL item came from (RmkKind, set by the SDK's targets).</summary>
    private static string Kind(ITaskItem item) => item.GetMetadata("RmkKind") is { Length: > 0 } kind ? kind : "OverlayArchive";

    /// <summary>MicrokernelDownloadTimeout: seconds without data before an attempt fails (empty: 30).</summary>
    public string? DownloadTimeout { get; set; }

    /// <summary>MicrokernelDownloadAttempts: attempts per URL (empty: 4).</summary>
    public string? DownloadAttempts { get; set; }

    /// <summary>MicrokernelMaxParallelDownloads: downloads at once (empty: 4).</summary>
    public string? MaxParallelDownloads { get; set; }

    protected override void ExecuteCore()
    {
        if (DownloadSettings.Read(this, DownloadTimeout, DownloadAttempts, MaxParallelDownloads) is not { } download)
        {
            return;
        }

        Formats.Fetch.LockFile? existing;
        try
        {
            existing = Formats.Fetch.LockFile.TryRead(LockFile);
        }
        catch (InvalidLockFileException e)
        {
            LogFileDiagnostic(false, LockFile, "LockInvalid", LockFile, e.Reason);
            return;
        }

        var production = TryParseFlavor(Flavor, out var flavor) && flavor == Formats.Mcollective.MicrokernelFlavor.Production;
        var requests = new List<(ITaskItem Item, string Url, string? Pin)>();
        foreach (var item in Items)
        {
            var url = item.ItemSpec.Trim();
            var pin = item.GetMetadata("Sha256").Trim().ToLowerInvariant();
            if (pin.Length > 0 && (pin.Length != 64 || !pin.All(Uri.IsHexDigit)))
            {
                LogItemError(item, Kind(item), "InvalidSha256", url, pin);
                continue;
            }

            var locked = existing?.FindDownload(url)?.Sha256;
            if (pin.Length == 0 && locked is null)
            {
                if (production)
                {
                    LogItemError(item, Kind(item), "UnpinnedUrl", url);
                    continue;
                }

                LogItemWarning(item, Kind(item), "UnpinnedUrlWarning", url);
            }

            if (LockedMode && locked is null)
            {
                LogItemError(item, Kind(item), "LockWouldChange", LockFile, $"new download {url}");
                continue;
            }

            requests.Add((item, url, pin.Length > 0 ? pin : locked));
        }

        if (Log.HasLoggedErrors)
        {
            return;
        }

        var cacheRoot = string.IsNullOrWhiteSpace(CacheDirectory) ? DownloadCache.DefaultRoot() : CacheDirectory;

        // All URLs at once, at most MaxParallelDownloads on the network; every failure is reported at its own item.
        using var gate = new SemaphoreSlim(download.MaxParallelDownloads);
        async Task<(UrlFetchResult? Result, Exception? Error)> FetchOne(string url, string? pin, IProgress<FetchEvent> progress)
        {
            await gate.WaitAsync(CancellationToken).ConfigureAwait(false);
            try
            {
                var request = new UrlFetchRequest { Url = url, ExpectedSha256 = pin, CacheDirectory = cacheRoot, Offline = Offline, Download = download };
                return (await UrlFetcher.FetchAsync(request, progress, CancellationToken).ConfigureAwait(false), null);
            }
            catch (Exception e) when (e is not OperationCanceledException || !CancellationToken.IsCancellationRequested)
            {
                return (null, e);
            }
            finally
            {
                gate.Release();
            }
        }

        // Each failure is returned, not thrown, so that it is reported below at its own item.
        var reporter = new FetchReporter(this, cacheRoot, _ => (null, "OverlayArchive"));
        if (!reporter.Run(p => Task.WhenAll(requests.Select(r => Task.Run(() => FetchOne(r.Url, r.Pin, p)))), out var outcomes))
        {
            return;
        }

        for (var i = 0; i < requests.Count; i++)
        {
            if (outcomes[i].Error is { } error)
            {
                var item = requests[i].Item;
                if (!reporter.Report(error, item, Kind(item)))
                {
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
                }
            }
        }

        if (Log.HasLoggedErrors)
        {
            return;
        }

        var results = new List<UrlFetchResult>();
        var fetched = new List<ITaskItem>();
        for (var i = 0; i < requests.Count; i++)
        {
            var (item, url, _) = requests[i];
            var r = outcomes[i].Result!;
            results.Add(r);
            var local = new TaskItem(r.Path);
            item.CopyMetadataTo(local);
            local.SetMetadata("SourceUrl", url);
            local.SetMetadata("Sha256", r.Sha256);
            local.SetMetadata("RmkName", Uri.TryCreate(url, UriKind.Absolute, out var u) ? Path.GetFileName(u.AbsolutePath) : url);
            local.SetMetadata("Size", r.Size.ToString(CultureInfo.InvariantCulture));
            Log.LogMessageFromResources(MessageImportance.Normal, "UrlFetched", url, Bytes(r.Size), r.FromCache ? "cache" : "downloaded", r.Sha256);
            fetched.Add(local);
        }

        Fetched = [.. fetched];
        Log.LogMessageFromResources(MessageImportance.High, "UrlsSummary", results.Count, results.Count(r => !r.FromCache), Bytes(results.Sum(r => r.Size)));
        if (LockedMode)
        {
            return;
        }

        // The lock file records exactly this build's downloads; extensions and the rest stay as they are.
        var current = (existing ?? new Formats.Fetch.LockFile()) with { Downloads = [] };
        current = current.WithDownloads(results.Select(r => r.ToLocked()));
        TryIo("LockWriteFailed", LockFile, () => current.WriteIfChanged(LockFile));
    }
}
