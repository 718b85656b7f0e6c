using System.Text;
using System.Text.RegularExpressions;
using Razor.Microkernel.Formats.Fat;
using Razor.Microkernel.Formats.Iso9660;
using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Formats.Tests.Iso9660;

/// <summary>The El Torito EFI entry and the isohybrid GPT (<c>-isohybrid-gpt-basdat</c>) from <see cref="IsoWriter"/>,
/// checked with xorriso's own reports (side by side with an image xorriso made of the same tree), sgdisk, fdisk and
/// mtools reading the FAT through the MBR partition; and <see cref="IsoReader"/> reading both entries.</summary>
public sealed partial class IsoEfiTests
{
    private const string Isolinux = "/usr/lib/ISOLINUX/isolinux.bin";
    private const string IsoHdPfx = "/usr/lib/ISOLINUX/isohdpfx.bin";

    private static byte[] Random(int size, int seed)
    {
        var b = new byte[size];
        new Random(seed).NextBytes(b);
        return b;
    }

    private static byte[] EfiImage()
    {
        using var ms = new MemoryStream();
        FatWriter.Write(ms, [FatWriterEntry.File("EFI/BOOT/BOOTX64.EFI", Random(700_000, 3)), FatWriterEntry.File("EFI/BOOT/grub.cfg", Encoding.ASCII.GetBytes("set timeout=0\n"))]);
        return ms.ToArray();
    }

    private static IsoWriterEntry File(string path, byte[] data) => IsoWriterEntry.File(path, data.Length, () => new MemoryStream(data, writable: false));

    /// <summary>The tree on disk (for xorriso) and as writer entries.</summary>
    private static List<IsoWriterEntry> Tree(TempFolder tmp)
    {
        Assert.True(System.IO.File.Exists(Isolinux), "The test needs isolinux (apt-get install isolinux)");
        var files = new Dictionary<string, byte[]>
        {
            ["boot/isolinux/isolinux.bin"] = System.IO.File.ReadAllBytes(Isolinux),
            ["boot/isolinux/isolinux.cfg"] = Encoding.ASCII.GetBytes("default mk\nlabel mk\n  kernel /boot/vmlinuz64\n  append initrd=/boot/corepure64.gz\n"),
            ["boot/vmlinuz64"] = Random(1_500_000, 1),
            ["boot/corepure64.gz"] = Random(2_500_001, 2),
            ["EFI/BOOT/efiboot.img"] = EfiImage(),
        };
        foreach (var (path, data) in files)
        {
            tmp.Write("tree/" + path, data);
        }

        return files.Select(f => File(f.Key, f.Value)).ToList();
    }

    private static IsoWriterOptions Options(bool hybrid) => new()
    {
        VolumeId = "EFI TEST",
        BootImage = "boot/isolinux/isolinux.bin",
        EfiBootImage = "EFI/BOOT/efiboot.img",
        HybridMbr = hybrid ? (ReadOnlyMemory<byte>?)System.IO.File.ReadAllBytes(IsoHdPfx)[..432] : null,
        HybridMbrId = 0x52415A52,
    };

    private static string Xorriso(TempFolder tmp, bool hybrid)
    {
        var iso = tmp[hybrid ? "xorriso-hybrid.iso" : "xorriso.iso"];
        var args = new List<string> { "-as", "mkisofs", "-quiet", "-R", "-J", "-b", "boot/isolinux/isolinux.bin", "-c", "boot/isolinux/boot.cat",
            "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table" };
        if (hybrid)
        {
            args.AddRange(["-isohybrid-mbr", IsoHdPfx]);
        }

        args.AddRange(["-eltorito-alt-boot", "-e", "EFI/BOOT/efiboot.img", "-no-emul-boot"]);
        if (hybrid)
        {
            args.Add("-isohybrid-gpt-basdat");
        }

        args.AddRange(["-o", iso, tmp["tree"]]);
        Tool.Run("xorriso", args).EnsureSuccess("xorriso -as mkisofs");
        return iso;
    }

    private static string Report(string iso, string what)
        => Tool.Run("xorriso", "-indev", iso, what, "plain").EnsureSuccess("xorriso " + what).StdOut;

    [Fact]
    public void EfiEntry_XorrisoReportsTheBiosAndTheUefiEntry_AndTheReaderReadsBoth()
    {
        using var tmp = new TempFolder("isoefi");
        var ours = tmp["ours.iso"];
        IsoWriter.WriteFile(ours, Tree(tmp), Options(hybrid: false));
        var report = Report(ours, "-report_el_torito");
        Assert.Matches(@"El Torito boot img : +1 +BIOS +y +none +0x0000 +0x00 +4 +\d+", report);
        var efiSize = EfiImage().Length;
        Assert.Matches($@"El Torito boot img : +2 +UEFI +y +none +0x0000 +0x00 +{efiSize / 512} +\d+", report); // as xorriso: whole blocks in sectors
        Assert.Contains("El Torito img path :   2  /EFI/BOOT/efiboot.img", report);

        using var reader = IsoReader.Open(ours);
        Assert.Equal(2, reader.BootEntries.Count);
        Assert.False(reader.BootEntries[0].IsEfi);
        var efi = reader.BootEntries[1];
        Assert.True(efi.IsEfi);
        Assert.True(efi.Bootable);
        Assert.Equal(efiSize / 512, efi.SectorCount);
        Assert.Equal("EFI/BOOT/efiboot.img", reader.FileAtBlock(efi.LoadBlock)!.Path);
        Assert.Equal("boot/isolinux/isolinux.bin", reader.FileAtBlock(reader.Boot!.LoadBlock)!.Path);

        // xorriso's image of the same tree: the reader finds the same two entries there.
        using var theirs = IsoReader.Open(Xorriso(tmp, hybrid: false));
        Assert.Equal([0, 0xEF], theirs.BootEntries.Select(b => b.PlatformId));
        Assert.Equal("EFI/BOOT/efiboot.img", theirs.FileAtBlock(theirs.BootEntries[1].LoadBlock)!.Path);
        Assert.Equal(efi.SectorCount, theirs.BootEntries[1].SectorCount);
    }

    [Fact]
    public void HybridGpt_IsLaidOutAsXorrisosIsohybridGptBasdat_AndTheToolsFindTheEfiPartition()
    {
        using var tmp = new TempFolder("isoefi");
        var ours = tmp["ours.iso"];
        IsoWriter.WriteFile(ours, Tree(tmp), Options(hybrid: true));
        var theirs = Xorriso(tmp, hybrid: true);
        Assert.Equal(0, new FileInfo(ours).Length % (1 << 20));

        // The same structure as xorriso's, field by field; only places (LBAs) and GUIDs may differ.
        var mine = SystemArea(Report(ours, "-report_system_area"));
        var xorriso = SystemArea(Report(theirs, "-report_system_area"));
        Assert.Equal(xorriso.Keys.Order(), mine.Keys.Order());
        foreach (var key in new[] { "System area summary", "MBR heads per cyl", "MBR secs per head", "GPT entry array", "GPT partname local 1", "GPT partname local 2",
                     "GPT type GUID 1", "GPT type GUID 2", "GPT partition flags 1", "GPT partition flags 2", "MBR partition path 2", "GPT partition path 2" })
        {
            Assert.Equal(xorriso[key], mine[key]);
        }

        using var reader = IsoReader.Open(ours);
        var efi = reader.Find("EFI/BOOT/efiboot.img")!;
        var start = efi.Extents[0].Block * 4;
        var sectors = efi.Size / 512;
        var total = new FileInfo(ours).Length / 512;
        Assert.Matches($@"^1 +0x80 +0x00 +0 +{total}$", mine["MBR partition 1"]);
        Assert.Matches($@"^2 +0x00 +0xef +{start} +{sectors}$", mine["MBR partition 2"]);
        Assert.Equal($"64 {total - 64} {total - 1}", Regex.Replace(mine["GPT lba range"], " +", " "));
        Assert.Equal($"1 0 {total - 64}", Regex.Replace(mine["GPT start and size 1"], " +", " "));
        Assert.Equal($"2 {start} {sectors}", Regex.Replace(mine["GPT start and size 2"], " +", " "));
        Assert.Equal(total / 4, reader.VolumeBlocks); // the volume covers the padding and the backup GPT, as xorriso's

        // sgdisk: CRCs and the backup check out; what it warns about is what it warns about in xorriso's own image.
        var sgdisk = Tool.Run("sgdisk", "-v", ours);
        Assert.DoesNotContain("CRC", sgdisk.StdOut, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("corrupt", sgdisk.StdOut, StringComparison.OrdinalIgnoreCase);
        Assert.Subset(Problems(Tool.Run("sgdisk", "-v", theirs).StdOut), Problems(sgdisk.StdOut));
        // gdisk asks which table to use when a valid MBR and a valid GPT disagree (both images): answer GPT.
        var print = Tool.Run("gdisk", ["-l", ours], stdin: "2\n"u8.ToArray()).EnsureSuccess("gdisk -l").StdOut;
        Assert.Contains("GPT: present", print);
        Assert.Matches($@"\n +2 +{start} +{start + sectors - 1} .* 0700 +ISOHybrid1", print);

        // fdisk sees the MBR with the EFI partition; mtools reads the FAT through it.
        var fdisk = Tool.Run("fdisk", "-l", ours).StdOut;
        Assert.Matches($@"ours\.iso2 +{start} +{start + sectors - 1} +{sectors} .* ef EFI \(FAT-12/16/32\)", fdisk);
        var mdir = FatMdir($"{ours}@@{start * 512}", "::EFI/BOOT");
        Assert.Contains("BOOTX64  EFI", mdir);

        // Deterministic.
        var again = tmp["again.iso"];
        IsoWriter.WriteFile(again, Tree(tmp), Options(hybrid: true));
        Assert.Equal(System.IO.File.ReadAllBytes(ours), System.IO.File.ReadAllBytes(again));
    }

    [Fact]
    public void EfiBootImage_NeedsABiosBootImageAndAFileOfTheTree()
    {
        var entries = new List<IsoWriterEntry> { File("EFI/BOOT/efiboot.img", EfiImage()), File("boot/isolinux/isolinux.bin", System.IO.File.ReadAllBytes(Isolinux)) };
        Assert.Contains("BIOS boot image", Assert.Throws<IsoWriteException>(() => IsoWriter.Write(Stream.Null, entries, new IsoWriterOptions { EfiBootImage = "EFI/BOOT/efiboot.img" })).Message);
        Assert.Contains("not among the entries", Assert.Throws<IsoWriteException>(() => IsoWriter.Write(Stream.Null, entries,
            new IsoWriterOptions { BootImage = "boot/isolinux/isolinux.bin", EfiBootImage = "efi.img" })).Message);
    }

    private static string FatMdir(string image, string folder)
        => Tool.Run("mdir", ["-i", image, folder], environment: new Dictionary<string, string?> { ["MTOOLS_SKIP_CHECK"] = "1" }).EnsureSuccess("mdir").StdOut;

    /// <summary>xorriso's "Key : value" report lines; numbered rows keyed with their number.</summary>
    private static Dictionary<string, string> SystemArea(string report)
    {
        var d = new Dictionary<string, string>();
        foreach (var line in report.Split('\n'))
        {
            var m = ReportLine().Match(line);
            if (!m.Success)
            {
                continue;
            }

            var key = m.Groups[1].Value.Trim();
            var value = m.Groups[2].Value.Trim();
            var numbered = NumberedValue().Match(value);
            if (key.StartsWith("GPT", StringComparison.Ordinal) && key != "GPT disk GUID" && key != "GPT entry array" && key != "GPT lba range" && numbered.Success)
            {
                key += " " + numbered.Groups[1].Value;
                value = key.StartsWith("GPT start and size", StringComparison.Ordinal) ? value : numbered.Groups[2].Value;
            }
            else if (key is "MBR partition" or "MBR partition path" && numbered.Success)
            {
                key += " " + numbered.Groups[1].Value;
                value = key.StartsWith("MBR partition path", StringComparison.Ordinal) ? numbered.Groups[2].Value : value;
            }

            d[key] = value;
        }

        return d;
    }

    private static HashSet<string> Problems(string sgdisk)
        => sgdisk.Split('\n').Where(l => l.StartsWith("Problem:", StringComparison.Ordinal) || l.StartsWith("Warning!", StringComparison.Ordinal))
            .Select(l => Regex.Replace(l, @"\d+", "N")).ToHashSet();

    [GeneratedRegex(@"^([A-Za-z][A-Za-z /]+?) *: (.*)$")]
    private static partial Regex ReportLine();

    [GeneratedRegex(@"^(\d+) +(.*)$")]
    private static partial Regex NumberedValue();
}
