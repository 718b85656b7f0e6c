using System.Diagnostics;
using Razor.Microkernel.TestSupport;
using Razor.Microkernel.TestSupport.Mirror;

namespace Razor.Microkernel.Sdk.Tests;

[CollectionDefinition("Serial", DisableParallelization = true)]
public sealed class SerialCollection
{
}

/// <summary>Ctrl+C (SIGINT) on `dotnet build` in the middle of a slow download stops the build promptly and
/// leaves nothing half-written: the next build succeeds with a correct overlay.</summary>
[Collection("Serial")]
public sealed class CancellationTests() : MirroredTests("rmk-cancel")
{

    protected override void Populate()
    {
        var tree = Root["src/big"];
        Directory.CreateDirectory(Path.Combine(tree, "usr/local/share/big"));
        var random = new byte[400_000];
        new Random(1).NextBytes(random);
        File.WriteAllBytes(Path.Combine(tree, "usr/local/share/big/blob"), random);
        Builder.AddSquashfs("big.tcz", tree);
    }

    [Fact]
    public void CtrlC_DuringADownload_StopsWithinTwoSeconds_AndTheNextBuildIsCorrect()
    {
        // ~400 KB at 4 KB every 300 ms: about 30 s of download, each chunk well inside the inactivity timeout.
        Mirror.Misbehave(Builder.Relative("big.tcz"), new Trickle(int.MaxValue, 4096, TimeSpan.FromMilliseconds(300)));
        var p = SdkHarness.CreateProject("cancel");
        p.WithProject($"""
            <PropertyGroup><TczMirror>{Mirror.BaseUrl}</TczMirror><MicrokernelCacheDirectory>cache</MicrokernelCacheDirectory></PropertyGroup>
            <ItemGroup><TczExtension Include="big" /></ItemGroup>
            """);
        var stopwatch = new Stopwatch();
        var result = SdkHarness.RunDotnet(p.Directory, ["build", p.ProjectFile, "-nr:false", "-tl:off", "-v:n"], null, TimeSpan.FromMinutes(3),
            p.PackagesFolder, process =>
            {
                var deadline = DateTime.UtcNow.AddMinutes(2);
                while (Mirror.Requests(Builder.Relative("big.tcz")) == 0 && DateTime.UtcNow < deadline)
                {
                    Thread.Sleep(50);
                }

                Thread.Sleep(500); // well into the body
                Tool.Run("kill", "-INT", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)).EnsureSuccess("kill -INT");
                stopwatch.Start();
                process.WaitForExit();
                stopwatch.Stop();
            });
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("cancel", result.Output, StringComparison.OrdinalIgnoreCase);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(2), $"the build took {stopwatch.Elapsed} to stop after Ctrl+C\n{result.Output}");
        Assert.False(File.Exists(p.Overlay));

        Mirror.ClearMisbehaviors();
        p.Build().AssertSuccess();
        using var x = new TempFolder("rmk-cancel-x");
        Tool.Run("tar", "-xzf", p.Overlay, "-C", x.Path).EnsureSuccess("tar -xzf");
        Assert.Equal(File.ReadAllBytes(Root["src/big/usr/local/share/big/blob"]), File.ReadAllBytes(x["usr/local/share/big/blob"]));
    }
}
