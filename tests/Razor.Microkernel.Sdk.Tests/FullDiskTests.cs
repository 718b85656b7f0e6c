using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Sdk.Tests;

/// <summary>An output folder that runs out of space (a 1 MiB tmpfs, mounted as root): a coded error, the
/// previous overlay intact, no partial file left at the overlay's path.</summary>
[Collection("Serial")]
public class FullDiskTests
{
    [Fact]
    public void FullOutputFolder_IsACodedError_AndThePreviousOverlayStays()
    {
        var p = SdkHarness.CreateProject("full");
        var outDir = p["tiny-out"];
        Directory.CreateDirectory(outDir);
        Tool.Run("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", outDir).EnsureSuccess("mount tmpfs (the tests run as root)");
        try
        {
            p.Write("small.bin", "small\n");
            p.WithProject("<PropertyGroup><OutDir>tiny-out/</OutDir></PropertyGroup><ItemGroup><OverlayFile Include=\"small.bin\" Destination=\"/opt/data.bin\" /></ItemGroup>");
            p.Build().AssertSuccess();
            var overlay = Path.Combine(outDir, "mc-linux-fs-snap.tar.gz");
            var before = File.ReadAllBytes(overlay);

            var random = new byte[3 << 20]; // incompressible: the overlay cannot fit in 1 MiB
            new Random(3).NextBytes(random);
            File.WriteAllBytes(p["small.bin"], random);
            var r = p.Build().AssertFailureWith("RMK5001");
            Assert.Contains("mc-linux-fs-snap.tar.gz", r.Output);
            Assert.Equal(before, File.ReadAllBytes(overlay));
            Assert.Empty(Directory.EnumerateFiles(outDir, ".*.tmp"));
        }
        finally
        {
            Tool.Run("umount", outDir);
        }
    }
}
