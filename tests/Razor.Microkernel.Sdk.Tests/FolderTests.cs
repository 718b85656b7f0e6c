using Razor.Microkernel.TestSupport;
using Razor.Microkernel.TestSupport.Mirror;

namespace Razor.Microkernel.Sdk.Tests;

/// <summary>
/// Issue 7: a read-only output folder, a cache folder that does not exist yet, a cache folder on another file system
/// (a tmpfs; obj/ stays on the disk) and a cache folder that cannot be made: correct builds or coded errors, never a
/// corrupt output. The tests run as root, which ignores permission bits, so read-only means a read-only mount.
/// </summary>
[Collection("Serial")]
public sealed class FolderTests() : MirroredTests("rmk-folders")
{
    private byte[] _archive = [];

    protected override void Populate()
    {
        Root.Write("src/tool/usr/local/bin/tool", "#!/bin/sh\necho tool\n");
        Builder.AddSquashfs("tool.tcz", Root["src/tool"]);
        _archive = TestArchives.Tgz(TestArchives.Dir("opt/"), TestArchives.File("opt/app.txt", "from an archive\n"));
        Root.Write("files/app.tgz", _archive);
    }

    /// <summary>A project with one extension and one URL download from the loopback mirror, cached in <paramref name="cache"/>.</summary>
    private TestProject Project(string name, string cache, string properties = "")
    {
        var p = SdkHarness.CreateProject(name);
        p.WithProject($"""
            <PropertyGroup><TczMirror>{Mirror.BaseUrl}</TczMirror><MicrokernelCacheDirectory>{cache}</MicrokernelCacheDirectory>{properties}</PropertyGroup>
            <ItemGroup>
              <TczExtension Include="tool" />
              <OverlayArchive Include="{Mirror.Url("files/app.tgz")}" Sha256="{TinyCoreMirrorBuilder.Sha256(_archive)}" />
            </ItemGroup>
            """);
        return p;
    }

    private static void AssertImage(TestProject p)
    {
        var listing = Tool.Run("tar", "-tzf", p.Overlay).EnsureSuccess("tar -tzf").StdOut;
        Assert.Contains("usr/local/bin/tool\n", listing);
        Assert.Contains("opt/app.txt\n", listing);
    }

    private static void Mount(string folder, string options)
    {
        Directory.CreateDirectory(folder);
        Tool.Run("mount", "-t", "tmpfs", "-o", options, "tmpfs", folder).EnsureSuccess("mount tmpfs (the tests run as root)");
    }

    private static string Device(string path) => Tool.Run("stat", "-c", "%d", path).EnsureSuccess("stat").StdOut.Trim();

    [Fact]
    public void ReadOnlyOutputFolder_IsACodedError_ThePreviousOverlayStays_AndTheBuildRecovers()
    {
        var p = SdkHarness.CreateProject("ro-out");
        var outDir = p["ro-out"];
        Mount(outDir, "size=16m");
        try
        {
            p.Write("motd", "first\n");
            p.WithProject("<PropertyGroup><OutDir>ro-out/</OutDir></PropertyGroup><ItemGroup><OverlayFile Include=\"motd\" Destination=\"/etc/motd\" /></ItemGroup>");
            p.Build().AssertSuccess();
            var overlay = Path.Combine(outDir, "mc-linux-fs-snap.tar.gz");
            var before = Directory.EnumerateFiles(outDir).ToDictionary(f => f, File.ReadAllBytes);

            Tool.Run("mount", "-o", "remount,ro", outDir).EnsureSuccess("remount ro");
            p.Write("motd", "second\n");
            var r = p.Build().AssertFailureWith("RMK5001");
            Assert.Contains("mc-linux-fs-snap.tar.gz", r.Output);
            Assert.DoesNotContain("MSB4018", r.Output); // a coded error, not a crash
            Assert.Equal(before.Keys.Order(), Directory.EnumerateFiles(outDir).Order());
            foreach (var (file, bytes) in before)
            {
                Assert.Equal(bytes, File.ReadAllBytes(file));
            }

            Tool.Run("mount", "-o", "remount,rw", outDir).EnsureSuccess("remount rw");
            p.Build().AssertSuccess();
            using var x = new TempFolder("rmk-ro-out");
            Tool.Run("tar", "-xzf", overlay, "-C", x.Path).EnsureSuccess("tar -xzf");
            Assert.Equal("second\n", File.ReadAllText(x["etc/motd"]));
        }
        finally
        {
            Tool.Run("umount", outDir);
        }
    }

    [Fact]
    public void MissingCacheFolder_SeveralLevelsDeep_IsCreated_AndServesTheNextBuildOffline()
    {
        var cache = Path.Combine(Root.Path, "not", "made", "yet", "razor-cache");
        Assert.False(Directory.Exists(Path.Combine(Root.Path, "not")));
        var p = Project("no-cache", cache);
        p.Build().AssertSuccess();
        AssertImage(p);
        var keys = CacheCheck.AssertConsistent(cache);
        Assert.Contains("tcz/4.x/x86/tool.tcz", keys);
        Assert.Contains("url/" + Mirror.Url("files/app.tgz"), keys);

        var offline = Project("no-cache-2", cache, "<MicrokernelOffline>true</MicrokernelOffline>");
        File.Copy(p["microkernel.lock.json"], offline["microkernel.lock.json"]);
        offline.Build().AssertSuccess();
        AssertImage(offline);
    }

    [Fact]
    public void CacheFolderOnAnotherFileSystem_Works_ForDownloadsResumesAndReads()
    {
        using var mountPoint = new TempFolder("rmk-cache-fs");
        Mount(mountPoint.Path, "size=64m");
        try
        {
            var cache = Path.Combine(mountPoint.Path, "cache");
            var p = Project("other-fs", cache);
            Assert.NotEqual(Device(p.Directory), Device(mountPoint.Path));

            // A first attempt cut short mid-body leaves a partial download on the tmpfs; the build resumes it.
            Mirror.Misbehave(Builder.Relative("tool.tcz"), new ResetMidBody(1, 1000));
            p.Build().AssertSuccess();
            AssertImage(p);
            var keys = CacheCheck.AssertConsistent(cache);
            Assert.Contains("tcz/4.x/x86/tool.tcz", keys);
            Assert.Contains("url/" + Mirror.Url("files/app.tgz"), keys);

            var second = Project("other-fs-2", cache, "<MicrokernelOffline>true</MicrokernelOffline>");
            File.Copy(p["microkernel.lock.json"], second["microkernel.lock.json"]);
            second.Build().AssertSuccess();
            Assert.Equal(File.ReadAllBytes(p.Overlay), File.ReadAllBytes(second.Overlay));
        }
        finally
        {
            Mirror.ClearMisbehaviors();
            Tool.Run("umount", mountPoint.Path);
        }
    }

    public static TheoryData<string> UnusableCaches => new() { "through-a-file", "read-only-mount" };

    [Theory]
    [MemberData(nameof(UnusableCaches))]
    public void CacheFolderThatCannotBeMade_IsACodedError_AndNothingIsWritten(string kind)
    {
        using var place = new TempFolder("rmk-bad-cache");
        string cache;
        if (kind == "through-a-file")
        {
            File.WriteAllText(place["file"], "a regular file\n");
            cache = Path.Combine(place["file"], "cache");
        }
        else
        {
            Mount(place.Path, "size=1m,ro");
            cache = Path.Combine(place.Path, "deeper", "cache");
        }

        try
        {
            var p = Project("bad-cache", cache);
            var r = p.Build().AssertFailureWith("RMK1030");
            Assert.Contains(cache, r.Output);
            Assert.DoesNotContain("MSB4018", r.Output);
            Assert.False(File.Exists(p.Overlay));
            Assert.False(Directory.Exists(cache));
        }
        finally
        {
            if (kind != "through-a-file")
            {
                Tool.Run("umount", place.Path);
            }
        }
    }

    [Fact]
    public void ReadOnlyCacheFolder_WithEverythingInIt_ServesTheBuild_AndAMissIsACodedError()
    {
        using var mountPoint = new TempFolder("rmk-ro-cache");
        Mount(mountPoint.Path, "size=64m");
        try
        {
            var cache = Path.Combine(mountPoint.Path, "cache");
            var warm = Project("ro-cache", cache);
            warm.Build().AssertSuccess();
            Tool.Run("mount", "-o", "remount,ro", mountPoint.Path).EnsureSuccess("remount ro");

            // Everything is cached (the lock file pins it): the build only reads.
            var reader = Project("ro-cache-2", cache);
            File.Copy(warm["microkernel.lock.json"], reader["microkernel.lock.json"]);
            reader.Build().AssertSuccess();
            Assert.Equal(File.ReadAllBytes(warm.Overlay), File.ReadAllBytes(reader.Overlay));

            // Something new must be stored: a coded error naming the cache.
            Root.Write("files/other.tgz", TestArchives.Tgz(TestArchives.File("opt/other.txt", "other\n")));
            var miss = Project("ro-cache-3", cache);
            miss.WithProject($"""
                <PropertyGroup><MicrokernelCacheDirectory>{cache}</MicrokernelCacheDirectory></PropertyGroup>
                <ItemGroup><OverlayArchive Include="{Mirror.Url("files/other.tgz")}" /></ItemGroup>
                """);
            var r = miss.Build().AssertFailureWith("RMK1030");
            Assert.Contains(cache, r.Output);
            Assert.False(File.Exists(miss.Overlay));
        }
        finally
        {
            Tool.Run("umount", mountPoint.Path);
        }

    }
}
