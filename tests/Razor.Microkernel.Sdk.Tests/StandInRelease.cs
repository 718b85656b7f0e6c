using Razor.Microkernel.TestSupport;
using Razor.Microkernel.TestSupport.Mirror;

namespace Razor.Microkernel.Sdk.Tests;

/// <summary>
/// A stand-in Tiny Core 17.x x86_64 release, made once per test run from Debian packages (no real Tiny Core release is
/// reachable from here): linux-image-amd64's kernel as <c>vmlinuz64</c>, and a <c>corepure64.gz</c> (a gzip'd newc cpio
/// made by GNU cpio) with busybox-static and an <c>/init</c> that, like Tiny Core's <c>tc-config</c>, runs
/// <c>/opt/bootsync.sh</c>, then prints what the test checks between RMK-BEGIN and RMK-END on the serial console and
/// powers off. Like Tiny Core's base it has <c>/usr/bin/sethostname</c>, <c>/opt/bootlocal.sh</c> and the release's own
/// <c>/opt/bootsync.sh</c>; where Tiny Core's base links <c>/lib/modules/KERNEL/kernel.tclocal</c> to the extensions' modules
/// (<c>/usr/local/lib/modules/KERNEL/kernel</c>) and its depmod follows that link, Debian's busybox depmod (which its shell
/// runs as a built-in applet, whatever is on PATH) does not follow links below the modules folder, so the stand-in
/// links <c>/lib/modules</c> itself to <c>/usr/local/lib/modules</c>. Also a CorePure64-style ISO of both (xorriso, isolinux) and two x86_64 extensions:
/// <c>rmk-netconf.tcz</c> (a file and a startup script) and the kernel-module extension <c>rmk-dummy-KERNEL.tcz</c>
/// (Debian's <c>dummy.ko</c>, gzip'd as Tiny Core ships modules, under <c>usr/local/lib/modules/KERNEL/kernel/</c> like
/// the real <c>scsi-6.1.2-tinycore64.tcz</c>) whose <c>.dep</c> names <c>rmk-netconf.tcz</c>; and <c>rmk-drivers.tcz</c>,
/// empty, whose <c>.dep</c> names <c>rmk-dummy-KERNEL.tcz</c>.
/// </summary>
internal sealed class StandInRelease
{
    public const string Version = "17.x";
    public const string Arch = "x86_64";
    public const string KernelName = "vmlinuz64";
    public const string InitrdName = "corepure64.gz";
    public const string IsoName = "CorePure64-current.iso";

    private static readonly Lazy<StandInRelease> Instance = new(() => new StandInRelease(), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>tc-config's part: mount, run bootsync.sh (extended by the microkernel's boot hook); then the report.</summary>
    private const string Init = """
        #!/bin/busybox sh
        /bin/busybox mkdir -p /proc /sys /dev /sbin /usr/bin /usr/sbin
        /bin/busybox --install -s
        mount -t proc proc /proc
        mount -t sysfs sysfs /sys
        mount -t devtmpfs devtmpfs /dev
        echo RMK-BEGIN
        echo "release: $(cat /etc/version) $(uname -r)"
        /opt/bootsync.sh
        echo "marker: $(cat /etc/rmk-marker)"
        grep -E '^(plugin.stomp.host|loglevel) ' /usr/local/etc/mcollective/server.cfg | sed 's/^/cfg: /'
        for w in $(cat /proc/cmdline); do case $w in rmk.*) echo "arg: $w";; esac; done
        echo "module: $(ls -d /sys/module/dummy 2>&1)"
        echo "tmp: $(stat -c '%a' /tmp)"
        echo RMK-END
        poweroff -f
        """;

    private const string BootSync = "#!/bin/sh\n# put other system startup commands here, the boot process will wait until they complete.\n" +
        "# Use bootlocal.sh for system startup commands that can run in the background \n# and therefore not slow down the boot process.\n" +
        "/usr/bin/sethostname box\n/opt/bootlocal.sh &\n";

    private StandInRelease()
    {
        Tool.Require("cpio");
        Tool.Require("xorriso");
        Folder = Path.Combine(SdkHarness.Sdk.RunFolder, "standin-17.x-x86_64");
        if (Directory.Exists(Folder))
        {
            Directory.Delete(Folder, recursive: true);
        }

        var debianKernel = DebianKernel();
        KernelVersion = Path.GetFileName(debianKernel)["vmlinuz-".Length..];
        Directory.CreateDirectory(Folder);
        Kernel = Path.Combine(Folder, KernelName);
        File.Copy(debianKernel, Kernel);

        // corepure64.gz
        var root = Path.Combine(Folder, "root");
        foreach (var d in new[] { "bin", "sbin", "etc", "opt", "tmp", "dev", "proc", "sys", "usr/bin", "lib" })
        {
            Directory.CreateDirectory(Path.Combine(root, d));
        }

        File.Copy("/bin/busybox", Path.Combine(root, "bin/busybox"));
        Write(root, "init", Init, "755");
        Write(root, "usr/bin/sethostname", "#!/bin/sh\nhostname \"$1\"\n", "755");
        Write(root, "opt/bootsync.sh", BootSync, "775");
        Write(root, "opt/bootlocal.sh", "#!/bin/sh\n", "775");
        Write(root, "etc/version", "17.0\n", "644");
        File.CreateSymbolicLink(Path.Combine(root, "lib/modules"), "/usr/local/lib/modules");
        Tool.Run("chmod", "755", Path.Combine(root, "bin/busybox")).EnsureSuccess("chmod");
        Tool.Run("chmod", "1777", Path.Combine(root, "tmp")).EnsureSuccess("chmod");
        Initrd = Path.Combine(Folder, InitrdName);
        Tool.Run("sh", ["-c", $"cd '{root}' && find . | sort | cpio -o -H newc -R +0:+0 --quiet | gzip -9 -n > '{Initrd}'"]).EnsureSuccess("cpio | gzip");

        // The CorePure64-style ISO.
        var tree = Path.Combine(Folder, "iso-tree");
        Directory.CreateDirectory(Path.Combine(tree, "boot/isolinux"));
        File.Copy(Kernel, Path.Combine(tree, "boot", KernelName));
        File.Copy(Initrd, Path.Combine(tree, "boot", InitrdName));
        File.Copy("/usr/lib/ISOLINUX/isolinux.bin", Path.Combine(tree, "boot/isolinux/isolinux.bin"));
        File.Copy("/usr/lib/syslinux/modules/bios/ldlinux.c32", Path.Combine(tree, "boot/isolinux/ldlinux.c32"));
        File.WriteAllText(Path.Combine(tree, "boot/isolinux/isolinux.cfg"),
            $"serial 0 115200\ndefault microcore\nprompt 0\ntimeout 1\nlabel microcore\n  kernel /boot/{KernelName}\n  append initrd=/boot/{InitrdName} console=ttyS0 quiet\n");
        Iso = Path.Combine(Folder, IsoName);
        Tool.Run("xorriso", "-as", "mkisofs", "-quiet", "-l", "-J", "-R", "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table",
            "-b", "boot/isolinux/isolinux.bin", "-c", "boot/isolinux/boot.cat", "-o", Iso, tree).EnsureSuccess("xorriso -as mkisofs");

        // The extensions' trees.
        Netconf = Path.Combine(Folder, "ext/rmk-netconf");
        Write(Netconf, "usr/local/etc/rmk-netconf.conf", "iface=eth0\n", "644");
        Write(Netconf, "usr/local/tce.installed/rmk-netconf", "#!/bin/sh\necho \"setup: rmk-netconf $(cat /usr/local/etc/rmk-netconf.conf)\"\n", "755");
        DummyModule = Path.Combine(Folder, "ext/rmk-dummy");
        var module = Path.Combine(DummyModule, $"usr/local/lib/modules/{KernelVersion}/kernel/drivers/net/dummy.ko.gz");
        Directory.CreateDirectory(Path.GetDirectoryName(module)!);
        var debianModule = $"/lib/modules/{KernelVersion}/kernel/drivers/net/dummy.ko";
        Assert.True(File.Exists(debianModule), $"no {debianModule}: the stand-in's module extension needs the modules of linux-image-amd64's kernel");
        Tool.Run("sh", ["-c", $"gzip -9 -n -c '{debianModule}' > '{module}'"]).EnsureSuccess("gzip");
        Drivers = Path.Combine(Folder, "ext/rmk-drivers");
        Write(Drivers, "usr/local/share/doc/rmk-drivers/README", "meta extension\n", "644");
    }

    public static StandInRelease Get() => Instance.Value;

    public string Folder { get; }

    /// <summary>What <c>uname -r</c> prints on the stand-in (Debian's kernel: 6.1.0-…-amd64).</summary>
    public string KernelVersion { get; }

    public string Kernel { get; }

    public string Initrd { get; }

    public string Iso { get; }

    public string Netconf { get; }

    public string DummyModule { get; }

    public string Drivers { get; }

    /// <summary>The module extension's name on the mirror.</summary>
    public string DummyExtension => $"rmk-dummy-{KernelVersion}.tcz";

    /// <summary>Puts the release in the mirror's 17.x/x86_64/ layout: distribution files with .md5.txt, the ISO under
    /// release/, the extensions (mksquashfs) in tcz/.</summary>
    public void Populate(TinyCoreMirrorBuilder builder)
    {
        builder.AddReleaseFile(KernelName, File.ReadAllBytes(Kernel));
        builder.AddReleaseFile(InitrdName, File.ReadAllBytes(Initrd));
        File.Copy(Iso, Path.Combine(builder.ReleaseFolder, IsoName));
        builder.AddSquashfs("rmk-netconf.tcz", Netconf);
        builder.AddSquashfs(DummyExtension, DummyModule, "rmk-netconf.tcz\n");
        builder.AddSquashfs("rmk-drivers.tcz", Drivers, "rmk-dummy-KERNEL.tcz\n");
    }

    /// <summary>Debian's installed kernel (linux-image-amd64), the newest in /boot.</summary>
    internal static string DebianKernel()
    {
        var kernels = Directory.Exists("/boot") ? Directory.GetFiles("/boot", "vmlinuz-*") : [];
        Assert.True(kernels.Length > 0, "no kernel in /boot: the stand-in release needs Debian's linux-image-amd64 (build/test.sh installs it)");
        return kernels.Order(StringComparer.Ordinal).Last();
    }

    /// <summary>A text file with LF line ends, a final newline and the given octal mode.</summary>
    internal static void Write(string root, string relative, string content, string mode)
    {
        var path = Path.Combine(root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content.Replace("\r\n", "\n", StringComparison.Ordinal) + (content.EndsWith('\n') ? "" : "\n"));
        File.SetUnixFileMode(path, (UnixFileMode)Convert.ToInt32(mode, 8));
    }
}
