using System.Diagnostics;
using Razor.Microkernel.Formats.Fetch;
using Razor.Microkernel.TestSupport;
using static Razor.Microkernel.Formats.Tests.Fetch.FetchTestSupport;

namespace Razor.Microkernel.Formats.Tests.Fetch;

public class DownloadCacheTests
{
    [Fact]
    public async Task AddBlob_StoresByHashAndIndexesTheKey()
    {
        using var tmp = new TempFolder();
        var cache = new DownloadCache(tmp["cache"]);
        var bytes = Bytes(1000, 1);
        var file = tmp.Write("in.bin", bytes);
        var entry = await cache.AddBlobAsync("url/x", file, "x", Sha256(bytes));
        Assert.Equal(Sha256(bytes), entry.Sha256);
        Assert.False(File.Exists(file));
        Assert.Equal(bytes, File.ReadAllBytes(cache.BlobPath(entry.Sha256!)));
        Assert.Equal(entry, cache.TryGetEntry("url/x"));
        Assert.Null(cache.TryGetEntry("url/y"));
    }

    [Fact]
    public async Task TryGetEntry_DamagedBlobOrIndex_IsAMissNeverServed()
    {
        using var tmp = new TempFolder();
        var cache = new DownloadCache(tmp["cache"]);
        var entry = await cache.AddBlobAsync("k", tmp.Write("in.bin", Bytes(1000, 2)), "k");
        File.WriteAllBytes(cache.BlobPath(entry.Sha256!), Bytes(999, 2)); // truncated behind our back
        Assert.Null(cache.TryGetEntry("k"));
        Assert.False(File.Exists(cache.BlobPath(entry.Sha256!)));

        var e2 = await cache.AddBlobAsync("k2", tmp.Write("in2.bin", Bytes(100, 3)), "k2");
        File.WriteAllBytes(cache.BlobPath(e2.Sha256!), Bytes(100, 4)); // same size, other bytes
        Assert.NotNull(cache.TryGetEntry("k2"));
        Assert.Null(new DownloadCache(tmp["cache"], verifyOnRead: true).TryGetEntry("k2"));

        cache.SetEntry(new CacheEntry { Key = "k3", Text = "x" });
        foreach (var f in Directory.EnumerateFiles(tmp["cache/index"], "*.json", SearchOption.AllDirectories))
        {
            File.WriteAllText(f, "{ broken");
        }

        Assert.Null(cache.TryGetEntry("k3"));
    }

    [Fact]
    public async Task AddBlob_WrongHash_DeletesTheFileAndRecordsNothing()
    {
        using var tmp = new TempFolder();
        var cache = new DownloadCache(tmp["cache"]);
        var file = tmp.Write("in.bin", Bytes(10, 5));
        await Assert.ThrowsAsync<ChecksumMismatchException>(() => cache.AddBlobAsync("k", file, "k", expectedMd5: new string('0', 32)));
        Assert.False(File.Exists(file));
        Assert.Null(cache.TryGetEntry("k"));
        Assert.Equal(0, BlobCount(tmp["cache"]));
    }

    [Fact]
    public async Task Lock_IsExclusiveWithinTheProcess()
    {
        using var tmp = new TempFolder();
        var cache = new DownloadCache(tmp["cache"]);
        var first = await cache.LockAsync("k");
        var second = cache.LockAsync("k");
        await Task.Delay(150);
        Assert.False(second.IsCompleted);
        var other = await cache.LockAsync("other key");
        other.Dispose();
        first.Dispose();
        (await second).Dispose();
    }

    [Fact]
    public async Task Lock_WaitsForAnotherProcessHoldingIt()
    {
        using var tmp = new TempFolder();
        var cache = new DownloadCache(tmp["cache"]);
        using (await cache.LockAsync("k"))
        {
        }

        var lockFile = Directory.EnumerateFiles(tmp["cache/locks"]).Single();
        var ready = tmp["ready"];
        var released = tmp["released"];
        using var holder = Process.Start(new ProcessStartInfo(Tool.Require("flock"),
            ["-x", lockFile, "sh", "-c", $"touch '{ready}'; sleep 0.4; touch '{released}'"]))!;
        var wait = Stopwatch.StartNew();
        while (!File.Exists(ready))
        {
            Assert.True(wait.Elapsed < TimeSpan.FromSeconds(20), "flock did not start");
            await Task.Delay(10);
        }

        using (await cache.LockAsync("k"))
        {
            // The other process held the lock until its command finished.
            Assert.True(File.Exists(released));
        }

        await holder.WaitForExitAsync();
    }

    [Fact]
    public async Task Lock_TimesOutWithATypedError()
    {
        using var tmp = new TempFolder();
        var cache = new DownloadCache(tmp["cache"], lockTimeout: TimeSpan.FromMilliseconds(200));
        using var held = await cache.LockAsync("k");
        var e = await Assert.ThrowsAsync<CacheLockTimeoutException>(() => cache.LockAsync("k"));
        Assert.Equal("k", e.Key);
    }

    [Fact]
    public void DefaultRoot_FollowsXdgCacheHome()
    {
        var root = DownloadCache.DefaultRoot();
        Assert.EndsWith("razor-microkernel", root);
        Assert.True(Path.IsPathRooted(root));
    }
}
