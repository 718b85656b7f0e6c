using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;
using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Sdk.Tests;

/// <summary>
/// OverlayArchive through `dotnet build` of the packed SDK: every supported compression, Owner/Group overrides,
/// numeric owners and verbatim link targets of the generic items, the compression level, and hostile archives
/// (each a coded error with no layer and no overlay left behind).
/// </summary>
public class OverlayArchiveBuildTests
{
    private static byte[] AppTar() => TestArchives.Tar(
        TestArchives.Dir("app/"),
        TestArchives.File("app/run", "run\n", 0x1ED, uid: 1001, gid: 50, uname: "tc", gname: "staff"),
        TestArchives.Symlink("app/cur", "run"),
        TestArchives.HardLink("app/run2", "app/run"));

    private static string[] Lines(string listing)
        => listing.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => Regex.Replace(l, " +", " ")).ToArray();

    private static byte[] Gunzip(string path)
    {
        using var gz = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        var tar = new MemoryStream();
        gz.CopyTo(tar);
        return tar.ToArray();
    }

    [Fact]
    public void Build_ArchivesInEveryCompression_WithOwnerOverrides_NumericOwners_VerbatimLinks_AndTheCompressionLevel()
    {
        var p = SdkHarness.CreateProject("archives");
        var tar = p.Write("in/app.tar", AppTar());
        Tool.Run("bzip2", "-k", tar).EnsureSuccess("bzip2");
        Tool.Run("xz", "-k", tar).EnsureSuccess("xz");
        p.Write("in/app.tar.gz", TestArchives.Gzip(AppTar()));
        p.Write("files/x", "x\n");
        p.WithProject("""
              <ItemGroup>
                <OverlayArchive Include="in/app.tar" Destination="/srv/plain" />
                <OverlayArchive Include="in/app.tar.bz2" Destination="/srv/bz2" Owner="tc" Group="staff" />
                <OverlayArchive Include="in/app.tar.xz" Destination="/srv/xz" Owner="0" />
                <OverlayArchive Include="in/app.tar.gz" Destination="/srv/gz" Group="50" />
                <OverlayFile Include="files/x" Destination="/etc/tc-owned" Owner="1001" Group="50" />
                <OverlayFile Include="files/x" Destination="/etc/unnamed" Owner="2000" Group="3000" Mode="2755" />
                <OverlaySymlink Include="/usr/share/rel" LinkTarget="../lib//hello/./x" />
              </ItemGroup>
            """);

        // Tasks run in-process on .NET MSBuild (the TaskHostFactory declarations are only for MSBuildRuntimeType=Full).
        var first = p.Build("-v:diag").AssertSuccess();
        Assert.Contains("Using \"PackOverlay\" task from assembly", first.Output);
        Assert.DoesNotContain("external task host", first.Output);

        var lines = Lines(Tool.Run("tar", "-tvzf", p.Overlay).EnsureSuccess("tar -tvzf").StdOut);
        string[] Expected(string dest, string dirOwner, string fileOwner, string linkOwner) =>
        [
            $"drwxr-xr-x {dirOwner} 0 2000-01-01 00:00 srv/{dest}/app/",
            $"lrwxrwxrwx {linkOwner} 0 2000-01-01 00:00 srv/{dest}/app/cur -> run",
            $"-rwxr-xr-x {fileOwner} 4 2000-01-01 00:00 srv/{dest}/app/run",
            $"hrwxr-xr-x {fileOwner} 0 2000-01-01 00:00 srv/{dest}/app/run2 link to srv/{dest}/app/run",
        ];
        string[] expected =
        [
            "drwxr-xr-x root/root 0 2000-01-01 00:00 etc/",
            "-rw-r--r-- tc/staff 2 2000-01-01 00:00 etc/tc-owned",
            "-rwxr-sr-x 2000/3000 2 2000-01-01 00:00 etc/unnamed",
            "drwxr-xr-x root/root 0 2000-01-01 00:00 srv/",
            "drwxr-xr-x root/root 0 2000-01-01 00:00 srv/bz2/",
            .. Expected("bz2", "tc/staff", "tc/staff", "tc/staff"),
            "drwxr-xr-x root/root 0 2000-01-01 00:00 srv/gz/",
            .. Expected("gz", "root/staff", "tc/staff", "root/staff"),
            "drwxr-xr-x root/root 0 2000-01-01 00:00 srv/plain/",
            .. Expected("plain", "root/root", "tc/staff", "root/root"),
            "drwxr-xr-x root/root 0 2000-01-01 00:00 srv/xz/",
            .. Expected("xz", "root/root", "root/staff", "root/root"),
            "drwxr-xr-x root/root 0 2000-01-01 00:00 usr/",
            "drwxr-xr-x root/root 0 2000-01-01 00:00 usr/share/",
            "lrwxrwxrwx root/root 0 2000-01-01 00:00 usr/share/rel -> ../lib//hello/./x",
        ];
        Assert.Equal(expected, lines);

        // OverlayCompressionLevel changes only the pack, and only the compression: the same tar inside.
        var tarAtDefault = Gunzip(p.Overlay);
        var sizeAtDefault = new FileInfo(p.Overlay).Length;
        var stored = p.Build("-p:OverlayCompressionLevel=0").AssertSuccess();
        Assert.Equal(new[] { "RmkPackOverlay" }.ToHashSet(), stored.TargetsRun.ToHashSet());
        Assert.Equal(tarAtDefault, Gunzip(p.Overlay));
        Assert.True(new FileInfo(p.Overlay).Length > tarAtDefault.Length, "level 0 stores the tar uncompressed");
        Assert.True(new FileInfo(p.Overlay).Length > sizeAtDefault, "level 0 is larger than the default level");
        Tool.Run("gzip", "-t", p.Overlay).EnsureSuccess("gzip -t");
        Assert.Empty(p.Build("-p:OverlayCompressionLevel=0").AssertSuccess().TargetsRun);
    }

    private static byte[] Hostile(string kind)
    {
        var good = TestArchives.Tar(TestArchives.Dir("app/"), TestArchives.File("app/big", new string('x', 5000)), TestArchives.File("app/b", "b"));
        return kind switch
        {
            "traversal" => TestArchives.Tgz(TestArchives.File("app/ok", "ok"), TestArchives.File("app/../../../etc/passwd", "root::0:0::/:/bin/sh\n")),
            "absolute" => TestArchives.Tgz(TestArchives.File("app/ok", "ok"), TestArchives.File("/etc/shadow", "root::1::::::\n")),
            "symlink-absolute" => TestArchives.Tgz(TestArchives.Symlink("etc", "/etc"), TestArchives.File("etc/passwd", "root::0:0::/:/bin/sh\n")),
            "symlink-relative" => TestArchives.Tgz(TestArchives.Symlink("up", "../../.."), TestArchives.File("up/etc/passwd", "root::0:0::/:/bin/sh\n")),
            "hardlink-escape" => TestArchives.Tgz(TestArchives.File("app/ok", "ok"), TestArchives.HardLink("app/shadow", "../../etc/shadow")),
            "device" => TestArchives.Tgz(TestArchives.File("app/ok", "ok"), TestArchives.Device("dev/sda", block: true, 8, 0)),
            "duplicate" => TestArchives.Tgz(TestArchives.File("app/a", "1"), TestArchives.File("app/a", "2")),
            "huge-header" => TestArchives.Gzip(TestArchives.HugePaxHeader()),
            "truncated-tar" => good[..1500],
            "truncated-gzip" => TestArchives.Gzip(good)[..^10],
            "garbage" => Encoding.ASCII.GetBytes(new string('z', 3000)),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
    }

    [Theory]
    [InlineData("traversal", "RMK3002")]
    [InlineData("absolute", "RMK3002")]
    [InlineData("symlink-absolute", "RMK3002")]
    [InlineData("symlink-relative", "RMK3002")]
    [InlineData("hardlink-escape", "RMK3002")]
    [InlineData("device", "RMK3003")]
    [InlineData("duplicate", "RMK3006")]
    [InlineData("huge-header", "RMK3001")]
    [InlineData("truncated-tar", "RMK3001")]
    [InlineData("truncated-gzip", "RMK3001")]
    [InlineData("garbage", "RMK3001")]
    public void Build_HostileArchive_IsACodedError_NamingTheArchive_WithNoLayerAndNoOverlay(string kind, string code)
    {
        var p = SdkHarness.CreateProject("hostile");
        p.Write("in/hostile.bin", Hostile(kind));
        p.Write("motd", "x\n");
        p.WithProject("""
              <ItemGroup>
                <OverlayFile Include="motd" Destination="/etc/motd" />
                <OverlayArchive Include="in/hostile.bin" Destination="/usr/local/tce.installed" />
              </ItemGroup>
            """);
        var r = p.Build().AssertFailureWith(code);
        Assert.Contains($"OverlayArchive 'in/hostile.bin'", r.Output);
        Assert.Single(r.Codes);

        // Nothing of the archive's: no layer (only its recorded settings and input fingerprint, obj/…/archive-*.tar.inputs
        // and .tar.sources), no temporary file, no overlay, listing or report.
        var generated = p.Files().Where(f => f.StartsWith("obj/", StringComparison.Ordinal) || f.StartsWith("bin/", StringComparison.Ordinal)).ToList();
        Assert.Contains(generated, f => f.Contains("/layers/archive-", StringComparison.Ordinal) && f.EndsWith(".tar.inputs", StringComparison.Ordinal));
        Assert.DoesNotContain(generated, f => f.Contains("/layers/archive-", StringComparison.Ordinal) && !f.EndsWith(".tar.inputs", StringComparison.Ordinal)
            && !f.EndsWith(".tar.sources", StringComparison.Ordinal));
        Assert.DoesNotContain(generated, f => f.Contains(".tmp", StringComparison.Ordinal) || f.Contains(".partial", StringComparison.Ordinal));
        Assert.DoesNotContain(generated, f => f.StartsWith("bin/", StringComparison.Ordinal));
        Assert.False(File.Exists(p.Overlay));
    }
}
