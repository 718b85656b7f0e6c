using System.Security.Cryptography;
using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Sdk.Tests;

/// <summary>The bootable ISO from a stand-in Core release ISO (made with xorriso the way Razor's mkisofs line
/// did), read back with xorriso: El Torito, files, the appended initrd, iso-metadata.yaml.</summary>
public class IsoTests
{
    internal static string MakeCoreIso(TestProject p)
    {
        var tree = p["core-tree"];
        Directory.CreateDirectory(Path.Combine(tree, "boot/isolinux"));
        File.WriteAllBytes(Path.Combine(tree, "boot/vmlinuz"), RandomNumberGenerator.GetBytes(50_000));
        File.Copy("/usr/lib/ISOLINUX/isolinux.bin", Path.Combine(tree, "boot/isolinux/isolinux.bin"));
        File.Copy("/usr/lib/syslinux/modules/bios/ldlinux.c32", Path.Combine(tree, "boot/isolinux/ldlinux.c32"));
        File.WriteAllText(Path.Combine(tree, "boot/isolinux/isolinux.cfg"), "default microcore\nlabel microcore\n  kernel /boot/vmlinuz\n  append initrd=/boot/core.gz quiet\n");
        // core.gz: a gzip'd newc cpio of a tiny root, made with GNU cpio.
        var root = p["core-root"];
        Directory.CreateDirectory(Path.Combine(root, "etc"));
        File.WriteAllText(Path.Combine(root, "etc/version"), "4.5.2\n");
        var cpio = Tool.Run("sh", ["-c", $"cd {root} && find . | cpio -o -H newc --quiet | gzip -9 -n > {tree}/boot/core.gz"]);
        cpio.EnsureSuccess("cpio | gzip");
        var iso = p["Core-4.5.2.iso"];
        Tool.Run("xorriso", "-as", "mkisofs", "-l", "-J", "-R", "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table",
            "-b", "boot/isolinux/isolinux.bin", "-c", "boot/isolinux/boot.cat", "-o", iso, tree).EnsureSuccess("xorriso -as mkisofs");
        return iso;
    }

    [Fact]
    public void Iso_FromTheCoreIsoAndTheOverlay_BootsWithTheOverlayAppendedAndMetadataForRazor()
    {
        var p = SdkHarness.CreateProject("iso");
        var coreIso = MakeCoreIso(p);
        p.Write("motd", "razor\n");
        p.WithProject("""
            <PropertyGroup>
              <MicrokernelVersion>0.9.1</MicrokernelVersion>
              <MicrokernelKernelArgs>razor.ip=10.0.0.1 loglevel=3</MicrokernelKernelArgs>
            </PropertyGroup>
            <ItemGroup>
              <CoreIso Include="Core-4.5.2.iso" />
              <OverlayFile Include="motd" Destination="/etc/motd" />
              <OverlaySymlink Include="/usr/local/mcollective" LinkTarget="/usr/local/tce.installed/mcollective-1.2.1" />
            </ItemGroup>
            """);
        p.Build().AssertSuccess();
        var iso = Path.Combine(p.OutDir, "rz_mk_dev-image.0.9.1.iso");
        Assert.True(File.Exists(iso));

        var report = Tool.Run("xorriso", "-indev", iso, "-report_el_torito", "plain").EnsureSuccess("xorriso -report_el_torito");
        Assert.Contains("El Torito boot img :   1  BIOS  y   none", report.StdOut);
        Assert.Contains("Razor MK 0.9.1", Tool.Run("xorriso", "-indev", iso, "-pvd_info").EnsureSuccess("pvd_info").StdOut);

        using var x = new TempFolder("rmk-iso");
        Tool.Run("xorriso", "-osirrox", "on", "-indev", iso, "-extract", "/", x.Path).EnsureSuccess("osirrox extract");
        // core.gz is kept byte for byte, the overlay follows as another gzip member of a newc cpio.
        var original = File.ReadAllBytes(p["core-tree/boot/core.gz"]);
        var initrd = File.ReadAllBytes(x["boot/core.gz"]);
        Assert.Equal(original, initrd[..original.Length]);
        // GNU cpio stops at the first archive's trailer (the kernel goes on): list each archive on its own.
        var first = Tool.Run("sh", ["-c", $"gzip -dc {p["core-tree/boot/core.gz"]} | cpio -itv --quiet"]).EnsureSuccess("cpio -itv").StdOut;
        Assert.Contains("etc/version", first);
        var listing = Tool.Run("sh", ["-c", $"tail -c +{original.Length + 1} {x["boot/core.gz"]} | gzip -dc | cpio -itv --quiet"]).EnsureSuccess("cpio -itv").StdOut;
        Assert.Contains("etc/motd", listing);
        Assert.Contains("usr/local/mcollective -> /usr/local/tce.installed/mcollective-1.2.1", listing);
        Assert.Contains("append initrd=/boot/core.gz quiet razor.ip=10.0.0.1 loglevel=3", File.ReadAllText(x["boot/isolinux/isolinux.cfg"]));
        // A Joliet tree too, as Razor's mkisofs -J: the same initrd through it (xorriso reading without Rock Ridge).
        Tool.Run("xorriso", "-osirrox", "on", "-read_fs", "norock", "-indev", iso, "-extract", "/boot/core.gz", x["joliet-core.gz"]).EnsureSuccess("osirrox extract from Joliet");
        Assert.Equal(initrd, File.ReadAllBytes(x["joliet-core.gz"]));

        var meta = File.ReadAllText(x["iso-metadata.yaml"]);
        Assert.Contains("iso_version: 0.9.1\n", meta);
        Assert.Contains("type: Digest::SHA2", meta);
        Assert.Contains($"kernel_hash: {Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(x["boot/vmlinuz"])))}\n", meta);
        Assert.Contains($"initrd_hash: {Convert.ToHexStringLower(SHA256.HashData(initrd))}\n", meta);

        // Deterministic, and incremental: a second build skips it.
        var bytes = File.ReadAllBytes(iso);
        Assert.Contains("RmkBuildIso", p.Build().AssertSuccess().TargetsSkipped);
        File.Delete(iso);
        p.Build().AssertSuccess();
        Assert.Equal(bytes, File.ReadAllBytes(iso));
    }

    [Fact]
    public void Iso_NotAnIso_IsACodedError()
    {
        var p = SdkHarness.CreateProject("isobad");
        p.Write("Core.iso", new string('x', 70_000));
        p.WithProject("<ItemGroup><CoreIso Include=\"Core.iso\" /></ItemGroup>");
        p.Build().AssertFailureWith("RMK3301");
    }

    [Fact]
    public void Iso_ModeAndHybridSettings_AreCheckedAndChangingThemRebuildsTheIso()
    {
        var p = SdkHarness.CreateProject("isomode");
        MakeCoreIso(p);
        p.Write("motd", "razor\n");
        const string items = "<ItemGroup><CoreIso Include=\"Core-4.5.2.iso\" /><OverlayFile Include=\"motd\" Destination=\"/etc/motd\" /></ItemGroup>";
        p.WithProject("<PropertyGroup><MicrokernelInitrdMode>Squash</MicrokernelInitrdMode></PropertyGroup>" + items);
        Assert.Contains("Squash", p.Build().AssertFailureWith("RMK4007").Output);

        p.Write("short.bin", "not an MBR");
        p.WithProject("<PropertyGroup><MicrokernelIsoHybrid>true</MicrokernelIsoHybrid><MicrokernelIsoHybridMbr>short.bin</MicrokernelIsoHybridMbr></PropertyGroup>" + items);
        p.Build().AssertFailureWith("RMK4011");

        // Merge: one archive; core.gz's files and the overlay's in it.
        p.WithProject("<PropertyGroup><MicrokernelInitrdMode>Merge</MicrokernelInitrdMode></PropertyGroup>" + items);
        p.Build().AssertSuccess();
        var iso = Path.Combine(p.OutDir, "rz_mk_dev-image.1.0.0.iso");
        using var x = new TempFolder("rmk-isomode");
        Tool.Run("xorriso", "-osirrox", "on", "-indev", iso, "-extract", "/boot/core.gz", x["core.gz"]).EnsureSuccess("osirrox extract");
        var listing = Tool.Run("sh", ["-c", $"gzip -dc {x["core.gz"]} | cpio -it --quiet"]).EnsureSuccess("cpio -it").StdOut;
        Assert.Contains("etc/version\n", listing);
        Assert.Contains("etc/motd\n", listing);
        Assert.Equal("1", Tool.Run("sh", ["-c", $"gzip -dc {x["core.gz"]} | grep -c -a TRAILER"]).EnsureSuccess("grep").StdOut.Trim()); // one archive

        // Hybrid: the MBR of isohdpfx.bin, a partition of type 0x17, whole cylinders; changing it rebuilds the ISO.
        p.WithProject("<PropertyGroup><MicrokernelInitrdMode>Merge</MicrokernelInitrdMode><MicrokernelIsoHybrid>true</MicrokernelIsoHybrid></PropertyGroup>" + items);
        Assert.Contains("RmkBuildIso", p.Build().AssertSuccess().TargetsRun);
        var bytes = File.ReadAllBytes(iso);
        Assert.Equal(File.ReadAllBytes("/usr/lib/ISOLINUX/isohdpfx.bin")[..432], bytes[..432]);
        Assert.Equal(0x17, bytes[446 + 4]);
        Assert.Equal(new byte[] { 0x55, 0xAA }, bytes[510..512]);
        Assert.Equal(0, bytes.Length % (1 << 20));

        // A release whose isolinux.bin cannot boot from USB: a coded error naming it.
        var tree = p["core-tree"];
        File.WriteAllBytes(Path.Combine(tree, "boot/isolinux/isolinux.bin"), new byte[4096]);
        File.Delete(p["Core-4.5.2.iso"]);
        Tool.Run("xorriso", "-as", "mkisofs", "-quiet", "-R", "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table",
            "-b", "boot/isolinux/isolinux.bin", "-c", "boot/isolinux/boot.cat", "-o", p["Core-4.5.2.iso"], tree).EnsureSuccess("xorriso -as mkisofs");
        Assert.Contains("isohybrid", p.Build().AssertFailureWith("RMK3302").Output);
        Assert.Equal(bytes, File.ReadAllBytes(iso)); // the previous ISO stays
    }
}
