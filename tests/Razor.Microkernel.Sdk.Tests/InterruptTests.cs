using Razor.Microkernel.TestSupport;
using Razor.Microkernel.TestSupport.Mirror;
using Xunit.Abstractions;

namespace Razor.Microkernel.Sdk.Tests;

/// <summary>
/// Issue 7: SIGKILL of `dotnet build` during a download and during an extraction, and Ctrl+C (SIGINT) during an
/// extraction, the gems, the pack and the ISO. Each time the previous overlay (and layer) stays as it was until a
/// complete new one replaces it, nothing partial reaches a final location (cache blobs and index, layers, outputs),
/// Ctrl+C stops the build within two seconds, and the next build is correct. The inputs are big enough that each
/// step runs for seconds on its own (see BigInputs): a step that ignored Ctrl+C would fail the two-second check.
/// Also: one of two builds sharing a cache killed mid-download, the other taking over.
/// </summary>
[Collection("Serial")]
public sealed class InterruptTests(ITestOutputHelper output) : MirroredTests("rmk-interrupt")
{

    protected override void Populate()
    {
        foreach (var (name, size) in new[] { ("small", 2_000), ("big", 400_000) })
        {
            var file = Root[$"src/{name}/usr/local/share/{name}/blob"];
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            var bytes = new byte[size];
            new Random(size).NextBytes(bytes);
            File.WriteAllBytes(file, bytes);
            Builder.AddSquashfs($"{name}.tcz", Root[$"src/{name}"]);
        }
    }

    [Fact]
    public void SigKill_DuringADownload_LeavesNoPartialCacheEntry_ThePreviousOverlayIntact_AndTheNextBuildIsCorrect()
    {
        var p = SdkHarness.CreateProject("kill-dl");
        var cache = p["cache"];
        void Project(string extensions) => p.WithProject($"""
            <PropertyGroup><TczMirror>{Mirror.BaseUrl}</TczMirror><MicrokernelCacheDirectory>cache</MicrokernelCacheDirectory></PropertyGroup>
            <ItemGroup><TczExtension Include="{extensions}" /></ItemGroup>
            """);
        Project("small");
        p.Build().AssertSuccess();
        var before = File.ReadAllBytes(p.Overlay);

        // ~400 KB at 4 KB every 200 ms: about 20 s of download; killed once a few chunks are in the partial file.
        Mirror.Misbehave(Builder.Relative("big.tcz"), new Trickle(int.MaxValue, 4096, TimeSpan.FromMilliseconds(200)));
        Project("small;big");
        var o = Interrupter.Build(p, () => Interrupter.FileAppears(Path.Combine(cache, "tmp"), "*.partial", minBytes: 12_000), sigkill: true);
        Assert.True(o.Signalled, $"the download finished before it could be interrupted\n{Interrupter.Tail(o.Output)}");

        Assert.Equal(before, File.ReadAllBytes(p.Overlay));
        var keys = CacheCheck.AssertConsistent(cache);
        Assert.Contains("tcz/4.x/x86/small.tcz", keys);
        Assert.DoesNotContain("tcz/4.x/x86/big.tcz", keys);
        var bigSha = TinyCoreMirrorBuilder.Sha256(File.ReadAllBytes(Path.Combine(Builder.TczFolder, "big.tcz")));
        Assert.False(File.Exists(Path.Combine(cache, "blobs", "sha256", bigSha[..2], bigSha)), "the killed download reached the blob store");
        Assert.NotEmpty(Directory.EnumerateFiles(Path.Combine(cache, "tmp"), "*.partial")); // kept for the resume

        Mirror.ClearMisbehaviors();
        p.Build().AssertSuccess();
        Assert.NotNull(Mirror.RangeHeaders(Builder.Relative("big.tcz"))[^1]); // resumed from the partial file
        Assert.Contains("tcz/4.x/x86/big.tcz", CacheCheck.AssertConsistent(cache));
        Assert.Contains(bigSha, File.ReadAllText(p["microkernel.lock.json"]));
        BigInputs.AssertOverlayHolds(p.Overlay, new Dictionary<string, string>
        {
            ["usr/local/share/big/blob"] = BigInputs.Sha256(Root["src/big/usr/local/share/big/blob"]),
            ["usr/local/share/small/blob"] = BigInputs.Sha256(Root["src/small/usr/local/share/small/blob"]),
        });
    }

    [Fact]
    public async Task SigKill_OfOneOfTwoBuildsSharingACache_MidDownload_TheOtherTakesOverAndBothCacheAndImageAreCorrect()
    {
        using var shared = new TempFolder("rmk-shared-cache");
        var cache = shared["cache"];
        TestProject Project(string name, string extensions)
        {
            var p = SdkHarness.CreateProject(name);
            p.WithProject($"""
                <PropertyGroup><TczMirror>{Mirror.BaseUrl}</TczMirror><MicrokernelCacheDirectory>{cache}</MicrokernelCacheDirectory></PropertyGroup>
                <ItemGroup><TczExtension Include="{extensions}" /></ItemGroup>
                """);
            return p;
        }

        var a = Project("shared-a", "big");
        var b = Project("shared-b", "small;big");
        // Only the first request trickles: the killed build's. The other build, waiting on the entry's lock, gets it
        // when the kernel drops the dead process's lock, and finishes the download at full speed.
        Mirror.Misbehave(Builder.Relative("big.tcz"), new Trickle(1, 4096, TimeSpan.FromMilliseconds(200)));
        Task<BuildResult>? other = null;
        var o = Interrupter.Build(a, () =>
        {
            if (!Interrupter.FileAppears(Path.Combine(cache, "tmp"), "*.partial", minBytes: 12_000))
            {
                return false;
            }

            other ??= Task.Run(() => b.Build());
            Thread.Sleep(3000); // b is on its way to big.tcz: it waits for a's lock, or finds a gone; either way it must finish
            return true;
        }, sigkill: true);
        Assert.True(o.Signalled, $"the download finished before it could be interrupted\n{Interrupter.Tail(o.Output)}");
        Assert.NotNull(other);
        (await other).AssertSuccess();
        Assert.False(File.Exists(a.Overlay));
        Assert.Contains("tcz/4.x/x86/big.tcz", CacheCheck.AssertConsistent(cache));
        Assert.Equal(2, Mirror.Requests(Builder.Relative("big.tcz")));
        Assert.NotNull(Mirror.RangeHeaders(Builder.Relative("big.tcz"))[1]); // b resumed what a had, and verified the whole
        BigInputs.AssertOverlayHolds(b.Overlay, new Dictionary<string, string>
        {
            ["usr/local/share/big/blob"] = BigInputs.Sha256(Root["src/big/usr/local/share/big/blob"]),
        });

        a.Build().AssertSuccess();
        Assert.Equal(2, Mirror.Requests(Builder.Relative("big.tcz"))); // from the cache
    }

    /// <summary>A project with one TczImage, built first with a small image; then the big image replaces it.</summary>
    private static (TestProject Project, byte[] Overlay, string Layer, byte[] LayerBytes) ExtractionProject(string name)
    {
        var p = SdkHarness.CreateProject(name);
        var small = BigInputs.SmallTcz(p.Directory);
        File.Copy(small.Image, p["image.tcz"]);
        p.WithProject("""
            <PropertyGroup><OverlayCompressionLevel>1</OverlayCompressionLevel></PropertyGroup>
            <ItemGroup><TczImage Include="image.tcz" /></ItemGroup>
            """);
        p.Build().AssertSuccess();
        var layer = Directory.EnumerateFiles(p["obj/Debug/layers"], "tcz-image-*.tar").Single();
        var result = (p, File.ReadAllBytes(p.Overlay), layer, File.ReadAllBytes(layer));
        File.Copy(BigInputs.BigTcz.Image, p["image.tcz"], overwrite: true);
        File.SetLastWriteTimeUtc(p["image.tcz"], DateTime.UtcNow); // a copy keeps the big image's older time
        return result;
    }

    [Fact]
    public void SigKill_DuringAnExtraction_LeavesThePreviousLayerAndOverlayIntact_AndTheNextBuildIsCorrect()
    {
        var (p, overlay, layer, layerBytes) = ExtractionProject("kill-x");
        var o = Interrupter.Build(p, () => Interrupter.FileAppears(p["obj/Debug/layers"], ".tcz-image-*.tmp", minBytes: 1 << 20), sigkill: true);
        Assert.True(o.Signalled, $"the extraction finished before it could be interrupted\n{Interrupter.Tail(o.Output)}");

        Assert.Equal(overlay, File.ReadAllBytes(p.Overlay));
        Assert.Equal(layerBytes, File.ReadAllBytes(layer));

        p.Build().AssertSuccess();
        BigInputs.AssertOverlayHolds(p.Overlay, BigInputs.BigTcz.Files);
        p.Run("clean").AssertSuccess();
        Assert.Empty(Directory.Exists(p["bin"]) ? Directory.EnumerateFiles(p["bin"], "*", SearchOption.AllDirectories) : []);
        Assert.Empty(Directory.Exists(p["obj"]) ? Directory.EnumerateFiles(p["obj"], "*", SearchOption.AllDirectories) : []);
        BigInputs.Delete(p.Directory);
    }

    [Fact]
    public void CtrlC_DuringAnExtraction_StopsWithinTwoSeconds_LeavesNothingPartial_AndTheNextBuildIsCorrect()
    {
        var (p, overlay, layer, layerBytes) = ExtractionProject("int-x");
        var o = Interrupter.Build(p, () => Interrupter.FileAppears(p["obj/Debug/layers"], ".tcz-image-*.tmp"), sigkill: false,
            settle: TimeSpan.FromMilliseconds(300));
        Interrupter.AssertCancelledPromptly(o, output, "ExtractSquashfs");
        Interrupter.AssertNoTemporaryFiles(p);
        Assert.Equal(overlay, File.ReadAllBytes(p.Overlay));
        Assert.Equal(layerBytes, File.ReadAllBytes(layer));

        p.Build().AssertSuccess();
        BigInputs.AssertOverlayHolds(p.Overlay, BigInputs.BigTcz.Files);
        BigInputs.Delete(p.Directory);
    }

    [Fact]
    public void CtrlC_DuringTheGems_StopsWithinTwoSeconds_LeavesNothingPartial_AndTheNextBuildIsCorrect()
    {
        var p = SdkHarness.CreateProject("int-gem");
        MakeGem(p, 0);
        p.WithProject("""
            <PropertyGroup><OverlayCompressionLevel>1</OverlayCompressionLevel></PropertyGroup>
            <ItemGroup><Gem Include="gems/*.gem" /></ItemGroup>
            """);
        p.Build().AssertSuccess();
        var overlay = File.ReadAllBytes(p.Overlay);
        var layer = File.ReadAllBytes(p["obj/Debug/layers/gems.tar"]);

        var data = MakeGem(p, 120 << 20);
        var o = Interrupter.Build(p, () => Interrupter.FileAppears(p["obj/Debug/layers"], ".gems.tar.*.tmp"), sigkill: false,
            settle: TimeSpan.FromMilliseconds(300));
        Interrupter.AssertCancelledPromptly(o, output, "InstallGems");
        Interrupter.AssertNoTemporaryFiles(p);
        Assert.Equal(overlay, File.ReadAllBytes(p.Overlay));
        Assert.Equal(layer, File.ReadAllBytes(p["obj/Debug/layers/gems.tar"]));

        p.Build().AssertSuccess();
        BigInputs.AssertOverlayHolds(p.Overlay, new Dictionary<string, string>
        {
            ["usr/local/lib/ruby/gems/1.8/gems/big-1.0.0/data/blob.txt"] = data,
        });
        BigInputs.Delete(p.Directory);
    }

    /// <summary>The gem big-1.0.0 with data/blob.txt of about <paramref name="bytes"/> (a line when 0), made by `gem build`;
    /// returns the SHA-256 of blob.txt.</summary>
    private static string MakeGem(TestProject p, long bytes)
    {
        var dir = p["gemsrc"];
        Directory.CreateDirectory(Path.Combine(dir, "lib"));
        File.WriteAllText(Path.Combine(dir, "lib/big.rb"), "module Big\nend\n");
        var blob = Path.Combine(dir, "data/blob.txt");
        if (bytes == 0)
        {
            p.Write("gemsrc/data/blob.txt", "small at first\n");
        }
        else
        {
            BigInputs.WriteText(blob, bytes, 7);
        }

        File.WriteAllText(Path.Combine(dir, "big.gemspec"), """
            Gem::Specification.new do |s|
              s.name = "big"
              s.version = "1.0.0"
              s.summary = "a big gem"
              s.authors = ["Test"]
              s.files = Dir["lib/**/*.rb"] + Dir["data/*"]
              s.require_paths = ["lib"]
            end
            """);
        Tool.Run("gem", ["build", "big.gemspec"], dir, timeout: TimeSpan.FromMinutes(5)).EnsureSuccess("gem build");
        Directory.CreateDirectory(p["gems"]);
        File.Copy(Path.Combine(dir, "big-1.0.0.gem"), p["gems/big-1.0.0.gem"], overwrite: true);
        return BigInputs.Sha256(blob);
    }

    [Fact]
    public void CtrlC_DuringThePack_StopsWithinTwoSeconds_LeavesThePreviousOverlay_AndTheNextBuildIsCorrect()
    {
        var p = SdkHarness.CreateProject("int-pack");
        p.Write("big.txt", "small at first\n");
        p.WithProject("<ItemGroup><OverlayFile Include=\"big.txt\" Destination=\"/opt/big.txt\" /></ItemGroup>");
        p.Build().AssertSuccess();
        var overlay = File.ReadAllBytes(p.Overlay);
        var listing = File.ReadAllBytes(p.Overlay + ".txt");

        BigInputs.WriteText(p["big.txt"], 150 << 20, 11);
        var o = Interrupter.Build(p, () => Interrupter.FileAppears(p.OutDir, ".mc-linux-fs-snap.tar.gz.*.tmp"), sigkill: false,
            settle: TimeSpan.FromMilliseconds(300));
        Interrupter.AssertCancelledPromptly(o, output, "PackOverlay");
        Interrupter.AssertNoTemporaryFiles(p);
        Assert.Equal(overlay, File.ReadAllBytes(p.Overlay));
        Assert.Equal(listing, File.ReadAllBytes(p.Overlay + ".txt"));

        p.Build().AssertSuccess();
        BigInputs.AssertOverlayHolds(p.Overlay, new Dictionary<string, string> { ["opt/big.txt"] = BigInputs.Sha256(p["big.txt"]) });
        BigInputs.Delete(p.Directory);
    }

    [Fact]
    public void CtrlC_DuringTheIso_StopsWithinTwoSeconds_LeavesThePreviousIso_AndTheNextBuildIsCorrect()
    {
        var p = SdkHarness.CreateProject("int-iso");
        IsoTests.MakeCoreIso(p);
        p.Write("big.txt", "small at first\n");
        p.WithProject("""
            <PropertyGroup><OverlayCompressionLevel>1</OverlayCompressionLevel><MicrokernelVersion>1.2.3</MicrokernelVersion></PropertyGroup>
            <ItemGroup>
              <CoreIso Include="Core-4.5.2.iso" />
              <OverlayFile Include="big.txt" Destination="/opt/big.txt" />
            </ItemGroup>
            """);
        p.Build().AssertSuccess();
        var iso = Path.Combine(p.OutDir, "rz_mk_dev-image.1.2.3.iso");
        var before = File.ReadAllBytes(iso);

        BigInputs.WriteText(p["big.txt"], 100 << 20, 13);
        var overlayTime = File.GetLastWriteTimeUtc(p.Overlay);
        var o = Interrupter.Build(p, () => Interrupter.FileAppears(p.OutDir, ".rz_mk_dev-image.1.2.3.iso.*.tmp"), sigkill: false,
            settle: TimeSpan.FromMilliseconds(300));
        Interrupter.AssertCancelledPromptly(o, output, "BuildIso");
        Interrupter.AssertNoTemporaryFiles(p);
        Assert.NotEqual(overlayTime, File.GetLastWriteTimeUtc(p.Overlay)); // the pack had finished: the ISO step was interrupted
        Assert.Equal(before, File.ReadAllBytes(iso));

        p.Build().AssertSuccess();
        using var x = new TempFolder("rmk-int-iso");
        Tool.Run("xorriso", "-osirrox", "on", "-indev", iso, "-extract", "/boot/core.gz", x["core.gz"]).EnsureSuccess("osirrox extract");
        var original = File.ReadAllBytes(p["core-tree/boot/core.gz"]);
        Tool.Run("sh", ["-c", $"cd {x.Path} && tail -c +{original.Length + 1} core.gz | gzip -dc | cpio -id --quiet opt/big.txt"]).EnsureSuccess("cpio -id");
        Assert.Equal(BigInputs.Sha256(p["big.txt"]), BigInputs.Sha256(x["opt/big.txt"]));
        BigInputs.Delete(p.Directory);
    }
}
