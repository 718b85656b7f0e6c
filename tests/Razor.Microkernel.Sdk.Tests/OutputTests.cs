using System.Text.RegularExpressions;
using Razor.Microkernel.TestSupport;
using Razor.Microkernel.TestSupport.Mirror;

namespace Razor.Microkernel.Sdk.Tests;

/// <summary>
/// Issue 7's output contract: at minimal verbosity (the console logger, as in CI) one concise line per step
/// that ran — what, how many, how big — and download progress; -v:n lists each extension, gem and layer; the
/// project's output line is the one the terminal logger shows; errors point at the user's project file, the
/// element's line and the item.
/// </summary>
public sealed class OutputTests() : MirroredTests("rmk-out-mirror")
{
    private static readonly Dictionary<string, string?> Secrets = TestSecrets.Variables();

    private readonly Dictionary<string, string> _md5 = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _size = new(StringComparer.Ordinal);

    protected override void Populate()
    {
        Add("ncurses", null);
        Add("readline", "ncurses.tcz\n");
        Add("gdbm", null);
    }

    private void Add(string name, string? dep)
    {
        // Big enough (several KiB of incompressible bytes) for a trickled download to report progress.
        var tcz = Builder.AddLibrary(name, dep, System.Security.Cryptography.RandomNumberGenerator.GetBytes(6000));
        _md5[name] = TinyCoreMirrorBuilder.Md5(tcz);
        _size[name] = (tcz.Length / 1024.0).ToString("0.0", System.Globalization.CultureInfo.InvariantCulture) + " KB";
    }

    private TestProject Project()
    {
        var p = MirrorProject("out", """
            <OverlayFile Include="motd" Destination="/etc/motd" />
            <TczExtension Include="readline;gdbm" />
            <Gem Include="gems/*.gem" />
            """, "<McollectiveStompHost>razor</McollectiveStompHost>");
        p.Write("motd", "hello\n");
        GemTests.BuildGem(p, "daemons", "1.1.4");
        GemTests.BuildGem(p, "json_pure", "1.6.1");
        return p;
    }

    /// <summary>`dotnet build` with the given verbosity and the terminal logger off (as when output is redirected).</summary>
    private static SdkHarness.RunResult Build(TestProject p, string verbosity)
        => SdkHarness.RunDotnet(p.Directory, ["build", p.ProjectFile, "-nr:false", "-tl:off", $"-v:{verbosity}"], Secrets, TimeSpan.FromMinutes(5), p.PackagesFolder);

    /// <summary>The lines MSBuild's console logger prints for the build itself (between the header and "Build succeeded.").</summary>
    private static List<string> BuildLines(string output)
        => output.Split('\n').Select(l => l.TrimEnd('\r').Trim())
            .TakeWhile(l => l != "Build succeeded." && l != "Build FAILED.")
            .Where(l => l.Length > 0 && !l.StartsWith("Determining projects", StringComparison.Ordinal) && !l.StartsWith("All projects are up-to-date", StringComparison.Ordinal)
                && !l.StartsWith("Restored ", StringComparison.Ordinal))
            .ToList();

    [Fact]
    public void MinimalVerbosity_OneConciseLinePerStep_AndDownloadProgress()
    {
        var p = Project();
        p.Run("restore").AssertSuccess();
        // gdbm's download trickles for a few seconds: its progress is shown at minimal verbosity.
        Mirror.Misbehave(Builder.Relative("gdbm.tcz"), new Trickle(1, 1024, TimeSpan.FromMilliseconds(400)));
        var first = Build(p, "m");
        Assert.True(first.Succeeded, first.Output);
        var lines = BuildLines(first.Output);
        var steps = new[]
        {
            @"Extensions: 3 resolved, 3 downloaded, \d+\.\d KB",
            @"Layer files: 2 entries, 6 B",
            @"Layer settings: \d+ entries, \d+ B",
            @"Layer boot hook: \d+ entries, \d+ B",
            @"Layer extension ncurses\.tcz: \d+ entries, \d+\.\d KB",
            @"Layer extension readline\.tcz: \d+ entries, \d+\.\d KB",
            @"Layer extension gdbm\.tcz: \d+ entries, \d+\.\d KB",
            @"Layer gems: \d+ entries, \d+(\.\d)? K?B",
            $@"Microkernel -> {Regex.Escape(p.Overlay)} \(\d+ entries, \d+\.\d KB of content from 7 layers, \d+\.\d KB compressed\)",
        };
        var progress = new Regex(@"^gdbm\.tcz: \d+(\.\d)? (B|KiB) of \d+\.\d KiB at \d+(\.\d)? (B|KiB)/s$");
        foreach (var step in steps)
        {
            Assert.True(lines.Count(l => Regex.IsMatch(l, "^" + step + "$")) == 1, $"expected one line /{step}/ in:\n{string.Join('\n', lines)}");
        }

        Assert.Contains(lines, progress.IsMatch);
        Assert.All(lines, l => Assert.True(progress.IsMatch(l) || steps.Any(s => Regex.IsMatch(l, "^" + s + "$")), $"unexpected line at minimal verbosity: {l}"));

        // Nothing to do: the resolution's line (it runs every build, from the cache) and the same summary of the overlay.
        var second = Build(p, "m");
        Assert.True(second.Succeeded, second.Output);
        var summary = BuildLines(first.Output).Single(l => l.StartsWith("Microkernel -> ", StringComparison.Ordinal));
        Assert.Equal([@"Extensions: 3 resolved, 0 downloaded, ", summary], BuildLines(second.Output).Select(l => Regex.Replace(l, @"\d+\.\d KB$", "")));
    }

    [Fact]
    public void NormalVerbosity_ListsEachExtensionGemAndLayer()
    {
        var p = Project();
        var r = Build(p, "n");
        Assert.True(r.Succeeded, r.Output);

        // Each extension: name, size, md5 and where it came from; its dependencies.
        Assert.Contains($"Extension ncurses.tcz: {_size["ncurses"]}, md5 {_md5["ncurses"]} (downloaded); depends on -", r.Output);
        Assert.Contains($"Extension readline.tcz: {_size["readline"]}, md5 {_md5["readline"]} (downloaded); depends on ncurses.tcz", r.Output);
        Assert.Contains($"Extension gdbm.tcz: {_size["gdbm"]}, md5 {_md5["gdbm"]} (downloaded); depends on -", r.Output);

        // Each gem by its full name, with its folder in the image.
        Assert.Contains("Gem daemons-1.1.4 -> /usr/local/lib/ruby/gems/1.8/gems/daemons-1.1.4", r.Output);
        Assert.Contains("Gem json_pure-1.6.1 -> /usr/local/lib/ruby/gems/1.8/gems/json_pure-1.6.1", r.Output);

        // Each layer that went into the overlay: name, its entries in the overlay (folders belong to the first layer
        // that has them), bytes and its file.
        var layerLine = new Regex(@"Layer (?<name>[^:]+): (?<entries>\d+) entries in the overlay, (?<bytes>[\d.]+ K?B) \((?<file>obj/Debug/layers/[^)]+\.tar)\)");
        var listed = layerLine.Matches(r.Output).ToDictionary(m => m.Groups["name"].Value, m => m);
        Assert.Equal(new[] { "files", "settings", "boot hook", "extension ncurses.tcz", "extension readline.tcz", "extension gdbm.tcz", "gems" }.Order(), listed.Keys.Order());
        static int Count(string listing) => listing.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
        foreach (var m in listed.Values)
        {
            var file = p[m.Groups["file"].Value];
            Assert.True(File.Exists(file), file);
            Assert.InRange(int.Parse(m.Groups["entries"].Value, System.Globalization.CultureInfo.InvariantCulture), 1,
                Count(Tool.Run("tar", "-tf", file).EnsureSuccess("tar -tf").StdOut));
        }

        Assert.Equal(Count(Tool.Run("tar", "-tzf", p.Overlay).EnsureSuccess("tar -tzf").StdOut),
            listed.Values.Sum(m => int.Parse(m.Groups["entries"].Value, System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Contains("Layer files: 2 entries in the overlay, 6 B (obj/Debug/layers/files.tar)", r.Output);
    }

    [Fact]
    public void Report_NamesTheProject()
    {
        var p = SdkHarness.CreateProject("rep");
        p.WithProject("");
        p.Build().AssertSuccess();
        var html = File.ReadAllText(Path.Combine(p.OutDir, "mc-linux-fs-snap.html"));
        Assert.Contains("Project <strong>Microkernel</strong>", html);
    }

    public static TheoryData<string, string, string> BadItems => new()
    {
        { "<OverlayFile Include=\"missing.txt\" Destination=\"/etc/x\" />", "RMK2009", "OverlayFile 'missing.txt'" },
        { "<TczExtension Include=\"bad/name\" />", "RMK2017", "TczExtension 'bad/name'" },
        { "<TczExtension Include=\"gdbm\" InstallMode=\"Hard\" />", "RMK2020", "TczExtension 'gdbm'" },
        { "<McollectiveSetting Include=\"logleve\" Value=\"debug\" />", "RMK4101", "McollectiveSetting 'logleve'" },
        { "<McollectiveSetting Include=\"loglevel\" Value=\"loud\" />", "RMK4105", "McollectiveSetting 'loglevel'" },
        { "<OverlayArchive Include=\"missing.tgz\" />", "RMK2010", "OverlayArchive 'missing.tgz'" },
        { "<TczImage Include=\"none.tcz\" />", "RMK2011", "TczImage 'none.tcz'" },
        { "<Gem Include=\"nope.gem\" />", "RMK2009", "Gem 'nope.gem'" },
        { "<OverlayFile Include=\"motd\" Destination=\"/etc/motd\" Mode=\"rwx\" />", "RMK2003", "OverlayFile 'motd'" },
        { "<OverlayCopy Include=\"/nothing/here\" Destination=\"/x\" />", "RMK2025", "'/nothing/here'" },
        { "<MicrokernelBootCommand Include=\"x\" Command=\"a&#10;b\" />", "RMK2022", "MicrokernelBootCommand 'a b'" },
    };

    /// <summary>The line of a project file that holds the text (1-based).</summary>
    private static int LineOf(string file, string text)
        => Array.FindIndex(File.ReadAllLines(file), l => l.Contains(text, StringComparison.Ordinal)) + 1;

    private static void AssertErrorAt(string output, string file, int line, string code, string names)
    {
        var at = new Regex($@"^\s*(\d+>)?{Regex.Escape(file)}\({line},\d+\): error {code}: .*{Regex.Escape(names)}", RegexOptions.Multiline);
        Assert.True(at.IsMatch(output), $"no error line '{file}({line},…): error {code}: …{names}…' in:\n{output[^Math.Min(output.Length, 6000)..]}");
    }

    [Theory]
    [MemberData(nameof(BadItems))]
    public void Errors_PointAtTheProjectFileLineAndItem(string item, string code, string names)
    {
        var p = MirrorProject("where", $"""
            <OverlayDirectory Include="/srv" />
            {item}
            """, "<McollectiveStompHost>razor</McollectiveStompHost>");
        p.Write("motd", "x\n");
        var r = p.Run("build", environment: Secrets).AssertFailureWith(code);
        AssertErrorAt(r.Output, p.ProjectFile, LineOf(p.ProjectFile, item[..Math.Min(item.Length, 30)]), code, names);
        Assert.False(File.Exists(p.Overlay));
    }

    [Fact]
    public void Errors_ForAnItemOfDirectoryBuildProps_PointThere_AndForAPropertyAtItsElement()
    {
        var p = SdkHarness.CreateProject("props");
        p.Write("Directory.Build.props", """
            <Project>
              <ItemGroup>
                <OverlayFile Include="absent.conf" Destination="/etc/absent.conf" />
              </ItemGroup>
            </Project>
            """);
        p.WithProject("<ItemGroup />");
        var fromProps = p.Build().AssertFailureWith("RMK2009");
        AssertErrorAt(fromProps.Output, p["Directory.Build.props"], 3, "RMK2009", "OverlayFile 'absent.conf'");

        File.Delete(p["Directory.Build.props"]);
        p.WithProject("""
            <PropertyGroup>
              <OverlayCompressionLevel>11</OverlayCompressionLevel>
            </PropertyGroup>
            """);
        var property = p.Build().AssertFailureWith("RMK4001");
        AssertErrorAt(property.Output, p.ProjectFile, LineOf(p.ProjectFile, "<OverlayCompressionLevel>"), "RMK4001", "OverlayCompressionLevel '11'");
    }
}
