using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Sdk.Tests;

/// <summary>The generated boot hook, run by Debian's static busybox in a chroot of the extracted overlay.</summary>
public class BootHookTests
{
    /// <summary>Extracts the overlay into a fake root, adds busybox and stub ldconfig/depmod/sethostname
    /// that record their calls, runs /opt/bootsync.sh there and returns the calls in order.</summary>
    private static string[] Boot(TestProject p)
    {
        using var root = new TempFolder("rmk-root");
        Tool.Run("tar", "-xzpf", p.Overlay, "-C", root.Path).EnsureSuccess("tar -xzf");
        Directory.CreateDirectory(root["bin"]);
        File.Copy(Tool.Require("busybox"), root["bin/busybox"]);
        File.SetUnixFileMode(root["bin/busybox"], (UnixFileMode)Convert.ToInt32("755", 8));
        File.CreateSymbolicLink(root["bin/sh"], "busybox");
        File.CreateSymbolicLink(root["bin/sleep"], "busybox");
        Directory.CreateDirectory(root["dev"]);
        Tool.Run("mknod", "-m", "666", root["dev/null"], "c", "1", "3").EnsureSuccess("mknod /dev/null");
        foreach (var tool in new[] { "sbin/ldconfig", "sbin/depmod", "usr/bin/sethostname" })
        {
            Directory.CreateDirectory(Path.GetDirectoryName(root[tool])!);
            File.WriteAllText(root[tool], $"#!/bin/sh\necho \"{Path.GetFileName(tool)} $*\" >> /boot.log\n");
            File.SetUnixFileMode(root[tool], (UnixFileMode)Convert.ToInt32("755", 8));
        }

        Directory.CreateDirectory(root["opt"]);
        File.WriteAllText(root["opt/bootlocal.sh"], "#!/bin/sh\necho bootlocal >> /boot.log\n");
        File.SetUnixFileMode(root["opt/bootlocal.sh"], (UnixFileMode)Convert.ToInt32("755", 8));
        var r = Tool.Run("chroot", root.Path, "/bin/sh", "-c", "/bin/sh /opt/bootsync.sh; sleep 1");
        Assert.True(r.ExitCode == 0, $"bootsync.sh failed in the chroot (busybox must be static: Debian busybox-static): {r.StdErr}");
        return File.ReadAllLines(root["boot.log"]);
    }

    [Fact]
    public void BootHook_RunsLdconfigDepmodStartupScriptsAndCommandsInOrder()
    {
        var p = SdkHarness.CreateProject("boot");
        using var mirror = new TempFolder("rmk-localmirror");
        var builder = new TestSupport.Mirror.TinyCoreMirrorBuilder(mirror.Path);
        foreach (var (name, dep) in new[] { ("libfoo", (string?)null), ("foo", "libfoo.tcz"), ("scsi-3.0.21-tinycore", null) })
        {
            var tree = Path.Combine(mirror.Path, "src", name);
            var file = name.StartsWith("scsi", StringComparison.Ordinal) ? "usr/local/lib/modules/3.0.21-tinycore/kernel/sd_mod.ko.gz" : $"usr/local/lib/{name}.so";
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(tree, file))!);
            File.WriteAllText(Path.Combine(tree, file), name);
            if (name != "scsi-3.0.21-tinycore")
            {
                Directory.CreateDirectory(Path.Combine(tree, "usr/local/tce.installed"));
                File.WriteAllText(Path.Combine(tree, "usr/local/tce.installed", name), $"#!/bin/sh\necho \"startup {name}\" >> /boot.log\n");
            }

            builder.AddSquashfs(name + ".tcz", tree, dep);
        }

        // A plain folder in the Tiny Core layout is a mirror too (the offline form).
        p.WithProject($"""
            <PropertyGroup>
              <TczMirror>{mirror.Path}</TczMirror>
              <MicrokernelCacheDirectory>cache</MicrokernelCacheDirectory>
            </PropertyGroup>
            <ItemGroup>
              <TczExtension Include="foo;scsi-KERNEL" />
              <MicrokernelBootCommand Include="echo first-command >> /boot.log" />
              <MicrokernelBootCommand Include="second" Command="echo second-command; echo still-second >> /boot.log" />
            </ItemGroup>
            """);
        p.Build().AssertSuccess();
        Assert.Matches(@"-rwxrwxr-x root/staff .* opt/bootsync\.sh", Tool.Run("tar", "-tvzf", p.Overlay).StdOut);
        var calls = Boot(p);
        Assert.Equal(["sethostname box", "ldconfig ", "depmod -a", "startup libfoo", "startup foo", "first-command", "still-second", "bootlocal"],
            calls.Select(c => c.TrimEnd()).Select(c => c == "ldconfig" ? "ldconfig " : c).ToArray());
    }

    [Fact]
    public void BootHook_WithoutKernelModules_SkipsDepmod()
    {
        var p = SdkHarness.CreateProject("bootnomod");
        using var mirror = new TempFolder("rmk-localmirror");
        var builder = new TestSupport.Mirror.TinyCoreMirrorBuilder(mirror.Path);
        var tree = Path.Combine(mirror.Path, "src", "libfoo");
        Directory.CreateDirectory(Path.Combine(tree, "usr/local/tce.installed"));
        Directory.CreateDirectory(Path.Combine(tree, "usr/local/lib"));
        File.WriteAllText(Path.Combine(tree, "usr/local/lib/libfoo.so"), "libfoo");
        File.WriteAllText(Path.Combine(tree, "usr/local/tce.installed/libfoo"), "#!/bin/sh\necho \"startup libfoo\" >> /boot.log\n");
        builder.AddSquashfs("libfoo.tcz", tree);
        p.WithProject($"""
            <PropertyGroup>
              <TczMirror>{mirror.Path}</TczMirror>
              <MicrokernelCacheDirectory>cache</MicrokernelCacheDirectory>
            </PropertyGroup>
            <ItemGroup><TczExtension Include="libfoo" /></ItemGroup>
            """);
        p.Build().AssertSuccess();
        Assert.DoesNotContain("usr/local/lib/modules", Tool.Run("tar", "-tzf", p.Overlay).StdOut);
        Assert.Equal(["sethostname box", "ldconfig", "startup libfoo", "bootlocal"], Boot(p).Select(c => c.TrimEnd()).ToArray());
    }

    [Fact]
    public void BootCommand_WithALineBreak_IsACodedError()
    {
        var p = SdkHarness.CreateProject("bootbad");
        p.WithProject("<ItemGroup><MicrokernelBootCommand Include=\"x\" Command=\"echo a&#10;rm -rf /\" /></ItemGroup>");
        p.Build().AssertFailureWith("RMK2022");
    }
}
