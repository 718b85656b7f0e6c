using System.Text;
using Razor.Microkernel.Formats.Efi;
using Razor.Microkernel.Formats.Fat;
using Razor.Microkernel.Formats.Iso9660;
using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Formats.Tests.Efi;

/// <summary>The two UEFI routes over release ISOs made as release builders make them (mkfs.vfat and mcopy for the
/// EFI image, xorriso for the ISO): what each adds to the ISO and what it refuses.</summary>
public sealed class MicrokernelEfiTests(GrubLoader grub) : IClassFixture<GrubLoader>
{
    private const string IsoGrubCfg = "set timeout=3\nmenuentry \"Boot TinyCorePure64\" {\n  linux /boot/vmlinuz64 loglevel=3\n  initrd /boot/corepure64.gz\n}\n";
    private const string ImageGrubCfg = "search --file --set=root /boot/vmlinuz64\nconfigfile /EFI/BOOT/grub/grub.cfg\nlinux /boot/vmlinuz64 fallback\n";

    /// <summary>A TinyCorePure64-like ISO: /EFI/BOOT/efiboot.img (FAT: EFI/BOOT/BOOTX64.EFI and, when given, a grub.cfg)
    /// as the El Torito EFI entry, and /EFI/BOOT/grub/grub.cfg on the ISO.</summary>
    private string Release(TempFolder tmp, string? imageCfg = ImageGrubCfg, string? isoCfg = IsoGrubCfg, byte[]? image = null)
    {
        var tree = tmp["tree"];
        tmp.Write("tree/boot/vmlinuz64", Encoding.ASCII.GetBytes("kernel"));
        tmp.Write("tree/boot/corepure64.gz", Encoding.ASCII.GetBytes("initrd"));
        tmp.Write("tree/boot/isolinux/isolinux.bin", File.ReadAllBytes("/usr/lib/ISOLINUX/isolinux.bin"));
        if (isoCfg is not null)
        {
            tmp.Write("tree/EFI/BOOT/grub/grub.cfg", isoCfg);
        }

        var efi = tmp["tree/EFI/BOOT/efiboot.img"];
        Directory.CreateDirectory(tmp["tree/EFI/BOOT"]);
        if (image is not null)
        {
            File.WriteAllBytes(efi, image);
        }
        else
        {
            Tool.Run("mkfs.vfat", "-n", "TCEFI", "-i", "0badcafe", "-C", efi, "4096").EnsureSuccess("mkfs.vfat");
            Mtools("mmd", "-i", efi, "::EFI", "::EFI/BOOT");
            Mtools("mcopy", "-i", efi, grub.Path, "::EFI/BOOT/BOOTX64.EFI");
            if (imageCfg is not null)
            {
                Mtools("mcopy", "-i", efi, tmp.Write("image.cfg", imageCfg), "::EFI/BOOT/grub.cfg");
            }
        }

        var iso = tmp["TinyCorePure64.iso"];
        Tool.Run("xorriso", "-as", "mkisofs", "-quiet", "-R", "-J", "-b", "boot/isolinux/isolinux.bin", "-c", "boot/isolinux/boot.cat", "-no-emul-boot",
            "-boot-load-size", "4", "-boot-info-table", "-eltorito-alt-boot", "-e", "EFI/BOOT/efiboot.img", "-no-emul-boot", "-o", iso, tree).EnsureSuccess("xorriso");
        return iso;
    }

    private static void Mtools(string tool, params string[] args)
        => Tool.Run(tool, args, environment: new Dictionary<string, string?> { ["MTOOLS_SKIP_CHECK"] = "1" }).EnsureSuccess(tool);

    private static MicrokernelEfiOptions Options(TempFolder tmp, string args, string? loader = null) => new()
    {
        LoaderPath = loader,
        KernelArgs = args,
        KernelPath = "boot/vmlinuz64",
        InitrdPath = "boot/corepure64.gz",
        Version = "1.2.3",
        Identity = "1.2.3 kernel-sha initrd-sha",
        TemporaryDirectory = tmp["tmp"],
    };

    private static byte[] Content(IsoWriterEntry e)
    {
        using var s = e.OpenContent!();
        using var m = new MemoryStream();
        s.CopyTo(m);
        return m.ToArray();
    }

    [Fact]
    public void ReleaseRoute_GivesEveryGrubCfgTheArguments_AndRewritesTheImageKeepingTheRest()
    {
        using var tmp = new TempFolder("efirel");
        using var release = IsoReader.Open(Release(tmp));
        using var plan = MicrokernelEfi.Plan(release, Options(tmp, "rmk.a=1 console=ttyS0"));
        Assert.Equal(EfiRoute.Release, plan.Route);
        Assert.Equal("EFI/BOOT/efiboot.img", plan.BootImagePath);
        Assert.Equal(["/EFI/BOOT/efiboot.img:EFI/BOOT/grub.cfg", "/EFI/BOOT/grub/grub.cfg"], plan.Configs);
        var isoCfg = Encoding.UTF8.GetString(Content(plan.Entries.Single(e => e.Path == "EFI/BOOT/grub/grub.cfg")));
        Assert.Contains("  linux /boot/vmlinuz64 loglevel=3 rmk.a=1 console=ttyS0\n", isoCfg);

        using var image = FatImage.Open(new MemoryStream(Content(plan.Entries.Single(e => e.Path == "EFI/BOOT/efiboot.img"))));
        Assert.Equal("TCEFI", image.VolumeLabel);
        Assert.Equal(0x0BADCAFEu, image.VolumeSerial);
        using (var loader = image.OpenRead(image.Find("EFI/BOOT/BOOTX64.EFI")!))
        using (var copy = new MemoryStream())
        {
            loader.CopyTo(copy);
            Assert.Equal(grub.Bytes, copy.ToArray());
        }

        using var cfg = new StreamReader(image.OpenRead(image.Find("EFI/BOOT/grub.cfg")!));
        Assert.Equal(ImageGrubCfg.Replace("fallback", "fallback rmk.a=1 console=ttyS0", StringComparison.Ordinal), cfg.ReadToEnd());
        Assert.True(plan.Replaces("EFI/BOOT/efiboot.img"));
        Assert.False(plan.Replaces("boot/vmlinuz64"));
    }

    [Fact]
    public void ReleaseRoute_WithoutArguments_KeepsTheReleasesFiles()
    {
        using var tmp = new TempFolder("efirel");
        using var release = IsoReader.Open(Release(tmp));
        using var plan = MicrokernelEfi.Plan(release, Options(tmp, ""));
        Assert.Equal(EfiRoute.Release, plan.Route);
        Assert.Equal("EFI/BOOT/efiboot.img", plan.BootImagePath);
        Assert.Empty(plan.Entries);
        Assert.Empty(plan.Configs);
    }

    [Fact]
    public void ReleaseRoute_Refuses_AnImageThatIsNotFat_AndConfigurationsItCannotEdit()
    {
        using (var tmp = new TempFolder("efirel"))
        using (var release = IsoReader.Open(Release(tmp, image: new byte[64 * 1024])))
        {
            var e = Assert.Throws<EfiBootException>(() => MicrokernelEfi.Plan(release, Options(tmp, "x=1")));
            Assert.Equal(EfiBootProblem.ReleaseImageNotFat, e.Problem);
            Assert.Equal("/EFI/BOOT/efiboot.img", e.File);
            Assert.Contains("0x55AA", e.Reason);
        }

        using (var tmp = new TempFolder("efirel"))
        using (var release = IsoReader.Open(Release(tmp, imageCfg: "configfile /EFI/BOOT/grub/grub.cfg\n", isoCfg: "menuentry x {\n  chainloader /efi/shell.efi\n}\n")))
        {
            var e = Assert.Throws<EfiBootException>(() => MicrokernelEfi.Plan(release, Options(tmp, "x=1")));
            Assert.Equal(EfiBootProblem.ConfigNotEditable, e.Problem);
            Assert.Equal("/EFI/BOOT/efiboot.img:EFI/BOOT/grub.cfg, /EFI/BOOT/grub/grub.cfg", e.File);
            Assert.Contains("no 'linux' line", e.Reason);
        }

        using (var tmp = new TempFolder("efirel"))
        using (var release = IsoReader.Open(Release(tmp, imageCfg: null, isoCfg: null)))
        {
            var e = Assert.Throws<EfiBootException>(() => MicrokernelEfi.Plan(release, Options(tmp, "")));
            Assert.Equal(EfiBootProblem.ConfigNotEditable, e.Problem);
            Assert.Equal("/EFI/BOOT/efiboot.img", e.File);
            Assert.Contains("built into the loader", e.Reason);
            Assert.Empty(Directory.Exists(tmp["tmp"]) ? Directory.GetFiles(tmp["tmp"]) : []); // nothing left behind
        }
    }

    [Fact]
    public void LoaderRoute_WritesTheImageAroundTheLoader_AndTheConfigurationInThreePlaces()
    {
        using var tmp = new TempFolder("efildr");
        using var release = IsoReader.Open(Release(tmp)); // the loader replaces the release's own image
        using var plan = MicrokernelEfi.Plan(release, Options(tmp, "rmk.a=1", grub.Path));
        Assert.Equal(EfiRoute.Loader, plan.Route);
        Assert.Equal("EFI/BOOT/efiboot.img", plan.BootImagePath);
        var paths = plan.Entries.Select(e => e.Path).ToList();
        Assert.Equal("EFI/BOOT/efiboot.img", paths[0]);
        Assert.Contains("EFI/BOOT/grub.cfg", paths);
        Assert.Contains("boot/grub/grub.cfg", paths);
        var marker = Assert.Single(paths, p => p.StartsWith("boot/grub/microkernel-", StringComparison.Ordinal));
        var cfg = Encoding.UTF8.GetString(Content(plan.Entries.Single(e => e.Path == "boot/grub/grub.cfg")));
        Assert.Contains($"--file /{marker}\n", cfg);
        Assert.Contains("    linux /boot/vmlinuz64 rmk.a=1\n    initrd /boot/corepure64.gz\n", cfg);
        Assert.Equal(cfg, Encoding.UTF8.GetString(Content(plan.Entries.Single(e => e.Path == "EFI/BOOT/grub.cfg"))));

        var fat = Content(plan.Entries[0]);
        Assert.Equal(0, fat.Length % 2048);
        using var image = FatImage.Open(new MemoryStream(fat));
        Assert.Equal(["EFI", "EFI/BOOT", "EFI/BOOT/BOOTX64.EFI", "EFI/BOOT/grub.cfg"], image.Entries.Select(e => e.Path));
        using var inImage = new StreamReader(image.OpenRead(image.Find("EFI/BOOT/grub.cfg")!));
        Assert.Equal(cfg, inImage.ReadToEnd());
    }

    [Fact]
    public void LoaderRoute_RefusesALoaderThatIsNotAnX64EfiApplication()
    {
        using var tmp = new TempFolder("efildr");
        using var release = IsoReader.Open(Release(tmp));
        var e = Assert.Throws<EfiBootException>(() => MicrokernelEfi.Plan(release, Options(tmp, "", "/bin/busybox")));
        Assert.Equal(EfiBootProblem.LoaderNotEfiApplication, e.Problem);
        Assert.Equal("/bin/busybox", e.File);
        Assert.Contains("no MZ header", e.Reason);
    }
}
