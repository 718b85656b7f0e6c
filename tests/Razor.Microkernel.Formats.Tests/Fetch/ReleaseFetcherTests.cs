using Razor.Microkernel.Formats.Fetch;
using Razor.Microkernel.Formats.Release;
using Razor.Microkernel.TestSupport;
using Razor.Microkernel.TestSupport.Mirror;

namespace Razor.Microkernel.Formats.Tests.Fetch;

/// <summary>A release's kernel and initrd from the mirror's distribution_files/ (a folder mirror here; the HTTP path is
/// the one extensions and URL items use, exercised end to end), md5-verified, pinned and then offline.</summary>
public sealed class ReleaseFetcherTests : IDisposable
{
    private static readonly TinyCoreRelease Release = TinyCoreRelease.Find("17.x", "x86_64");
    private readonly TempFolder _dir = new("rmk-release-fetch");

    public void Dispose() => _dir.Dispose();

    private ReleaseFetchRequest Request(LockFile? pins = null, bool offline = false, string? mirror = null) => new()
    {
        Release = Release,
        CacheDirectory = _dir["cache"],
        Mirror = mirror ?? _dir["mirror"],
        Offline = offline,
        Lock = pins,
        Download = FetchTestSupport.Fast(),
    };

    /// <summary>A mirror that never answers: offline builds must not need it.</summary>
    private const string Unreachable = "http://127.0.0.1:9/unreachable";

    private (byte[] Kernel, byte[] Initrd) Populate(bool md5 = true)
    {
        var builder = new TinyCoreMirrorBuilder(_dir["mirror"], "17.x", "x86_64");
        var kernel = FetchTestSupport.Bytes(9000, 1);
        var initrd = FetchTestSupport.Bytes(7000, 2);
        builder.AddReleaseFile("vmlinuz64", kernel, md5);
        builder.AddReleaseFile("corepure64.gz", initrd, md5);
        return (kernel, initrd);
    }

    [Fact]
    public async Task Fetch_KernelThenInitrd_VerifiedAndCached_ThenOfflineFromTheLockFilesPins()
    {
        var (kernel, initrd) = Populate();
        var files = (await ReleaseFetcher.FetchAsync(Request())).Files;
        Assert.Equal(["vmlinuz64", "corepure64.gz"], files.Select(f => f.Name));
        Assert.Equal(kernel, File.ReadAllBytes(files[0].Path));
        Assert.Equal(FetchTestSupport.Sha256(initrd), files[1].Sha256);
        Assert.Equal(TinyCoreMirrorBuilder.Md5(initrd), files[1].Md5);
        Assert.All(files, f => Assert.False(f.FromCache));
        FetchTestSupport.AssertCacheConsistent(_dir["cache"]);

        // Offline, with the mirror an HTTP one (a folder is read on every fetch, see below): the lock file's pins, from the cache.
        var pins = new LockFile { Version = "17.x", Arch = "x86_64", ReleaseFiles = [.. files.Select(f => f.ToLocked())] };
        var again = (await ReleaseFetcher.FetchAsync(Request(pins, offline: true, mirror: Unreachable))).Files;
        Assert.All(again, f => Assert.True(f.FromCache));
        Assert.Equal(files.Select(f => f.Sha256), again.Select(f => f.Sha256));
    }

    [Fact]
    public async Task Fetch_FileFailingItsMd5_IsAChecksumMismatch_AndNothingIsCached()
    {
        Populate();
        File.WriteAllText(_dir["mirror/17.x/x86_64/release/distribution_files/corepure64.gz.md5.txt"], new string('0', 32) + "  corepure64.gz\n");
        var e = await Assert.ThrowsAsync<ChecksumMismatchException>(() => ReleaseFetcher.FetchAsync(Request()));
        Assert.Contains("corepure64.gz", e.What);
        Assert.Null(new DownloadCache(_dir["cache"]).TryGetEntry(ReleaseFetcher.Key(Release, "corepure64.gz")));
    }

    [Fact]
    public async Task Fetch_MissingFile_NamesItAndWhereItLooked()
    {
        Directory.CreateDirectory(_dir["mirror"]);
        var e = await Assert.ThrowsAsync<ReleaseFileMissingException>(() => ReleaseFetcher.FetchAsync(Request()));
        Assert.Equal("vmlinuz64", e.Name);
        // A mirror folder is looked at for the file itself (an HTTP mirror is asked for its .md5.txt first).
        Assert.Equal([_dir["mirror/17.x/x86_64/release/distribution_files/vmlinuz64"]], e.LocationsTried);
    }

    [Fact]
    public async Task Fetch_PinnedHashDiffers_IsRefused_OfflineMiss_NamesTheFile()
    {
        Populate();
        var pins = new LockFile { Version = "17.x", Arch = "x86_64", ReleaseFiles = [new LockedReleaseFile("vmlinuz64", "x", new string('a', 64), 9000)] };
        await Assert.ThrowsAsync<ChecksumMismatchException>(() => ReleaseFetcher.FetchAsync(Request(pins)));
        var miss = await Assert.ThrowsAsync<OfflineCacheMissException>(() => ReleaseFetcher.FetchAsync(Request(offline: true, mirror: Unreachable)));
        Assert.Contains("vmlinuz64", miss.What);
    }

    [Fact]
    public void LockFile_ReleaseFiles_RoundTrip_AndAreLeftOutWhenThereAreNone()
    {
        var plain = new LockFile { Mirror = "m", Version = "4.x", Arch = "x86", Kernel = "k" };
        Assert.DoesNotContain("releaseFiles", plain.ToJson());
        var with = plain with { ReleaseFiles = [new LockedReleaseFile("vmlinuz64", new string('1', 32), new string('2', 64), 5)] };
        Assert.Equal(with.ReleaseFiles, LockFile.Parse(with.ToJson()).ReleaseFiles);
        var diff = LockFile.Compare(plain, with);
        Assert.Contains(diff.Changes, c => c.Section == "release file" && c.Name == "vmlinuz64" && c.Kind == LockChangeKind.Added);
        Assert.True(diff.ChangesResolution);
    }
}
