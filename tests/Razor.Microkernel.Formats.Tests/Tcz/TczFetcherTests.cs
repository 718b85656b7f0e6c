using System.Diagnostics;
using Razor.Microkernel.Formats.Fetch;
using Razor.Microkernel.Formats.Tcz;
using Razor.Microkernel.TestSupport;
using Razor.Microkernel.TestSupport.Mirror;
using static Razor.Microkernel.Formats.Tests.Fetch.FetchTestSupport;

namespace Razor.Microkernel.Formats.Tests.Tcz;

public sealed class TczFetcherTests : IAsyncLifetime
{
    private const string Kernel = "3.0.21-tinycore";
    private readonly TempFolder tmp = new("rmk-tcz");
    private readonly Dictionary<string, byte[]> content = [];
    private TinyCoreMirrorBuilder layout = null!;
    private LoopbackMirror server = null!;

    private string Cache => tmp["cache"];

    public async Task InitializeAsync()
    {
        layout = new TinyCoreMirrorBuilder(tmp["mirror"]);
        // ruby → gdbm, readline → ncurses, openssl; messy .dep files as on the real mirror.
        content["ruby.tcz"] = layout.Add("ruby", "gdbm.tcz\r\n\r\n  readline.tcz \r\n\topenssl-0.9.8.tcz", size: 40_000);
        content["gdbm.tcz"] = layout.Add("gdbm");
        content["readline.tcz"] = layout.Add("readline", "ncurses.tcz\n\n");
        content["ncurses.tcz"] = layout.Add("ncurses", "   \n");
        content["openssl-0.9.8.tcz"] = layout.Add("openssl-0.9.8");
        content["bash.tcz"] = layout.Add("bash", "readline.tcz\nncurses.tcz\n");
        content["scsi-3.0.21-tinycore.tcz"] = layout.Add("scsi-3.0.21-tinycore");
        content["lshw.tcz"] = layout.Add("lshw", "scsi-KERNEL.tcz\n");
        content["util-linux.tcz"] = layout.Add("util-linux", "ncurses.tcz\n");
        server = await LoopbackMirror.StartAsync(layout.Root);
    }

    public async Task DisposeAsync()
    {
        await server.DisposeAsync();
        tmp.Dispose();
    }

    private TczFetchRequest Request(params string[] names) => new()
    {
        Extensions = [.. names.Select(n => new TczExtensionRequest(n))],
        CacheDirectory = Cache,
        Mirror = server.BaseUrl,
        Kernel = Kernel,
        Download = Fast(),
    };

    private void AssertFetched(TczFetchResult result)
    {
        foreach (var e in result.Extensions)
        {
            var bytes = content[e.Name];
            Assert.Equal(bytes, File.ReadAllBytes(e.Path));
            Assert.Equal(TinyCoreMirrorBuilder.Md5(bytes), e.Md5);
            Assert.Equal(TinyCoreMirrorBuilder.Sha256(bytes), e.Sha256);
            Assert.Equal(bytes.Length, e.Size);
        }

        AssertCacheConsistent(Cache);
    }

    [Fact]
    public async Task Fetch_ResolvesTheTreeInTceLoadOrder_DownloadsAndVerifies()
    {
        var events = new FetchEvents();
        var result = await TczFetcher.FetchAsync(Request("ruby", "bash.tcz"), events);
        Assert.Equal(["gdbm.tcz", "ncurses.tcz", "readline.tcz", "openssl-0.9.8.tcz", "ruby.tcz", "bash.tcz"], result.Extensions.Select(e => e.Name));
        AssertFetched(result);
        Assert.Equal([true, true], result.Extensions.Where(e => e.IsRoot).Select(e => e.IsRoot));
        Assert.Equal(["gdbm.tcz", "readline.tcz", "openssl-0.9.8.tcz"], result.Extensions.Single(e => e.Name == "ruby.tcz").Dependencies);
        Assert.Empty(result.Warnings);
        Assert.Equal(server.BaseUrl, result.Lock.Mirror);
        Assert.Equal(("4.x", "x86", Kernel), (result.Lock.Version, result.Lock.Arch, result.Lock.Kernel));
        Assert.Equal(result.Extensions.Select(e => e.Name), result.Lock.Extensions.Select(e => e.Name));
        Assert.Equal(1, server.Requests(layout.Relative("ncurses.tcz")));
        Assert.Contains(events.Events, e => e.Kind == FetchEventKind.Completed && e.Item == "ruby.tcz" && e.BytesReceived == 40_000);

        var again = await TczFetcher.FetchAsync(Request("ruby", "bash.tcz"));
        Assert.All(again.Extensions, e => Assert.True(e.FromCache));
        Assert.Equal(result.Lock.ToJson(), again.Lock.ToJson());
    }

    [Fact]
    public async Task Fetch_KernelPlaceholder_InRootsAndDepFiles()
    {
        var result = await TczFetcher.FetchAsync(Request("scsi-KERNEL", "lshw"));
        Assert.Equal(["scsi-3.0.21-tinycore.tcz", "lshw.tcz"], result.Extensions.Select(e => e.Name));
        AssertFetched(result);
    }

    [Fact]
    public async Task Fetch_RootWithoutDependencies_TakesOnlyItself()
    {
        var request = Request() with { Extensions = [new TczExtensionRequest("util-linux", IncludeDependencies: false)] };
        var result = await TczFetcher.FetchAsync(request);
        Assert.Equal(["util-linux.tcz"], result.Extensions.Select(e => e.Name));
        Assert.Equal(0, server.Requests(layout.Relative("ncurses.tcz")));
    }

    [Fact]
    public async Task Fetch_Cycle_IsAWarningAndBroken()
    {
        content["a.tcz"] = layout.Add("a", "b.tcz");
        content["b.tcz"] = layout.Add("b", "c.tcz");
        content["c.tcz"] = layout.Add("c", "a.tcz\n");
        var result = await TczFetcher.FetchAsync(Request("a"));
        Assert.Equal(["c.tcz", "b.tcz", "a.tcz"], result.Extensions.Select(e => e.Name));
        Assert.Equal("a.tcz → b.tcz → c.tcz → a.tcz", Assert.Single(result.Cycles).ToString());
        Assert.Contains("a.tcz → b.tcz → c.tcz → a.tcz", Assert.Single(result.Warnings));
        AssertFetched(result);
    }

    [Fact]
    public async Task Fetch_MissingDependency_TypedErrorWithTheChainAndUrls()
    {
        content["gdbm.tcz"] = layout.Add("gdbm", "missing.tcz\n");
        var e = await Assert.ThrowsAsync<MissingExtensionException>(() => TczFetcher.FetchAsync(Request("ruby")));
        Assert.Equal(["ruby.tcz", "gdbm.tcz", "missing.tcz"], e.Chain);
        Assert.Contains(server.Url(layout.Relative("missing.tcz")), e.LocationsTried);
        Assert.Contains("ruby.tcz → gdbm.tcz → missing.tcz", e.Message);

        // The missing extension's absent .dep must not be cached as "no dependencies".
        Assert.Null(new DownloadCache(Cache).TryGetEntry("tcz/4.x/x86/missing.tcz.dep"));
        AssertCacheConsistent(Cache);
    }

    [Fact]
    public async Task Fetch_WrongMd5OnTheMirror_ChecksumMismatchAndNothingCached()
    {
        File.WriteAllText(Path.Combine(layout.TczFolder, "gdbm.tcz.md5.txt"), new string('a', 32) + "  gdbm.tcz\n");
        var e = await Assert.ThrowsAsync<ChecksumMismatchException>(() => TczFetcher.FetchAsync(Request("gdbm")));
        Assert.Equal("MD5", e.Algorithm);
        Assert.Equal(2, server.Requests(layout.Relative("gdbm.tcz")));
        Assert.Null(new DownloadCache(Cache).TryGetEntry("tcz/4.x/x86/gdbm.tcz"));
        Assert.Equal(0, BlobCount(Cache));
    }

    [Fact]
    public async Task Fetch_MisbehavingMirror_EndsInVerifiedSuccess()
    {
        server.Misbehave(layout.Relative("ruby.tcz"), new ResetMidBody(1, 10_000));
        server.Misbehave(layout.Relative("gdbm.tcz"), new ServerError(2));
        server.Misbehave(layout.Relative("readline.tcz"), new TruncateBody(1, 100));
        server.Misbehave(layout.Relative("ncurses.tcz.dep"), new ServerError(1, 502));
        server.Misbehave(layout.Relative("openssl-0.9.8.tcz"), new Redirect(layout.Relative("openssl-0.9.8.tcz") + "?moved", 301, Times: 1));
        var result = await TczFetcher.FetchAsync(Request("ruby"));
        Assert.Equal(5, result.Extensions.Count);
        AssertFetched(result);
    }

    [Fact]
    public async Task Fetch_MirrorFallbacks_TriedInOrder()
    {
        using var empty = new TempFolder("rmk-empty");
        await using var broken = await LoopbackMirror.StartAsync(empty.Path);
        broken.Misbehave(layout.Relative("gdbm.tcz.md5.txt"), new ServerError(int.MaxValue));
        var request = Request("ruby") with
        {
            Mirror = empty.Path,                      // a folder without the files: not found, next
            MirrorFallbacks = [broken.BaseUrl, new Uri(layout.Root).AbsoluteUri + "/", server.BaseUrl],
            Download = Fast(attempts: 2),
        };
        var events = new FetchEvents();
        var result = await TczFetcher.FetchAsync(request, events);
        AssertFetched(result);
        Assert.Equal(0, server.TotalRequests);       // the file:// mirror had everything
        Assert.Equal(2, broken.Requests(layout.Relative("gdbm.tcz.md5.txt")));
        Assert.Contains(events.Events, e => e.Kind == FetchEventKind.FallingBack && e.Item == "gdbm.tcz.md5.txt");
        Assert.Equal(FetchLocation.Normalize(empty.Path), result.Lock.Mirror);
    }

    [Fact]
    public async Task Fetch_NotFoundOnAnyMirror_NamesEveryUrlTried()
    {
        using var empty = new TempFolder("rmk-empty");
        var request = Request("nothere") with { MirrorFallbacks = [empty.Path] };
        var e = await Assert.ThrowsAsync<MissingExtensionException>(() => TczFetcher.FetchAsync(request));
        Assert.Equal(["nothere.tcz"], e.Chain);
        Assert.Equal([server.Url(layout.Relative("nothere.tcz")), Path.Combine(empty.Path, "4.x", "x86", "tcz", "nothere.tcz")], e.LocationsTried);
    }

    [Fact]
    public async Task Fetch_Offline_FromAWarmCache_ResolvesTheSameTreeWithoutNetwork()
    {
        var online = await TczFetcher.FetchAsync(Request("ruby", "lshw"));
        var before = server.TotalRequests;
        var offline = await TczFetcher.FetchAsync(Request("ruby", "lshw") with { Offline = true, Mirror = "http://127.0.0.1:9/unreachable" });
        Assert.Equal(before, server.TotalRequests);
        Assert.Equal(online.Extensions.Select(e => (e.Name, e.Sha256, e.Path)), offline.Extensions.Select(e => (e.Name, e.Sha256, e.Path)));
        Assert.All(offline.Extensions, e => Assert.True(e.FromCache));
        Assert.Equal(online.Lock.Extensions.Select(e => e.ToString()), offline.Lock.Extensions.Select(e => e.ToString()));
    }

    [Fact]
    public async Task Fetch_Offline_ColdCache_TypedErrorSayingWhatIsMissing()
    {
        await TczFetcher.FetchAsync(Request("gdbm"));
        var e = await Assert.ThrowsAsync<OfflineCacheMissException>(() => TczFetcher.FetchAsync(Request("ruby") with { Offline = true }));
        Assert.Equal("tcz/4.x/x86/ruby.tcz.dep", e.Key);
        Assert.Contains("'ruby.tcz'", e.Message);

        // .dep known but the .tcz evicted: names the extension and who needs it.
        await TczFetcher.FetchAsync(Request("ruby"));
        var blob = new DownloadCache(Cache).TryGetEntry("tcz/4.x/x86/ncurses.tcz")!.Sha256!;
        File.Delete(new DownloadCache(Cache).BlobPath(blob));
        var e2 = await Assert.ThrowsAsync<OfflineCacheMissException>(() => TczFetcher.FetchAsync(Request("ruby") with { Offline = true }));
        Assert.Equal("tcz/4.x/x86/ncurses.tcz", e2.Key);
        Assert.Equal(["ruby.tcz", "readline.tcz", "ncurses.tcz"], e2.Chain);
    }

    [Fact]
    public async Task Fetch_LockFilePins_AreEnforcedAndServedByHash()
    {
        var first = await TczFetcher.FetchAsync(Request("gdbm"));
        var pinned = first.Lock;

        // Index lost (another mirror layout, a cleaned index): the pinned blob is still found by its hash.
        var index = Path.Combine(Cache, "index");
        var tczIndex = DownloadCache.KeyHash("tcz/4.x/x86/gdbm.tcz");
        File.Delete(Path.Combine(index, tczIndex[..2], tczIndex + ".json"));
        Assert.Null(new DownloadCache(Cache).TryGetEntry("tcz/4.x/x86/gdbm.tcz"));
        var offline = await TczFetcher.FetchAsync(Request("gdbm") with { Offline = true, Lock = pinned });
        Assert.Equal(first.Extensions[0].Sha256, offline.Extensions[0].Sha256);

        // The mirror changes the file (with a matching md5): the pin refuses it.
        content["gdbm.tcz"] = layout.Add("gdbm", size: 5000);
        var other = Path.Combine(tmp.Path, "cache2");
        var e = await Assert.ThrowsAsync<ChecksumMismatchException>(() => TczFetcher.FetchAsync(Request("gdbm") with { CacheDirectory = other, Lock = pinned }));
        Assert.Equal("SHA-256", e.Algorithm);
        Assert.Equal(pinned.Extensions[0].Sha256, e.Expected);
        Assert.Equal(0, BlobCount(other));
    }

    [Fact]
    public async Task Fetch_TwoFetchesShareOneCacheAtOnce_EachFileDownloadedOnce()
    {
        foreach (var name in content.Keys.ToList())
        {
            server.Misbehave(layout.Relative(name), new Trickle(1, 8192, TimeSpan.FromMilliseconds(20)));
        }

        var a = TczFetcher.FetchAsync(Request("ruby", "bash"));
        var b = TczFetcher.FetchAsync(Request("bash", "ruby", "lshw"));
        var results = await Task.WhenAll(a, b);
        Assert.All(results, AssertFetched);
        foreach (var name in new[] { "ruby.tcz", "bash.tcz", "ncurses.tcz", "readline.tcz" })
        {
            Assert.True(server.Requests(layout.Relative(name)) == 1, $"{name}: {server.Requests(layout.Relative(name))} requests");
        }
    }

    [Fact]
    public async Task Fetch_DownloadsRunInParallel_NeverMoreThanTheBound()
    {
        foreach (var name in content.Keys)
        {
            server.Misbehave(layout.Relative(name), new Trickle(1, 1024, TimeSpan.FromMilliseconds(40)));
        }

        var request = Request("ruby", "bash", "lshw", "util-linux") with { Download = Fast() with { MaxParallelDownloads = 2 } };
        var result = await TczFetcher.FetchAsync(request);
        Assert.Equal(9, result.Extensions.Count);
        AssertFetched(result);
        // Each .tcz body takes 160 ms or more: nine of them overlap, but never more than two at once.
        Assert.Equal(2, server.PeakConcurrent(p => p.EndsWith(".tcz", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Fetch_Cancelled_StopsPromptly()
    {
        server.Misbehave(layout.Relative("ruby.tcz"), new Trickle(int.MaxValue, 64, TimeSpan.FromMilliseconds(100)));
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var clock = Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => TczFetcher.FetchAsync(Request("ruby") with { Download = Fast(inactivityMs: 30_000) }, null, cts.Token));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), clock.Elapsed.ToString());
        Assert.Null(new DownloadCache(Cache).TryGetEntry("tcz/4.x/x86/ruby.tcz"));
    }

    [Fact]
    public async Task Fetch_BadNameInADepFile_SaysWhichDepFile()
    {
        content["evil.tcz"] = layout.Add("evil", "good.tcz\n../../etc/shadow\n");
        var e = await Assert.ThrowsAsync<InvalidExtensionNameException>(() => TczFetcher.FetchAsync(Request("evil")));
        Assert.Contains("evil.tcz.dep", e.Message);
    }

    [Fact]
    public async Task Fetch_NoMd5OnTheMirror_StillFetchesWithAWarning()
    {
        content["nomd5.tcz"] = layout.Add("nomd5", md5: false);
        var result = await TczFetcher.FetchAsync(Request("nomd5"));
        AssertFetched(result);
        Assert.Contains(result.Warnings, w => w.Contains("nomd5.tcz", StringComparison.Ordinal) && w.Contains(".md5.txt", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Fetch_RealSquashfsExtension_ArrivesByteIdenticalAndUnsquashfsReadsIt()
    {
        tmp.Write("src/usr/local/bin/lscpu", "#!/bin/sh\necho cpu\n");
        tmp.Write("src/usr/local/sbin/sfdisk", "#!/bin/sh\n");
        content["util-linux.tcz"] = layout.AddSquashfs("util-linux", tmp["src"], "ncurses.tcz\n");
        var result = await TczFetcher.FetchAsync(Request("util-linux"));
        Assert.Equal(["ncurses.tcz", "util-linux.tcz"], result.Extensions.Select(e => e.Name));
        AssertFetched(result);
        var listing = Tool.Run("unsquashfs", "-l", result.Extensions[1].Path).EnsureSuccess("unsquashfs -l").StdOut;
        Assert.Contains("usr/local/bin/lscpu", listing);
        Assert.Contains("usr/local/sbin/sfdisk", listing);
    }

    [Fact]
    public async Task Fetch_NoMirror_TypedError()
        => await Assert.ThrowsAsync<InvalidFetchInputException>(() => TczFetcher.FetchAsync(Request("ruby") with { Mirror = " " }));
}
