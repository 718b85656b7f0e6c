using Razor.Microkernel.TestSupport;
using Razor.Microkernel.TestSupport.Mirror;

namespace Razor.Microkernel.Sdk.Tests;

/// <summary>
/// Issue 7's incremental contract on one project with every kind of step (files, extensions from a loopback
/// mirror, gems, server.cfg): each change re-runs exactly what depends on it, other layers keep their bytes and
/// times, and `dotnet clean` leaves the project folder as it was while the download cache stays untouched.
/// </summary>
public sealed class IncrementalTests() : MirroredTests("rmk-incr-mirror")
{
    private static readonly Dictionary<string, string?> Secrets = TestSecrets.Variables();

    protected override void Populate()
    {
        Add("ncurses", null);
        Add("readline", "ncurses.tcz\n");
        Add("gdbm", null);
        Add("bash", "readline.tcz\n");
    }

    private void Add(string name, string? dep) => Builder.AddLibrary(name, dep, System.Text.Encoding.ASCII.GetBytes($"{name} library\n"));

    private int TczRequests(string name) => Mirror.Requests(Builder.Relative(name + ".tcz"));

    /// <summary>Every layer file with its bytes and write time.</summary>
    private static Dictionary<string, (byte[] Bytes, DateTime Time)> Layers(TestProject p)
        => Directory.EnumerateFiles(p["obj/Debug/layers"], "*.tar")
            .ToDictionary(f => Path.GetFileName(f), f => (File.ReadAllBytes(f), File.GetLastWriteTimeUtc(f)));

    private static void AssertUnchanged(Dictionary<string, (byte[] Bytes, DateTime Time)> before, Dictionary<string, (byte[] Bytes, DateTime Time)> after,
        Func<string, bool> which)
    {
        var names = before.Keys.Where(which).ToList();
        Assert.NotEmpty(names);
        foreach (var name in names)
        {
            Assert.True(after.ContainsKey(name), $"layer {name} is gone");
            Assert.Equal(before[name].Time, after[name].Time);
            Assert.Equal(before[name].Bytes, after[name].Bytes);
        }
    }

    private static void Replace(TestProject p, string from, string to)
    {
        var text = File.ReadAllText(p.ProjectFile);
        Assert.Contains(from, text);
        File.WriteAllText(p.ProjectFile, text.Replace(from, to, StringComparison.Ordinal));
    }

    /// <summary>Every file below a folder with its bytes and write time.</summary>
    private static SortedDictionary<string, (string Sha, DateTime Time)> Snapshot(string dir)
        => new(Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).ToDictionary(
            f => Path.GetRelativePath(dir, f),
            f => (TinyCoreMirrorBuilder.Sha256(File.ReadAllBytes(f)), File.GetLastWriteTimeUtc(f))), StringComparer.Ordinal);

    [Fact]
    public void EachChange_RerunsExactlyWhatDependsOnIt_AndCleanLeavesTheProjectAndKeepsTheCache()
    {
        var p = MirrorProject("incr", """
            <OverlayFile Include="motd" Destination="/etc/motd" />
            <TczExtension Include="readline;gdbm" />
            <Gem Include="gems/*.gem" />
            <McollectiveSetting Include="loglevel" Value="info" />
            """, "<McollectiveStompHost>razor</McollectiveStompHost>");
        p.Write("motd", "hello\n");
        GemTests.BuildGem(p, "daemons", "1.1.4");
        var before = p.Files();
        p.Run("build", environment: Secrets).AssertSuccess();
        Assert.Equal(1, TczRequests("readline"));
        Assert.Equal(1, TczRequests("ncurses"));
        Assert.Equal(1, TczRequests("gdbm"));

        // Nothing changed: every step is skipped and nothing is fetched again.
        var requests = Mirror.TotalRequests;
        var noop = p.Run("build", environment: Secrets).AssertSuccess();
        Assert.Empty(noop.TargetsRun);
        Assert.Equal(requests, Mirror.TotalRequests);

        // Add an extension (with a dependency already installed): only it is downloaded and extracted; the boot
        // hook (which runs the extensions' startup scripts in install order) and the pack follow.
        var layers = Layers(p);
        Replace(p, "Include=\"readline;gdbm\"", "Include=\"readline;gdbm;bash\"");
        var added = p.Run("build", environment: Secrets).AssertSuccess();
        Assert.Equal(new[] { "RmkExtensionLayers", "RmkBootHookLayer", "RmkPackOverlay" }.ToHashSet(), added.TargetsRun.ToHashSet());
        Assert.Equal(1, TczRequests("bash"));
        Assert.Equal(1, TczRequests("readline"));
        Assert.Equal(1, TczRequests("ncurses"));
        Assert.Equal(1, TczRequests("gdbm"));
        Assert.Equal(1, added.Output.Split('\n').Count(l => l.Contains("Building target \"RmkExtensionLayers\" completely", StringComparison.Ordinal)));
        Assert.Equal(3, added.Output.Split('\n').Count(l => l.Contains("Skipping target \"RmkExtensionLayers\" because all output files are up-to-date", StringComparison.Ordinal)));
        var afterAdd = Layers(p);
        AssertUnchanged(layers, afterAdd, n => n.StartsWith("ext-", StringComparison.Ordinal) || n is "files.tar" or "settings.tar" or "gems.tar");
        Assert.Single(afterAdd.Keys, n => n.StartsWith("ext-bash-", StringComparison.Ordinal));
        Assert.Contains(" usr/local/lib/libbash.so\n", Tool.Run("tar", "-tvzf", p.Overlay).EnsureSuccess("tar").StdOut);

        // Add a gem: only the gems layer and the pack.
        layers = afterAdd;
        GemTests.BuildGem(p, "json_pure", "1.6.1");
        requests = Mirror.TotalRequests;
        var gem = p.Run("build", environment: Secrets).AssertSuccess();
        Assert.Equal(new[] { "RmkGemsLayer", "RmkPackOverlay" }.ToHashSet(), gem.TargetsRun.ToHashSet());
        Assert.Equal(requests, Mirror.TotalRequests);
        AssertUnchanged(layers, Layers(p), n => n != "gems.tar");

        // Change a server.cfg setting: only the settings layer and the pack.
        layers = Layers(p);
        Replace(p, "Value=\"info\"", "Value=\"debug\"");
        var setting = p.Run("build", environment: Secrets).AssertSuccess();
        Assert.Equal(new[] { "RmkMcollectiveSettingsLayer", "RmkPackOverlay" }.ToHashSet(), setting.TargetsRun.ToHashSet());
        AssertUnchanged(layers, Layers(p), n => n != "settings.tar");
        Assert.Contains("loglevel = debug", Tool.Run("tar", "-xzOf", p.Overlay, "usr/local/etc/mcollective/server.cfg").EnsureSuccess("tar").StdOut);

        // Change the flavor: server.cfg (its secret policy) and the pack (the report names the flavor); nothing else.
        layers = Layers(p);
        var production = p.Run("build", ["-p:MicrokernelFlavor=Production"], Secrets).AssertSuccess();
        Assert.Equal(new[] { "RmkMcollectiveSettingsLayer", "RmkPackOverlay" }.ToHashSet(), production.TargetsRun.ToHashSet());
        AssertUnchanged(layers, Layers(p), n => n != "settings.tar");
        Assert.Empty(p.Run("build", ["-p:MicrokernelFlavor=Production"], Secrets).AssertSuccess().TargetsRun);

        // Clean: nothing generated remains (the lock file stays: it is the project's, to commit), the cache is untouched.
        var cache = Snapshot(p["cache"]);
        p.Run("clean").AssertSuccess();
        var left = p.Files();
        left.RemoveWhere(f => f.StartsWith("cache/", StringComparison.Ordinal) || f.StartsWith("gemsrc/", StringComparison.Ordinal) || f.StartsWith("gems/", StringComparison.Ordinal));
        before.RemoveWhere(f => f.StartsWith("gemsrc/", StringComparison.Ordinal) || f.StartsWith("gems/", StringComparison.Ordinal));
        before.Add("microkernel.lock.json");
        Assert.Equal(before, left);
        Assert.False(Directory.Exists(p["obj"]), "obj/ should be gone");
        Assert.False(Directory.Exists(p["bin"]), "bin/ should be gone");
        Assert.Equal(cache, Snapshot(p["cache"]));
    }
}
