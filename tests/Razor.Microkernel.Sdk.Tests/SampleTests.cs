using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Sdk.Tests;

public class SampleTests
{
    /// <summary>Copies a sample into a test folder, pointing its Sdk reference at the packed test version.</summary>
    internal static TestProject CopySample(string name)
    {
        var p = SdkHarness.CreateProject(name);
        var source = Path.Combine(SdkHarness.RepoRoot, "samples", name);
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(source, file);
            if (relative.StartsWith("bin", StringComparison.Ordinal) || relative.StartsWith("obj", StringComparison.Ordinal))
            {
                continue;
            }

            var target = p[relative.EndsWith(".csproj", StringComparison.Ordinal) ? "Microkernel.proj" : relative];
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            if (relative.EndsWith(".csproj", StringComparison.Ordinal))
            {
                File.WriteAllText(target, File.ReadAllText(file).Replace("Sdk=\"Razor.Microkernel.Sdk\"", $"Sdk=\"Razor.Microkernel.Sdk/{p.Sdk.Version}\"", StringComparison.Ordinal));
            }
            else
            {
                File.Copy(file, target);
            }
        }

        return p;
    }

    [Fact]
    public void HelloOverlay_BuildsOffline_WithEveryOverlayItem()
    {
        var p = CopySample("HelloOverlay");
        p.Build().AssertSuccess();
        var overlay = Path.Combine(p.OutDir, "hello-overlay.tar.gz");
        var listing = Tool.Run("tar", "-tvzf", overlay).EnsureSuccess("tar -tvzf").StdOut;
        Assert.Contains("-rw-r--r-- root/root", listing);
        Assert.Matches(@"-rwxrwxr-x root/staff +\d+ .* opt/bootlocal\.sh", listing);
        Assert.Matches(@"drwxr-x--- tc/staff .* home/tc/", listing);
        Assert.Contains("usr/local/hello -> /usr/local/tce.installed/hello-1.0", listing);
        Assert.Contains("usr/local/bin/hello -> /usr/local/hello/bin/hello", listing);
        Assert.Matches(@"-rwxr-xr-x root/root +21 .* usr/local/tce.installed/hello-1.0/bin/hello", listing);
    }

    /// <summary>
    /// The samples restore the SDK (always version 1.0.0) from artifacts/packages into artifacts/sample-packages
    /// (samples/NuGet.config). NuGet never re-extracts a version it already has, so a new pack must clear the old
    /// extracted copy. This runs the real chain in a copy of the layout: build a sample, make the extracted copy
    /// differ from what a pack produces, see that a build uses it, pack exactly as build/pack.sh does, build again.
    /// </summary>
    [Fact]
    public void Sample_AfterARepack_NeverBuildsWithTheStaleExtractedSdk()
    {
        var sdk = SdkHarness.Sdk;
        using var root = new TempFolder("rmk-stale");
        var samples = root["samples"];
        foreach (var f in new[] { "NuGet.config", "Directory.Build.props", "Directory.Build.targets" })
        {
            root.Write(Path.Combine("samples", f), File.ReadAllText(Path.Combine(SdkHarness.RepoRoot, "samples", f)));
        }

        root.Write("global.json", File.ReadAllText(Path.Combine(SdkHarness.RepoRoot, "global.json")));
        var source = Path.Combine(SdkHarness.RepoRoot, "samples", "HelloOverlay");
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(source, file);
            if (relative.StartsWith("bin", StringComparison.Ordinal) || relative.StartsWith("obj", StringComparison.Ordinal))
            {
                continue;
            }

            var bytes = File.ReadAllBytes(file);
            if (relative.EndsWith(".proj", StringComparison.Ordinal))
            {
                bytes = System.Text.Encoding.UTF8.GetBytes(System.Text.Encoding.UTF8.GetString(bytes)
                    .Replace("Razor.Microkernel.Sdk/1.0.0", $"Razor.Microkernel.Sdk/{sdk.Version}", StringComparison.Ordinal));
            }

            root.Write(Path.Combine("samples", "HelloOverlay", relative), bytes);
        }

        root.Write(Path.Combine("artifacts", "packages", Path.GetFileName(sdk.Nupkg)), File.ReadAllBytes(sdk.Nupkg));
        var sample = Path.Combine(samples, "HelloOverlay");
        string[] build = ["build", "-nr:false", "-tl:off", "-v:m"];
        var first = SdkHarness.RunDotnet(sample, build, null, TimeSpan.FromMinutes(5));
        Assert.True(first.Succeeded, first.Output);
        var extracted = root[Path.Combine("artifacts", "sample-packages", "razor.microkernel.sdk", sdk.Version.ToLowerInvariant())];
        Assert.True(Directory.Exists(extracted), "the sample should restore the SDK into artifacts/sample-packages");

        // The extracted copy now differs from the package (as after an SDK change and a new pack of the same version).
        var targets = Path.Combine(extracted, "Sdk", "Sdk.targets");
        File.WriteAllText(targets, File.ReadAllText(targets).Replace("</Project>",
            "<Target Name=\"_StaleCopy\" BeforeTargets=\"Build\"><Error Text=\"STALE-EXTRACTED-SDK\" /></Target></Project>", StringComparison.Ordinal));
        var stale = SdkHarness.RunDotnet(sample, build, null, TimeSpan.FromMinutes(5));
        Assert.False(stale.Succeeded);
        Assert.Contains("STALE-EXTRACTED-SDK", stale.Output);

        // build/pack.sh's command, with this copy as the repository root.
        var pack = SdkHarness.RunDotnet(SdkHarness.RepoRoot, ["pack", Path.Combine(SdkHarness.RepoRoot, "src", "Razor.Microkernel.Sdk", "Razor.Microkernel.Sdk.csproj"),
            "-c", "Release", "-o", root[Path.Combine("artifacts", "packages")], "-nr:false", "-tl:off", "-v:m",
            $"-p:RmkSdkVersion={sdk.Version}", $"-p:RepoRoot={root.Path}/"], null, TimeSpan.FromMinutes(10));
        Assert.True(pack.Succeeded, pack.Output);
        var fresh = SdkHarness.RunDotnet(sample, build, null, TimeSpan.FromMinutes(5));
        Assert.True(fresh.Succeeded, fresh.Output);
        Assert.DoesNotContain("STALE-EXTRACTED-SDK", fresh.Output);
        Assert.True(File.Exists(Path.Combine(sample, "bin", "Debug", "hello-overlay.tar.gz")));
    }
}
