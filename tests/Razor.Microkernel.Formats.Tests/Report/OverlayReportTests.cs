using System.Text;
using System.Text.RegularExpressions;
using Razor.Microkernel.Formats.Layers;
using Razor.Microkernel.Formats.Report;
using Razor.Microkernel.TestSupport;
using static Razor.Microkernel.Formats.Tests.Report.ReportFixture;

namespace Razor.Microkernel.Formats.Tests.Report;

public class OverlayReportTests
{
    private static int CountOf(string html, string text) => Regex.Matches(html, Regex.Escape(text)).Count;

    private static string Section(string html, string id)
    {
        var start = html.IndexOf($"<section id=\"{id}\">", StringComparison.Ordinal);
        Assert.True(start >= 0, $"no section {id}");
        var end = html.IndexOf("</section>", start, StringComparison.Ordinal);
        return html[start..end];
    }

    [Fact]
    public void Write_HasTotalsLayersTreemapLargestFilesPackagesSettingsAndConflicts()
    {
        using var tmp = new TempFolder();
        var merge = MicrokernelOverlay(tmp, hostile: false);
        var html = OverlayReport.ToHtml(merge, Info(hostile: false));
        // To look at the fixture's report in a browser: RMK_REPORT_DUMP=/tmp/report.html dotnet test … (also writes a hostile one).
        if (Environment.GetEnvironmentVariable("RMK_REPORT_DUMP") is { Length: > 0 } dump)
        {
            File.WriteAllText(dump, html);
            File.WriteAllText(dump + ".hostile.html", OverlayReport.ToHtml(MicrokernelOverlay(tmp), Info()));
        }

        Assert.StartsWith("<!DOCTYPE html>\n<html lang=\"en\">", html, StringComparison.Ordinal);
        Assert.EndsWith("</html>\n", html, StringComparison.Ordinal);
        foreach (var id in new[] { "totals", "treemap-section", "largest", "extensions", "gems", "downloads", "settings", "conflicts" })
        {
            Assert.Contains($"<section id=\"{id}\">", html, StringComparison.Ordinal);
        }

        // Totals: entries, content bytes, compressed size.
        var content = merge.Summaries.Sum(s => s.Bytes);
        var totals = Section(html, "totals");
        Assert.Contains($"<tr><th>Entries</th><td>{merge.Entries.Count:N0}</td></tr>", totals, StringComparison.Ordinal);
        Assert.Contains($"({content:N0} bytes)", totals, StringComparison.Ordinal);
        Assert.Contains("120.6 KB (123,456 bytes,", totals, StringComparison.Ordinal);

        // One layer row per layer, with dropped entries (tcz/ruby's etc/motd lost to the project's file).
        var layers = Section(html, "totals")[totals.IndexOf("<table id=\"layers\">", StringComparison.Ordinal)..];
        Assert.Equal(merge.Layers.Count, CountOf(layers, "<tr><td><span class=\"swatch\""));
        Assert.Matches("<td>tcz/ruby</td>.*<td class=\"num warn\">1</td></tr>", layers);

        // Treemap: a box per layer with content, the big files by name, hatched "other" boxes for crumbs.
        var treemap = Section(html, "treemap-section");
        Assert.Equal(merge.Summaries.Count(s => s.Bytes > 0), CountOf(treemap, "<div class=\"tm-layer"));
        Assert.Contains("title=\"/usr/local/lib/libruby.so.1.8 in layer tcz/ruby&#10;244.1 KB (250,000 bytes,", treemap, StringComparison.Ordinal);
        Assert.Contains("title=\"/usr/local/bin/bash in layer tcz/bash", treemap, StringComparison.Ordinal);
        Assert.Contains("title=\"/usr/local/lib/firmware/bnx2/ in layer tcz/firmware-bnx2", treemap, StringComparison.Ordinal);
        Assert.Contains("<div class=\"tm-other\"", treemap, StringComparison.Ordinal);
        Assert.Contains("<span>libruby.so.1.8 <small>244.1 KB</small></span>", treemap, StringComparison.Ordinal);
        Assert.Contains("<span>usr/local/lib/firmware/bnx2 <small>205.1 KB</small></span>", treemap, StringComparison.Ordinal);

        // Largest files: 30 rows, the biggest first, with layer and path.
        var largest = Section(html, "largest");
        Assert.Equal(OverlayReport.LargestFileCount, CountOf(largest, "<tr><td class=\"num\">"));
        Assert.Contains("<tr><td class=\"num\">1</td><td class=\"num\">244.1 KB</td><td class=\"num\">250,000</td>", largest, StringComparison.Ordinal);
        Assert.Contains("<td>tcz/ruby</td><td class=\"path\"><code>/usr/local/lib/libruby.so.1.8</code>", largest, StringComparison.Ordinal);
        Assert.Contains("<tr><td class=\"num\">2</td><td class=\"num\">78.1 KB</td>", largest, StringComparison.Ordinal);

        // Every extension, gem and download with version, size and hash.
        var extensions = Section(html, "extensions");
        Assert.Equal(3, CountOf(extensions, "<tr><td class=\"num\">"));
        Assert.Contains("<td>ruby.tcz</td><td>–</td><td class=\"num\" title=\"2,105,344 bytes\">2.0 MB</td><td class=\"hash\"><code>" + new string('a', 64),
            extensions, StringComparison.Ordinal);
        var gems = Section(html, "gems");
        Assert.Contains("<td>facter</td><td>1.6.5</td>", gems, StringComparison.Ordinal);
        Assert.Contains(new string('e', 64), gems, StringComparison.Ordinal);
        Assert.Contains("<td class=\"path\">gems/facter-1.6.5.gem</td>", gems, StringComparison.Ordinal);
        Assert.Contains("mcollective-1.2.1.tgz", Section(html, "downloads"), StringComparison.Ordinal);

        // Settings and properties.
        var settings = Section(html, "settings");
        Assert.Contains("<tr><th><code>plugin.stomp.host</code></th><td><code>razor-server</code></td></tr>", settings, StringComparison.Ordinal);
        Assert.Contains("<tr><th><code>MicrokernelFlavor</code></th><td><code>Development</code></td></tr>", settings, StringComparison.Ordinal);

        // The conflict, naming both layers.
        var conflicts = Section(html, "conflicts");
        Assert.Contains("<code>/etc/motd</code></td><td>files <small>file</small></td><td>tcz/ruby <small>file</small></td>", conflicts, StringComparison.Ordinal);
    }

    [Fact]
    public void Write_IsSelfContained_NoScriptNoExternalResourceNoMachinePath()
    {
        using var tmp = new TempFolder();
        var html = OverlayReport.ToHtml(MicrokernelOverlay(tmp), Info());
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<link", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<img", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("url(", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("src=", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("@import", html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("content=\"default-src 'none'; style-src 'unsafe-inline'\"", html, StringComparison.Ordinal);
        Assert.DoesNotContain(tmp.Path, html, StringComparison.Ordinal);
        Assert.DoesNotContain(Path.GetTempPath(), html, StringComparison.Ordinal);
        Assert.DoesNotContain("\r", html, StringComparison.Ordinal);
        // Only links within the page.
        Assert.All(Regex.Matches(html, "href=\"([^\"]*)\"").Select(m => m.Groups[1].Value), h => Assert.StartsWith("#", h, StringComparison.Ordinal));
    }

    [Fact]
    public void Write_SameInput_SameBytes_EvenFromLayersInAnotherFolder()
    {
        using var one = new TempFolder();
        using var two = new TempFolder();
        var first = Bytes(MicrokernelOverlay(one));
        var again = Bytes(MicrokernelOverlay(one));
        var elsewhere = Bytes(MicrokernelOverlay(two));
        Assert.Equal(first, again);
        Assert.Equal(first, elsewhere);

        static byte[] Bytes(OverlayMerge merge)
        {
            using var ms = new MemoryStream();
            using (var w = new StreamWriter(ms, new UTF8Encoding(false), 1024, leaveOpen: true))
            {
                OverlayReport.Write(w, merge, Info());
            }

            return ms.ToArray();
        }
    }

    [Fact]
    public void WriteToFile_WritesUtf8WithoutBom_AndTheSameBytesAsWrite()
    {
        using var tmp = new TempFolder();
        var merge = MicrokernelOverlay(tmp);
        var path = tmp[OverlayReport.DefaultFileName];
        OverlayReport.WriteToFile(path, merge, Info());
        var bytes = File.ReadAllBytes(path);
        Assert.NotEqual(0xEF, bytes[0]);
        Assert.Equal(new UTF8Encoding(false).GetBytes(OverlayReport.ToHtml(merge, Info())), bytes);
    }

    [Fact]
    public void Write_EscapesHostileNamesEverywhere()
    {
        using var tmp = new TempFolder();
        var html = OverlayReport.ToHtml(MicrokernelOverlay(tmp), Info());

        // Nothing a hostile name holds becomes markup: no script element, no raw quote to break out of an attribute.
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("alert('x')", html, StringComparison.Ordinal);
        Assert.DoesNotContain("x<y>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("\"q\"", html, StringComparison.Ordinal);
        const string escaped = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;amp;&quot;q&quot;";
        Assert.Contains("<td>layer " + escaped + "</td>", html, StringComparison.Ordinal); // layer table
        Assert.Contains("title=\"layer layer " + escaped + "&#10;", html, StringComparison.Ordinal); // treemap
        Assert.Contains("Project <strong>Razor" + escaped + "</strong>", html, StringComparison.Ordinal);
        Assert.Contains("<td>x" + escaped + ".tcz</td>", html, StringComparison.Ordinal); // extension
        Assert.Contains("<td>stomp</td><td>" + escaped + "</td>", html, StringComparison.Ordinal); // gem version
        Assert.Contains("<td><code>razor-server" + escaped + "</code></td>", html, StringComparison.Ordinal); // setting

        // A path split by the name's own slash, with < > in the file name, in the largest-files table.
        Assert.Contains("<code>/opt/&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;amp;&quot;q&quot;/x&lt;y&gt;.rb</code>", html, StringComparison.Ordinal);

        // Control characters stay visible instead of breaking lines.
        Assert.Contains("/opt/tab\\x09and\\x0Anewline", html, StringComparison.Ordinal);

        // Every attribute value is closed where it should be: quotes balance on every line.
        Assert.All(html.Split('\n'), line => Assert.True(line.Count(c => c == '"') % 2 == 0, line));
    }

    [Theory]
    [InlineData("a<b", "a&lt;b")]
    [InlineData("a&b", "a&amp;b")]
    [InlineData("\"'>", "&quot;&#39;&gt;")]
    [InlineData("bell\a", "bell\\x07")]
    [InlineData("del\u007f", "del\\x7F")]
    [InlineData("c1\u0085", "c1\\x85")]
    [InlineData("pair😀", "pair😀")]
    [InlineData("plain é ü", "plain é ü")]
    public void Escape_MakesAnyTextSafeForContentAndQuotedAttributes(string text, string expected)
        => Assert.Equal(expected, Html.Escape(text));

    [Fact]
    public void Escape_ShowsUnpairedSurrogatesAsCodes()
    {
        // Built in code: an attribute argument cannot carry an unpaired surrogate.
        Assert.Equal("lone\\uD800", Html.Escape("lone" + (char)0xD800));
        Assert.Equal("lone\\uDC00end", Html.Escape("lone" + (char)0xDC00 + "end"));
        Assert.Equal("\\uDC00\\uD800", Html.Escape(new string([(char)0xDC00, (char)0xD800])));
    }

    [Fact]
    public void Settings_SecretValues_AreNeverPrinted_EvenWhenTheCallerPassesThem()
    {
        using var tmp = new TempFolder();
        var info = Info(hostile: false) with
        {
            Properties = [new("MicrokernelFlavor", "Production"), new("DeployPassword", "PROP-PASSWORD")],
            Settings =
            [
                new("plugin.psk", "PSK-VALUE"),
                new("plugin.stomp.password", "STOMP-PASSWORD"),
                new(" PLUGIN.PSK ", "UPPER-PSK"),
                new("MCOLLECTIVE_PSK", "ENV-PSK"),
                new("plugin.stomp.pool.password1", "POOL-PASSWORD"),
                new("db_passwd", "PASSWD"),
                new("api.token", "TOKEN"),
                new("client_secret", "SECRET"),
                new("plugin.psk.callertype", "uid"),
                new("securityprovider", "psk"),
            ],
        };
        var html = OverlayReport.ToHtml(MicrokernelOverlay(tmp, hostile: false), info);
        foreach (var secret in new[] { "PSK-VALUE", "STOMP-PASSWORD", "UPPER-PSK", "ENV-PSK", "POOL-PASSWORD", "PASSWD", "TOKEN", "SECRET", "PROP-PASSWORD" })
        {
            Assert.DoesNotContain(secret, html, StringComparison.Ordinal);
        }

        Assert.Contains("<tr><th><code>plugin.psk</code></th><td class=\"secret\">(secret, not shown)</td></tr>", html, StringComparison.Ordinal);
        Assert.Contains("<tr><th><code>DeployPassword</code></th><td class=\"secret\">(secret, not shown)</td></tr>", html, StringComparison.Ordinal);
        Assert.Equal(9, CountOf(html, "<td class=\"secret\">(secret, not shown)</td>"));
        // Not secrets: a setting about the psk plugin, and the name of the security provider.
        Assert.Contains("<tr><th><code>plugin.psk.callertype</code></th><td><code>uid</code></td></tr>", html, StringComparison.Ordinal);
        Assert.Contains("<tr><th><code>securityprovider</code></th><td><code>psk</code></td></tr>", html, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("plugin.psk", true)]
    [InlineData("plugin.stomp.password", true)]
    [InlineData("Plugin.Stomp.Password", true)]
    [InlineData("psk", true)]
    [InlineData("MCOLLECTIVE_PSK", true)]
    [InlineData("MCOLLECTIVE_STOMP_PASSWORD", true)]
    [InlineData("plugin.stomp.pool.password1", true)]
    [InlineData("ssh.root.passwd", true)]
    [InlineData("gpg-passphrase", true)]
    [InlineData("github_token", true)]
    [InlineData("plugin.psk.callertype", false)]
    [InlineData("securityprovider", false)]
    [InlineData("plugin.stomp.user", false)]
    [InlineData("plugin.stomp.host", false)]
    public void IsSecretKey_CoversMcollectiveSecretsAndPasswordLikeKeys(string key, bool secret)
        => Assert.Equal(secret, OverlayReport.IsSecretKey(key));

    [Theory]
    [InlineData("https://user:pw@example.org/a.tgz", "https://***@example.org/a.tgz")]
    [InlineData("https://example.org/a.tgz?X-Amz-Signature=abc", "https://example.org/a.tgz?…")]
    [InlineData("http://distro.ibiblio.org/tinycorelinux/4.x/x86/tcz/ruby.tcz", "http://distro.ibiblio.org/tinycorelinux/4.x/x86/tcz/ruby.tcz")]
    [InlineData("https://example.org/mail@host/a.tgz", "https://example.org/mail@host/a.tgz")]
    [InlineData("gems/facter-1.6.5.gem", "gems/facter-1.6.5.gem")]
    [InlineData("", "")]
    public void RedactSource_LeavesOutUserInformationAndQuery(string source, string shown)
        => Assert.Equal(shown, OverlayReport.RedactSource(source));

    [Fact]
    public void Write_SourcesWithCredentials_AreRedacted()
    {
        using var tmp = new TempFolder();
        var html = OverlayReport.ToHtml(MicrokernelOverlay(tmp, hostile: false), Info(hostile: false));
        Assert.DoesNotContain("hunter2", html, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cr3t", html, StringComparison.Ordinal);
        Assert.Contains("https://***@example.org/rubygems-1.8.15.tgz?…", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Write_EmptyOverlayAndNoInfo_StillAValidReport()
    {
        using var tmp = new TempFolder();
        var empty = Layer(tmp, "empty", w => w.AddDirectory("usr/local", Attr(LayerEntryType.Directory)));
        var html = OverlayReport.ToHtml(OverlayMerge.Create([empty]), new OverlayReportInfo());
        Assert.Contains("<p class=\"none\" id=\"treemap-empty\">The overlay holds no file content.</p>", html, StringComparison.Ordinal);
        Assert.Contains("<p class=\"none\">No regular files.</p>", html, StringComparison.Ordinal);
        Assert.Contains("<tr><th>Compressed overlay</th><td>not known</td></tr>", html, StringComparison.Ordinal);
        Assert.Equal(3, CountOf(html, "<p class=\"none\">None.</p>"));
        Assert.Equal(2, CountOf(html, "<p class=\"none\">None given.</p>"));
        Assert.Contains("No two layers wrote the same path.", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<div class=\"tm-", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Write_ManyFiles_LargestTableHasThirty_ByteOrderThenPath()
    {
        using var tmp = new TempFolder();
        var layer = Layer(tmp, "many", w =>
        {
            for (var i = 0; i < 100; i++)
            {
                ReportFixture.Put(w, $"data/f{i:D3}", 1000 + (i % 10) * 10); // ten sizes, ten files each
            }
        });
        var html = OverlayReport.ToHtml(OverlayMerge.Create([layer]), new OverlayReportInfo());
        var rows = Regex.Matches(Section(html, "largest"), "<code>/(data/f\\d+)</code>").Select(m => m.Groups[1].Value).ToList();
        var expected = Enumerable.Range(0, 100).Select(i => (Path: $"data/f{i:D3}", Size: 1000 + (i % 10) * 10))
            .OrderByDescending(f => f.Size).ThenBy(f => f.Path, StringComparer.Ordinal).Take(30).Select(f => f.Path);
        Assert.Equal(expected, rows);
    }
}

public class OverlayReportSettingsTests
{
    [Fact]
    public void ReadSettings_TakesServerCfgFromTheImage_InFileOrder_AndTheReportHidesItsSecrets()
    {
        using var tmp = new TempFolder();
        const string cfg = "# written by the SDK\nconnector = stomp\nplugin.stomp.host = razor-server\n\nplugin.psk = PSK-FROM-IMAGE\n"
            + "plugin.stomp.password=PASSWORD-FROM-IMAGE\nfactsource = yaml\n";
        var settings = Layer(tmp, "mcollective-settings", w => w.AddFile("usr/local/etc/mcollective/server.cfg", Attr(LayerEntryType.File), Encoding.UTF8.GetBytes(cfg)));
        var later = Layer(tmp, "later", w => w.AddFile("usr/local/etc/mcollective/server.cfg", Attr(LayerEntryType.File), "connector = other\n"u8));
        var merge = OverlayMerge.Create([settings, later]);

        var read = OverlayReport.ReadSettings(merge);
        Assert.Equal(
            [
                new("connector", "stomp"), new("plugin.stomp.host", "razor-server"), new("plugin.psk", "PSK-FROM-IMAGE"),
                new("plugin.stomp.password", "PASSWORD-FROM-IMAGE"), new KeyValuePair<string, string>("factsource", "yaml"),
            ], read);

        var html = OverlayReport.ToHtml(merge, new OverlayReportInfo { Settings = read });
        Assert.DoesNotContain("PSK-FROM-IMAGE", html, StringComparison.Ordinal);
        Assert.DoesNotContain("PASSWORD-FROM-IMAGE", html, StringComparison.Ordinal);
        Assert.Contains("<tr><th><code>factsource</code></th><td><code>yaml</code></td></tr>", html, StringComparison.Ordinal);
        Assert.Equal(2, Regex.Matches(html, "<td class=\"secret\">").Count);
    }

    [Fact]
    public void ReadSettings_NoServerCfgOrASymlink_GivesNothing()
    {
        using var tmp = new TempFolder();
        var merge = OverlayMerge.Create([Layer(tmp, "l", w => w.AddSymlink("usr/local/etc/mcollective/server.cfg", "/etc/shadow", Attr(LayerEntryType.Symlink)))]);
        Assert.Empty(OverlayReport.ReadSettings(merge));
        Assert.Empty(OverlayReport.ReadSettings(merge, "/etc/missing.cfg"));
    }
}

public class OverlayReportScaleTests
{
    [Fact]
    public void Write_ThousandsOfFiles_ReportStaysSmall_TreemapBoxesBounded()
    {
        using var tmp = new TempFolder();
        var layers = Enumerable.Range(0, 4).Select(l => Layer(tmp, $"tcz/ext{l}", w =>
        {
            for (var i = 0; i < 1500; i++)
            {
                Put(w, $"usr/local/share/x{l}/d{i % 7}/e{i % 23}/f{i:D4}", 100 + (i * 7919 % 20_000));
            }
        })).ToList();
        var merge = OverlayMerge.Create(layers);
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        var html = OverlayReport.ToHtml(merge, new OverlayReportInfo());
        stopwatch.Stop();
        var boxes = Regex.Matches(html, "<div class=\"tm-").Count;
        Assert.Equal(6000, merge.Entries.Count(e => e.Entry.Type == LayerEntryType.File));
        Assert.InRange(boxes, 100, OverlayReport.TreemapWidth * OverlayReport.TreemapHeight / Treemap.MinArea);
        Assert.True(html.Length < 1_500_000, $"{html.Length} characters");
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10), stopwatch.Elapsed.ToString());
        Console.WriteLine($"{merge.Entries.Count} entries: {boxes} boxes, {html.Length} characters, {stopwatch.ElapsedMilliseconds} ms");
    }
}

public class ReportPackageTests
{
    [Fact]
    public void ForFile_ReadsSizeAndSha256_LikeSha256sum()
    {
        using var tmp = new TempFolder();
        var path = tmp.Write("ruby.tcz", "not really squashfs\n");
        var p = ReportPackage.ForFile(path, "ruby.tcz", source: "http://mirror/ruby.tcz");
        var expected = Tool.Run("sha256sum", path).EnsureSuccess("sha256sum").StdOut.Split(' ')[0];
        Assert.Equal(new ReportPackage("ruby.tcz", "", expected, 20, "http://mirror/ruby.tcz"), p);
    }

    [Fact]
    public void ForGem_TakesNameAndVersionFromTheSpecification()
    {
        using var tmp = new TempFolder();
        var bytes = Gems.GemBuilder.Handmade(Gems.GemBuilder.MinimalYaml("facter", "1.6.5"), w => Gems.GemBuilder.AddFile(w, "lib/facter.rb", "x"));
        var path = tmp.Write("renamed.gem", bytes);
        var p = ReportPackage.ForGem(path, "gems/renamed.gem");
        Assert.Equal("facter", p.Name);
        Assert.Equal("1.6.5", p.Version);
        Assert.Equal(bytes.Length, p.Size);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)), p.Sha256);
        Assert.Equal("gems/renamed.gem", p.Source);
    }
}
