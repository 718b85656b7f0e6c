using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Sdk.Tests;

/// <summary>
/// Boots the microkernel ISO. The stand-in "Core" release is built from Debian packages: the kernel of
/// linux-image-amd64, a busybox-static initramfs as core.gz whose /init prints facts of the overlay to the
/// serial console and powers off, isolinux.bin and ldlinux.c32 of isolinux. The SDK builds the ISO from it
/// and qemu-system-x86_64 boots that under software emulation (<see cref="Qemu"/>), in both initrd modes, from the
/// CD and, with the isohybrid MBR, as a hard disk.
/// </summary>
public sealed class BootTests
{
    private const string Init = """
        #!/bin/busybox sh
        /bin/busybox mkdir -p /proc /sys /sbin /usr/bin /usr/sbin
        /bin/busybox --install -s
        mount -t proc proc /proc
        echo RMK-BEGIN
        for w in $(cat /proc/cmdline); do case $w in rmk.*) echo "arg: $w";; esac; done
        grep -E '^(connector|plugin.stomp.host|identity|loglevel) ' /usr/local/etc/mcollective/server.cfg | sed 's/^/cfg: /'
        echo "link: /usr/local/mcollective -> $(readlink /usr/local/mcollective)"
        echo "link: /usr/local/sbin/mcollectived -> $(readlink /usr/local/sbin/mcollectived)"
        echo "exec: $(stat -c '%a' /usr/local/tce.installed/mcollective-1.2.1/mcollectived.rb)"
        grep -E 's.name = |s.version = ' /usr/local/lib/ruby/gems/1.8/specifications/daemons-1.1.4.gemspec | sed 's/^ */gemspec: /'
        echo "release: $(cat /etc/version)"
        echo "tmp: $(stat -c '%a %u:%g' /tmp)"
        echo "home: $(stat -c '%a %u:%g' /home/tc)"
        echo RMK-END
        poweroff -f
        """;

    private static string Kernel()
    {
        var kernels = Directory.Exists("/boot") ? Directory.GetFiles("/boot", "vmlinuz-*") : [];
        Assert.True(kernels.Length > 0, "no kernel in /boot: the boot test needs Debian's linux-image-amd64 (build/test.sh installs it)");
        return kernels.Order(StringComparer.Ordinal).Last();
    }

    /// <summary>The stand-in Core-4.5.2.iso, made with xorriso as Razor's mkisofs line did.</summary>
    private static void MakeCoreIso(TestProject p)
    {
        Tool.Require("qemu-system-x86_64");
        var root = p["core-root"];
        foreach (var d in new[] { "bin", "etc", "tmp", "home/tc", "dev" })
        {
            Directory.CreateDirectory(Path.Combine(root, d));
        }

        File.Copy("/bin/busybox", Path.Combine(root, "bin/busybox"));
        File.WriteAllText(Path.Combine(root, "init"), Init.Replace("\r\n", "\n", StringComparison.Ordinal) + "\n");
        File.WriteAllText(Path.Combine(root, "etc/version"), "4.5.2\n");
        Tool.Run("chmod", "755", Path.Combine(root, "init"), Path.Combine(root, "bin/busybox")).EnsureSuccess("chmod");
        Tool.Run("chmod", "1777", Path.Combine(root, "tmp")).EnsureSuccess("chmod");
        Tool.Run("chown", "1001:50", Path.Combine(root, "home/tc")).EnsureSuccess("chown");
        var tree = p["core-tree"];
        Directory.CreateDirectory(Path.Combine(tree, "boot/isolinux"));
        Tool.Run("sh", ["-c", $"cd {root} && find . | sort | cpio -o -H newc --quiet | gzip -9 -n > {tree}/boot/core.gz"]).EnsureSuccess("cpio | gzip");
        File.Copy(Kernel(), Path.Combine(tree, "boot/vmlinuz"));
        File.Copy("/usr/lib/ISOLINUX/isolinux.bin", Path.Combine(tree, "boot/isolinux/isolinux.bin"));
        File.Copy("/usr/lib/syslinux/modules/bios/ldlinux.c32", Path.Combine(tree, "boot/isolinux/ldlinux.c32"));
        File.WriteAllText(Path.Combine(tree, "boot/isolinux/isolinux.cfg"),
            "serial 0 115200\ndefault microcore\nprompt 0\ntimeout 1\nlabel microcore\n  kernel /boot/vmlinuz\n  append initrd=/boot/core.gz console=ttyS0 quiet\n");
        Tool.Run("xorriso", "-as", "mkisofs", "-quiet", "-l", "-J", "-R", "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table",
            "-b", "boot/isolinux/isolinux.bin", "-c", "boot/isolinux/boot.cat", "-o", p["Core-4.5.2.iso"], tree).EnsureSuccess("xorriso -as mkisofs");
    }

    private static TestProject Project(string name, string properties)
    {
        var p = SdkHarness.CreateProject(name);
        MakeCoreIso(p);
        p.Write("mcollective-1.2.1.tgz", TestArchives.Tgz(
            TestArchives.Dir("mcollective-1.2.1/"),
            TestArchives.File("mcollective-1.2.1/mcollectived.rb", "#!/usr/bin/env ruby\n", 0x1A4),
            TestArchives.File("mcollective-1.2.1/etc/server.cfg.dist", "topicprefix = /topic/\n")));
        GemTests.BuildGem(p, "daemons", "1.1.4", executable: true);
        p.WithProject($"""
            <PropertyGroup>
              <MicrokernelVersion>0.9.3</MicrokernelVersion>
              <MicrokernelKernelArgs>rmk.marker=booted rmk.flavor=dev</MicrokernelKernelArgs>
              <McollectiveStompHost>razor-server.example</McollectiveStompHost>
              <McollectiveLogLevel>debug</McollectiveLogLevel>
              {properties}
            </PropertyGroup>
            <ItemGroup>
              <CoreIso Include="Core-4.5.2.iso" />
              <McollectiveArchive Include="mcollective-1.2.1.tgz" />
              <Gem Include="gems/*.gem" />
              <!-- Link mode puts files below /tmp, which must keep the release's 1777 -->
              <OverlayFile Include="mcollective-1.2.1.tgz" Destination="/tmp/tcloop/stash/mco.tgz" />
            </ItemGroup>
            """);
        return p;
    }

    private static readonly Dictionary<string, string?> Secrets = new()
    {
        ["MCOLLECTIVE_PSK"] = "boot-test-psk",
        ["MCOLLECTIVE_STOMP_PASSWORD"] = "boot-test-password",
    };

    /// <summary>Boots <paramref name="image"/> and returns what /init printed between the markers.</summary>
    private static string Boot(string image, bool asDisk) => Qemu.Boot(asDisk ? Qemu.Disk(image) : Qemu.Cdrom(image));

    private static void AssertFacts(string facts)
    {
        Assert.Contains("arg: rmk.marker=booted\n", facts);
        Assert.Contains("arg: rmk.flavor=dev\n", facts);
        Assert.Contains("cfg: connector = stomp\n", facts);
        Assert.Contains("cfg: plugin.stomp.host = razor-server.example\n", facts);
        Assert.Contains("cfg: loglevel = debug\n", facts);
        Assert.Contains("link: /usr/local/mcollective -> /usr/local/tce.installed/mcollective-1.2.1\n", facts);
        Assert.Contains("link: /usr/local/sbin/mcollectived -> /usr/local/mcollective/mcollectived.rb\n", facts);
        Assert.Contains("exec: 755\n", facts);
        Assert.Contains("gemspec: s.name = \"daemons\"\n", facts);
        Assert.Contains("release: 4.5.2\n", facts);
        Assert.Contains("tmp: 1777 0:0\n", facts);
        Assert.Contains("home: 755 1001:50\n", facts);
        Assert.DoesNotContain("No such file", facts);
    }

    [Fact]
    public void Boot_AppendMode_FromCd_PrintsTheOverlayFacts()
    {
        var p = Project("boot-append", "");
        p.Run("build", environment: Secrets).AssertSuccess();
        AssertFacts(Boot(Path.Combine(p.OutDir, "rz_mk_dev-image.0.9.3.iso"), asDisk: false));
    }

    [Fact]
    public void Boot_MergeMode_Hybrid_FromCdAndAsDisk_PrintsTheSameFacts()
    {
        var p = Project("boot-merge", "<MicrokernelInitrdMode>Merge</MicrokernelInitrdMode><MicrokernelIsoHybrid>true</MicrokernelIsoHybrid>");
        p.Run("build", environment: Secrets).AssertSuccess();
        var iso = Path.Combine(p.OutDir, "rz_mk_dev-image.0.9.3.iso");
        var cd = Boot(iso, asDisk: false);
        AssertFacts(cd);
        Assert.Equal(cd, Boot(iso, asDisk: true));
    }
}
