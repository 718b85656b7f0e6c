using System.Globalization;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using Razor.Microkernel.Formats.Fetch;
using Razor.Microkernel.Formats.Iso9660;
using Razor.Microkernel.Formats.Release;

namespace Razor.Microkernel.Tasks;

/// <summary>
/// Settles the Tiny Core release the build targets (TinyCoreVersion, TinyCoreArch: RMK4012 when the SDK does not
/// know it), its boot files and its kernel version. The release's kernel and initrd are the CoreKernel and CoreInitrd
/// items, or the CoreIso's, or, when <see cref="FetchReleaseFiles"/> (MicrokernelPxe without any of them), the
/// mirror's distribution files, md5-verified and pinned in the lock file. The kernel version is TinyCoreKernel, else
/// the release's default (4.x), else read from the release's kernel and recorded in the lock file; else unknown,
/// which is an error only for a -KERNEL extension (FetchTcz, RMK4013). The release files of a local mirror folder are
/// local inputs, read on every build (what the folder holds is what the build takes; outside locked mode the lock file
/// follows a changed file): their fingerprints and hashes are kept in <see cref="MirrorFolderRecord"/>, so an unchanged
/// file costs a stat call, not a read.
/// </summary>
public sealed class ResolveTinyCoreRelease : RmkTask
{
    [Required]
    public string TinyCoreVersion { get; set; } = string.Empty;

    [Required]
    public string TinyCoreArch { get; set; } = string.Empty;

    /// <summary>TinyCoreKernel as the project set it (empty: not set).</summary>
    public string? Kernel { get; set; }

    public ITaskItem[] CoreIso { get; set; } = [];

    public ITaskItem[] CoreKernel { get; set; } = [];

    public ITaskItem[] CoreInitrd { get; set; } = [];

    /// <summary>Take the kernel and initrd from the mirror's release/distribution_files/.</summary>
    public bool FetchReleaseFiles { get; set; }

    public string? Mirror { get; set; }

    public string? MirrorFallbacks { get; set; }

    public string? CacheDirectory { get; set; }

    public bool Offline { get; set; }

    [Required]
    public string LockFile { get; set; } = string.Empty;

    public bool LockedMode { get; set; }

    public string? DownloadTimeout { get; set; }

    public string? DownloadAttempts { get; set; }

    public string? MaxParallelDownloads { get; set; }

    /// <summary>Only name the release's kernel and initrd files (<see cref="KernelFile"/>, <see cref="InitrdFile"/>) and,
    /// with <see cref="FetchReleaseFiles"/>, the files of them a local mirror folder has (<see cref="MirrorFolderFiles"/>):
    /// nothing is read, fetched, checked or written. What Visual Studio's fast up-to-date check is given, from a
    /// design-time build; a release the SDK does not know gives no names (the build reports it).</summary>
    public bool NamesOnly { get; set; }

    /// <summary>Where to keep what the local mirror folders' release files were found to be (fingerprints and hashes) for
    /// the next build; empty: nowhere (every build then hashes them).</summary>
    public string? MirrorFolderRecord { get; set; }

    /// <summary>Where to keep the result for the next build when the release's files are the project's own (not fetched):
    /// a build whose settings, lock file and CoreIso/CoreKernel/CoreInitrd files did not change takes it without reading
    /// any of them (<see cref="CheckRecord"/>); a resolution that warned is not kept, so the warning is said again.
    /// Empty: nothing is kept.</summary>
    public string? Record { get; set; }

    /// <summary>With <see cref="NamesOnly"/> and <see cref="FetchReleaseFiles"/>: the release files (and their .md5.txt) a
    /// local mirror folder at the head of the mirror list has.</summary>
    [Output]
    public ITaskItem[] MirrorFolderFiles { get; private set; } = [];

    /// <summary>The kernel version -KERNEL names become (empty when unknown).</summary>
    [Output]
    public string ResolvedKernel { get; private set; } = string.Empty;

    /// <summary>The release's kernel and initrd as files (CoreKernel/CoreInitrd, or the cached distribution files), with
    /// RmkItemType (the item type messages name) and RmkName; none when they come from the CoreIso or there are none.</summary>
    [Output]
    public ITaskItem[] ReleaseBootFiles { get; private set; } = [];

    /// <summary>The release's kernel and initrd names (TinyCoreRelease.KernelFile, InitrdFile).</summary>
    [Output]
    public string KernelFile { get; private set; } = string.Empty;

    [Output]
    public string InitrdFile { get; private set; } = string.Empty;

    protected override void ExecuteCore()
    {
        if (NamesOnly)
        {
            try
            {
                var known = TinyCoreRelease.Find(TinyCoreVersion, TinyCoreArch);
                (KernelFile, InitrdFile) = (known.KernelFile, known.InitrdFile);
                if (FetchReleaseFiles)
                {
                    MirrorFolderFiles = [.. ReleaseFetcher.ListMirrorFolderFiles(known, Mirrors()).Select(f => new TaskItem(f))];
                }
            }
            catch (UnknownReleaseException)
            {
            }

            return;
        }

        if (FindRelease(TinyCoreVersion, TinyCoreArch) is not { } release)
        {
            return;
        }

        KernelFile = release.KernelFile;
        InitrdFile = release.InitrdFile;
        var keep = !FetchReleaseFiles && !string.IsNullOrEmpty(Record);
        if (keep && CheckRecord.TryRead(Record, RecordInputs()) is { } kept && kept.TryGetValue("kernel", out var keptKernel) && kept.TryGetValue("source", out var keptSource))
        {
            ResolvedKernel = keptKernel;
            ReleaseBootFiles = [.. ProjectBootFiles(release)];
            Log.LogMessageFromResources(MessageImportance.Normal, "ReleaseResolved", release, keptKernel.Length > 0 ? keptKernel : "unknown", keptSource);
            return;
        }
        // The checks the build also makes before any work (CheckMicrokernelProperties), for a caller that did not.
        var explicitKernel = (Kernel ?? "").Trim();
        if (!CheckTinyCoreKernel(explicitKernel, release))
        {
            return;
        }

        if (explicitKernel.Length > 0 && !explicitKernel.EndsWith(release.KernelSuffix, StringComparison.Ordinal))
        {
            LogPropertyDiagnostic(true, "TinyCoreKernel", "KernelSuffixMismatch", explicitKernel, release.KernelSuffix, release, release.ExampleKernel);
        }

        CheckReleaseBootFileItems(CoreKernel, CoreInitrd);

        foreach (var (item, type) in CoreKernel.Select(i => (i, "CoreKernel")).Concat(CoreInitrd.Select(i => (i, "CoreInitrd"))))
        {
            if (!File.Exists(item.GetMetadata("FullPath")))
            {
                LogItemError(item, type, "SourceFileMissing", type, Display(item));
            }
        }

        if (Log.HasLoggedErrors)
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

        // The release's boot files.
        IReadOnlyList<FetchedReleaseFile> fetched = [];
        var mirrors = Mirrors();
        if (FetchReleaseFiles)
        {
            if (DownloadSettings.Read(this, DownloadTimeout, DownloadAttempts, MaxParallelDownloads) is not { } download)
            {
                return;
            }

            if (LockedMode && existing is null)
            {
                LogPropertyError("MicrokernelLockedMode", "LockMissing", LockFile);
                return;
            }

            var known = ReadMirrorFolderRecord();
            var request = new ReleaseFetchRequest
            {
                Release = release,
                CacheDirectory = string.IsNullOrWhiteSpace(CacheDirectory) ? DownloadCache.DefaultRoot() : CacheDirectory,
                Mirror = mirrors.FirstOrDefault() ?? "",
                MirrorFallbacks = mirrors.Skip(1).ToList(),
                Offline = Offline,
                Lock = existing,
                Download = download,
                // A local mirror folder is a local input: outside locked mode the lock file follows its files.
                MirrorFoldersOverrideLock = !LockedMode,
                KnownMirrorFolderFiles = known,
            };
            if (!new FetchReporter(this, request.CacheDirectory, _ => (null, "MicrokernelPxe")).Run(p => ReleaseFetcher.FetchAsync(request, p, CancellationToken), out var result))
            {
                return;
            }

            fetched = result.Files;
            WriteMirrorFolderRecord(known, result.MirrorFolderFiles);
            foreach (var f in fetched)
            {
                Log.LogMessageFromResources(MessageImportance.Normal, "ReleaseFileFetched", f.Name, Bytes(f.Size), f.Md5, f.FromCache ? "cache" : "downloaded");
            }
        }

        var bootFiles = ProjectBootFiles(release);
        if (bootFiles.Count == 0 && fetched.Count > 0)
        {
            foreach (var f in fetched)
            {
                var item = new TaskItem(f.Path);
                item.SetMetadata("Sha256", f.Sha256);
                item.SetMetadata("Md5", f.Md5);
                item.SetMetadata("Size", f.Size.ToString(CultureInfo.InvariantCulture));
                item.SetMetadata("SourceUrl", release.DistributionFilesFolder + f.Name);
                bootFiles.Add(BootFile(item, "release file", f.Name));
            }
        }

        // The release's initrd must at least start as one before any layer is written (the rest is read when the
        // network boot files are made); the kernel is read below when its version is needed.
        if (bootFiles.Count > 0 && !CheckInitrdStart(bootFiles[1]))
        {
            return;
        }

        // The kernel version.
        string? kernel = explicitKernel.Length > 0 ? explicitKernel : release.DefaultKernel;
        var source = explicitKernel.Length > 0 ? "TinyCoreKernel" : "the release's default";
        var read = false;
        if (kernel is null && ReadKernel(release, bootFiles) is { } found)
        {
            (kernel, source) = found;
            read = true;
        }
        else if (Log.HasLoggedErrors)
        {
            return;
        }
        else if (explicitKernel.Length > 0 && bootFiles.Count > 0)
        {
            // A TinyCoreKernel that is not the kernel that boots: its modules would not load.
            try
            {
                var actual = KernelImage.ReadRelease(bootFiles[0].ItemSpec);
                if (actual != explicitKernel)
                {
                    LogPropertyDiagnostic(true, "TinyCoreKernel", "KernelDiffersFromRelease", explicitKernel, actual,
                        $"{bootFiles[0].GetMetadata("RmkItemType")} {bootFiles[0].GetMetadata("RmkItemSpec")}");
                }
            }
            catch (KernelImageException)
            {
                // Not readable: TinyCoreKernel is all there is.
            }
        }

        // The lock file: the release files fetched, and a kernel version read from the release.
        var current = (existing ?? new Formats.Fetch.LockFile()) with { ReleaseFiles = [.. fetched.Select(f => f.ToLocked())] };
        if (fetched.Count > 0 || read)
        {
            current = current with
            {
                Mirror = mirrors.Count > 0 ? FetchLocation.Normalize(mirrors[0]) : current.Mirror,
                Version = release.Version,
                Arch = release.Arch,
                Kernel = kernel ?? "",
            };
        }

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
            FetchTcz.ReportMirrorFolderChanges(this, diff, "release file", fetched.Where(f => f.MirrorFolderFile is not null)
                .ToDictionary(f => f.Name, f => f.MirrorFolderFile!, StringComparer.Ordinal), existing is not null, LockFile);
            // Nothing to write when the lock file already says all this (a no-op build then serializes nothing).
            if ((existing is null ? fetched.Count > 0 || read : !diff.IsEmpty) && !TryIo("LockWriteFailed", LockFile, () => current.WriteIfChanged(LockFile)))
            {
                return;
            }
        }

        ResolvedKernel = kernel ?? "";
        ReleaseBootFiles = [.. bootFiles];
        Log.LogMessageFromResources(MessageImportance.Normal, "ReleaseResolved", release, kernel ?? "unknown", source);
        if (keep)
        {
            // The inputs as they are now (the lock file written above included).
            TryIo("LayerWriteFailed", Record!, () => CheckRecord.Keep(Record!, WarningsLogged == 0 ? RecordInputs() : null,
                [("kernel", ResolvedKernel), ("source", source)]));
        }
    }

    /// <summary>What the resolution of the project's own release files depends on.</summary>
    private string? RecordInputs()
    {
        var record = new CheckRecord(typeof(ResolveTinyCoreRelease)).Value("version", TinyCoreVersion).Value("arch", TinyCoreArch).Value("kernel", Kernel)
            .Value("mirror", Mirror).Value("fallbacks", MirrorFallbacks).Value("locked", LockedMode ? "true" : "false").File("lock", LockFile);
        foreach (var (name, items) in new[] { ("core-iso", CoreIso), ("core-kernel", CoreKernel), ("core-initrd", CoreInitrd) })
        {
            record.Value(name + "s", items.Length.ToString(CultureInfo.InvariantCulture));
            foreach (var item in items)
            {
                record.File(name, item.GetMetadata("FullPath"));
            }
        }

        return record.Inputs;
    }

    private List<string> Mirrors() => (Mirror ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .Concat((MirrorFallbacks ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();

    /// <summary>What the last build recorded of the mirror folders' release files (none when there is no record or it
    /// cannot be read: the files are then hashed).</summary>
    private List<MirrorFolderFile> ReadMirrorFolderRecord()
    {
        if (string.IsNullOrEmpty(MirrorFolderRecord) || !File.Exists(MirrorFolderRecord))
        {
            return [];
        }

        var records = File.ReadAllLines(MirrorFolderRecord).Where(l => l.Length > 0).Select(MirrorFolderFile.TryParse).ToList();
        return records.Any(r => r is null) ? [] : records.ConvertAll(r => r!);
    }

    /// <summary>Keeps what this build found, written only when it differs from the record.</summary>
    private void WriteMirrorFolderRecord(IReadOnlyList<MirrorFolderFile> before, IReadOnlyList<MirrorFolderFile> now)
    {
        if (string.IsNullOrEmpty(MirrorFolderRecord) || before.SequenceEqual(now))
        {
            return;
        }

        var text = string.Concat(now.Select(f => f.ToLine() + "\n"));
        TryIo("LayerWriteFailed", MirrorFolderRecord, () => Formats.AtomicFile.WriteAllText(MirrorFolderRecord, text, shared: true));
    }

    private static string Display(ITaskItem item) => item.GetMetadata("SourceUrl") is { Length: > 0 } url ? url : item.ItemSpec;

    /// <summary>The project's own CoreKernel and CoreInitrd under the release's names; empty when it names none.</summary>
    private List<ITaskItem> ProjectBootFiles(TinyCoreRelease release)
        => CoreKernel.Length > 0
            ? [BootFile(CoreKernel[0], "CoreKernel", release.KernelFile), BootFile(CoreInitrd[0], "CoreInitrd", release.InitrdFile)]
            : [];

    private static TaskItem BootFile(ITaskItem from, string itemType, string name)
    {
        var item = new TaskItem(from.GetMetadata("FullPath") is { Length: > 0 } full ? full : from.ItemSpec);
        from.CopyMetadataTo(item);
        item.SetMetadata("RmkItemType", itemType);
        item.SetMetadata("RmkName", name);
        item.SetMetadata("RmkItemSpec", Display(from));
        return item;
    }

    /// <summary>The kernel version read from the release's kernel (CoreKernel or the mirror's, else the CoreIso's), with
    /// where it came from; null when there is no kernel to read (or an error was logged).</summary>
    private (string Kernel, string Source)? ReadKernel(TinyCoreRelease release, List<ITaskItem> bootFiles)
    {
        if (bootFiles.Count > 0)
        {
            var k = bootFiles[0];
            try
            {
                return (KernelImage.ReadRelease(k.ItemSpec), $"read from {k.GetMetadata("RmkItemType")} {k.GetMetadata("RmkItemSpec")}");
            }
            catch (KernelImageException e)
            {
                ReportKernel(k.GetMetadata("RmkItemType") == "CoreKernel" ? CoreKernel[0] : null, k.GetMetadata("RmkItemType"), k.GetMetadata("RmkItemSpec"), e);
                return null;
            }
        }

        if (CoreIso.Length != 1 || !File.Exists(CoreIso[0].GetMetadata("FullPath")))
        {
            return null; // BuildIso reports these
        }

        var iso = CoreIso[0];
        try
        {
            using var files = Formats.Release.ReleaseBootFiles.FromIso(iso.GetMetadata("FullPath"), release.IsoLayout);
            using var k = files.OpenKernel();
            return (KernelImage.ReadRelease(k), $"read from CoreIso {Display(iso)}");
        }
        catch (KernelImageException e)
        {
            ReportKernel(iso, "CoreIso", Display(iso), e);
        }
        catch (CoreIsoException e)
        {
            LogItemError(iso, "CoreIso", "CoreIsoShape", Display(iso), e.Reason);
        }
        catch (IsoFormatException e)
        {
            LogItemError(iso, "CoreIso", "CoreIsoMalformed", Display(iso), e.Message);
        }

        return null;
    }

    /// <summary>RMK3303 for a CoreInitrd or mirror initrd that is not a gzip'd (or plain) newc cpio from its first bytes on.</summary>
    private bool CheckInitrdStart(ITaskItem initrd)
    {
        var itemType = initrd.GetMetadata("RmkItemType");
        try
        {
            using var s = File.OpenRead(initrd.ItemSpec);
            MicrokernelInitrd.CheckStart(s);
            return true;
        }
        catch (ReleaseInitrdException e)
        {
            LogItemError(itemType == "CoreInitrd" ? CoreInitrd[0] : null, itemType, "ReleaseInitrdMalformed", itemType, initrd.GetMetadata("RmkItemSpec"), e.Reason);
            return false;
        }
    }

    private void ReportKernel(ITaskItem? item, string itemType, string name, KernelImageException e)
        => LogItemError(item, itemType, "ReleaseKernelMalformed", itemType, name, e.Reason, e.Offset);
}
