using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Sdk.Tests;

/// <summary>
/// Stand-in Tiny Core 17.x x86_64 release ISOs for the UEFI tests, made once per test run from Debian packages with
/// the tools release builders use: linux-image-amd64's x86_64 kernel as <c>vmlinuz64</c>, a <c>corepure64.gz</c> of busybox-static whose <c>/init</c> (like Tiny Core's
/// tc-config) runs <c>/opt/bootsync.sh</c> — which the microkernel's boot hook extends — and then prints, between
/// RMK-BEGIN and RMK-END on the serial console, the firmware it was booted by (<c>/sys/firmware/efi</c>), the
/// overlay's marker, server.cfg settings and the <c>rmk.*</c> kernel arguments, and powers off. Two ISOs (xorriso,
/// isolinux): one BIOS-only, and one laid out as TinyCorePure64 boots UEFI — <c>/EFI/BOOT/efiboot.img</c> (mkfs.vfat,
/// mcopy) holding a GRUB made with <c>grub-mkimage -p /EFI/BOOT/grub</c> as <c>EFI/BOOT/BOOTX64.EFI</c>, its menu in
/// <c>/EFI/BOOT/grub/grub.cfg</c> on the ISO, as a second El Torito entry (<c>-eltorito-alt-boot -e</c>). Also the
/// EfiLoader a project supplies, made as docs/howto.md says (grub-mkstandalone).
/// </summary>
internal sealed class EfiStandIn
{
    /// <summary>The stand-ins are Tiny Core 17.x x86_64 releases (TinyCorePure64 and CorePure64 are x86_64 ISOs).</summary>
    public const string Properties = "<TinyCoreVersion>17.x</TinyCoreVersion><TinyCoreArch>x86_64</TinyCoreArch>";
    public const string KernelPath = "boot/vmlinuz64";
    public const string InitrdPath = "boot/corepure64.gz";

    private static readonly Lazy<EfiStandIn> Instance = new(() => new EfiStandIn(), LazyThreadSafetyMode.ExecutionAndPublication);

    private const string Init = """
        #!/bin/busybox sh
        /bin/busybox mkdir -p /proc /sys /sbin /usr/sbin
        /bin/busybox --install -s
        mount -t proc proc /proc
        mount -t sysfs sysfs /sys
        echo RMK-BEGIN
        if [ -d /sys/firmware/efi ]; then echo "firmware: uefi"; else echo "firmware: bios"; fi
        /opt/bootsync.sh
        echo "marker: $(cat /etc/rmk-marker)"
        grep -E '^(plugin.stomp.host|loglevel) ' /usr/local/etc/mcollective/server.cfg | sed 's/^/cfg: /'
        for w in $(cat /proc/cmdline); do case $w in rmk.*) echo "arg: $w";; esac; done
        echo "tmp: $(stat -c '%a' /tmp)"
        echo RMK-END
        poweroff -f
        """;

    /// <summary>The release's own UEFI menu, on the ISO where TinyCorePure64 keeps it.</summary>
    public const string ReleaseGrubCfg = """
        set default=0
        set timeout=0
        menuentry "Boot the stand-in" {
            linux /boot/vmlinuz64 console=ttyS0 quiet
            initrd /boot/corepure64.gz
        }

        """;

    private EfiStandIn()
    {
        Tool.Require("xorriso");
        Tool.Require("cpio");
        Folder = Path.Combine(SdkHarness.Sdk.RunFolder, "efi-standin");
        if (Directory.Exists(Folder))
        {
            Directory.Delete(Folder, recursive: true);
        }

        Directory.CreateDirectory(Folder);
        var root = Path.Combine(Folder, "root");
        foreach (var d in new[] { "bin", "etc", "opt", "tmp", "usr/bin", "home/tc" })
        {
            Directory.CreateDirectory(Path.Combine(root, d));
        }

        File.Copy("/bin/busybox", Path.Combine(root, "bin/busybox"));
        StandInRelease.Write(root, "init", Init, "755");
        StandInRelease.Write(root, "usr/bin/sethostname", "#!/bin/sh\nhostname \"$1\"\n", "755");
        StandInRelease.Write(root, "opt/bootsync.sh", "#!/bin/sh\n/usr/bin/sethostname box\n/opt/bootlocal.sh &\n", "775");
        StandInRelease.Write(root, "opt/bootlocal.sh", "#!/bin/sh\n", "775");
        StandInRelease.Write(root, "etc/version", "17.0\n", "644");
        Tool.Run("chmod", "755", Path.Combine(root, "bin/busybox")).EnsureSuccess("chmod");
        Tool.Run("chmod", "1777", Path.Combine(root, "tmp")).EnsureSuccess("chmod");

        Loader = Path.Combine(Folder, "loader/BOOTX64.EFI");
        Directory.CreateDirectory(Path.GetDirectoryName(Loader)!);
        StandInRelease.Write(Folder, "loader/embed.cfg", "configfile $cmdpath/grub.cfg\n", "644");
        Tool.Run("grub-mkstandalone", "-O", "x86_64-efi", "--locales=", "--fonts=", "--themes=", "-o", Loader,
            "boot/grub/grub.cfg=" + Path.Combine(Folder, "loader/embed.cfg")).EnsureSuccess("grub-mkstandalone (Debian: grub-common, grub-efi-amd64-bin)");

        foreach (var efi in new[] { false, true })
        {
            var tree = Path.Combine(Folder, efi ? "tree-efi" : "tree-bios");
            Directory.CreateDirectory(Path.Combine(tree, "boot/isolinux"));
            Tool.Run("sh", ["-c", $"cd '{root}' && find . | sort | cpio -o -H newc -R +0:+0 --quiet | gzip -9 -n > '{tree}/{InitrdPath}'"]).EnsureSuccess("cpio | gzip");
            File.Copy(StandInRelease.DebianKernel(), Path.Combine(tree, KernelPath));
            File.Copy("/usr/lib/ISOLINUX/isolinux.bin", Path.Combine(tree, "boot/isolinux/isolinux.bin"));
            File.Copy("/usr/lib/syslinux/modules/bios/ldlinux.c32", Path.Combine(tree, "boot/isolinux/ldlinux.c32"));
            File.WriteAllText(Path.Combine(tree, "boot/isolinux/isolinux.cfg"),
                $"serial 0 115200\ndefault microcore\nprompt 0\ntimeout 1\nlabel microcore\n  kernel /{KernelPath}\n  append initrd=/{InitrdPath} console=ttyS0 quiet\n");
            var args = new List<string> { "-as", "mkisofs", "-quiet", "-l", "-J", "-R", "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table",
                "-b", "boot/isolinux/isolinux.bin", "-c", "boot/isolinux/boot.cat" };
            if (efi)
            {
                MakeReleaseEfi(tree);
                args.AddRange(["-eltorito-alt-boot", "-e", "EFI/BOOT/efiboot.img", "-no-emul-boot"]);
            }

            var iso = Path.Combine(Folder, efi ? "TinyCorePure64-like.iso" : "CorePure64-like.iso");
            Tool.Run("xorriso", [.. args, "-o", iso, tree]).EnsureSuccess("xorriso -as mkisofs");
            if (efi)
            {
                EfiIso = iso;
                EfiTree = tree;
            }
            else
            {
                BiosIso = iso;
            }
        }
    }

    public static EfiStandIn Get() => Instance.Value;

    public string Folder { get; }

    /// <summary>The release ISO without a UEFI boot entry.</summary>
    public string BiosIso { get; } = "";

    /// <summary>The release ISO with its own EFI image (TinyCorePure64's layout).</summary>
    public string EfiIso { get; } = "";

    /// <summary>The EFI ISO's tree, to make variants of it.</summary>
    public string EfiTree { get; } = "";

    /// <summary>The project's EfiLoader: a standalone GRUB that reads <c>$cmdpath/grub.cfg</c>.</summary>
    public string Loader { get; }

    /// <summary>The release's EFI image and menu, as a release builder makes them: grub-mkimage with the modules the
    /// menu needs and its prefix on the CD, mkfs.vfat and mcopy.</summary>
    private static void MakeReleaseEfi(string tree)
    {
        var boot = Path.Combine(tree, "EFI/BOOT");
        Directory.CreateDirectory(Path.Combine(boot, "grub"));
        File.WriteAllText(Path.Combine(boot, "grub/grub.cfg"), ReleaseGrubCfg.Replace("\r\n", "\n", StringComparison.Ordinal));
        var grub = Path.Combine(tree, "..", "release-bootx64.efi");
        Tool.Run("grub-mkimage", "-O", "x86_64-efi", "-p", "/EFI/BOOT/grub", "-o", grub,
            "normal", "configfile", "linux", "iso9660", "fat", "part_msdos", "part_gpt", "search", "echo", "test").EnsureSuccess("grub-mkimage");
        var image = Path.Combine(boot, "efiboot.img");
        Tool.Run("mkfs.vfat", "-n", "TCEFI", "-i", "7c0ffee1", "-C", image, "2048").EnsureSuccess("mkfs.vfat");
        var env = new Dictionary<string, string?> { ["MTOOLS_SKIP_CHECK"] = "1" };
        Tool.Run("mmd", ["-i", image, "::EFI", "::EFI/BOOT"], environment: env).EnsureSuccess("mmd");
        Tool.Run("mcopy", ["-i", image, grub, "::EFI/BOOT/BOOTX64.EFI"], environment: env).EnsureSuccess("mcopy");
        File.Delete(grub);
    }

    /// <summary>A variant of the EFI release ISO: <paramref name="change"/> edits a copy of its tree.</summary>
    public string Variant(string path, Action<string> change)
    {
        var tree = path + ".tree";
        Tool.Run("cp", "-a", EfiTree, tree).EnsureSuccess("cp -a");
        change(tree);
        Tool.Run("xorriso", "-as", "mkisofs", "-quiet", "-l", "-J", "-R", "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table",
            "-b", "boot/isolinux/isolinux.bin", "-c", "boot/isolinux/boot.cat", "-eltorito-alt-boot", "-e", "EFI/BOOT/efiboot.img", "-no-emul-boot",
            "-o", path, tree).EnsureSuccess("xorriso -as mkisofs");
        return path;
    }
}
