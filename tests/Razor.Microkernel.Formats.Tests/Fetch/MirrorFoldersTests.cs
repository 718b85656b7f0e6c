using Razor.Microkernel.Formats.Fetch;
using Razor.Microkernel.Formats.Release;
using Razor.Microkernel.Formats.Tcz;
using Razor.Microkernel.TestSupport;
using Razor.Microkernel.TestSupport.Mirror;

namespace Razor.Microkernel.Formats.Tests.Fetch;

/// <summary>
/// Local mirror folders read as local inputs (<see cref="MirrorFolders"/>): what the folder holds is what a fetch takes,
/// whatever the cache and its metadata say; every path looked at is recorded with its fingerprint, so that a change
/// (also to an older date) is seen by stat calls; a file with an unchanged fingerprint is not read again for its hashes;
/// the lock file's pins hold for folders only when the caller says so (locked mode).
/// </summary>
public sealed class MirrorFoldersTests : IDisposable
{
    private readonly TempFolder _dir = new("rmk-mirror-folders");
    private readonly TinyCoreMirrorBuilder _mirror;

    public MirrorFoldersTests() => _mirror = new TinyCoreMirrorBuilder(_dir["mirror"]);

    public void Dispose() => _dir.Dispose();

    private string Cache => _dir["cache"];

    private TczFetchRequest Request(params string[] names) => new()
    {
        Extensions = [.. names.Select(n => new TczExtensionRequest(n))],
        CacheDirectory = Cache,
        Mirror = _mirror.Root,
        Download = FetchTestSupport.Fast(),
    };

    private static void DateBack(string path) => File.SetLastWriteTimeUtc(path, new DateTime(2015, 1, 1, 0, 0, 0, DateTimeKind.Utc));

    [Fact]
    public async Task ReplacedTczWithAnOlderDate_IsTaken_AndTheRecordsSayTheFolderChanged()
    {
        _mirror.Add("a", "b.tcz\n", FetchTestSupport.Bytes(5000, 1));
        _mirror.Add("b", null, FetchTestSupport.Bytes(3000, 2));
        var first = await TczFetcher.FetchAsync(Request("a"));
        Assert.Equal(["b.tcz", "a.tcz"], first.Extensions.Select(e => e.Name));
        Assert.All(first.Extensions, e => Assert.Equal(Path.Combine(_mirror.TczFolder, e.Name), e.MirrorFolderFile));
        Assert.True(MirrorFolders.AllCurrent(first.MirrorFolderFiles));
        // Every file it read, and the .dep b does not have (a .dep appearing later changes the tree).
        Assert.Equal(new[] { "a.tcz", "a.tcz.dep", "a.tcz.md5.txt", "b.tcz", "b.tcz.dep", "b.tcz.md5.txt" }.Select(n => Path.Combine(_mirror.TczFolder, n)),
            first.MirrorFolderFiles.Select(f => f.Path));
        Assert.False(first.MirrorFolderFiles.Single(f => f.Path.EndsWith("b.tcz.dep", StringComparison.Ordinal)).Exists);

        // cp -p of another b.tcz (and its .md5.txt) with an old date; the cache's entry and metadata still name the old one.
        var newer = _mirror.Add("b", null, FetchTestSupport.Bytes(3000, 3));
        DateBack(Path.Combine(_mirror.TczFolder, "b.tcz"));
        Assert.False(MirrorFolders.AllCurrent(first.MirrorFolderFiles));
        var second = await TczFetcher.FetchAsync(Request("a") with { KnownMirrorFolderFiles = first.MirrorFolderFiles });
        var b = second.Extensions.Single(e => e.Name == "b.tcz");
        Assert.Equal(newer, File.ReadAllBytes(b.Path));
        Assert.Equal(FetchTestSupport.Sha256(newer), b.Sha256);
        Assert.False(b.FromCache);
        Assert.True(MirrorFolders.AllCurrent(second.MirrorFolderFiles));
        FetchTestSupport.AssertCacheConsistent(Cache);
    }

    [Fact]
    public async Task ChangedDep_ChangesTheTree_ThoughTheCacheHoldsTheOldOne()
    {
        _mirror.Add("a", "b.tcz\n");
        _mirror.Add("b");
        _mirror.Add("c");
        var first = await TczFetcher.FetchAsync(Request("a"));
        File.WriteAllText(Path.Combine(_mirror.TczFolder, "a.tcz.dep"), "b.tcz\nc.tcz\n");
        Assert.False(MirrorFolders.AllCurrent(first.MirrorFolderFiles));
        var second = await TczFetcher.FetchAsync(Request("a") with { KnownMirrorFolderFiles = first.MirrorFolderFiles });
        Assert.Equal(["b.tcz", "c.tcz", "a.tcz"], second.Extensions.Select(e => e.Name));
        Assert.Equal(["b.tcz", "c.tcz"], second.Lock.FindExtension("a.tcz")!.Dependencies);
    }

    [Fact]
    public async Task TczNotMatchingItsMd5_IsAChecksumMismatch_NamingTheFolderFile()
    {
        _mirror.Add("a", null, FetchTestSupport.Bytes(4000, 1));
        await TczFetcher.FetchAsync(Request("a"));
        // The .tcz replaced, its .md5.txt forgotten: the folder contradicts itself, and the cached bytes are not used instead.
        File.WriteAllBytes(Path.Combine(_mirror.TczFolder, "a.tcz"), FetchTestSupport.Bytes(4000, 9));
        var e = await Assert.ThrowsAsync<ChecksumMismatchException>(() => TczFetcher.FetchAsync(Request("a")));
        Assert.Equal("MD5", e.Algorithm);
        Assert.Contains(Path.Combine(_mirror.TczFolder, "a.tcz"), e.What);
    }

    [Fact]
    public async Task LockPins_HoldForAFolderOnlyWhenTheFolderMayNotOverrideThem()
    {
        var old = _mirror.Add("a", null, FetchTestSupport.Bytes(4000, 1));
        var first = await TczFetcher.FetchAsync(Request("a"));
        var newer = _mirror.Add("a", null, FetchTestSupport.Bytes(4000, 2));
        var locked = Request("a") with { Lock = first.Lock };
        var e = await Assert.ThrowsAsync<ChecksumMismatchException>(() => TczFetcher.FetchAsync(locked));
        Assert.Equal(("SHA-256", FetchTestSupport.Sha256(old), FetchTestSupport.Sha256(newer)), (e.Algorithm, e.Expected, e.Actual));
        Assert.Contains("lock file", e.What);

        var followed = await TczFetcher.FetchAsync(locked with { MirrorFoldersOverrideLock = true });
        Assert.Equal(FetchTestSupport.Sha256(newer), followed.Lock.FindExtension("a.tcz")!.Sha256);
    }

    [Fact]
    public async Task AnExtensionGoneFromTheFolders_IsMissing_ThoughTheCacheHasIt()
    {
        _mirror.Add("a");
        await TczFetcher.FetchAsync(Request("a"));
        File.Delete(Path.Combine(_mirror.TczFolder, "a.tcz"));
        var e = await Assert.ThrowsAsync<MissingExtensionException>(() => TczFetcher.FetchAsync(Request("a") with { Offline = true }));
        Assert.Equal([Path.Combine(_mirror.TczFolder, "a.tcz")], e.LocationsTried);
    }

    [Fact]
    public async Task AFileAppearingInAnEarlierFolder_IsSeen_AndTaken()
    {
        using var second = new TempFolder("rmk-mirror-folders-2");
        var later = new TinyCoreMirrorBuilder(second.Path);
        later.Add("a", null, FetchTestSupport.Bytes(2000, 1));
        var request = Request("a") with { MirrorFallbacks = [second.Path] };
        var first = await TczFetcher.FetchAsync(request);
        Assert.Equal(Path.Combine(later.TczFolder, "a.tcz"), first.Extensions[0].MirrorFolderFile);
        var earlier = _mirror.Add("a", null, FetchTestSupport.Bytes(2000, 2));
        Assert.False(MirrorFolders.AllCurrent(first.MirrorFolderFiles));
        var again = await TczFetcher.FetchAsync(request);
        Assert.Equal(FetchTestSupport.Sha256(earlier), again.Extensions[0].Sha256);
    }

    [Fact]
    public async Task UnchangedFingerprint_TakesTheRecordedHashes_WithoutReadingTheFile()
    {
        var bytes = _mirror.Add("a", null, FetchTestSupport.Bytes(2000, 1));
        var path = Path.Combine(_mirror.TczFolder, "a.tcz");
        var folders = new MirrorFolders([_mirror.Root]);
        Assert.Equal(path, folders.Find("4.x/x86/tcz/a.tcz"));
        var read = await folders.HashAsync(path);
        Assert.Equal(FetchTestSupport.Sha256(bytes), read.Sha256);

        // A record with the same fingerprint and other hashes: they are taken as they are (the file is not read).
        var recorded = folders.Files.Single(f => f.Path == path);
        var claimed = new FileHashes(new string('c', 64), new string('d', 32), 2000);
        var next = new MirrorFolders([_mirror.Root], [recorded with { Hashes = claimed }]);
        next.Find("4.x/x86/tcz/a.tcz");
        Assert.Equal(claimed, await next.HashAsync(path));
        // Another fingerprint: read again.
        _mirror.Add("a", null, FetchTestSupport.Bytes(2000, 1));
        var after = new MirrorFolders([_mirror.Root], [recorded with { Hashes = claimed }]);
        after.Find("4.x/x86/tcz/a.tcz");
        Assert.Equal(read, await after.HashAsync(path));
    }

    [Fact]
    public void Records_RoundTripAsLines()
    {
        MirrorFolderFile[] files =
        [
            new("/m/4.x/x86/tcz/a b.tcz", "size=1 mtime=2.000000000 ctime=3.000000000 inode=0:1:2", new FileHashes(new string('a', 64), new string('b', 32), 1)),
            new("/m/4.x/x86/tcz/a.tcz.dep", ""),
            new("/m/4.x/x86/tcz/%\t.tcz.md5.txt", "size=3 mtime=1.1 ctime=1.1 inode=0:1:3"),
        ];
        Assert.Equal(files, files.Select(f => MirrorFolderFile.TryParse(f.ToLine())));
        Assert.Null(MirrorFolderFile.TryParse("only-a-path"));
        Assert.Null(MirrorFolderFile.TryParse("p\tf\tnot-a-hash\tx\t1"));
    }

    [Fact]
    public void NonRegularFileInAFolder_IsRefused()
    {
        Directory.CreateDirectory(_mirror.TczFolder);
        Tool.Run("mkfifo", [Path.Combine(_mirror.TczFolder, "a.tcz")]).EnsureSuccess("mkfifo");
        var e = Assert.Throws<DownloadFailedException>(() => new MirrorFolders([_mirror.Root]).Find("4.x/x86/tcz/a.tcz"));
        Assert.Contains("not a regular file", e.Reason);
    }

    [Fact]
    public void ListMirrorFolderFiles_NamesTheTreesFilesThatExist_AndStopsAtRemoteMirrors()
    {
        _mirror.Add("a", "b.tcz\nscsi-KERNEL.tcz\nnowhere.tcz\n");
        _mirror.Add("b");
        _mirror.Add("scsi-3.0.21-tinycore");
        var listed = TczFetcher.ListMirrorFolderFiles(Request("a"));
        Assert.Equal(new[] { "a.tcz", "a.tcz.dep", "a.tcz.md5.txt", "b.tcz", "b.tcz.md5.txt", "scsi-3.0.21-tinycore.tcz", "scsi-3.0.21-tinycore.tcz.md5.txt" }
            .Select(n => Path.Combine(_mirror.TczFolder, n)), listed);
        Assert.Empty(TczFetcher.ListMirrorFolderFiles(Request("a") with { Mirror = "http://127.0.0.1:9/", MirrorFallbacks = [_mirror.Root] }));
        Assert.False(Directory.Exists(Cache)); // nothing fetched, nothing cached
    }

    [Fact]
    public async Task ReleaseFiles_FromAFolder_FollowTheFolder_AndThePinsHoldWhenAsked()
    {
        var release = TinyCoreRelease.Find("17.x", "x86_64");
        var builder = new TinyCoreMirrorBuilder(_mirror.Root, "17.x", "x86_64");
        builder.AddReleaseFile("vmlinuz64", FetchTestSupport.Bytes(9000, 1));
        builder.AddReleaseFile("corepure64.gz", FetchTestSupport.Bytes(7000, 2));
        var request = new ReleaseFetchRequest { Release = release, CacheDirectory = Cache, Mirror = _mirror.Root, Download = FetchTestSupport.Fast() };
        var first = await ReleaseFetcher.FetchAsync(request);
        Assert.True(MirrorFolders.AllCurrent(first.MirrorFolderFiles));
        Assert.Equal(Path.Combine(builder.DistributionFilesFolder, "vmlinuz64"), first.Files[0].MirrorFolderFile);
        Assert.Equal(
            new[] { "corepure64.gz", "corepure64.gz.md5.txt", "vmlinuz64", "vmlinuz64.md5.txt" }.Select(n => Path.Combine(builder.DistributionFilesFolder, n)),
            ReleaseFetcher.ListMirrorFolderFiles(release, [_mirror.Root]));

        var newer = FetchTestSupport.Bytes(7000, 3);
        builder.AddReleaseFile("corepure64.gz", newer);
        DateBack(Path.Combine(builder.DistributionFilesFolder, "corepure64.gz"));
        Assert.False(MirrorFolders.AllCurrent(first.MirrorFolderFiles));
        var pins = new LockFile { Version = "17.x", Arch = "x86_64", ReleaseFiles = [.. first.Files.Select(f => f.ToLocked())] };
        await Assert.ThrowsAsync<ChecksumMismatchException>(() => ReleaseFetcher.FetchAsync(request with { Lock = pins }));
        var followed = await ReleaseFetcher.FetchAsync(request with { Lock = pins, MirrorFoldersOverrideLock = true, KnownMirrorFolderFiles = first.MirrorFolderFiles });
        Assert.Equal(newer, File.ReadAllBytes(followed.Files[1].Path));
        Assert.Equal(first.Files[0].Sha256, followed.Files[0].Sha256);

        // Without its .md5.txt, a folder's release file is not there (as on a mirror).
        File.Delete(Path.Combine(builder.DistributionFilesFolder, "vmlinuz64.md5.txt"));
        var missing = await Assert.ThrowsAsync<ReleaseFileMissingException>(() => ReleaseFetcher.FetchAsync(request));
        Assert.Equal([Path.Combine(builder.DistributionFilesFolder, "vmlinuz64.md5.txt")], missing.LocationsTried);
    }
}
