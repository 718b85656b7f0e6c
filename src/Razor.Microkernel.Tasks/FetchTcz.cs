using System.Globalization;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using Razor.Microkernel.Formats;
using Razor.Microkernel.Formats.Fetch;
using Razor.Microkernel.Formats.Tcz;

namespace Razor.Microkernel.Tasks;

/// <summary>
/// Replaces <c>tce-load -w</c> for every TczExtension: resolves the .tcz.dep trees (depth-first,
/// dependencies first, each once, cycles warned and broken), downloads into the shared content-addressed
/// cache (parallel, verified against .md5.txt, retried, resumed), and keeps microkernel.lock.json.
/// Offline builds never touch the network; locked mode fails when the resolution would change the lock.
/// Local mirror folders at the head of the mirror list are local inputs: their files are read on every resolution
/// (never cached copies), fingerprinted into the kept result (<see cref="ResolvedFile"/>), and a changed file is taken
/// outside locked mode (the lock file follows it, as after a refresh) or refused in locked mode.
/// </summary>
public sealed class FetchTcz : RmkTask
{
    [Required]
    public ITaskItem[] Extensions { get; set; } = [];

    [Required]
    public string Mirror { get; set; } = TczFetchRequest.DefaultMirror;

    public string? MirrorFallbacks { get; set; }

    [Required]
    public string Version { get; set; } = "4.x";

    [Required]
    public string Arch { get; set; } = "x86";

    /// <summary>The kernel version KERNEL becomes (the resolved TinyCoreKernel); empty when none is known, and then a
    /// -KERNEL name is RMK4013.</summary>
    public string? Kernel { get; set; }

    /// <summary>The shared download cache; empty means the per-user default ($XDG_CACHE_HOME or ~/.cache on
    /// Unix, %LOCALAPPDATA% on Windows, then razor-microkernel).</summary>
    public string? CacheDirectory { get; set; }

    public bool Offline { get; set; }

    [Required]
    public string LockFile { get; set; } = string.Empty;

    public bool LockedMode { get; set; }

    /// <summary>Read .dep and .md5.txt from the mirror again instead of the cached copies.</summary>
    public bool RefreshMetadata { get; set; }

    /// <summary>MicrokernelDownloadTimeout: seconds without data before an attempt fails (empty: 30).</summary>
    public string? DownloadTimeout { get; set; }

    /// <summary>MicrokernelDownloadAttempts: attempts per mirror before the next one is tried (empty: 4).</summary>
    public string? DownloadAttempts { get; set; }

    /// <summary>MicrokernelMaxParallelDownloads: downloads at once (empty: 4).</summary>
    public string? MaxParallelDownloads { get; set; }

    /// <summary>Where to keep the result for the next build (<see cref="ResolvedExtensionsFile"/>); empty: nowhere.</summary>
    public string? ResolvedFile { get; set; }

    /// <summary>Only list the files the resolution would read from local mirror folders (<see cref="MirrorFolderFiles"/>):
    /// nothing is fetched, checked, cached or written. What Visual Studio's fast up-to-date check is given, from a
    /// design-time build.</summary>
    public bool ListOnly { get; set; }

    /// <summary>With <see cref="ListOnly"/>: the local mirror folders' files (each extension's .tcz, .md5.txt and .dep,
    /// through the .dep trees) that exist.</summary>
    [Output]
    public ITaskItem[] MirrorFolderFiles { get; private set; } = [];

    /// <summary>Resolved extensions in install order: the cached .tcz with Name, ExtensionName, Md5,
    /// Sha256, Size, Files, Order and Dependencies metadata.</summary>
    [Output]
    public ITaskItem[] Resolved { get; private set; } = [];

    protected override void ExecuteCore()
    {
        if (ListOnly)
        {
            MirrorFolderFiles = [.. TczFetcher.ListMirrorFolderFiles(new TczFetchRequest
            {
                Extensions = [.. Extensions.Select(e => new TczExtensionRequest(e.ItemSpec, IncludesDependencies(e)))],
                CacheDirectory = "",
                Mirror = Mirror,
                MirrorFallbacks = SplitList(MirrorFallbacks),
                Version = Version,
                Arch = Arch,
                Kernel = string.IsNullOrWhiteSpace(Kernel) ? null : Kernel.Trim(),
            }).Select(f => new TaskItem(f))];
            return;
        }

        if (DownloadSettings.Read(this, DownloadTimeout, DownloadAttempts, MaxParallelDownloads) is not { } download
            || FindRelease(Version, Arch) is not { } release)
        {
            return;
        }

        var kernel = string.IsNullOrWhiteSpace(Kernel) ? null : Kernel.Trim();
        void KernelRequired(ITaskItem? item, KernelVersionRequiredException e)
            => LogItemError(item, "TczExtension", "KernelRequired", item?.ItemSpec ?? e.ListedIn ?? e.Name, e.Name,
                e.ListedIn is null ? "" : $" in {e.ListedIn}.tcz.dep", release, release.ExampleKernel);

        var byName = new Dictionary<string, ITaskItem>(StringComparer.Ordinal);
        var requests = new List<TczExtensionRequest>();
        foreach (var item in Extensions)
        {
            string name;
            try
            {
                name = ExtensionName.Normalize(item.ItemSpec, kernel);
            }
            catch (InvalidExtensionNameException e)
            {
                LogItemError(item, "TczExtension", "InvalidExtensionName", item.ItemSpec, e.Reason);
                continue;
            }
            catch (KernelVersionRequiredException e)
            {
                KernelRequired(item, e);
                continue;
            }

            var includeDependencies = IncludesDependencies(item);
            var mode = item.GetMetadata("InstallMode");
            if (!string.IsNullOrWhiteSpace(mode) && !mode.Trim().Equals("Copy", StringComparison.OrdinalIgnoreCase)
                && !mode.Trim().Equals("Link", StringComparison.OrdinalIgnoreCase))
            {
                LogItemError(item, "TczExtension", "InvalidInstallMode", item.ItemSpec, mode);
                continue;
            }

            byName[name] = item;
            requests.Add(new TczExtensionRequest(name, includeDependencies));
        }

        if (Log.HasLoggedErrors)
        {
            return;
        }

        if (LockedMode && !File.Exists(LockFile))
        {
            LogPropertyError("MicrokernelLockedMode", "LockMissing", LockFile);
            return;
        }

        // Nothing that decides the resolution changed since the last one (the extensions and their metadata, these
        // properties, the lock file (by its fingerprint: not even parsed), the files of local mirror folders) and every
        // cached file is still there: the same result, without resolving again. RefreshMetadata always resolves (it
        // reads the mirror again).
        var kept = string.IsNullOrEmpty(ResolvedFile) ? null : ResolvedExtensionsFile.TryRead(ResolvedFile);
        if (!RefreshMetadata && kept is not null && ResolutionKey() is { } key && kept.IsCurrent(key))
        {
            Resolved = [.. kept.Items];
            ResolvedExtensionsFile.LogResolved(this, Resolved);
            return;
        }

        var existing = ReadLock();
        if (Log.HasLoggedErrors)
        {
            return;
        }

        if (LockedMode && existing is null)
        {
            LogPropertyError("MicrokernelLockedMode", "LockMissing", LockFile);
            return;
        }

        var request = new TczFetchRequest
        {
            Extensions = requests,
            CacheDirectory = string.IsNullOrWhiteSpace(CacheDirectory) ? DownloadCache.DefaultRoot() : CacheDirectory,
            Mirror = Mirror,
            MirrorFallbacks = SplitList(MirrorFallbacks),
            Version = Version,
            Arch = Arch,
            Kernel = kernel,
            Offline = Offline,
            Download = download,
            // The lock file's SHA-256 pins are enforced on every build (a mirror that now serves other bytes is RMK1003),
            // except when the project asks to pick up the mirror's updates (RefreshMetadata without locked mode).
            Lock = LockedMode || !RefreshMetadata ? existing : null,
            RefreshMetadata = RefreshMetadata && !Offline,
            // A local mirror folder is a local input: outside locked mode its files are taken as they are now and the lock
            // file follows them (as after a refresh); in locked mode the lock file's pins hold for it too.
            MirrorFoldersOverrideLock = !LockedMode,
            KnownMirrorFolderFiles = kept?.MirrorFolderFiles ?? [],
        };

        // A failure about one of the project's own extensions points at its item; one about a dependency, at the project.
        (ITaskItem?, string) ItemOf(Exception e)
        {
            var name = e switch
            {
                MissingExtensionException m when m.Chain.Count > 0 => m.Chain[0],
                OfflineCacheMissException o when o.Chain.Count > 0 => o.Chain[0],
                InvalidExtensionNameException x => x.Name,
                _ => null,
            };
            return (name is not null && byName.TryGetValue(name, out var asked) ? asked : null, "TczExtension");
        }

        TczFetchResult result;
        try
        {
            if (!new FetchReporter(this, request.CacheDirectory, ItemOf).Run(progress => TczFetcher.FetchAsync(request, progress, CancellationToken), out result))
            {
                return;
            }
        }
        catch (Exception e) when ((e as KernelVersionRequiredException ?? (e as AggregateException)?.InnerException as KernelVersionRequiredException) is { } k)
        {
            // A .dep names a -KERNEL extension: at the project's item whose tree it is in, when that is one of them.
            KernelRequired(k.ListedIn is { } parent && byName.TryGetValue(ExtensionName.WithSuffix(parent), out var asked) ? asked : null, k);
            return;
        }

        foreach (var w in result.Warnings)
        {
            LogFileDiagnostic(true, null, "FetchWarning", w);
        }

        var current = result.Lock.WithDownloads(existing?.Downloads ?? []) with { ReleaseFiles = existing?.ReleaseFiles ?? [] };
        var diff = Formats.Fetch.LockFile.Compare(existing, current);
        if (LockedMode)
        {
            if (diff.ChangesResolution)
            {
                LogFileDiagnostic(false, null, "LockWouldChange", LockFile, diff.ToString());
                return;
            }
        }
        else
        {
            ReportMirrorFolderChanges(this, diff, "extension", result.Extensions.Where(e => e.MirrorFolderFile is not null)
                .ToDictionary(e => e.Name, e => e.MirrorFolderFile!, StringComparer.Ordinal), existing is not null, LockFile);
            if (!TryIo("LockWriteFailed", LockFile, () => current.WriteIfChanged(LockFile)))
            {
                return;
            }
        }

        var order = 0;
        Resolved = result.Extensions.Select(e =>
        {
            var item = new TaskItem(e.Path);
            var bare = ExtensionName.WithoutSuffix(e.Name);
            item.SetMetadata("Name", e.Name);
            item.SetMetadata("ExtensionName", bare);
            item.SetMetadata("Md5", e.Md5);
            item.SetMetadata("Sha256", e.Sha256);
            item.SetMetadata("Size", e.Size.ToString(CultureInfo.InvariantCulture));
            item.SetMetadata("Dependencies", string.Join(';', e.Dependencies));
            item.SetMetadata("Order", (order++).ToString("D3", CultureInfo.InvariantCulture));
            if (byName.TryGetValue(e.Name, out var asked))
            {
                item.SetMetadata("Files", asked.GetMetadata("Files"));
                item.SetMetadata("InstallMode", asked.GetMetadata("InstallMode"));
                // Where the project asked for it, for messages about its layer.
                item.SetMetadata("RmkItemSpec", asked.ItemSpec);
                item.SetMetadata("RmkDefiningProject", asked.GetMetadata("RmkDefiningProject") is { Length: > 0 } defined ? defined : asked.GetMetadata("DefiningProjectFullPath"));
            }

            Log.LogMessageFromResources(MessageImportance.Normal, "ExtensionResolved", e.Name, Bytes(e.Size), e.Md5, e.FromCache ? "cache" : "downloaded",
                e.Dependencies.Count == 0 ? "-" : string.Join(", ", e.Dependencies));
            return (ITaskItem)item;
        }).ToArray();
        Log.LogMessageFromResources(MessageImportance.High, "ExtensionsSummary", Resolved.Length, result.Extensions.Count(e => !e.FromCache),
            Bytes(result.Extensions.Sum(e => e.Size)));
        if (!string.IsNullOrEmpty(ResolvedFile))
        {
            // Keyed by the lock file as it is now, written above or not.
            if (ResolutionKey() is { } written)
            {
                TryIo("LayerWriteFailed", ResolvedFile, () => ResolvedExtensionsFile.Write(ResolvedFile, written, Resolved, result.MirrorFolderFiles));
            }
            else
            {
                TryIo("LayerWriteFailed", ResolvedFile, () => File.Delete(ResolvedFile));
            }
        }
    }

    /// <summary>TczExtension's Dependencies metadata: true unless Files is given, when it is not set.</summary>
    private static bool IncludesDependencies(ITaskItem item)
    {
        var deps = item.GetMetadata("Dependencies");
        return string.IsNullOrWhiteSpace(deps)
            ? string.IsNullOrWhiteSpace(item.GetMetadata("Files"))
            : string.Equals(deps.Trim(), "true", StringComparison.OrdinalIgnoreCase);
    }

    private static string[] SplitList(string? list) => (list ?? string.Empty).Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Says which lock file entries of <paramref name="section"/> change because a local mirror folder's files
    /// changed (<paramref name="fromFolders"/>: name → the folder's file), so that the lock file's diff is no surprise.</summary>
    internal static void ReportMirrorFolderChanges(RmkTask task, LockFileDiff diff, string section, IReadOnlyDictionary<string, string> fromFolders,
        bool hadLockFile, string lockFile)
    {
        if (!hadLockFile)
        {
            return;
        }

        foreach (var change in diff.Changes.Where(c => c.Section == section && c.Kind == LockChangeKind.Changed))
        {
            if (fromFolders.TryGetValue(change.Name, out var file))
            {
                task.Log.LogMessageFromResources(MessageImportance.High, "MirrorFolderChanged", change.Name, file, lockFile, change);
            }
        }
    }

    /// <summary>What decides the resolution, hashed: the settings, the extension items and their metadata, and the lock
    /// file's fingerprint (size, times, inode: every write of it makes a new one); null when the lock file cannot be
    /// examined.</summary>
    private string? ResolutionKey()
    {
        var key = new System.Text.StringBuilder();
        key.Append(CultureInfo.InvariantCulture, $"{Mirror}|{MirrorFallbacks}|{Version}|{Arch}|{Kernel}|{CacheDirectory}|{Offline}|{LockFile}|{LockedMode}|{DownloadTimeout}|{DownloadAttempts}|{MaxParallelDownloads}\n");
        foreach (var e in Extensions)
        {
            key.Append(CultureInfo.InvariantCulture, $"ext {e.ItemSpec}|{e.GetMetadata("Files")}|{e.GetMetadata("Dependencies")}|{e.GetMetadata("InstallMode")}|{e.GetMetadata("RmkDefiningProject")}|{e.GetMetadata("DefiningProjectFullPath")}\n");
        }

        if (new CheckRecord(typeof(FetchTcz)).File("lock", LockFile).Inputs is not { } lockState)
        {
            return null;
        }

        key.Append(lockState);
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(key.ToString())));
    }

    private Formats.Fetch.LockFile? ReadLock()
    {
        try
        {
            return Formats.Fetch.LockFile.TryRead(LockFile);
        }
        catch (InvalidLockFileException e)
        {
            LogFileDiagnostic(false, LockFile, "LockInvalid", LockFile, e.Reason);
            return null;
        }
    }
}
