using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Razor.Microkernel.TestSupport;
using Razor.Microkernel.TestSupport.Mirror;

namespace Razor.Microkernel.Sdk.Tests;

/// <summary>
/// The microkernel ISO boots on UEFI firmware (issue 17), through <c>dotnet build</c> of the packed SDK: both routes
/// booted under qemu with OVMF from the CD, the isohybrid image as a disk under OVMF, and the same images under
/// SeaBIOS; each boot shows the firmware, the overlay's marker, a server.cfg setting, a kernel argument and the boot
/// hook's line. The stand-in releases are <see cref="EfiStandIn"/>'s. Also the El Torito catalog, the FAT image
/// (fsck.vfat, mdir), the GPT (sgdisk, fdisk), reproducibility across folders, the EfiLoader as a URL, and the bad
/// inputs.
/// </summary>
public sealed class UefiTests : IAsyncLifetime
{
    private TempFolder _served = null!;
    private LoopbackMirror _server = null!;

    public async Task InitializeAsync()
    {
        _served = new TempFolder("rmk-efi-served");
        Directory.CreateDirectory(_served["grub"]);
        File.Copy(EfiStandIn.Get().Loader, _served["grub/BOOTX64.EFI"]);
        _server = await LoopbackMirror.StartAsync(_served.Path);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _served.Dispose();
    }

    private static TestProject Project(string name, string releaseIso, string properties, string items = "")
    {
        var p = SdkHarness.CreateProject(name);
        File.Copy(releaseIso, p["release.iso"]);
        p.Write("marker", "uefi-overlay\n");
        p.WithProject($"""
            <PropertyGroup>
              <MicrokernelVersion>2.0.0</MicrokernelVersion>
              <MicrokernelKernelArgs>rmk.route=set console=ttyS0</MicrokernelKernelArgs>
              <McollectiveStompHost>razor-uefi.example</McollectiveStompHost>
              <McollectiveLogLevel>warn</McollectiveLogLevel>
              {EfiStandIn.Properties}
              {properties}
            </PropertyGroup>
            <ItemGroup>
              <CoreIso Include="release.iso" />
              <OverlayFile Include="marker" Destination="/etc/rmk-marker" />
              <MicrokernelBootCommand Include="hook" Command="echo hook: %24(uname -m)" />
              {items}
            </ItemGroup>
            """);
        return p;
    }

    private static string Iso(TestProject p) => Path.Combine(p.OutDir, "rz_mk_dev-image.2.0.0.iso");

    private static void AssertFacts(string facts, string firmware)
    {
        Assert.Contains($"firmware: {firmware}\n", facts);
        Assert.Contains("marker: uefi-overlay\n", facts);
        Assert.Contains("cfg: plugin.stomp.host = razor-uefi.example\n", facts);
        Assert.Contains("cfg: loglevel = warn\n", facts);
        Assert.Contains("arg: rmk.route=set\n", facts);
        Assert.Contains("hook: x86_64\n", facts);
        Assert.Contains("tmp: 1777\n", facts);
    }

    [Fact]
    public void ReleaseRoute_TheReleasesEfiImage_BootsUnderOvmfFromCd_TheSameIsoUnderSeaBios_AndAsAnIsoHybridDisk()
    {
        var standIn = EfiStandIn.Get();
        var p = Project("efi-release", standIn.EfiIso, "");
        var build = p.Run("build", ["-v:n"], environment: TestSecrets.Variables()).AssertSuccess();
        Assert.True(build.Output.Contains("UEFI (the release's EFI boot image): boot configuration /EFI/BOOT/grub/grub.cfg", StringComparison.Ordinal), Lines(build.Output, "UEFI", "ISO"));
        var iso = Iso(p);

        var report = Tool.Run("xorriso", "-indev", iso, "-report_el_torito", "plain").EnsureSuccess("xorriso -report_el_torito").StdOut;
        Assert.Contains("El Torito img path :   1  /boot/isolinux/isolinux.bin", report);
        Assert.Contains("El Torito img path :   2  /EFI/BOOT/efiboot.img", report);
        Assert.Matches(@"El Torito boot img : +2 +UEFI +y +none", report);
        using (var x = new TempFolder("rmk-efi-x"))
        {
            Tool.Run("xorriso", "-osirrox", "on", "-indev", iso, "-extract", "/EFI", x["EFI"]).EnsureSuccess("osirrox extract");
            Assert.Contains("    linux /boot/vmlinuz64 console=ttyS0 quiet rmk.route=set console=ttyS0\n", File.ReadAllText(x["EFI/BOOT/grub/grub.cfg"]));
            // The release's EFI image is kept byte for byte: its configuration lives on the ISO.
            Assert.Equal(File.ReadAllBytes(Path.Combine(standIn.EfiTree, "EFI/BOOT/efiboot.img")), File.ReadAllBytes(x["EFI/BOOT/efiboot.img"]));
        }

        AssertFacts(Boot(iso, uefi: true, asDisk: false), "uefi");
        AssertFacts(Boot(iso, uefi: false, asDisk: false), "bios");

        // The same route as an isohybrid image: a stick boots UEFI from the EFI partition, which is the release's image.
        p.Run("build", ["-p:MicrokernelIsoHybrid=true"], environment: TestSecrets.Variables()).AssertSuccess();
        AssertEfiPartition(iso, report: null);
        AssertFacts(Boot(iso, uefi: true, asDisk: true), "uefi");
    }

    [Fact]
    public void LoaderRoute_EfiLoaderByUrl_IsoHybrid_BootsUnderOvmfFromCdAndDisk_UnderSeaBiosAsDisk_AndIsReproducible()
    {
        var standIn = EfiStandIn.Get();
        var loader = File.ReadAllBytes(standIn.Loader);
        var sha = Convert.ToHexStringLower(SHA256.HashData(loader));
        var items = $"""<EfiLoader Include="{_server.Url("grub/BOOTX64.EFI")}" Sha256="{sha}" />""";
        var properties = "<MicrokernelIsoHybrid>true</MicrokernelIsoHybrid><MicrokernelCacheDirectory>cache</MicrokernelCacheDirectory>";
        var p = Project("efi-loader", standIn.BiosIso, properties, items);
        var build = p.Run("build", ["-v:n"], environment: TestSecrets.Variables()).AssertSuccess();
        Assert.True(build.Output.Contains("UEFI (EfiLoader ", StringComparison.Ordinal), Lines(build.Output, "UEFI", "ISO"));
        Assert.Contains("(isohybrid MBR and GPT)", build.Output);
        var iso = Iso(p);

        // The catalog: the BIOS entry and the UEFI entry loading the SDK's FAT image.
        var report = Tool.Run("xorriso", "-indev", iso, "-report_el_torito", "plain", "-report_system_area", "plain").EnsureSuccess("xorriso -report").StdOut;
        Assert.Contains("El Torito img path :   1  /boot/isolinux/isolinux.bin", report);
        Assert.Matches(@"El Torito boot img : +1 +BIOS +y +none", report);
        Assert.Contains("El Torito img path :   2  /EFI/BOOT/efiboot.img", report);
        Assert.Matches(@"El Torito boot img : +2 +UEFI +y +none", report);
        Assert.Contains("System area summary: MBR isohybrid cyl-align-on GPT", report);
        Assert.Contains("GPT partname local :   2  ISOHybrid1", report);
        using (var x = new TempFolder("rmk-efi-x"))
        {
            Tool.Run("xorriso", "-osirrox", "on", "-indev", iso, "-extract", "/EFI", x["EFI"], "-extract", "/boot/grub", x["grub"]).EnsureSuccess("osirrox extract");
            var image = x["EFI/BOOT/efiboot.img"];
            var fsck = Tool.Run("fsck.vfat", "-n", image);
            Assert.True(fsck.ExitCode == 0, fsck.StdOut + fsck.StdErr);
            var env = new Dictionary<string, string?> { ["MTOOLS_SKIP_CHECK"] = "1" };
            var mdir = Tool.Run("mdir", ["-i", image, "::EFI/BOOT"], environment: env).EnsureSuccess("mdir").StdOut;
            Assert.Matches($@"BOOTX64 +EFI +{loader.Length} ", mdir);
            Assert.Contains("grub.cfg", mdir);
            Tool.Run("mcopy", ["-i", image, "::EFI/BOOT/BOOTX64.EFI", x["copied.efi"]], environment: env).EnsureSuccess("mcopy");
            Assert.Equal(loader, File.ReadAllBytes(x["copied.efi"]));
            var cfg = File.ReadAllText(x["grub/grub.cfg"]);
            Assert.Equal(cfg, File.ReadAllText(x["EFI/BOOT/grub.cfg"]));
            Tool.Run("mcopy", ["-i", image, "::EFI/BOOT/grub.cfg", x["fat-grub.cfg"]], environment: env).EnsureSuccess("mcopy");
            Assert.Equal(cfg, File.ReadAllText(x["fat-grub.cfg"])); // the same configuration in the FAT image
            Assert.Contains("    linux /boot/vmlinuz64 rmk.route=set console=ttyS0\n    initrd /boot/corepure64.gz\n", cfg);
        }

        // The MBR's and the GPT's EFI partition is the FAT image with the loader (sgdisk, fdisk, mtools).
        AssertEfiPartition(iso, report);

        // Reproducible: a clean build of the same project in another folder gives the same bytes.
        var other = Project("efi-loader-again", standIn.BiosIso, properties, items);
        other.Run("build", environment: TestSecrets.Variables()).AssertSuccess();
        Assert.Equal(File.ReadAllBytes(iso), File.ReadAllBytes(Iso(other)));
        // Incremental: nothing changed, nothing runs; the lock file pins the loader's URL.
        Assert.Contains("RmkBuildIso", p.Run("build", environment: TestSecrets.Variables()).AssertSuccess().TargetsSkipped);
        Assert.Contains(sha, File.ReadAllText(p["microkernel.lock.json"]));

        var cd = Boot(iso, uefi: true, asDisk: false);
        AssertFacts(cd, "uefi");
        AssertFacts(Boot(iso, uefi: true, asDisk: true), "uefi");
        AssertFacts(Boot(iso, uefi: false, asDisk: true), "bios");
    }

    [Fact]
    public void BadInputs_AreCodedErrorsNamingTheFile_BeforeAnyLayer_AndLeaveThePreviousOutputs()
    {
        var standIn = EfiStandIn.Get();
        var p = Project("efi-bad", standIn.EfiIso, "");
        File.Copy("/bin/busybox", p["elf.efi"]);
        var i386 = File.ReadAllBytes(standIn.Loader);
        var pe = BitConverter.ToInt32(i386, 0x3C);
        i386[pe + 4] = 0x4C;
        i386[pe + 5] = 0x01;
        File.WriteAllBytes(p["i386.efi"], i386);
        File.Copy(standIn.Loader, p["second.efi"]);
        var notFat = standIn.Variant(p["not-fat.iso"], tree => File.WriteAllBytes(Path.Combine(tree, "EFI/BOOT/efiboot.img"), new byte[1 << 20]));
        var noLinux = standIn.Variant(p["no-linux.iso"], tree => File.WriteAllText(Path.Combine(tree, "EFI/BOOT/grub/grub.cfg"), "menuentry x {\n  chainloader /efi/shell.efi\n}\n"));
        var cases = new (string Release, string Items, string Code, string Message)[]
        {
            // A loader that is not an x86_64 EFI application: an ELF program, then GRUB's EFI image made for another machine.
            (standIn.EfiIso, """<EfiLoader Include="elf.efi" />""", "RMK3320", "EfiLoader 'elf.efi' is not an x86_64 UEFI application: it is not a PE/COFF image: no MZ header"),
            (standIn.EfiIso, """<EfiLoader Include="i386.efi" />""", "RMK3320", "EfiLoader 'i386.efi' is not an x86_64 UEFI application: it is built for machine 0x014C (i386)"),
            // Two loaders.
            (standIn.EfiIso, """<EfiLoader Include="second.efi" /><EfiLoader Include="elf.efi" />""", "RMK2080", "Only one EfiLoader item may be given (found: second.efi, elf.efi)"),
            // A release whose EFI image is not FAT.
            (notFat, "", "RMK3321", "/EFI/BOOT/efiboot.img: the release's EFI boot image is not a FAT file system"),
            // A release whose UEFI menu has no kernel line the SDK can extend.
            (noLinux, "", "RMK3323", "the UEFI boot configuration /EFI/BOOT/grub/grub.cfg cannot be made to boot the microkernel: no 'linux' line"),
        };

        // On a first build each is refused before any layer: no output, no layer.
        foreach (var (release, items, code, message) in cases)
        {
            Rewrite(p, release, items);
            var r = p.Run("build", environment: TestSecrets.Variables()).AssertFailureWith(code);
            Assert.Contains(message, r.Output);
            Assert.Contains("Microkernel.proj(", r.Output); // points at the item's line
            Assert.False(Directory.Exists(p.OutDir), $"{code}: {p.OutDir} was written");
            Assert.Empty(Directory.GetFiles(p.Directory, "*.tar", SearchOption.AllDirectories)); // no layer (obj/ keeps only the steps' settings fingerprints)
        }

        // After a good build, with an overlay file changed too (a build that went on would write the overlay again), each
        // leaves every previous output byte-identical and no temporary file.
        Rewrite(p, standIn.EfiIso, "");
        p.Run("build", environment: TestSecrets.Variables()).AssertSuccess();
        var iso = Iso(p);
        var good = Directory.GetFiles(p.OutDir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToDictionary(f => f, File.ReadAllBytes);
        Assert.Contains(iso, good.Keys);
        Assert.Contains(p.Overlay, good.Keys);
        p.Write("marker", "changed\n");
        foreach (var (release, items, code, message) in cases)
        {
            Rewrite(p, release, items);
            Assert.Contains(message, p.Run("build", environment: TestSecrets.Variables()).AssertFailureWith(code).Output);
            Assert.Equal(good.Keys, Directory.GetFiles(p.OutDir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal));
            Assert.All(good, kv => Assert.Equal(kv.Value, File.ReadAllBytes(kv.Key)));
            Assert.Empty(Directory.GetFiles(p.Directory, "*.tmp", SearchOption.AllDirectories));
        }

        // The fix the messages name: an EfiLoader item instead of the release's image.
        File.Copy(standIn.Loader, p["loader.efi"]);
        Rewrite(p, noLinux, """<EfiLoader Include="loader.efi" />""");
        p.Run("build", environment: TestSecrets.Variables()).AssertSuccess();
        Assert.NotEqual(good[iso], File.ReadAllBytes(iso));
    }

    /// <summary>
    /// The isohybrid image's partition tables, as the tools read them: <c>fdisk -l</c> lists the MBR's second partition,
    /// type 0xEF, exactly over the El Torito UEFI image, and mtools finds <c>EFI/BOOT/BOOTX64.EFI</c> in the FAT there;
    /// <c>gdisk -l</c> finds the GPT valid and lists its partition 2 (Basic Data, <c>ISOHybrid1</c>) at the same place (it
    /// drops partition 1, which starts at sector 0, over the GPT); <c>sgdisk -v</c>
    /// finds the CRCs and the backup good and reports exactly the two overlaps it reports for xorriso's own
    /// <c>-isohybrid-gpt-basdat</c> image (the first partition starts at sector 0, over the GPT; IsoEfiTests compares
    /// the two images side by side), nothing else.
    /// </summary>
    private static void AssertEfiPartition(string iso, string? report)
    {
        report ??= Tool.Run("xorriso", "-indev", iso, "-report_el_torito", "plain").EnsureSuccess("xorriso -report_el_torito").StdOut;
        var entry = Regex.Match(report, @"El Torito boot img : +2 +UEFI +y +none +0x0000 +0x00 +(\d+) +(\d+)");
        Assert.True(entry.Success, report);
        var sectors = long.Parse(entry.Groups[1].Value, CultureInfo.InvariantCulture);
        var start = long.Parse(entry.Groups[2].Value, CultureInfo.InvariantCulture) * 4; // 2048-byte blocks to 512-byte sectors
        var end = start + sectors - 1;
        var fdisk = Tool.Run("fdisk", "-l", iso).EnsureSuccess("fdisk -l").StdOut;
        Assert.Matches($@"\.iso2 +{start} +{end} +{sectors} +[\d.]+[KMG] +ef EFI \(FAT-12/16/32\)", fdisk);
        var env = new Dictionary<string, string?> { ["MTOOLS_SKIP_CHECK"] = "1" };
        Assert.Matches(@"BOOTX64 +EFI +\d+ ", Tool.Run("mdir", ["-i", $"{iso}@@{start * 512}", "::EFI/BOOT"], environment: env).EnsureSuccess("mdir of the EFI partition").StdOut);
        // gdisk asks which table to use when a valid MBR and a valid GPT disagree (as for xorriso's image): answer GPT.
        var gpt = Tool.Run("gdisk", ["-l", iso], stdin: "2\n"u8.ToArray()).EnsureSuccess("gdisk -l").StdOut;
        Assert.Contains("Found valid MBR and GPT.", gpt);
        Assert.Matches($@"\n +2 +{start} +{end} +[\d.]+ [KMG]iB +0700 +ISOHybrid1\n", gpt);
        var verify = Tool.Run("sgdisk", "-v", iso).StdOut;
        Assert.DoesNotContain("CRC", verify, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("corrupt", verify, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(
            ["Problem: MBR partitions 1 and 2 overlap!", "Warning! Main partition table overlaps the first partition by 64 blocks!"],
            verify.Split('\n').Where(l => l.StartsWith("Problem:", StringComparison.Ordinal) || l.StartsWith("Warning!", StringComparison.Ordinal)));
        Assert.Contains("Identified 2 problems!", verify);
    }

    /// <summary>The lines of a build's output that hold any of <paramref name="words"/> (for a failure message).</summary>
    private static string Lines(string output, params string[] words)
        => string.Join('\n', output.Split('\n').Where(l => words.Any(w => l.Contains(w, StringComparison.Ordinal))).Take(40));

    /// <summary>Points the project at another release ISO and EfiLoader items (the rest unchanged).</summary>
    private static void Rewrite(TestProject p, string releaseIso, string items)
    {
        File.Copy(releaseIso, p["release.iso"], overwrite: true);
        var text = File.ReadAllText(p.ProjectFile);
        var start = text.IndexOf("<!--efi-->", StringComparison.Ordinal);
        text = start >= 0 ? text[..start] + text[text.IndexOf("<!--/efi-->", StringComparison.Ordinal)..] : text;
        text = text.Replace("<!--/efi-->", "", StringComparison.Ordinal).Replace("</ItemGroup>", $"<!--efi-->{items}<!--/efi--></ItemGroup>", StringComparison.Ordinal);
        File.WriteAllText(p.ProjectFile, text);
    }

    /// <summary>Boots the image under OVMF (UEFI) or SeaBIOS, from the CD or as a disk; returns what /init printed.</summary>
    private static string Boot(string image, bool uefi, bool asDisk)
    {
        using var vars = new TempFolder("rmk-ovmf");
        return Qemu.Boot([.. uefi ? Qemu.Ovmf(vars["vars.fd"]) : [], .. asDisk ? Qemu.Disk(image) : Qemu.Cdrom(image)], memoryMegabytes: 512);
    }
}
