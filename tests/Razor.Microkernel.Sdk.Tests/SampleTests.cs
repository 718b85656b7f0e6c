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
}
