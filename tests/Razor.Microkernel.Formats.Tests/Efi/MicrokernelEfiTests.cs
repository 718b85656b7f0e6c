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
    public void ReleaseRoute_AnImageTheWriterCannotWriteAgain_IsAnEfiBootException_AndLeavesNothing()
    {
        // A FAT image whose long name holds '*': the reader takes it (FAT's forbidden characters are the writer's
        // business), the writer cannot put it back when the grub.cfg inside changes.
        using var ms = new MemoryStream();
        FatWriter.Write(ms,
        [
            FatWriterEntry.File("EFI/BOOT/BOOTX64.EFI", grub.Bytes),
            FatWriterEntry.File("EFI/BOOT/grub.cfg", Encoding.ASCII.GetBytes(ImageGrubCfg)),
            FatWriterEntry.File("odd name.txt", [1]),
        ]);
        var bytes = ms.ToArray();
        using (var written = FatImage.Open(new MemoryStream(bytes)))
        {
            bytes[(int)written.Find("odd name.txt")!.RecordOffset - 32 + 1] = (byte)'*'; // the long name's first character
        }

        using (var read = FatImage.Open(new MemoryStream(bytes)))
        {
            Assert.NotNull(read.Find("*dd name.txt"));
        }

        using var tmp = new TempFolder("efirel");
        using var release = IsoReader.Open(Release(tmp, image: bytes));
        var e = Assert.Throws<EfiBootException>(() => MicrokernelEfi.Plan(release, Options(tmp, "x=1")));
        Assert.Equal(EfiBootProblem.ConfigNotEditable, e.Problem);
        Assert.Equal("/EFI/BOOT/efiboot.img:EFI/BOOT/grub.cfg", e.File);
        Assert.Contains("cannot be written again", e.Reason);
        Assert.Contains("'*dd name.txt'", e.Reason);
        Assert.Empty(Directory.GetFiles(tmp["tmp"])); // the temporary image is gone
        using (var plan = MicrokernelEfi.Plan(release, Options(tmp, "")))
        {
            Assert.Empty(plan.Entries); // without arguments nothing is written again: the image is kept
        }
    }

    /// <summary>A release whose UEFI entry loads an appended partition, not a file of the ISO (as Debian's ISOs:
    /// <c>-append_partition 2 0xef IMAGE -e --interval:appended_partition_2:all::</c>).</summary>
    private static string AppendedPartition(TempFolder tmp)
    {
        tmp.Write("tree/boot/isolinux/isolinux.bin", File.ReadAllBytes("/usr/lib/ISOLINUX/isolinux.bin"));
        Tool.Run("mkfs.vfat", "-C", tmp["efi.img"], "2048").EnsureSuccess("mkfs.vfat");
        var iso = tmp["appended.iso"];
        Tool.Run("xorriso", "-as", "mkisofs", "-quiet", "-R", "-b", "boot/isolinux/isolinux.bin", "-c", "boot/isolinux/boot.cat", "-no-emul-boot",
            "-boot-load-size", "4", "-boot-info-table", "-append_partition", "2", "0xef", tmp["efi.img"], "-eltorito-alt-boot",
            "-e", "--interval:appended_partition_2:all::", "-no-emul-boot", "-o", iso, tmp["tree"]).EnsureSuccess("xorriso -append_partition");
        return iso;
    }

    [Fact]
    public void ReleaseRoute_RefusesAnEfiEntryThatLoadsNoFileOfTheIso()
    {
        using var tmp = new TempFolder("efiapp");
        using var release = IsoReader.Open(AppendedPartition(tmp));
        var e = Assert.Throws<EfiBootException>(() => MicrokernelEfi.Plan(release, Options(tmp, "x=1")));
        Assert.Equal(EfiBootProblem.ReleaseImageNotAFile, e.Problem);
        Assert.Equal($"block {release.BootEntries.Single(b => b.IsEfi).LoadBlock}", e.File);
        Assert.Contains("appended partition", e.Reason);
    }

    [Fact]
    public void Check_RefusesWhatPlanRefuses_WithoutWritingAnything()
    {
        void Same(Func<TempFolder, string> release, string? loader = null)
        {
            using var tmp = new TempFolder("efichk");
            using var iso = IsoReader.Open(release(tmp));
            var planned = Assert.Throws<EfiBootException>(() => MicrokernelEfi.Plan(iso, Options(tmp, "x=1", loader)));
            var found = Assert.Throws<EfiBootException>(() => MicrokernelEfi.Check(iso, loader));
            Assert.Equal((planned.Problem, planned.File, planned.Reason), (found.Problem, found.File, found.Reason));
        }

        Same(tmp => Release(tmp, image: new byte[64 * 1024]));
        Same(tmp => Release(tmp, imageCfg: "configfile /EFI/BOOT/grub/grub.cfg\n", isoCfg: "menuentry x {\n  chainloader /efi/shell.efi\n}\n"));
        Same(tmp => Release(tmp, imageCfg: null, isoCfg: null));
        Same(tmp => Release(tmp, isoCfg: new string('#', GrubConfig.MaxBytes + 1)));
        Same(tmp => Release(tmp), "/bin/busybox");
        Same(AppendedPartition);

        using var good = new TempFolder("efichk");
        using (var release = IsoReader.Open(Release(good)))
        {
            Assert.Equal(EfiRoute.Release, MicrokernelEfi.Check(release, null));
            Assert.Equal(EfiRoute.Loader, MicrokernelEfi.Check(release, grub.Path));
        }

        var bios = good["bios.iso"];
        Tool.Run("xorriso", "-as", "mkisofs", "-quiet", "-R", "-b", "isolinux/isolinux.bin", "-c", "isolinux/boot.cat", "-no-emul-boot", "-o", bios, good["tree/boot"])
            .EnsureSuccess("xorriso");
        using (var release = IsoReader.Open(bios))
        {
            Assert.Equal(EfiRoute.None, MicrokernelEfi.Check(release, null));
        }

        Assert.False(Directory.Exists(good["tmp"]), "Check wrote into Plan's temporary folder");
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
