using System.Text.RegularExpressions;

namespace Razor.Microkernel.Sdk.Tests;

/// <summary>A build that has nothing to do ends with the same one-line summary of the overlay (entries, sizes, path) as
/// the build that packed it: with the console logger (-tl:off, minimal verbosity) and with the terminal logger.</summary>
public sealed partial class NoOpSummaryTests
{
    [GeneratedRegex(@"Microkernel -> \S+mc-linux-fs-snap\.tar\.gz \(\d+ entries, [^)]+ compressed\)")]
    private static partial Regex Summary();

    [GeneratedRegex(@"\x1b\[[0-9;?]*[A-Za-z]|\x1b\]8;;[^\x1b]*\x1b\\")]
    private static partial Regex Escapes();

    private static string Build(TestProject p, string logger)
    {
        var r = SdkHarness.RunDotnet(p.Directory, ["build", p.ProjectFile, "-nr:false", logger, "-v:m"], null, TimeSpan.FromMinutes(5), p.PackagesFolder);
        Assert.True(r.Succeeded, r.Output);
        return Escapes().Replace(r.Output, "");
    }

    [Fact]
    public void NoOpBuild_EndsWithTheSameSummaryLine_AsTheBuildThatPacked()
    {
        var p = SdkHarness.CreateProject("noop");
        p.Write("files/motd", "hello\n");
        p.Write("files/issue", "Tiny Core\n");
        p.WithProject("<ItemGroup><OverlayFile Include=\"files/*\" Destination=\"/etc/\" /></ItemGroup>");

        var packed = Summary().Match(Build(p, "-tl:off"));
        Assert.True(packed.Success, "the packing build printed no summary");
        Assert.Contains("(3 entries, 16 B of content from 1 layers, ", packed.Value);

        var noop = p.Build();
        Assert.Contains("RmkPackOverlay", noop.TargetsSkipped); // nothing was packed
        Assert.Equal(packed.Value, Summary().Match(Build(p, "-tl:off")).Value);

        // The terminal logger shows it as the project's output: "Microkernel succeeded (…) → bin/Debug/… (… entries, …)".
        var terminal = Build(p, "-tl:on");
        Assert.Contains($"→ bin/Debug/mc-linux-fs-snap.tar.gz {packed.Value[packed.Value.IndexOf('(', StringComparison.Ordinal)..]}", terminal);
    }
}
