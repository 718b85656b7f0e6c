using System.Security.Cryptography;
using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Sdk.Tests;

/// <summary>SIGKILL of `dotnet build` in the middle of the pack: the previous overlay stays intact (never a
/// partial file at its path), the next build is correct, and `dotnet clean` removes what the killed build left.</summary>
[Collection("Serial")]
public class KillTests
{
    [Fact]
    public void SigKill_DuringThePack_LeavesThePreviousOverlayIntact_AndTheNextBuildIsCorrect()
    {
        var p = SdkHarness.CreateProject("kill");
        p.Write("big.bin", "small at first\n");
        p.WithProject("<PropertyGroup><OverlayCompressionLevel>9</OverlayCompressionLevel></PropertyGroup><ItemGroup><OverlayFile Include=\"big.bin\" Destination=\"/opt/big.bin\" /></ItemGroup>");
        p.Build().AssertSuccess();
        var before = File.ReadAllBytes(p.Overlay);

        var big = new byte[160 << 20];
        new Random(7).NextBytes(big.AsSpan(0, big.Length / 2)); // half random, half zeros: a pack of a few seconds
        File.WriteAllBytes(p["big.bin"], big);
        var killedDuringPack = false;
        SdkHarness.RunDotnet(p.Directory, ["build", p.ProjectFile, "-nr:false", "-tl:off", "-v:m"], null, TimeSpan.FromMinutes(5), p.PackagesFolder, process =>
        {
            var deadline = DateTime.UtcNow.AddMinutes(3);
            while (!process.HasExited && DateTime.UtcNow < deadline)
            {
                if (Directory.Exists(p.OutDir) && Directory.EnumerateFiles(p.OutDir, ".*.tmp").Any())
                {
                    process.Kill(entireProcessTree: true); // SIGKILL
                    killedDuringPack = true;
                    break;
                }

                Thread.Sleep(10);
            }

            process.WaitForExit();
        });
        Assert.True(killedDuringPack, "the build finished before the pack could be interrupted");
        Assert.Equal(before, File.ReadAllBytes(p.Overlay));

        p.Build().AssertSuccess();
        using var x = new TempFolder("rmk-kill");
        Tool.Run("tar", "-xzf", p.Overlay, "-C", x.Path).EnsureSuccess("tar -xzf");
        Assert.Equal(SHA256.HashData(big), SHA256.HashData(File.ReadAllBytes(x["opt/big.bin"])));

        p.Run("clean").AssertSuccess();
        Assert.Empty(Directory.Exists(p["bin"]) ? Directory.EnumerateFiles(p["bin"], "*", SearchOption.AllDirectories) : []);
        Assert.Empty(Directory.Exists(p["obj"]) ? Directory.EnumerateFiles(p["obj"], "*", SearchOption.AllDirectories) : []);
    }
}
