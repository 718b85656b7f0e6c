using System.Diagnostics;
using Razor.Microkernel.Formats.Fetch;
using Razor.Microkernel.TestSupport;
using Razor.Microkernel.TestSupport.Mirror;
using static Razor.Microkernel.Formats.Tests.Fetch.FetchTestSupport;

namespace Razor.Microkernel.Formats.Tests.Fetch;

public sealed class UrlFetcherTests : IAsyncLifetime
{
    private const string FileName = "files/mcollective-1.2.1.tgz";
    private readonly TempFolder tmp = new("rmk-url");
    private readonly byte[] content = Bytes(256 * 1024, 7);
    private LoopbackMirror server = null!;

    private string Cache => tmp["cache"];

    private string Url => server.Url(FileName);

    public async Task InitializeAsync()
    {
        tmp.Write("www/" + FileName, content);
        server = await LoopbackMirror.StartAsync(tmp["www"]);
    }

    public async Task DisposeAsync()
    {
        await server.DisposeAsync();
        tmp.Dispose();
    }

    private Task<UrlFetchResult> Fetch(string? sha = null, DownloadOptions? options = null, bool offline = false,
        IProgress<FetchEvent>? progress = null, CancellationToken ct = default, string? url = null)
        => UrlFetcher.FetchAsync(new UrlFetchRequest
        {
            Url = url ?? Url,
            ExpectedSha256 = sha,
            CacheDirectory = Cache,
            Offline = offline,
            Download = options ?? Fast(),
        }, progress, ct);

    private void AssertGood(UrlFetchResult r)
    {
        Assert.Equal(Sha256(content), r.Sha256);
        Assert.Equal(content.Length, r.Size);
        Assert.Equal(content, File.ReadAllBytes(r.Path));
        AssertCacheConsistent(Cache);
    }

    [Fact]
    public async Task Fetch_Plain_DownloadsVerifiesAndCaches_ThenServesFromCache()
    {
        var events = new FetchEvents();
        var first = await Fetch(Sha256(content), progress: events);
        AssertGood(first);
        Assert.False(first.FromCache);
        Assert.Contains(events.Events, e => e.Kind == FetchEventKind.Started);
        Assert.Contains(events.Events, e => e.Kind == FetchEventKind.Completed && e.BytesReceived == content.Length && e.TotalBytes == content.Length);

        var second = await Fetch();
        Assert.True(second.FromCache);
        Assert.Equal(first.Path, second.Path);
        Assert.Equal(1, server.Requests(FileName));
    }

    [Fact]
    public async Task Fetch_ServerErrorsThenSuccess_RetriesWithBackoff()
    {
        server.Misbehave(FileName, new ServerError(2, 503));
        var events = new FetchEvents();
        AssertGood(await Fetch(progress: events));
        Assert.Equal(3, server.Requests(FileName));
        Assert.Equal(2, events.Events.Count(e => e.Kind == FetchEventKind.Retrying));
    }

    [Fact]
    public async Task Fetch_ServerErrorsForever_TypedFailureAndNothingCached()
    {
        server.Misbehave(FileName, new ServerError(int.MaxValue));
        var e = await Assert.ThrowsAsync<DownloadFailedException>(() => Fetch());
        Assert.Equal(3, e.Attempts);
        Assert.Contains("500", e.Message);
        Assert.Equal(0, BlobCount(Cache));
        Assert.Null(new DownloadCache(Cache).TryGetEntry(UrlFetcher.Key(Url)));
    }

    [Fact]
    public async Task Fetch_NotFound_TypedErrorNamingTheUrl()
    {
        var e = await Assert.ThrowsAsync<DownloadNotFoundException>(() => Fetch(url: server.Url("files/none.tgz")));
        Assert.Equal([server.Url("files/none.tgz")], e.LocationsTried);
        Assert.Equal(1, server.Requests("files/none.tgz"));
    }

    [Fact]
    public async Task Fetch_ConnectionResetMidBody_ResumesWithRange()
    {
        server.Misbehave(FileName, new ResetMidBody(1, 64 * 1024));
        AssertGood(await Fetch());
        var ranges = server.RangeHeaders(FileName);
        Assert.Equal(2, ranges.Count);
        Assert.Null(ranges[0]);
        Assert.Matches(@"^bytes=\d+-$", ranges[1]);
        Assert.NotEqual("bytes=0-", ranges[1]);
    }

    [Fact]
    public async Task Fetch_ConnectionResetMidBody_ServerWithoutRanges_RestartsCleanly()
    {
        server.RangeSupport = false;
        server.Misbehave(FileName, new ResetMidBody(2, 100 * 1024));
        AssertGood(await Fetch());
        Assert.Equal(3, server.Requests(FileName));
    }

    [Fact]
    public async Task Fetch_ServerIgnoresRangeOnResume_StartsOverWithoutCorruption()
    {
        server.Misbehave(FileName, new ResetMidBody(1, 64 * 1024));
        server.Misbehave(FileName, new IgnoreRange(1));
        AssertGood(await Fetch());
        Assert.Equal(2, server.Requests(FileName));
    }

    [Fact]
    public async Task Fetch_TruncatedBody_RetriesAndCompletes()
    {
        server.Misbehave(FileName, new TruncateBody(2, 1000));
        AssertGood(await Fetch());
        Assert.Equal(3, server.Requests(FileName));
    }

    [Fact]
    public async Task Fetch_TruncatedBodyEveryTime_TypedFailureAndNothingCached()
    {
        server.RangeSupport = false;
        server.Misbehave(FileName, new TruncateBody(int.MaxValue, 1000));
        await Assert.ThrowsAsync<DownloadFailedException>(() => Fetch());
        Assert.Equal(0, BlobCount(Cache));
    }

    [Fact]
    public async Task Fetch_BodyTricklesSlowerThanTheInactivityTimeout_FailsWithTimeoutQuickly()
    {
        server.Misbehave(FileName, new Trickle(int.MaxValue, 16, TimeSpan.FromSeconds(2)));
        var clock = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<DownloadFailedException>(() => Fetch(options: Fast(attempts: 2, inactivityMs: 300)));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), clock.Elapsed.ToString());
        Assert.Contains("no data", e.Message);
        Assert.Equal(0, BlobCount(Cache));
    }

    [Fact]
    public async Task Fetch_SlowButSteadyBody_SucceedsAndReportsProgressWithRate()
    {
        server.Misbehave(FileName, new Trickle(1, 32 * 1024, TimeSpan.FromMilliseconds(40)));
        var events = new FetchEvents();
        AssertGood(await Fetch(progress: events, options: Fast(attempts: 1, inactivityMs: 5000))); // 40 ms gaps; 5 s of slack for a loaded machine
        var progress = events.Events.Where(e => e.Kind == FetchEventKind.Progress).ToList();
        Assert.True(progress.Count >= 2, $"{progress.Count} progress events");
        Assert.All(progress, p => Assert.True(p.BytesPerSecond > 0 && p.TotalBytes == content.Length));
        Assert.Contains("KiB", progress[^1].ToString());
    }

    [Theory]
    [InlineData(301)]
    [InlineData(302)]
    public async Task Fetch_Redirect_IsFollowed(int status)
    {
        server.Misbehave("old/archive.tgz", new Redirect(FileName, status));
        AssertGood(await Fetch(url: server.Url("old/archive.tgz")));
    }

    [Fact]
    public async Task Fetch_WrongSha256_ChecksumMismatchAndNothingCached()
    {
        var wrong = new string('0', 64);
        var e = await Assert.ThrowsAsync<ChecksumMismatchException>(() => Fetch(wrong));
        Assert.Equal(wrong, e.Expected);
        Assert.Equal(Sha256(content), e.Actual);
        Assert.Equal(2, server.Requests(FileName)); // one clean retry, in case a resume joined two versions
        Assert.Equal(0, BlobCount(Cache));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(Cache, "tmp")));
    }

    [Fact]
    public async Task Fetch_Offline_FromWarmCache_AndTypedErrorWhenCold()
    {
        var miss = await Assert.ThrowsAsync<OfflineCacheMissException>(() => Fetch(offline: true));
        Assert.Contains(Url, miss.Message);
        Assert.Equal(0, server.TotalRequests);

        await Fetch();
        var before = server.TotalRequests;
        AssertGood(await Fetch(offline: true));
        AssertGood(await Fetch(Sha256(content), offline: true, url: "https://elsewhere.invalid/same-bytes.tgz"));
        Assert.Equal(before, server.TotalRequests);
    }

    [Fact]
    public async Task Fetch_FileUrlAndPlainPath()
    {
        var path = tmp["www/" + FileName];
        AssertGood(await Fetch(url: new Uri(path).AbsoluteUri));
        AssertGood(await Fetch(url: path));
        await Assert.ThrowsAsync<DownloadNotFoundException>(() => Fetch(url: tmp["www/none"]));
    }

    [Fact]
    public async Task Fetch_Cancelled_StopsPromptly()
    {
        server.Misbehave(FileName, new Trickle(int.MaxValue, 16, TimeSpan.FromMilliseconds(100)));
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var clock = Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Fetch(options: Fast(inactivityMs: 30_000), ct: cts.Token));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), clock.Elapsed.ToString());
        Assert.Equal(0, BlobCount(Cache));
    }

    [Fact]
    public async Task Fetch_TwoConcurrentFetchesOfOneUrl_DownloadOnce()
    {
        server.Misbehave(FileName, new Trickle(1, 64 * 1024, TimeSpan.FromMilliseconds(50)));
        var a = Fetch();
        var b = Fetch();
        var results = await Task.WhenAll(a, b);
        Assert.All(results, AssertGood);
        Assert.Equal(1, server.Requests(FileName));
        Assert.Single(results, r => r.FromCache);
    }

    [Fact]
    public async Task Fetch_FileChangesOnTheServerBetweenAttempts_IfRangeGetsTheWholeNewFile()
    {
        server.Misbehave(FileName, new ResetMidBody(1, 64 * 1024));
        var changed = Bytes(200 * 1024, 99);
        server.Misbehave(FileName, new ReplaceBody(changed));
        var r = await Fetch(); // unpinned: whatever the URL serves now, but never a splice of two versions
        Assert.Equal(Sha256(changed), r.Sha256);
        Assert.Equal(changed, File.ReadAllBytes(r.Path));
        Assert.Matches(@"^bytes=\d+-$", server.RangeHeaders(FileName)[1]);
    }

    [Fact]
    public async Task Fetch_StalePartialWithoutValidator_IsNotResumed()
    {
        var cache = new DownloadCache(Cache);
        Directory.CreateDirectory(Path.GetDirectoryName(cache.PartialPath(UrlFetcher.Key(Url)))!);
        File.WriteAllBytes(cache.PartialPath(UrlFetcher.Key(Url)), Bytes(5000, 1234)); // left by a crashed older build
        AssertGood(await Fetch());
        Assert.Equal([null], server.RangeHeaders(FileName));
    }

    [Fact]
    public async Task Fetch_ServerWithoutValidators_RestartsInsteadOfResuming()
    {
        server.Validators = false;
        server.Misbehave(FileName, new ResetMidBody(1, 64 * 1024));
        AssertGood(await Fetch());
        Assert.Equal([null, null], server.RangeHeaders(FileName));
    }
}
