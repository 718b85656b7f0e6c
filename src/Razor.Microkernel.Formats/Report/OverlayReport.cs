using System.Globalization;
using System.Text;
using Razor.Microkernel.Formats.Layers;
using Razor.Microkernel.Formats.Mcollective;

namespace Razor.Microkernel.Formats.Report;

/// <summary>
/// The overlay's HTML report (<c>mc-linux-fs-snap.html</c> beside the overlay): totals and layers, a treemap of
/// the content bytes by layer and folder, the largest files, every extension, gem and download with version
/// and hash, the build properties and server.cfg settings (secret values never shown) and the merge conflicts.
/// </summary>
/// <remarks>
/// One self-contained file: inline CSS, no script, no external resource (a Content-Security-Policy says so
/// to the browser). Every name and value is HTML-escaped. Deterministic: no time, no machine path, invariant
/// number formats and <c>\n</c> line ends, so the same merge and info give the same bytes on every machine.
/// </remarks>
public static class OverlayReport
{
    /// <summary>The report's file name beside the overlay.</summary>
    public const string DefaultFileName = "mc-linux-fs-snap.html";

    /// <summary>What is printed instead of a secret's value.</summary>
    public const string SecretPlaceholder = "(secret, not shown)";

    /// <summary>Size of the treemap in CSS pixels.</summary>
    public const int TreemapWidth = 1160;

    public const int TreemapHeight = 620;

    /// <summary>Rows of the largest-files table.</summary>
    public const int LargestFileCount = 30;

    /// <summary>Rows of the conflicts table; the rest are counted.</summary>
    public const int MaxConflictRows = 500;

    private static readonly string[] SecretWords = ["password", "passwd", "passphrase", "secret", "token", "credential"];

    // Hues for layers, in layer order (repeating): distinct neighbours, readable with dark text when light.
    private static readonly int[] Hues = [210, 28, 130, 280, 0, 180, 50, 320, 95, 245, 15, 160];

    /// <summary>Writes the report as UTF-8 (no byte order mark) to <paramref name="path"/>, atomically.</summary>
    public static void WriteToFile(string path, OverlayMerge merge, OverlayReportInfo info)
        => AtomicFile.Write(path, s =>
        {
            using var w = new StreamWriter(s, new UTF8Encoding(false), 1 << 16, leaveOpen: true);
            Write(w, merge, info);
        });

    /// <summary>The report as a string.</summary>
    public static string ToHtml(OverlayMerge merge, OverlayReportInfo info)
    {
        using var w = new StringWriter(CultureInfo.InvariantCulture);
        Write(w, merge, info);
        return w.ToString();
    }

    /// <summary>Writes the report to <paramref name="output"/>.</summary>
    public static void Write(TextWriter output, OverlayMerge merge, OverlayReportInfo info)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(merge);
        ArgumentNullException.ThrowIfNull(info);
        var w = new Writer(output);
        var contentBytes = merge.Summaries.Sum(s => s.Bytes);

        w.Raw("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        w.Raw("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n");
        w.Raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        w.Raw("<meta name=\"generator\" content=\"Razor.Microkernel.Sdk\">\n");
        w.Raw("<title>Overlay report: ").Text(info.OverlayFileName).Raw("</title>\n");
        w.Raw("<style>\n").Raw(Css.Replace("\r\n", "\n", StringComparison.Ordinal)).Raw("</style>\n</head>\n<body>\n");

        w.Raw("<header>\n<h1>Overlay report: <code>").Text(info.OverlayFileName).Raw("</code></h1>\n<p class=\"sub\">");
        if (info.ProjectName.Length > 0)
        {
            w.Raw("Project <strong>").Text(info.ProjectName).Raw("</strong> · ");
        }

        w.Text(Html.Count(merge.Entries.Count)).Raw(" entries · ").Text(Html.Bytes(contentBytes)).Raw(" of file content");
        if (info.CompressedBytes > 0)
        {
            w.Raw(" · ").Text(Html.Bytes(info.CompressedBytes)).Raw(" compressed");
        }

        w.Raw("</p>\n<nav>");
        foreach (var (id, title) in new[]
                 {
                     ("treemap-section", "Treemap"), ("largest", "Largest files"), ("totals", "Totals and layers"), ("extensions", "Extensions"),
                     ("gems", "Gems"), ("downloads", "Downloads"), ("settings", "Settings"), ("conflicts", "Conflicts"),
                 })
        {
            w.Raw("<a href=\"#").Raw(id).Raw("\">").Text(title).Raw("</a> ");
        }

        w.Raw("</nav>\n</header>\n<main>\n");
        // What takes the room first: image size is what users of the microkernel look for.
        WriteTreemap(w, merge, contentBytes);
        WriteLargestFiles(w, merge, contentBytes);
        WriteTotals(w, merge, info, contentBytes);
        WritePackages(w, "extensions", "Extensions", "TCZ extensions in install order (dependencies first).", info.Extensions, showVersion: true);
        WritePackages(w, "gems", "Gems", "Gems and RubyGems in install order.", info.Gems, showVersion: true);
        WritePackages(w, "downloads", "Downloads", "Other downloaded inputs.", info.Downloads, showVersion: false);
        WriteSettings(w, info);
        WriteConflicts(w, merge);
        w.Raw("</main>\n<footer>Written by Razor.Microkernel.Sdk. Sizes are bytes of regular-file content before compression; ")
            .Raw("1 KB = 1024 bytes.</footer>\n</body>\n</html>\n");
        output.Flush();
    }

    /// <summary>
    /// True for a key whose value must never be printed: MCollective's <c>plugin.psk</c> and
    /// <c>plugin.stomp.password</c>, any key whose last part (split at <c>. _ -</c>) is <c>psk</c>, and any key
    /// containing password, passwd, passphrase, secret, token or credential (case-insensitive).
    /// </summary>
    public static bool IsSecretKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var k = key.Trim();
        if (ServerConfigKeys.IsSecret(k))
        {
            return true;
        }

        var last = k.Split('.', '_', '-', ' ', ':', '/')[^1];
        if (last.Equals("psk", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        return SecretWords.Any(s => k.Contains(s, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Largest server.cfg this reads, in bytes.</summary>
    public const long MaxConfigBytes = 1 << 20;

    /// <summary>
    /// The <c>key = value</c> lines of a config file in the merged image (by default MCollective's server.cfg), in
    /// file order, for <see cref="OverlayReportInfo.Settings"/>: what the image really holds. Comments and blank
    /// lines are skipped. Secret values are read like the others and hidden when the report is written. Empty when
    /// the image has no such regular file (a symlink is not followed) or it is larger than <see cref="MaxConfigBytes"/>.
    /// </summary>
    public static IReadOnlyList<KeyValuePair<string, string>> ReadSettings(OverlayMerge merge, string imagePath = ServerConfigWriter.DefaultPath)
    {
        ArgumentNullException.ThrowIfNull(merge);
        var path = ImagePath.Normalize(imagePath);
        var entry = merge.Entries.FirstOrDefault(e => e.Path == path);
        var data = entry?.Entry.Type switch
        {
            LayerEntryType.File => entry.Entry,
            LayerEntryType.HardLink => merge.Entries.FirstOrDefault(e => e.Path == entry.Entry.LinkTarget)?.Entry,
            _ => null,
        };
        if (data is null || data.Type != LayerEntryType.File || data.Size > MaxConfigBytes)
        {
            return [];
        }

        string text;
        using (var layer = new FileStream(merge.Layers[entry!.LayerIndex].Path, FileMode.Open, FileAccess.Read, FileShare.Read))
        using (var window = new IO.WindowStream(layer, data.DataOffset, data.Size))
        using (var reader = new StreamReader(window, new UTF8Encoding(false)))
        {
            text = reader.ReadToEnd();
        }

        var settings = new List<KeyValuePair<string, string>>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (line.Length == 0 || line[0] == '#' || eq <= 0)
            {
                continue;
            }

            settings.Add(new(line[..eq].Trim(), line[(eq + 1)..].Trim()));
        }

        return settings;
    }

    /// <summary>A source as the report shows it: user information and query of a URL are left out.</summary>
    public static string RedactSource(string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        var scheme = source.IndexOf("://", StringComparison.Ordinal);
        if (scheme < 0)
        {
            return source;
        }

        var authorityStart = scheme + 3;
        var authorityEnd = source.IndexOfAny(['/', '?', '#'], authorityStart);
        if (authorityEnd < 0)
        {
            authorityEnd = source.Length;
        }

        var at = source.LastIndexOf('@', authorityEnd - 1, authorityEnd - authorityStart);
        var result = at >= 0 ? source[..authorityStart] + "***@" + source[(at + 1)..] : source;
        var query = result.IndexOf('?', StringComparison.Ordinal);
        return query >= 0 ? result[..query] + "?…" : result;
    }

    private static void WriteTotals(Writer w, OverlayMerge merge, OverlayReportInfo info, long contentBytes)
    {
        int Count(params LayerEntryType[] types) => merge.Entries.Count(e => types.Contains(e.Entry.Type));

        w.Raw("<section id=\"totals\">\n<h2>Totals and layers</h2>\n<table id=\"totals-table\" class=\"kv\">\n<tbody>\n");
        Row("Entries", Html.Count(merge.Entries.Count));
        Row("Regular files", Html.Count(Count(LayerEntryType.File)));
        Row("Hard links", Html.Count(Count(LayerEntryType.HardLink)));
        Row("Folders", Html.Count(Count(LayerEntryType.Directory)));
        Row("Symbolic links", Html.Count(Count(LayerEntryType.Symlink)));
        Row("Devices and FIFOs", Html.Count(Count(LayerEntryType.CharacterDevice, LayerEntryType.BlockDevice, LayerEntryType.Fifo)));
        Row("Content (uncompressed)", $"{Html.Bytes(contentBytes)} ({Html.Count(contentBytes)} bytes)");
        Row("Compressed overlay", info.CompressedBytes > 0
            ? $"{Html.Bytes(info.CompressedBytes)} ({Html.Count(info.CompressedBytes)} bytes, {Html.Percent(info.CompressedBytes, contentBytes)} of the content)"
            : "not known");
        Row("Layers", Html.Count(merge.Layers.Count));
        Row("Entries dropped by the merge", Html.Count(merge.Summaries.Sum(s => s.Dropped)));
        w.Raw("</tbody>\n</table>\n");

        w.Raw("<h3>Layers</h3>\n<p>The colours of the treemap. In merge order: the first layer to write a path wins; later writers of that path are dropped.</p>\n");
        w.Raw("<table id=\"layers\">\n<thead><tr><th></th><th>#</th><th>Layer</th><th class=\"num\">Entries</th><th class=\"num\">Content</th>")
            .Raw("<th class=\"num\">Bytes</th><th class=\"num\">Share</th><th class=\"num\">Dropped</th></tr></thead>\n<tbody>\n");
        for (var i = 0; i < merge.Summaries.Count; i++)
        {
            var s = merge.Summaries[i];
            w.Raw("<tr><td><span class=\"swatch\" style=\"background:").Raw(Color(i, 0)).Raw("\"></span></td><td class=\"num\">")
                .Text(Html.Count(i + 1)).Raw("</td><td>").Text(s.Name).Raw("</td><td class=\"num\">").Text(Html.Count(s.Entries))
                .Raw("</td><td class=\"num\">").Text(Html.Bytes(s.Bytes)).Raw("</td><td class=\"num\">").Text(Html.Count(s.Bytes))
                .Raw("</td><td class=\"num\">").Text(Html.Percent(s.Bytes, contentBytes)).Raw("</td><td class=\"num")
                .Raw(s.Dropped > 0 ? " warn" : "").Raw("\">").Text(Html.Count(s.Dropped)).Raw("</td></tr>\n");
        }

        w.Raw("</tbody>\n<tfoot><tr><td></td><td></td><td>All layers</td><td class=\"num\">").Text(Html.Count(merge.Entries.Count))
            .Raw("</td><td class=\"num\">").Text(Html.Bytes(contentBytes)).Raw("</td><td class=\"num\">").Text(Html.Count(contentBytes))
            .Raw("</td><td class=\"num\">").Text(Html.Percent(contentBytes, contentBytes)).Raw("</td><td class=\"num\">")
            .Text(Html.Count(merge.Summaries.Sum(s => s.Dropped))).Raw("</td></tr></tfoot>\n</table>\n</section>\n");

        void Row(string name, string value)
            => w.Raw("<tr><th>").Text(name).Raw("</th><td>").Text(value).Raw("</td></tr>\n");
    }

    private static void WriteTreemap(Writer w, OverlayMerge merge, long contentBytes)
    {
        w.Raw("<section id=\"treemap-section\">\n<h2>Where the bytes are</h2>\n");
        w.Raw("<p>Each box's area is the content it holds: layers, then folders, then files. Small items of a folder are ")
            .Raw("grouped into one hatched box. Hover over a box for its path and size.</p>\n");
        var boxes = Treemap.Layout(Treemap.BuildTrees(merge), TreemapWidth, TreemapHeight);
        if (boxes.Count == 0)
        {
            w.Raw("<p class=\"none\" id=\"treemap-empty\">The overlay holds no file content.</p>\n</section>\n");
            return;
        }

        w.Raw("<div class=\"tm-scroll\"><div id=\"treemap\" class=\"tm\" role=\"img\" aria-label=\"Treemap of the overlay's content by layer and folder\" style=\"width:").Raw(Html.Px(TreemapWidth)).Raw("px;height:")
            .Raw(Html.Px(TreemapHeight)).Raw("px\">\n");
        foreach (var b in boxes)
        {
            var layerName = merge.Layers[b.LayerIndex].Name;
            var (cls, title) = b.Kind switch
            {
                TreemapKind.Layer => ("tm-layer", $"layer {layerName}"),
                TreemapKind.Folder => ("tm-folder", $"/{b.Path}/ in layer {layerName}"),
                TreemapKind.File => ("tm-file", $"/{b.Path} in layer {layerName}"),
                _ => ("tm-other", $"{b.Label} in /{b.Path}{(b.Path.Length > 0 ? "/" : "")} of layer {layerName}"),
            };
            var filesText = b.Kind == TreemapKind.File ? "" : $", {Html.Count(b.Files)} file{(b.Files == 1 ? "" : "s")}";
            var detail = $"{Html.Bytes(b.Bytes)} ({Html.Count(b.Bytes)} bytes{filesText}, {Html.Percent(b.Bytes, contentBytes)} of the content)";
            var r = b.Rect;
            w.Raw("<div class=\"").Raw(cls).Raw(b.Kind is TreemapKind.Layer or TreemapKind.Folder && b.Labelled ? " hd" : "")
                .Raw("\" data-depth=\"").Raw(b.Depth.ToString(CultureInfo.InvariantCulture))
                .Raw("\" data-bytes=\"").Raw(b.Bytes.ToString(CultureInfo.InvariantCulture))
                .Raw("\" style=\"left:").Raw(Html.Px(r.X)).Raw("px;top:").Raw(Html.Px(r.Y)).Raw("px;width:").Raw(Html.Px(r.Width))
                .Raw("px;height:").Raw(Html.Px(r.Height)).Raw("px;background-color:").Raw(Color(b.LayerIndex, b.Kind == TreemapKind.File ? -1 : b.Depth))
                .Raw("\" title=\"").Text(title).Raw("&#10;").Text(detail).Raw("\">");
            if (b.Labelled)
            {
                w.Raw("<span>").Text(b.Label).Raw(" <small>").Text(Html.Bytes(b.Bytes)).Raw("</small></span>");
            }

            w.Raw("</div>\n");
        }

        w.Raw("</div></div>\n</section>\n");
    }

    private static void WriteLargestFiles(Writer w, OverlayMerge merge, long contentBytes)
    {
        var files = merge.Entries.Where(e => e.Entry.Type == LayerEntryType.File)
            .OrderByDescending(e => e.Entry.Size).ThenBy(e => e.Path, StringComparer.Ordinal).Take(LargestFileCount).ToList();
        w.Raw("<section id=\"largest\">\n<h2>Largest files</h2>\n");
        if (files.Count == 0)
        {
            w.Raw("<p class=\"none\">No regular files.</p>\n</section>\n");
            return;
        }

        w.Raw("<table id=\"largest-files\">\n<thead><tr><th class=\"num\">#</th><th class=\"num\">Size</th><th class=\"num\">Bytes</th>")
            .Raw("<th class=\"num\">Share</th><th>Layer</th><th>Path</th></tr></thead>\n<tbody>\n");
        for (var i = 0; i < files.Count; i++)
        {
            var f = files[i];
            w.Raw("<tr><td class=\"num\">").Text(Html.Count(i + 1)).Raw("</td><td class=\"num\">").Text(Html.Bytes(f.Entry.Size))
                .Raw("</td><td class=\"num\">").Text(Html.Count(f.Entry.Size)).Raw("</td><td class=\"num\">")
                .Text(Html.Percent(f.Entry.Size, contentBytes)).Raw("</td><td>").Text(merge.Layers[f.LayerIndex].Name)
                .Raw("</td><td class=\"path\"><code>/").Text(f.Path).Raw("</code></td></tr>\n");
        }

        w.Raw("</tbody>\n</table>\n</section>\n");
    }

    private static void WritePackages(Writer w, string id, string title, string about, IReadOnlyList<ReportPackage> packages, bool showVersion)
    {
        w.Raw("<section id=\"").Raw(id).Raw("\">\n<h2>").Text(title).Raw("</h2>\n<p>").Text(about).Raw("</p>\n");
        if (packages.Count == 0)
        {
            w.Raw("<p class=\"none\">None.</p>\n</section>\n");
            return;
        }

        w.Raw("<table id=\"").Raw(id).Raw("-table\">\n<thead><tr><th class=\"num\">#</th><th>Name</th>").Raw(showVersion ? "<th>Version</th>" : "")
            .Raw("<th class=\"num\">Size</th><th>SHA-256</th><th>Source</th></tr></thead>\n<tbody>\n");
        for (var i = 0; i < packages.Count; i++)
        {
            var p = packages[i];
            w.Raw("<tr><td class=\"num\">").Text(Html.Count(i + 1)).Raw("</td><td>").Text(p.Name).Raw("</td>");
            if (showVersion)
            {
                w.Raw("<td>").Text(p.Version.Length > 0 ? p.Version : "–").Raw("</td>");
            }

            w.Raw("<td class=\"num\" title=\"").Text(Html.Count(p.Size)).Raw(" bytes\">").Text(p.Size >= 0 ? Html.Bytes(p.Size) : "–")
                .Raw("</td><td class=\"hash\"><code>").Text(p.Sha256.Length > 0 ? p.Sha256 : "–").Raw("</code></td><td class=\"path\">")
                .Text(RedactSource(p.Source)).Raw("</td></tr>\n");
        }

        var total = packages.Where(p => p.Size > 0).Sum(p => p.Size);
        w.Raw("</tbody>\n<tfoot><tr><td></td><td>").Text(Html.Count(packages.Count)).Raw(" in all</td>").Raw(showVersion ? "<td></td>" : "")
            .Raw("<td class=\"num\">").Text(Html.Bytes(total)).Raw("</td><td></td><td></td></tr></tfoot>\n</table>\n</section>\n");
    }

    private static void WriteSettings(Writer w, OverlayReportInfo info)
    {
        w.Raw("<section id=\"settings\">\n<h2>Settings</h2>\n<p>Secrets are never part of this report: values of keys that name ")
            .Raw("a secret read <em>").Text(SecretPlaceholder).Raw("</em>.</p>\n");
        Table("properties", "Build properties", info.Properties);
        Table("settings-table", "server.cfg", info.Settings);
        w.Raw("</section>\n");

        void Table(string id, string caption, IReadOnlyList<KeyValuePair<string, string>> pairs)
        {
            w.Raw("<h3>").Text(caption).Raw("</h3>\n");
            if (pairs.Count == 0)
            {
                w.Raw("<p class=\"none\">None given.</p>\n");
                return;
            }

            w.Raw("<table id=\"").Raw(id).Raw("\" class=\"kv\">\n<tbody>\n");
            foreach (var (key, value) in pairs)
            {
                w.Raw("<tr><th><code>").Text(key).Raw("</code></th>");
                if (IsSecretKey(key))
                {
                    w.Raw("<td class=\"secret\">").Text(SecretPlaceholder).Raw("</td></tr>\n");
                }
                else
                {
                    w.Raw("<td><code>").Text(value).Raw("</code></td></tr>\n");
                }
            }

            w.Raw("</tbody>\n</table>\n");
        }
    }

    private static void WriteConflicts(Writer w, OverlayMerge merge)
    {
        w.Raw("<section id=\"conflicts\">\n<h2>Conflicts</h2>\n");
        if (merge.Conflicts.Count == 0)
        {
            w.Raw("<p class=\"none\">No two layers wrote the same path.</p>\n</section>\n");
            return;
        }

        w.Raw("<p>Paths written by more than one layer. The earlier layer's entry is in the image (as <code>cp -ais</code> without ")
            .Raw("<code>-f</code> leaves it); the later layer's entries are dropped.</p>\n");
        w.Raw("<table id=\"conflicts-table\">\n<thead><tr><th>Path</th><th>Kept from</th><th>Dropped from</th><th class=\"num\">Dropped entries</th>")
            .Raw("</tr></thead>\n<tbody>\n");
        foreach (var c in merge.Conflicts.Take(MaxConflictRows))
        {
            w.Raw("<tr><td class=\"path\"><code>/").Text(c.Path).Raw("</code>")
                .Raw(c.Kind == ConflictKind.BelowNonDirectory ? " <small>(entries below it)</small>" : "").Raw("</td><td>")
                .Text(c.WinnerLayer).Raw(" <small>").Text(LayerWriter.Describe(c.WinnerType)).Raw("</small></td><td>")
                .Text(c.LoserLayer).Raw(" <small>").Text(LayerWriter.Describe(c.LoserType)).Raw("</small></td><td class=\"num\">")
                .Text(Html.Count(c.DroppedEntries)).Raw("</td></tr>\n");
        }

        w.Raw("</tbody>\n</table>\n");
        if (merge.Conflicts.Count > MaxConflictRows)
        {
            w.Raw("<p>… and ").Text(Html.Count(merge.Conflicts.Count - MaxConflictRows)).Raw(" more (see the build's warnings).</p>\n");
        }

        w.Raw("</section>\n");
    }

    /// <summary>A layer's colour at a nesting depth (0 = the layer's own box, -1 = a file): deeper folders are lighter.</summary>
    private static string Color(int layer, int depth)
    {
        var hue = Hues[layer % Hues.Length];
        var (saturation, lightness) = depth switch
        {
            < 0 => (62, 66),
            0 => (45, 42),
            _ => (40, Math.Min(58 + 6 * depth, 90)),
        };
        return string.Create(CultureInfo.InvariantCulture, $"hsl({hue},{saturation}%,{lightness}%)");
    }

    private const string Css = """
        :root{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f24;background:#fff}
        body{margin:0 auto;max-width:1200px;padding:0 20px 40px}
        header{border-bottom:1px solid #d0d7de;margin-bottom:8px}
        h1{font-size:1.5em;margin:18px 0 4px}
        h2{font-size:1.25em;margin:28px 0 6px;border-bottom:1px solid #eaeef2;padding-bottom:3px}
        h3{font-size:1.05em;margin:16px 0 6px}
        .sub{margin:0 0 6px;color:#57606a}
        nav{margin:0 0 10px}
        nav a{margin-right:12px;color:#0969da;text-decoration:none}
        table{border-collapse:collapse;font-size:13px;margin:4px 0}
        th,td{padding:3px 8px;border-bottom:1px solid #eaeef2;text-align:left;vertical-align:top}
        thead th{background:#f6f8fa;border-bottom:1px solid #d0d7de}
        tfoot td{font-weight:600;border-top:1px solid #d0d7de}
        .num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
        .kv th{font-weight:600;background:none;white-space:nowrap}
        .hash code{font-size:11px;word-break:break-all}
        .path{word-break:break-all}
        code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
        .secret{color:#8250df;font-style:italic}
        .warn{color:#bc4c00;font-weight:600}
        .none{color:#57606a;font-style:italic}
        .swatch{display:inline-block;width:12px;height:12px;border-radius:2px;vertical-align:middle}
        .tm-scroll{overflow-x:auto}
        .tm{position:relative;background:#eaeef2;font-size:11px;line-height:14px}
        .tm div{position:absolute;box-sizing:border-box;border:1px solid rgba(255,255,255,.75);overflow:hidden}
        .tm div:hover{outline:2px solid #1b1f24;z-index:1}
        .tm span{display:block;padding:0 3px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
        .tm small{opacity:.8}
        .tm-layer{color:#fff;font-weight:600}
        .tm-folder,.tm-file,.tm-other{color:#1b1f24}
        .tm-file{border-color:rgba(0,0,0,.25)!important}
        .tm-other{background-image:repeating-linear-gradient(45deg,rgba(0,0,0,.08) 0 4px,transparent 4px 8px)}
        footer{margin-top:30px;color:#57606a;font-size:12px}

        """;

    /// <summary>Writes markup as given and text escaped, always with <c>\n</c> line ends.</summary>
    private sealed class Writer(TextWriter output)
    {
        public Writer Raw(string markup)
        {
            output.Write(markup);
            return this;
        }

        public Writer Text(string text)
        {
            Html.Write(output, text);
            return this;
        }
    }
}
