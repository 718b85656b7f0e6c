using System.Security.Cryptography;
using System.Text.Json;
using Razor.Microkernel.TestSupport;
using Razor.Microkernel.TestSupport.Mirror;

namespace Razor.Microkernel.Sdk.Tests;

/// <summary>
/// Issue 14 item 3 for a local mirror folder (TczMirror a folder or a file:// URL), through `dotnet build` of the packed
/// SDK: the folder is a local input the user edits. A `.tcz` replaced with one of an older date (its `.md5.txt` with it)
/// reaches the overlay on the next build, and the lock file follows it (even with the lock file deleted); in locked mode
/// the same change is RMK1003 and the previous overlay stays byte-identical; a replaced `.dep` changes the resolution;
/// the release files the network boot files take from the folder follow it the same way; after each change a no-op
/// build runs no step. The folders are made with mksquashfs (TinyCoreMirrorBuilder).
/// </summary>
public sealed class MirrorFolderTests
{
    /// <summary>Gives a file an old modification time, as `cp -p`, `tar x`, `wget` or `git checkout` can.</summary>
    private static void DateBack(params string[] paths)
    {
        foreach (var path in paths)
        {
            Tool.Run("touch", ["-d", "2015-01-01 00:00:00", path]).EnsureSuccess("touch -d");
        }
    }

    private static string Entry(string archive, string path) => Tool.Run("tar", "-xzOf", archive, path).EnsureSuccess($"tar -xzOf {path}").StdOut;

    private static string Listing(TestProject p) => Tool.Run("tar", "-tzf", p.Overlay).EnsureSuccess("tar -tzf").StdOut;

    private static string Sha(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    private static JsonElement LockedExtension(TestProject p, string name)
        => JsonDocument.Parse(File.ReadAllText(p["microkernel.lock.json"])).RootElement.GetProperty("extensions").EnumerateArray()
            .Single(e => e.GetProperty("name").GetString() == name);

    /// <summary>A project whose TczMirror is a folder beside it (or that folder as a file:// URL), with extension a, whose
    /// .dep names b, and c (not used yet).</summary>
    private static (TestProject P, TinyCoreMirrorBuilder Mirror) Project(string name, bool fileUrl = false)
    {
        var p = SdkHarness.CreateProject(name);
        var mirror = new TinyCoreMirrorBuilder(p["mirror"]);
        mirror.AddLibrary("a", "b.tcz\n", "a first\n"u8.ToArray());
        mirror.AddLibrary("b", null, "b first\n"u8.ToArray());
        mirror.AddLibrary("c", null, "c first\n"u8.ToArray());
        var location = fileUrl ? new Uri(p["mirror"] + "/").AbsoluteUri : p["mirror"];
        p.WithProject($"""
            <PropertyGroup>
              <TczMirror>{location}</TczMirror>
              <MicrokernelCacheDirectory>cache</MicrokernelCacheDirectory>
            </PropertyGroup>
            <ItemGroup><TczExtension Include="a" /></ItemGroup>
            """);
        return (p, mirror);
    }

    private static string Tcz(TinyCoreMirrorBuilder mirror, string name) => Path.Combine(mirror.TczFolder, name);

    /// <summary>Replaces b.tcz and its .md5.txt (mksquashfs of another library) and dates both back.</summary>
    private static byte[] ReplaceB(TinyCoreMirrorBuilder mirror, string content)
    {
        var bytes = mirror.AddLibrary("b", null, System.Text.Encoding.UTF8.GetBytes(content));
        DateBack(Tcz(mirror, "b.tcz"), Tcz(mirror, "b.tcz.md5.txt"));
        return bytes;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ReplacedTczWithAnOlderDate_ReachesTheOverlay_TheLockFileFollows_AndANoOpBuildRunsNoStep(bool fileUrl)
    {
        var (p, mirror) = Project(fileUrl ? "folder-url" : "folder", fileUrl);
        p.Build().AssertSuccess();
        Assert.Equal("b first\n", Entry(p.Overlay, "usr/local/lib/libb.so"));
        Assert.Empty(p.Build().AssertSuccess().TargetsRun);
        var firstSha = LockedExtension(p, "b.tcz").GetProperty("sha256").GetString();

        var second = ReplaceB(mirror, "b second, with other bytes\n");
        var r = p.Build().AssertSuccess();
        Assert.Contains("RmkExtensionLayers", r.TargetsRun);
        Assert.Contains("RmkPackOverlay", r.TargetsRun);
        Assert.Equal("b second, with other bytes\n", Entry(p.Overlay, "usr/local/lib/libb.so"));
        Assert.Equal(Sha(second), LockedExtension(p, "b.tcz").GetProperty("sha256").GetString());
        // The build says why the lock file changed, naming the folder's file.
        Assert.Contains($"b.tcz changed in the mirror folder ({Tcz(mirror, "b.tcz")})", r.Output);
        Assert.Contains(firstSha!, r.Output);
        Assert.Empty(p.Build().AssertSuccess().TargetsRun);

        // The same without a lock file: the folder, not the cache, decides.
        File.Delete(p["microkernel.lock.json"]);
        var third = ReplaceB(mirror, "b third\n");
        r = p.Build().AssertSuccess();
        Assert.Contains("RmkExtensionLayers", r.TargetsRun);
        Assert.Equal("b third\n", Entry(p.Overlay, "usr/local/lib/libb.so"));
        Assert.Equal(Sha(third), LockedExtension(p, "b.tcz").GetProperty("sha256").GetString());
        Assert.Empty(p.Build().AssertSuccess().TargetsRun);

        // Touched, not changed: the resolution reads the folder again and finds the same bytes; no step runs.
        Tool.Run("touch", [Tcz(mirror, "a.tcz")]).EnsureSuccess("touch");
        Assert.Empty(p.Build().AssertSuccess().TargetsRun);
    }

    [Fact]
    public void LockedMode_AReplacedTcz_IsRMK1003_ThePreviousOutputsStayByteIdentical_UntilAnUnlockedBuildTakesIt()
    {
        var (p, mirror) = Project("folder-locked");
        p.Build().AssertSuccess();
        Assert.Empty(p.Build("-p:MicrokernelLockedMode=true").AssertSuccess().TargetsRun);
        var overlay = File.ReadAllBytes(p.Overlay);
        var lockText = File.ReadAllText(p["microkernel.lock.json"]);
        var layers = Directory.GetFiles(p["obj/Debug/layers"]).Order(StringComparer.Ordinal).ToList();

        var second = ReplaceB(mirror, "b second\n");
        for (var attempt = 0; attempt < 2; attempt++)
        {
            var r = p.Build("-p:MicrokernelLockedMode=true").AssertFailureWith("RMK1003");
            Assert.Contains(Tcz(mirror, "b.tcz"), r.Output);
            Assert.Contains("lock file", r.Output);
            Assert.Contains(Sha(second), r.Output);
            Assert.DoesNotContain("RmkExtensionLayers", r.TargetsRun);
            Assert.Equal(overlay, File.ReadAllBytes(p.Overlay));
            Assert.Equal(lockText, File.ReadAllText(p["microkernel.lock.json"]));
            Assert.Equal(layers, Directory.GetFiles(p["obj/Debug/layers"]).Order(StringComparer.Ordinal));
        }

        // The folder's .tcz replaced without its .md5.txt: the folder contradicts itself, in any mode.
        File.WriteAllBytes(Tcz(mirror, "c.tcz"), File.ReadAllBytes(Tcz(mirror, "b.tcz")));
        File.WriteAllText(p.ProjectFile, File.ReadAllText(p.ProjectFile).Replace("Include=\"a\"", "Include=\"a;c\"", StringComparison.Ordinal));
        var mismatch = p.Build().AssertFailureWith("RMK1003");
        Assert.Contains(Tcz(mirror, "c.tcz"), mismatch.Output);
        Assert.Contains("MD5", mismatch.Output);
        Assert.Equal(overlay, File.ReadAllBytes(p.Overlay));
        File.WriteAllText(p.ProjectFile, File.ReadAllText(p.ProjectFile).Replace("Include=\"a;c\"", "Include=\"a\"", StringComparison.Ordinal));

        // Outside locked mode the change is taken and the lock file follows; then locked mode is satisfied again.
        p.Build().AssertSuccess();
        Assert.Equal("b second\n", Entry(p.Overlay, "usr/local/lib/libb.so"));
        Assert.Empty(p.Build("-p:MicrokernelLockedMode=true").AssertSuccess().TargetsRun);
    }

    [Fact]
    public void ReplacedDep_ChangesTheResolution_LockedModeRefusesIt_AndANoOpBuildAfterRunsNoStep()
    {
        var (p, mirror) = Project("folder-dep");
        p.Build().AssertSuccess();
        Assert.DoesNotContain("usr/local/lib/libc.so", Listing(p));
        var overlay = File.ReadAllBytes(p.Overlay);

        File.WriteAllText(Tcz(mirror, "a.tcz.dep"), "b.tcz\nc.tcz\n");
        DateBack(Tcz(mirror, "a.tcz.dep"));
        var locked = p.Build("-p:MicrokernelLockedMode=true").AssertFailureWith("RMK1020");
        Assert.Contains("c.tcz", locked.Output);
        Assert.Equal(overlay, File.ReadAllBytes(p.Overlay));

        var r = p.Build().AssertSuccess();
        Assert.Contains("RmkExtensionLayers", r.TargetsRun);
        Assert.Contains("RmkBootHookLayer", r.TargetsRun); // c's tce.installed marker and startup script order
        var listing = Listing(p);
        Assert.Contains("usr/local/lib/libc.so", listing);
        Assert.Contains("usr/local/tce.installed/c", listing);
        Assert.Equal(["b.tcz", "c.tcz"], LockedExtension(p, "a.tcz").GetProperty("dependencies").EnumerateArray().Select(d => d.GetString()));
        Assert.Empty(p.Build().AssertSuccess().TargetsRun);

        // A .dep where there was none (b gets one) is seen too.
        File.WriteAllText(Tcz(mirror, "b.tcz.dep"), "c.tcz\n");
        DateBack(Tcz(mirror, "b.tcz.dep"));
        p.Build().AssertSuccess();
        Assert.Equal(["c.tcz"], LockedExtension(p, "b.tcz").GetProperty("dependencies").EnumerateArray().Select(d => d.GetString()));
        Assert.Empty(p.Build().AssertSuccess().TargetsRun);
    }

    /// <summary>The network boot files' kernel and initrd from the folder's release/distribution_files/ (MicrokernelPxe
    /// without a CoreIso): a replaced kernel reaches pxe/, locked mode refuses it first.</summary>
    [Fact]
    public void ReleaseFilesFromAFolder_ReplacedWithAnOlderDate_ReachThePxeFolder_AndLockedModeRefusesThem()
    {
        var p = SdkHarness.CreateProject("folder-release");
        var mirror = new TinyCoreMirrorBuilder(p["mirror"]);
        var root = p["initrd-root"];
        Directory.CreateDirectory(Path.Combine(root, "etc"));
        File.WriteAllText(Path.Combine(root, "etc/version"), "4.5.2\n");
        Tool.Run("sh", ["-c", $"cd {root} && find . | cpio -o -H newc --quiet | gzip -9 -n > {p["core.gz"]}"]).EnsureSuccess("cpio | gzip");
        var kernel = RandomNumberGenerator.GetBytes(40_000);
        mirror.AddReleaseFile("vmlinuz", kernel);
        mirror.AddReleaseFile("core.gz", File.ReadAllBytes(p["core.gz"]));
        p.Write("motd", "m\n");
        p.WithProject($"""
            <PropertyGroup>
              <TczMirror>{p["mirror"]}</TczMirror>
              <MicrokernelCacheDirectory>cache</MicrokernelCacheDirectory>
              <MicrokernelPxe>true</MicrokernelPxe>
            </PropertyGroup>
            <ItemGroup><OverlayFile Include="motd" Destination="/etc/motd" /></ItemGroup>
            """);
        var pxe = Path.Combine(p.OutDir, "pxe");
        p.Build().AssertSuccess();
        Assert.Equal(kernel, File.ReadAllBytes(Path.Combine(pxe, "vmlinuz")));
        Assert.Empty(p.Build().AssertSuccess().TargetsRun);
        var before = Directory.GetFiles(pxe, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).Select(File.ReadAllBytes).ToList();

        var newer = RandomNumberGenerator.GetBytes(40_000);
        mirror.AddReleaseFile("vmlinuz", newer);
        var folderKernel = Path.Combine(mirror.DistributionFilesFolder, "vmlinuz");
        DateBack(folderKernel, folderKernel + ".md5.txt");
        var refused = p.Build("-p:MicrokernelLockedMode=true").AssertFailureWith("RMK1003");
        Assert.Contains(folderKernel, refused.Output);
        Assert.Equal(before, Directory.GetFiles(pxe, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).Select(File.ReadAllBytes));

        var r = p.Build().AssertSuccess();
        Assert.Contains("RmkPxeKernel", r.TargetsRun);
        Assert.Contains("RmkPxe", r.TargetsRun);
        Assert.Equal(newer, File.ReadAllBytes(Path.Combine(pxe, "vmlinuz")));
        Assert.Contains($"vmlinuz changed in the mirror folder ({folderKernel})", r.Output);
        var releaseFiles = JsonDocument.Parse(File.ReadAllText(p["microkernel.lock.json"])).RootElement.GetProperty("releaseFiles").EnumerateArray();
        Assert.Equal(Sha(newer), releaseFiles.Single(f => f.GetProperty("name").GetString() == "vmlinuz").GetProperty("sha256").GetString());
        Tool.Run("sha256sum", ["-c", "--quiet", "SHA256SUMS"], pxe).EnsureSuccess("sha256sum -c");
        Assert.Empty(p.Build().AssertSuccess().TargetsRun);
        Assert.Empty(p.Build("-p:MicrokernelLockedMode=true").AssertSuccess().TargetsRun);
    }
}
