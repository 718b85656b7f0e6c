namespace Razor.Microkernel.Sdk.Tests;

/// <summary>`dotnet publish` and `dotnet pack` of a microkernel project, as a user runs them.</summary>
public sealed class PublishPackTests
{
    private static TestProject IsoProject(string name)
    {
        var p = SdkHarness.CreateProject(name);
        IsoTests.MakeCoreIso(p);
        p.Write("files/motd", "hello\n");
        p.WriteCsproj("""
            <ItemGroup>
              <OverlayFile Include="files/motd" Destination="/etc/motd" />
              <CoreIso Include="Core-4.5.2.iso" />
            </ItemGroup>
            """);
        return p;
    }

    private static SdkHarness.RunResult Dotnet(TestProject p, params string[] args)
        => SdkHarness.RunDotnet(p.Directory, [.. args, "-nr:false", "-tl:off"], null, TimeSpan.FromMinutes(5), p.PackagesFolder);

    /// <summary>Every file the build wrote into its output folder, relative to it (the publish folder aside).</summary>
    private static SortedSet<string> Outputs(string outDir)
        => new(Directory.EnumerateFiles(outDir, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(outDir, f).Replace('\\', '/'))
            .Where(f => !f.StartsWith("publish/", StringComparison.Ordinal)), StringComparer.Ordinal);

    [Fact]
    public void Publish_CopiesEveryOutputOfTheBuild_IntoThePublishFolderOrTheOneGiven()
    {
        var p = IsoProject("publish");

        var r = Dotnet(p, "publish", "Microkernel.csproj");
        Assert.True(r.Succeeded, r.Output);
        var publish = p["bin/Debug/publish"];
        Assert.Contains($"Microkernel -> {publish}/", r.Output);
        var built = Outputs(p.OutDir);
        // The network boot files (pxe/, sub-folder kept) are published with the rest.
        Assert.Equal(
        [
            "mc-linux-fs-snap.html", "mc-linux-fs-snap.tar.gz", "mc-linux-fs-snap.tar.gz.txt",
            "pxe/SHA256SUMS", "pxe/boot.ipxe", "pxe/core.gz", "pxe/pxelinux.cfg/default", "pxe/vmlinuz", "rz_mk_dev-image.1.0.0.iso",
        ], built);
        Assert.Equal(built, Outputs(publish));
        foreach (var f in built)
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(p.OutDir, f)), File.ReadAllBytes(Path.Combine(publish, f)));
        }

        // -o (PublishDir), and --no-build from what is built.
        var elsewhere = Path.Combine(p.Sdk.RunFolder, "published", Path.GetFileName(p.Directory));
        r = Dotnet(p, "publish", "Microkernel.csproj", "--no-build", "-o", elsewhere);
        Assert.True(r.Succeeded, r.Output);
        Assert.Equal(built, Outputs(elsewhere));
    }

    [Fact]
    public void Publish_NoBuild_OfAnUnbuiltProject_IsRMK5010()
    {
        var p = IsoProject("publish-nobuild");
        var r = Dotnet(p, "publish", "Microkernel.csproj", "--no-build");
        Assert.False(r.Succeeded);
        Assert.Contains("error RMK5010", r.Output);
        Assert.False(Directory.Exists(p["bin"]));
    }

    [Fact]
    public void Pack_MakesNoPackage_AndSaysSo_AndIsPackableTrue_IsRMK5011()
    {
        var p = IsoProject("pack");
        var r = Dotnet(p, "pack", "Microkernel.csproj");
        Assert.True(r.Succeeded, r.Output);
        Assert.DoesNotContain("MSB4057", r.Output);
        Assert.Contains("Microkernel: not packed", r.Output);
        Assert.DoesNotContain(p.Files(), f => f.EndsWith(".nupkg", StringComparison.Ordinal));

        r = Dotnet(p, "pack", "Microkernel.csproj", "-p:IsPackable=true");
        Assert.False(r.Succeeded);
        Assert.Contains("error RMK5011", r.Output);
        Assert.DoesNotContain(p.Files(), f => f.EndsWith(".nupkg", StringComparison.Ordinal));
    }
}
