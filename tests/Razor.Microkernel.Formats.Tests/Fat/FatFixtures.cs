using System.Text;
using Razor.Microkernel.Formats.Fat;
using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Formats.Tests.Fat;

/// <summary>FAT images made at test time by the real tools (mkfs.vfat, mmd, mcopy) as FAT12, FAT16 and FAT32, and
/// the files put into them; and the entries the writer tests use.</summary>
public sealed class FatFixtures : IDisposable
{
    public static readonly byte[] Loader = Bytes(150_000, 1);

    public static readonly string LongName = "A rather long name, with spaces and (parentheses).text";

    public FatFixtures()
    {
        Folder.Write("src/BOOTX64.EFI", Loader);
        Folder.Write("src/grub.cfg", "set timeout=0\nmenuentry x {\n  linux /boot/vmlinuz64 quiet\n}\n");
        Folder.Write("src/long", Bytes(3000, 2));
        Folder.Write("src/empty", []);
        foreach (var (name, fat, kib) in new[] { ("fat12", "12", 2048), ("fat16", "16", 20480), ("fat32", "32", 40960) })
        {
            var image = Folder[name + ".img"];
            Tool.Run("mkfs.vfat", "-F", fat, "-S", "512", "-s", "1", "-n", "TOOLS", "-i", "12345678", "-C", image, kib.ToString(System.Globalization.CultureInfo.InvariantCulture))
                .EnsureSuccess("mkfs.vfat -F " + fat);
            Mtools("mmd", "-i", image, "::EFI", "::EFI/BOOT", "::Deep", "::Deep/a", "::Deep/a/b");
            Mtools("mcopy", "-i", image, Folder["src/BOOTX64.EFI"], "::EFI/BOOT/BOOTX64.EFI");
            Mtools("mcopy", "-i", image, Folder["src/grub.cfg"], "::EFI/BOOT/grub.cfg");
            Mtools("mcopy", "-i", image, Folder["src/long"], "::Deep/a/b/" + LongName);
            Mtools("mcopy", "-i", image, Folder["src/empty"], "::Deep/empty.txt");
            Images[name] = image;
        }
    }

    public TempFolder Folder { get; } = new("fat");

    /// <summary>fat12, fat16, fat32: made by mkfs.vfat and filled by mmd/mcopy.</summary>
    public Dictionary<string, string> Images { get; } = [];

    public static byte[] Bytes(int size, int seed)
    {
        var b = new byte[size];
        new Random(seed).NextBytes(b);
        return b;
    }

    /// <summary>Runs an mtools command without its configuration file's surprises (no name mangling prompts).</summary>
    public static Tool.Result Mtools(string tool, params string[] args)
        => Tool.Run(tool, args, environment: new Dictionary<string, string?> { ["MTOOLS_SKIP_CHECK"] = "1", ["MTOOLS_NO_VFAT"] = null })
            .EnsureSuccess(tool + " " + string.Join(' ', args));

    /// <summary>Entries a UEFI boot image holds, and names that need long names, aliases and folders.</summary>
    public static List<FatWriterEntry> Entries() =>
    [
        FatWriterEntry.File("EFI/BOOT/BOOTX64.EFI", Loader),
        FatWriterEntry.File("EFI/BOOT/grub.cfg", Encoding.ASCII.GetBytes("set timeout=0\n")),
        FatWriterEntry.Directory("empty-folder"),
        FatWriterEntry.File("zero.txt", []),
        FatWriterEntry.File(LongName, Bytes(5000, 3)),
        FatWriterEntry.File("Mixed.Case.Name.tar.gz", Bytes(10, 4)),
        FatWriterEntry.File("dir/LONGNAME1.TXT", Bytes(1, 5)),
        FatWriterEntry.File("dir/longname1.txt2", Bytes(1, 6)),
        FatWriterEntry.File("dir/longname1234.txt", Bytes(2, 7)),
        FatWriterEntry.File("dir/longname1235.txt", Bytes(3, 8)),
        FatWriterEntry.File("dir/sub/name with spaces.txt", Bytes(4, 9)),
    ];

    public void Dispose() => Folder.Dispose();
}
