using System.Text.RegularExpressions;
using Razor.Microkernel.Formats.Report;
using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Formats.Tests.Report;

/// <summary>The report as a browser sees it: Debian's headless Chromium loads the file and dumps its DOM.</summary>
public class OverlayReportChromiumTests
{
    /// <summary>Chromium on PATH (Debian installs /usr/bin/chromium). Missing, the test fails and says how to install it.</summary>
    private static string RequireChromium()
    {
        var dirs = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator).Append("/usr/bin");
        foreach (var name in new[] { "chromium", "chromium-browser" })
        {
            foreach (var dir in dirs)
            {
                var candidate = Path.Combine(dir, name);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        throw new InvalidOperationException(
            "The report test renders the HTML in headless Chromium, which is not installed. Install Debian's chromium: sudo apt-get install -y chromium");
    }

    private static int CountOf(string text, string pattern) => Regex.Matches(text, Regex.Escape(pattern)).Count;

    [Fact]
    public void Report_RendersInHeadlessChromium_WithTreemapAndTables()
    {
        var chromium = RequireChromium();
        using var tmp = new TempFolder();
        var merge = ReportFixture.MicrokernelOverlay(tmp);
        var report = tmp[OverlayReport.DefaultFileName];
        OverlayReport.WriteToFile(report, merge, ReportFixture.Info());

        var result = Tool.Run(chromium,
        [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--user-data-dir=" + tmp["chromium-profile"],
            "--enable-logging=stderr", "--v=0", "--dump-dom", new Uri(report).AbsoluteUri,
        ], workingDirectory: tmp.Path, timeout: TimeSpan.FromSeconds(90));
        result.EnsureSuccess("chromium --headless --dump-dom");
        var dom = result.StdOut;
        Assert.Contains("<h1>Overlay report: <code>mc-linux-fs-snap.tar.gz</code></h1>", dom, StringComparison.Ordinal);

        // The treemap: one box per layer with content, and boxes for folders, files and grouped crumbs.
        Assert.Matches("<div (id=\"treemap\" class=\"tm\"|class=\"tm\" id=\"treemap\")", dom);
        Assert.Equal(merge.Summaries.Count(s => s.Bytes > 0), CountOf(dom, "<div class=\"tm-layer"));
        Assert.True(CountOf(dom, "<div class=\"tm-folder") >= 10, "folder boxes");
        Assert.True(CountOf(dom, "<div class=\"tm-file") >= 5, "file boxes");
        Assert.True(CountOf(dom, "<div class=\"tm-other") >= 1, "grouped boxes");
        Assert.Contains("<span>libruby.so.1.8 <small>244.1 KB</small></span>", dom, StringComparison.Ordinal);

        // The tables, parsed into rows by the browser.
        foreach (var id in new[] { "totals-table", "layers", "largest-files", "extensions-table", "gems-table", "downloads-table", "properties", "settings-table", "conflicts-table" })
        {
            Assert.Contains($"<table id=\"{id}\"", dom, StringComparison.Ordinal);
        }

        var largest = dom[dom.IndexOf("<table id=\"largest-files\"", StringComparison.Ordinal)..];
        largest = largest[..largest.IndexOf("</table>", StringComparison.Ordinal)];
        Assert.Equal(OverlayReport.LargestFileCount + 1, CountOf(largest, "<tr>"));

        // Hostile names stayed text: the browser found no script element and shows the characters.
        Assert.DoesNotContain("<script", dom, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("x&lt;y&gt;.rb", dom, StringComparison.Ordinal);
        Assert.Contains("<td class=\"secret\">(secret, not shown)</td>", dom, StringComparison.Ordinal);
        Assert.DoesNotContain("PSK-VALUE-MUST-NOT-APPEAR", dom, StringComparison.Ordinal);

        // Nothing was blocked or missing: no Content-Security-Policy refusal, no failed load.
        Assert.DoesNotContain("Content Security Policy", result.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain("ERR_FILE_NOT_FOUND", result.StdErr, StringComparison.Ordinal);
    }
}
