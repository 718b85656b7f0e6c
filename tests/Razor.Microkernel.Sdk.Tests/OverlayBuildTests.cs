using System.IO.Compression;
using System.Security.Cryptography;
using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Sdk.Tests;

/// <summary>The overlay items, PackOverlay, incrementality and clean, through `dotnet build` of the packed SDK.</summary>
public class OverlayBuildTests
{
    private const string HelloItems = """
          <ItemGroup>
            <OverlayFile Include="files/motd" Destination="/etc/motd" />
            <OverlayFile Include="files/scripts/**/*.sh" Destination="/opt/" Mode="0755" Owner="tc" Group="staff" />
            <OverlayFile Include="files/su" Destination="/usr/local/bin/su" Mode="4755" />
            <OverlayDirectory Include="/home/tc" Mode="0750" Owner="tc" Group="staff" />
            <OverlayDirectory Include="/tmp" Mode="1777" />
            <OverlaySymlink Include="/usr/local/mcollective" LinkTarget="/usr/local/tce.installed/mcollective-1.2.1" />
            <OverlaySymlink Include="/usr/local/sbin/mcollectived" LinkTarget="/usr/local/mcollective/mcollectived.rb" />
            <OverlayArchive Include="mcollective-1.2.1.tgz" Destination="/usr/local/tce.installed" />
          </ItemGroup>
        """;

    internal static TestProject HelloProject(string extraProperties = "")
    {
        var p = SdkHarness.CreateProject("hello");
        p.Write("files/motd", "Razor microkernel\n");
        p.Write("files/scripts/boot.sh", "#!/bin/sh\necho boot\n");
        p.Write("files/scripts/sub/net.sh", "#!/bin/sh\necho net\n");
        p.Write("files/su", "not really su\n");
        p.Write("mcollective-1.2.1.tgz", TestArchives.Tgz(
            TestArchives.Dir("mcollective-1.2.1/", 0x1ED),
            TestArchives.File("mcollective-1.2.1/mcollectived.rb", "#!/usr/bin/env ruby\nputs 1\n", 0x1ED),
            TestArchives.Dir("mcollective-1.2.1/plugins/", 0x1ED),
            TestArchives.File("mcollective-1.2.1/plugins/agent.rb", "# agent\n", 0x1A4, uid: 1001, gid: 50, uname: "tc", gname: "staff"),
            TestArchives.Symlink("mcollective-1.2.1/lib", "plugins"),
            TestArchives.HardLink("mcollective-1.2.1/agent-copy.rb", "mcollective-1.2.1/plugins/agent.rb")));
        p.WithProject((extraProperties.Length > 0 ? $"<PropertyGroup>{extraProperties}</PropertyGroup>\n" : "") + HelloItems);
        return p;
    }

    [Fact]
    public void Build_HelloProject_GnuTarListsEveryEntryWithTypeModeOwnerAndLink()
    {
        var p = HelloProject();
        p.Build().AssertSuccess();
        var listing = Tool.Run("tar", "-tvzf", p.Overlay).EnsureSuccess("tar -tvzf").StdOut;
        var lines = listing.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => System.Text.RegularExpressions.Regex.Replace(l, " +", " ")).ToList();
        string[] expected =
        [
            "drwxr-xr-x root/root 0 2000-01-01 00:00 etc/",
            "-rw-r--r-- root/root 18 2000-01-01 00:00 etc/motd",
            "drwxr-xr-x root/root 0 2000-01-01 00:00 home/",
            "drwxr-x--- tc/staff 0 2000-01-01 00:00 home/tc/",
            "drwxr-xr-x root/root 0 2000-01-01 00:00 opt/",
            "-rwxr-xr-x tc/staff 20 2000-01-01 00:00 opt/boot.sh",
            "drwxr-xr-x root/root 0 2000-01-01 00:00 opt/sub/",
            "-rwxr-xr-x tc/staff 19 2000-01-01 00:00 opt/sub/net.sh",
            "drwxrwxrwt root/root 0 2000-01-01 00:00 tmp/",
            "drwxr-xr-x root/root 0 2000-01-01 00:00 usr/",
            "drwxr-xr-x root/root 0 2000-01-01 00:00 usr/local/",
            "drwxr-xr-x root/root 0 2000-01-01 00:00 usr/local/bin/",
            "-rwsr-xr-x root/root 14 2000-01-01 00:00 usr/local/bin/su",
            "lrwxrwxrwx root/root 0 2000-01-01 00:00 usr/local/mcollective -> /usr/local/tce.installed/mcollective-1.2.1",
            "drwxr-xr-x root/root 0 2000-01-01 00:00 usr/local/sbin/",
            "lrwxrwxrwx root/root 0 2000-01-01 00:00 usr/local/sbin/mcollectived -> /usr/local/mcollective/mcollectived.rb",
            "drwxr-xr-x root/root 0 2000-01-01 00:00 usr/local/tce.installed/",
            "drwxr-xr-x root/root 0 2000-01-01 00:00 usr/local/tce.installed/mcollective-1.2.1/",
            "-rw-r--r-- tc/staff 8 2000-01-01 00:00 usr/local/tce.installed/mcollective-1.2.1/agent-copy.rb",
            "lrwxrwxrwx root/root 0 2000-01-01 00:00 usr/local/tce.installed/mcollective-1.2.1/lib -> plugins",
            "-rwxr-xr-x root/root 27 2000-01-01 00:00 usr/local/tce.installed/mcollective-1.2.1/mcollectived.rb",
            "drwxr-xr-x root/root 0 2000-01-01 00:00 usr/local/tce.installed/mcollective-1.2.1/plugins/",
            "hrw-r--r-- tc/staff 0 2000-01-01 00:00 usr/local/tce.installed/mcollective-1.2.1/plugins/agent.rb link to usr/local/tce.installed/mcollective-1.2.1/agent-copy.rb",
        ];
        Assert.Equal(expected, lines);

        // The listing beside the overlay says the same, line for line in `tar -tv` style, plus bytes per layer.
        var txt = File.ReadAllText(p.Overlay + ".txt");
        var txtLines = txt.Split('\n').Select(l => System.Text.RegularExpressions.Regex.Replace(l, " +", " ")).ToList();
        Assert.All(expected, l => Assert.Contains(l, txtLines));
        Assert.Contains("# 71 bytes 16 entries 0 dropped files", txtLines); // motd 18 + boot.sh 20 + net.sh 19 + su 14
        Assert.Contains("# 35 bytes 7 entries 0 dropped archive mcollective-1.2.1.tgz", txtLines);
        Assert.Contains("usr/local/mcollective -> /usr/local/tce.installed/mcollective-1.2.1", txt);
        Assert.Contains("archive mcollective-1.2.1.tgz", txt);
        Assert.Contains("entries in all", txt);

        // And the HTML report: self-contained, naming the layers and the largest files.
        var html = File.ReadAllText(Path.Combine(p.OutDir, "mc-linux-fs-snap.html"));
        Assert.StartsWith("<!DOCTYPE html>", html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("archive mcollective-1.2.1.tgz", html);
        Assert.Contains("mcollectived.rb", html);
        Assert.DoesNotContain(p.Directory, html);
    }

    [Fact]
    public void Build_HelloProject_GnuTarExtractsTheSameFilesAsRoot()
    {
        var p = HelloProject();
        p.Build().AssertSuccess();
        using var root = new TempFolder("rmk-extract");
        Tool.Run("tar", "-xzpf", p.Overlay, "-C", root.Path, "--same-owner").EnsureSuccess("tar -xzf");
        Assert.Equal("Razor microkernel\n", File.ReadAllText(root["etc/motd"]));
        Assert.Equal("#!/bin/sh\necho net\n", File.ReadAllText(root["opt/sub/net.sh"]));
        Assert.Equal(UnixFileMode.SetUser | (UnixFileMode)Convert.ToInt32("755", 8), File.GetUnixFileMode(root["usr/local/bin/su"]));
        Assert.Equal("/usr/local/tce.installed/mcollective-1.2.1", new FileInfo(root["usr/local/mcollective"]).LinkTarget);
        var stat = Tool.Run("stat", "-c", "%u:%g %a %h", root["usr/local/tce.installed/mcollective-1.2.1/plugins/agent.rb"]).EnsureSuccess("stat").StdOut.Trim();
        Assert.Equal("1001:50 644 2", stat); // owner kept, and the hard link shares the inode
    }

    [Fact]
    public void Build_Twice_SkipsEveryStep_ThenTouchOnlyRerunsThatLayer_ThenCleanLeavesNothing()
    {
        var p = HelloProject();
        var before = p.Files();
        var first = p.Build().AssertSuccess();
        Assert.Contains("RmkOverlayFilesLayer", first.TargetsRun);
        Assert.Contains("RmkPackOverlay", first.TargetsRun);

        var second = p.Build().AssertSuccess();
        Assert.Empty(second.TargetsRun);
        Assert.Contains("RmkOverlayFilesLayer", second.TargetsSkipped);
        Assert.Contains("RmkOverlayArchiveLayers", second.TargetsSkipped);
        Assert.Contains("RmkPackOverlay", second.TargetsSkipped);

        File.SetLastWriteTimeUtc(p["files/motd"], DateTime.UtcNow);
        var third = p.Build().AssertSuccess();
        Assert.Equal(new[] { "RmkOverlayFilesLayer", "RmkPackOverlay" }.ToHashSet(), third.TargetsRun.ToHashSet());

        var unrelated = p.Build("-p:SomethingUnrelated=42", "-p:Configuration=Debug").AssertSuccess();
        Assert.Empty(unrelated.TargetsRun);

        // A changed setting of one item re-runs that layer and the pack.
        File.WriteAllText(p.ProjectFile, File.ReadAllText(p.ProjectFile).Replace("Mode=\"0750\"", "Mode=\"0700\""));
        var fourth = p.Build().AssertSuccess();
        Assert.Equal(new[] { "RmkOverlayFilesLayer", "RmkPackOverlay" }.ToHashSet(), fourth.TargetsRun.ToHashSet());
        Assert.Contains("drwx------ tc/staff", Tool.Run("tar", "-tvzf", p.Overlay).StdOut);

        p.Run("clean").AssertSuccess();
        Assert.Equal(before, p.Files());
        Assert.False(Directory.Exists(p["obj"]), "obj/ should be gone");
        Assert.False(Directory.Exists(p["bin"]), "bin/ should be gone");
    }

    [Fact]
    public void Build_TwoCheckoutFolders_GiveIdenticalBytes_AndSourceDateEpochSetsEveryTime()
    {
        var a = HelloProject();
        var b = HelloProject();

        // The second checkout's files have other modes, owners and times: none of that reaches the image.
        foreach (var f in Directory.EnumerateFiles(b["files"], "*", SearchOption.AllDirectories))
        {
            File.SetUnixFileMode(f, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            File.SetLastWriteTimeUtc(f, new DateTime(2019, 5, 6, 7, 8, 9, DateTimeKind.Utc));
            Tool.Run("chown", "4321:4321", f).EnsureSuccess("chown");
        }

        a.Build().AssertSuccess();
        b.Build().AssertSuccess();
        Assert.Equal(SHA256.HashData(File.ReadAllBytes(a.Overlay)), SHA256.HashData(File.ReadAllBytes(b.Overlay)));
        Assert.Equal(File.ReadAllText(a.Overlay + ".txt"), File.ReadAllText(b.Overlay + ".txt"));

        // Nothing of the build machine: no folder names, no user names, no gzip name or time.
        var bytes = File.ReadAllBytes(a.Overlay);
        Assert.Equal(new byte[] { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0 }, bytes[..8]);
        using var gz = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
        var tar = new MemoryStream();
        gz.CopyTo(tar);
        var text = System.Text.Encoding.Latin1.GetString(tar.ToArray());
        Assert.DoesNotContain(a.Directory, text);
        Assert.DoesNotContain("rmk-e2e", text);

        var c = HelloProject();
        c.Run("build", environment: new Dictionary<string, string?> { ["SOURCE_DATE_EPOCH"] = "1329004800" }).AssertSuccess();
        var listing = Tool.Run("tar", "-tvzf", c.Overlay).StdOut;
        Assert.All(listing.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => Assert.Contains("2012-02-12 00:00", l));
    }

    [Fact]
    public void Build_FailingStep_LeavesPreviousOverlayIntact_AndNoPartialFiles()
    {
        var p = HelloProject();
        p.Build().AssertSuccess();
        var good = File.ReadAllBytes(p.Overlay);
        p.Write("mcollective-1.2.1.tgz", TestArchives.Tgz(TestArchives.File("../../etc/passwd", "root::0:0::/:/bin/sh\n", 0x1A4)));
        p.Build().AssertFailureWith("RMK3002");
        Assert.Equal(good, File.ReadAllBytes(p.Overlay));
        Assert.DoesNotContain(p.Files(), f => f.EndsWith(".tmp", StringComparison.Ordinal));
    }

    [Fact]
    public void Build_ConflictingLayers_FirstWriterWins_WithAWarningNamingBoth()
    {
        var p = SdkHarness.CreateProject("conflict");
        p.Write("motd", "mine\n");
        p.Write("etc.tar.gz", TestArchives.Tgz(TestArchives.File("etc/motd", "theirs\n", 0x1A4), TestArchives.File("usr/lib/x", "x", 0x1A4)));
        p.WithProject("""
              <ItemGroup>
                <OverlayFile Include="motd" Destination="/etc/motd" />
                <OverlaySymlink Include="/usr/lib" LinkTarget="/lib" />
                <OverlayArchive Include="etc.tar.gz" />
              </ItemGroup>
            """);
        var r = p.Build().AssertSuccess();
        Assert.Contains("RMK5101", r.Codes);
        Assert.Contains("RMK5102", r.Codes);
        Assert.Contains("'/etc/motd' is written by two layers: 'files' (file) is kept, 'archive etc.tar.gz' (file) is not used", r.Output);
        using var root = new TempFolder("rmk-extract");
        Tool.Run("tar", "-xzf", p.Overlay, "-C", root.Path).EnsureSuccess("tar -xzf");
        Assert.Equal("mine\n", File.ReadAllText(root["etc/motd"]));
        Assert.Equal("/lib", new FileInfo(root["usr/lib"]).LinkTarget);
    }

    [Fact]
    public void Build_EmptyProject_WorksWithRestoreBinlogAndClean()
    {
        var p = SdkHarness.CreateProject("empty");
        p.WithProject("");
        p.Run("restore").AssertSuccess();
        var r = p.Build().AssertSuccess();
        Assert.True(File.Exists(r.BinLog));
        Assert.True(File.Exists(p.Overlay));
        Assert.Equal("", Tool.Run("tar", "-tzf", p.Overlay).EnsureSuccess("tar -tzf").StdOut);
        p.Run("clean").AssertSuccess();
        Assert.False(File.Exists(p.Overlay));

        // The SDK came from the test's own packages folder, never the user's NuGet cache.
        Assert.True(Directory.Exists(Path.Combine(p.PackagesFolder, "razor.microkernel.sdk", p.Sdk.Version.ToLowerInvariant())));
        var userCache = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages", "razor.microkernel.sdk");
        Assert.False(Directory.Exists(Path.Combine(userCache, p.Sdk.Version.ToLowerInvariant())));
        Assert.DoesNotContain(p.Files(), f => f.Contains("razor.microkernel.sdk", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void Build_AsVisualStudioWouldOnFullFramework_UsesTheNetTaskHost()
    {
        var p = HelloProject();
        var r = p.Run("build", ["-p:RmkMSBuildRuntimeType=Full", "-v:diag"]).AssertSuccess();
        Assert.Matches("Launching task \"PackOverlay\" from assembly .* in an external task host with a runtime of \"NET\"", r.Output);
        Assert.Matches("Launching task \"WriteOverlayLayer\" from assembly .* in an external task host", r.Output);
        Assert.True(File.Exists(p.Overlay));
    }

    [Theory]
    [InlineData("<OverlayFile Include=\"motd\" />", "RMK2001")]
    [InlineData("<OverlayFile Include=\"motd\" Destination=\"/etc/../../x\" />", "RMK2002")]
    [InlineData("<OverlayFile Include=\"motd\" Destination=\"/etc/motd\" Mode=\"rwx\" />", "RMK2003")]
    [InlineData("<OverlayFile Include=\"motd\" Destination=\"/etc/motd\" Owner=\"nobody\" />", "RMK2003")]
    [InlineData("<OverlaySymlink Include=\"/x\" />", "RMK2006")]
    [InlineData("<OverlayFile Include=\"motd\" Destination=\"/etc/motd\" /><OverlayFile Include=\"motd\" Destination=\"/etc/motd\" />", "RMK2007")]
    [InlineData("<OverlaySymlink Include=\"/etc\" LinkTarget=\"/x\" /><OverlayFile Include=\"motd\" Destination=\"/etc/motd\" />", "RMK2008")]
    [InlineData("<OverlayFile Include=\"missing\" Destination=\"/etc/motd\" />", "RMK2009")]
    [InlineData("<OverlayArchive Include=\"missing.tgz\" />", "RMK2010")]
    public void Build_BadItems_GiveCodedErrors_AndNoLayer(string items, string code)
    {
        var p = SdkHarness.CreateProject("bad");
        p.Write("motd", "x\n");
        p.WithProject($"<ItemGroup>{items}</ItemGroup>");
        p.Build().AssertFailureWith(code);
        Assert.False(File.Exists(p.Overlay));
        Assert.DoesNotContain(p.Files(), f => f.EndsWith(".tar", StringComparison.Ordinal) || f.EndsWith(".tmp", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("<OverlayCompressionLevel>11</OverlayCompressionLevel>", "RMK4001")]
    [InlineData("<OverlayFileName>../x.tar.gz</OverlayFileName>", "RMK4003")]
    public void Build_BadProperties_GiveCodedErrors(string property, string code)
    {
        var p = SdkHarness.CreateProject("badprop");
        p.Write("motd", "x\n");
        p.WithProject($"<PropertyGroup>{property}</PropertyGroup><ItemGroup><OverlayFile Include=\"motd\" Destination=\"/etc/motd\" /></ItemGroup>");
        p.Build().AssertFailureWith(code);
    }

    [Fact]
    public void Build_BadSourceDateEpoch_GivesCodedError()
    {
        var p = SdkHarness.CreateProject("epoch");
        p.WithProject("");
        var r = p.Run("build", environment: new Dictionary<string, string?> { ["SOURCE_DATE_EPOCH"] = "yesterday" }).AssertFailureWith("RMK4002");
        // From the environment, so it has no line: the error is placed at the project file, not the SDK's targets.
        var line = r.Output.Split('\n').First(l => l.Contains("error RMK4002", StringComparison.Ordinal)).Trim();
        Assert.Matches("^(\\d+:\\d+>)?" + System.Text.RegularExpressions.Regex.Escape(p.ProjectFile) + @"( ?:|\(\d+,\d+\):) error RMK4002", line);
    }
}
