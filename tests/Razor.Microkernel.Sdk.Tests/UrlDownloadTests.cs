using System.Security.Cryptography;
using Razor.Microkernel.TestSupport;
using Razor.Microkernel.TestSupport.Mirror;

namespace Razor.Microkernel.Sdk.Tests;

/// <summary>OverlayArchive, Gem and RubyGems items that name an http:// URL, served by a real loopback server.</summary>
public sealed class UrlDownloadTests : IAsyncLifetime
{
    private TempFolder _root = null!;
    private LoopbackMirror _server = null!;
    private byte[] _archive = [];

    public async Task InitializeAsync()
    {
        _root = new TempFolder("rmk-downloads");
        _archive = TestArchives.Tgz(TestArchives.Dir("mcollective-1.2.1/"), TestArchives.File("mcollective-1.2.1/mcollectived.rb", "#!/usr/bin/env ruby\n", 0x1ED));
        _root.Write("mcollective/mcollective-1.2.1.tgz", _archive);
        _server = await LoopbackMirror.StartAsync(_root.Path);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _root.Dispose();
    }

    private static string Sha(byte[] b) => Convert.ToHexStringLower(SHA256.HashData(b));

    private TestProject Project(string items, string properties = "")
    {
        var p = SdkHarness.CreateProject("url");
        p.WithProject($"""
            <PropertyGroup><MicrokernelCacheDirectory>cache</MicrokernelCacheDirectory>{properties}</PropertyGroup>
            <ItemGroup>{items}</ItemGroup>
            """);
        return p;
    }

    [Fact]
    public void UrlArchive_Pinned_IsDownloadedVerifiedAndUnpacked_AndRecordedInTheLockFile()
    {
        var url = _server.Url("mcollective/mcollective-1.2.1.tgz");
        var p = Project($"""<OverlayArchive Include="{url}" Sha256="{Sha(_archive)}" Destination="/usr/local/tce.installed" />""");
        var r = p.Build().AssertSuccess();
        Assert.Contains(" usr/local/tce.installed/mcollective-1.2.1/mcollectived.rb\n", Tool.Run("tar", "-tvzf", p.Overlay).StdOut);
        Assert.Contains("archive mcollective-1.2.1.tgz", File.ReadAllText(p.Overlay + ".txt"));
        var lockText = File.ReadAllText(p["microkernel.lock.json"]);
        Assert.Contains(url, lockText);
        Assert.Contains(Sha(_archive), lockText);
        Assert.DoesNotContain("RMK4126", r.Codes);

        // Second build: nothing downloaded again, nothing re-run.
        var before = _server.Requests("mcollective/mcollective-1.2.1.tgz");
        Assert.Empty(p.Build().AssertSuccess().TargetsRun);
        Assert.Equal(before, _server.Requests("mcollective/mcollective-1.2.1.tgz"));
    }

    [Fact]
    public void UrlMcollectiveArchive_IsDownloadedUnpackedAndLinked()
    {
        var url = _server.Url("mcollective/mcollective-1.2.1.tgz");
        var p = Project($"""<McollectiveArchive Include="{url}" Sha256="{Sha(_archive)}" />""", "<McollectiveStompHost>h</McollectiveStompHost>");
        p.Build().AssertSuccess();
        var listing = Tool.Run("tar", "-tvzf", p.Overlay).EnsureSuccess("tar -tvzf").StdOut;
        Assert.Matches(@"-rwxr-xr-x root/root .* usr/local/tce.installed/mcollective-1.2.1/mcollectived\.rb\n", listing);
        Assert.Contains(" usr/local/mcollective -> /usr/local/tce.installed/mcollective-1.2.1\n", listing);
        Assert.Contains(" usr/local/sbin/mcollectived -> /usr/local/mcollective/mcollectived.rb\n", listing);
        Assert.True(_server.Requests("mcollective/mcollective-1.2.1.tgz") > 0);
    }

    [Fact]
    public void UrlArchive_WrongPin_IsRMK1003_AndNothingIsBuilt()
    {
        var url = _server.Url("mcollective/mcollective-1.2.1.tgz");
        var p = Project($"""<OverlayArchive Include="{url}" Sha256="{new string('0', 64)}" />""");
        p.Build().AssertFailureWith("RMK1003");
        Assert.False(File.Exists(p.Overlay));
    }

    [Fact]
    public void UrlArchive_Unpinned_WarnsThenTheLockFilePinsIt_AndProductionNeedsAPin()
    {
        var url = _server.Url("mcollective/mcollective-1.2.1.tgz");
        var p = Project($"""<OverlayArchive Include="{url}" />""");
        p.Build("-p:MicrokernelFlavor=Production").AssertFailureWith("RMK4125");
        var first = p.Build().AssertSuccess();
        Assert.Contains("RMK4126", first.Codes);
        Assert.Contains(Sha(_archive), File.ReadAllText(p["microkernel.lock.json"]));
        p.Build("-p:MicrokernelFlavor=Production").AssertSuccess();

        // The server now serves other bytes; with an empty cache the lock file's hash is enforced.
        _root.Write("mcollective/mcollective-1.2.1.tgz", TestArchives.Tgz(TestArchives.File("evil", "x")));
        p.Build("-p:MicrokernelCacheDirectory=cache2").AssertFailureWith("RMK1003");
    }

    [Fact]
    public void UrlGem_IsDownloadedAndInstalled()
    {
        var p = Project("");
        var gem = GemTests.BuildGem(p, "daemons", "1.1.4");
        _root.Write("gems/daemons-1.1.4.gem", File.ReadAllBytes(gem));
        File.Delete(gem);
        var url = _server.Url("gems/daemons-1.1.4.gem");
        var sha = Sha(File.ReadAllBytes(_root["gems/daemons-1.1.4.gem"]));
        p.WithProject("<PropertyGroup><MicrokernelCacheDirectory>cache</MicrokernelCacheDirectory></PropertyGroup>"
            + $"<ItemGroup><Gem Include=\"{url}\" Sha256=\"{sha}\" /></ItemGroup>");
        p.Build().AssertSuccess();
        var listing = Tool.Run("tar", "-tvzf", p.Overlay).StdOut;
        Assert.Contains(" usr/local/lib/ruby/gems/1.8/cache/daemons-1.1.4.gem\n", listing);
        Assert.Contains(" usr/local/lib/ruby/gems/1.8/specifications/daemons-1.1.4.gemspec\n", listing);
    }

    [Fact]
    public void UrlRubyGems_IsDownloadedVerifiedAndInstalledAsSetupWould()
    {
        var tarball = GemTests.RubyGemsTarball();
        _root.Write("rubygems/rubygems-1.8.15.tgz", tarball);
        var url = _server.Url("rubygems/rubygems-1.8.15.tgz");
        var p = Project($"""<RubyGems Include="{url}" Sha256="{Sha(tarball)}" />""");
        p.Build().AssertSuccess();
        var listing = Tool.Run("tar", "-tvzf", p.Overlay).StdOut;
        Assert.Contains(" usr/local/lib/ruby/site_ruby/1.8/rubygems.rb\n", listing);
        Assert.Matches(@"-rwxr-xr-x root/root .* usr/local/bin/gem\n", listing);

        var wrong = Project($"""<RubyGems Include="{url}" Sha256="{new string('0', 64)}" />""");
        wrong.Build().AssertFailureWith("RMK1003");
    }

    [Fact]
    public void UrlRubyGemsAndCoreIso_AreDownloadedAndUsed_AndRecordedInTheLockFile()
    {
        var p = Project("");
        _root.Write("rubygems/rubygems-1.8.15.tgz", GemTests.RubyGemsTarball());
        var iso = IsoTests.MakeCoreIso(p);
        _root.Write("release/Core-4.5.2.iso", File.ReadAllBytes(iso));
        File.Delete(iso);
        var rubygems = _server.Url("rubygems/rubygems-1.8.15.tgz");
        var core = _server.Url("release/Core-4.5.2.iso");
        p.WithProject($"""
            <PropertyGroup><MicrokernelCacheDirectory>cache</MicrokernelCacheDirectory><MicrokernelVersion>0.9.1</MicrokernelVersion></PropertyGroup>
            <ItemGroup>
              <RubyGems Include="{rubygems}" Sha256="{Sha(File.ReadAllBytes(_root["rubygems/rubygems-1.8.15.tgz"]))}" />
              <CoreIso Include="{core}" Sha256="{Sha(File.ReadAllBytes(_root["release/Core-4.5.2.iso"]))}" />
            </ItemGroup>
            """);
        p.Build().AssertSuccess();
        Assert.Contains(" usr/local/lib/ruby/site_ruby/1.8/rubygems.rb\n", Tool.Run("tar", "-tvzf", p.Overlay).StdOut);
        var built = Path.Combine(p.OutDir, "rz_mk_dev-image.0.9.1.iso");
        Assert.True(File.Exists(built));
        Assert.Contains("Razor MK 0.9.1", Tool.Run("xorriso", "-indev", built, "-pvd_info").EnsureSuccess("xorriso -pvd_info").StdOut);
        var lockText = File.ReadAllText(p["microkernel.lock.json"]);
        Assert.Contains(rubygems, lockText);
        Assert.Contains(core, lockText);
        Assert.Equal(1, _server.Requests("release/Core-4.5.2.iso"));
    }

    [Fact]
    public void UrlItems_DownloadInParallel_BoundedByMaxParallelDownloads_AndEveryFailureIsReportedAtItsItem()
    {
        // Five archives that each take about a second to arrive: with a bound of 2 they overlap, never more than two at once.
        var items = new System.Text.StringBuilder();
        for (var i = 0; i < 5; i++)
        {
            var noise = new byte[24 * 1024];
            new Random(i).NextBytes(noise);
            var bytes = TestArchives.Tgz(TestArchives.Dir($"a{i}/"), TestArchives.File($"a{i}/data", Convert.ToBase64String(noise)));
            _root.Write($"par/a{i}.tgz", bytes);
            _server.Misbehave($"par/a{i}.tgz", new Trickle(1, 4096, TimeSpan.FromMilliseconds(100)));
            items.Append($"""<OverlayArchive Include="{_server.Url($"par/a{i}.tgz")}" Sha256="{Sha(bytes)}" Destination="/opt/a{i}" />""");
        }

        var p = Project(items.ToString(), "<MicrokernelMaxParallelDownloads>2</MicrokernelMaxParallelDownloads>");
        p.Build().AssertSuccess();
        Assert.Equal(2, _server.PeakConcurrent(path => path.StartsWith("/par/", StringComparison.Ordinal)));
        Assert.Equal(5, Enumerable.Range(0, 5).Sum(i => _server.Requests($"par/a{i}.tgz")));
        var listing = Tool.Run("tar", "-tvzf", p.Overlay).EnsureSuccess("tar -tvzf").StdOut;
        for (var i = 0; i < 5; i++)
        {
            Assert.Contains($" opt/a{i}/a{i}/data\n", listing);
        }

        // Two bad items of five: both are reported, each at its own line of the project file; nothing is built.
        var bad = Project(items.ToString()
            .Replace(_server.Url("par/a1.tgz"), _server.Url("par/missing.tgz"), StringComparison.Ordinal)
            .Replace(Sha(File.ReadAllBytes(_root["par/a3.tgz"])), new string('0', 64), StringComparison.Ordinal));
        _server.ClearMisbehaviors();
        var r = bad.Build();
        r.AssertFailureWith("RMK1001");
        Assert.Contains("RMK1003", r.Codes);
        Assert.False(File.Exists(bad.Overlay));
    }

    [Theory]
    [InlineData("MicrokernelDownloadTimeout", "abc")]
    [InlineData("MicrokernelDownloadAttempts", "0")]
    [InlineData("MicrokernelMaxParallelDownloads", "-1")]
    public void UrlItems_InvalidDownloadSetting_IsRMK1040_BeforeAnyDownload(string property, string value)
    {
        var url = _server.Url("mcollective/mcollective-1.2.1.tgz");
        var p = Project($"""<OverlayArchive Include="{url}" Sha256="{Sha(_archive)}" />""", $"<{property}>{value}</{property}>");
        var r = p.Build();
        r.AssertFailureWith("RMK1040");
        Assert.Contains(property, r.Output);
        Assert.Equal(0, _server.TotalRequests);
        Assert.False(File.Exists(p.Overlay));
    }

    [Fact]
    public void UrlArchive_NotFound_IsACodedError()
    {
        var p = Project($"""<OverlayArchive Include="{_server.Url("nothing/here.tgz")}" />""");
        p.Build().AssertFailureWith("RMK1001");
    }
}
