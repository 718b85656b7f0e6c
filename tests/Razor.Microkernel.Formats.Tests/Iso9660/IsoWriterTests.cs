using System.Buffers.Binary;
using System.Text;
using Razor.Microkernel.Formats.Iso9660;
using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Formats.Tests.Iso9660;

/// <summary>Images from <see cref="IsoWriter"/> read back by xorriso (listing, El Torito report, extraction)
/// and by <see cref="IsoReader"/>.</summary>
public sealed class IsoWriterTests
{
    private static readonly DateTimeOffset Time = new(2012, 2, 7, 10, 20, 30, TimeSpan.Zero);
    private static readonly string LongName = "gem-" + new string('n', 200) + ".gemspec";
    private static readonly string LongTarget = "/usr/local/" + new string('t', 200) + "/" + new string('u', 200) + "/x";

    private static byte[] Random(int size, int seed)
    {
        var b = new byte[size];
        new Random(seed).NextBytes(b);
        return b;
    }

    private static IsoWriterEntry File(string path, byte[] data, int mode = 0x1A4, int uid = 0, int gid = 0)
        => IsoWriterEntry.File(path, data.Length, () => new MemoryStream(data, writable: false), mode, uid, gid);

    private static readonly byte[] Kernel = Random(50_000, 1);
    private static readonly byte[] Initrd = Random(300_001, 2);

    private static List<IsoWriterEntry> Entries()
    {
        var isolinux = "/usr/lib/ISOLINUX/isolinux.bin";
        Assert.True(System.IO.File.Exists(isolinux), "The test needs /usr/lib/ISOLINUX/isolinux.bin: apt-get install isolinux");
        return
        [
            IsoWriterEntry.Directory("boot"),
            File("boot/isolinux/isolinux.bin", System.IO.File.ReadAllBytes(isolinux)),
            File("boot/isolinux/isolinux.cfg", Encoding.ASCII.GetBytes("default microkernel\nlabel microkernel\n  kernel /boot/vmlinuz\n  append initrd=/boot/core.gz quiet\n")),
            File("boot/vmlinuz", Kernel),
            File("boot/core.gz", Initrd),
            File("iso-metadata.yaml", Encoding.ASCII.GetBytes("---\niso_version: 1.0.0\n")),
            File(LongName, Encoding.ASCII.GetBytes("long\n")),
            File("README.TXT", Encoding.ASCII.GetBytes("upper\n")),
            File("readme.txt", Encoding.ASCII.GetBytes("lower\n")),
            File(".profile", Encoding.ASCII.GetBytes("dot\n")),
            File("usr/local/bin/tool", Encoding.ASCII.GetBytes("#!/bin/sh\n"), 0x9E8, 1001, 50),
            File("usr/local/empty", []),
            IsoWriterEntry.Directory("root", 0x1C0),
            IsoWriterEntry.Symlink("usr/local/bin/sh", "../../../bin/busybox"),
            IsoWriterEntry.Symlink("usr/local/long", LongTarget, 1001, 50),
            IsoWriterEntry.Symlink("usr/local/dots", "./a/../b/"),
        ];
    }

    private static readonly IsoWriterOptions Options = new()
    {
        VolumeId = "Razor MK 1.0.0",
        Timestamp = Time,
        BootImage = "boot/isolinux/isolinux.bin",
    };

    private static string WriteIso(TempFolder tmp)
    {
        var path = tmp["mk.iso"];
        IsoWriter.WriteFile(path, Entries(), Options);
        return path;
    }

    [Fact]
    public void Write_IsDeterministic()
    {
        using var a = new MemoryStream();
        using var b = new MemoryStream();
        IsoWriter.Write(a, Entries(), Options);
        IsoWriter.Write(b, Entries().AsEnumerable().Reverse(), Options);
        Assert.Equal(a.ToArray(), b.ToArray());
        Assert.Equal(0, a.Length % 2048);
    }

    [Fact]
    public void Write_XorrisoListsRockRidgeAttributes()
    {
        using var tmp = new TempFolder("isow");
        var iso = WriteIso(tmp);
        var result = Tool.Run("xorriso", "-indev", iso, "-find", "/", "-exec", "lsdl").EnsureSuccess("xorriso -find lsdl");
        var lines = result.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        string Line(string p) => Assert.Single(lines, l => l.EndsWith($"'{p}'", StringComparison.Ordinal) || l.Contains($"'{p}' ->", StringComparison.Ordinal));
        Assert.Matches(@"^-rwsr-x--- +1 1001 +50 +10 ", Line("/usr/local/bin/tool"));
        Assert.Matches(@"^drwx------ +\d+ 0 +0 ", Line("/root"));
        Assert.Matches(@"^lrwxrwxrwx .*'/usr/local/bin/sh' -> '\.\./\.\./\.\./bin/busybox'$", Line("/usr/local/bin/sh"));
        Assert.EndsWith($"-> '{LongTarget}'", Line("/usr/local/long"), StringComparison.Ordinal);
        Assert.Matches(@"^lrwxrwxrwx +1 1001 +50 ", Line("/usr/local/long"));
        Assert.EndsWith("-> './a/../b'", Line("/usr/local/dots"), StringComparison.Ordinal);
        Assert.Matches(@"^-rw-r--r-- +1 0 +0 +300001 ", Line("/boot/core.gz"));
        Assert.Matches(@"^drwxr-xr-x +\d+ 0 +0 ", Line("/boot"));
        Line("/" + LongName);
        Line("/README.TXT");
        Line("/readme.txt");
        Line("/.profile");
        Line("/boot/isolinux/boot.cat");
        Assert.DoesNotContain("FAILURE", result.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain("SORRY", result.StdErr, StringComparison.Ordinal);
        Assert.Contains("Volume id    : 'Razor MK 1.0.0'", result.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public void Write_XorrisoExtractsSameContentAndAttributes()
    {
        using var tmp = new TempFolder("isow");
        var iso = WriteIso(tmp);
        var output = tmp["out"];
        Tool.Run("xorriso", "-osirrox", "on", "-indev", iso, "-extract", "/", output).EnsureSuccess("xorriso -extract");
        Assert.Equal(Kernel, System.IO.File.ReadAllBytes(Path.Combine(output, "boot/vmlinuz")));
        Assert.Equal(Initrd, System.IO.File.ReadAllBytes(Path.Combine(output, "boot/core.gz")));
        Assert.Equal("long\n", System.IO.File.ReadAllText(Path.Combine(output, LongName)));
        Assert.Equal("upper\n", System.IO.File.ReadAllText(Path.Combine(output, "README.TXT")));
        Assert.Equal("lower\n", System.IO.File.ReadAllText(Path.Combine(output, "readme.txt")));
        Assert.Equal(0, new FileInfo(Path.Combine(output, "usr/local/empty")).Length);
        Assert.Equal("../../../bin/busybox", new FileInfo(Path.Combine(output, "usr/local/bin/sh")).LinkTarget);
        Assert.Equal(LongTarget, new FileInfo(Path.Combine(output, "usr/local/long")).LinkTarget);
        var stat = Tool.Run("stat", "-c", "%a %u %g", Path.Combine(output, "usr/local/bin/tool"), Path.Combine(output, "root")).EnsureSuccess("stat").StdOut;
        Assert.Equal("4750 1001 50\n700 0 0\n", stat);
    }

    [Fact]
    public void Write_ElToritoBootWithInfoTable()
    {
        using var tmp = new TempFolder("isow");
        var iso = WriteIso(tmp);
        var report = Tool.Run("xorriso", "-indev", iso, "-report_el_torito", "plain").EnsureSuccess("xorriso -report_el_torito").StdOut;
        using var reader = IsoReader.Open(iso);
        var boot = reader.Find("boot/isolinux/isolinux.bin")!;
        var lba = boot.Extents[0].Block;
        Assert.Matches(@$"El Torito boot img : +1 +BIOS +y +none +0x0000 +0x00 +4 +{lba}", report);
        Assert.Matches(@$"El Torito cat path : /boot/isolinux/boot.cat", report);
        Assert.Equal(lba, reader.Boot!.LoadBlock);
        Assert.Equal(reader.Find("boot/isolinux/boot.cat")!.Extents[0].Block, reader.Boot.CatalogBlock);

        using var s = reader.OpenRead(boot);
        using var ms = new MemoryStream();
        s.CopyTo(ms);
        var bytes = ms.ToArray();
        var original = System.IO.File.ReadAllBytes("/usr/lib/ISOLINUX/isolinux.bin");
        Assert.Equal(original.Length, bytes.Length);
        Assert.Equal(16u, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8)));
        Assert.Equal((uint)lba, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(12)));
        Assert.Equal((uint)bytes.Length, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(16)));
        uint sum = 0;
        var padded = new byte[(bytes.Length + 3) & ~3];
        bytes.CopyTo(padded, 0);
        for (var i = 64; i < padded.Length; i += 4)
        {
            sum += BinaryPrimitives.ReadUInt32LittleEndian(padded.AsSpan(i));
        }

        Assert.Equal(sum, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(20)));
        Assert.Equal(original.AsSpan(64).ToArray(), bytes.AsSpan(64).ToArray());
        Assert.Equal(original.AsSpan(0, 8).ToArray(), bytes.AsSpan(0, 8).ToArray());
    }

    [Fact]
    public void Write_HybridMbrMatchesSyslinuxIsohybrid()
    {
        using var tmp = new TempFolder("isow");
        var template = System.IO.File.ReadAllBytes("/usr/lib/ISOLINUX/isohdpfx.bin");
        var hybrid = tmp["hybrid.iso"];
        IsoWriter.WriteFile(hybrid, Entries(), Options with { HybridMbr = template, HybridMbrId = 0x52415A52 });
        var reference = WriteIso(tmp);
        Tool.Run("isohybrid", "--id", "0x52415A52", reference).EnsureSuccess("isohybrid");
        var expected = System.IO.File.ReadAllBytes(reference);
        Assert.Equal(0, expected.Length % (1 << 20));
        Assert.True(expected.AsSpan().SequenceEqual(System.IO.File.ReadAllBytes(hybrid)), "the image differs from isohybrid's");
        Assert.Throws<IsoWriteException>(() => IsoWriter.Write(new MemoryStream(), Entries(), Options with { HybridMbr = template, BootImage = "boot/vmlinuz" }));
    }

    [Fact]
    public void Write_ReadsBackWithIsoReader()
    {
        using var ms = new MemoryStream();
        IsoWriter.Write(ms, Entries(), Options);
        using var reader = IsoReader.Open(new MemoryStream(ms.ToArray()));
        Assert.True(reader.HasRockRidge);
        Assert.Equal("Razor MK 1.0.0", reader.VolumeId);
        var tool = reader.Find("usr/local/bin/tool")!;
        Assert.Equal((0x9E8, 1001, 50, Time), (tool.Mode, tool.Uid, tool.Gid, tool.ModificationTime));
        Assert.Equal(LongTarget, reader.Find("usr/local/long")!.LinkTarget);
        Assert.Equal(Initrd, ReadAll(reader, "boot/core.gz"));
        Assert.Equal(["boot", "boot/core.gz", "boot/isolinux", "boot/isolinux/boot.cat", "boot/isolinux/isolinux.bin"],
            reader.Entries.Select(e => e.Path).Where(p => p.StartsWith("boot", StringComparison.Ordinal)).Take(5));
    }

    private static byte[] ReadAll(IsoReader reader, string path)
    {
        using var s = reader.OpenRead(reader.Find(path)!);
        using var ms = new MemoryStream();
        s.CopyTo(ms);
        return ms.ToArray();
    }

    [Fact]
    public void Write_ManyLongNames_SpanDirectoryBlocksAndContinuationBlocks()
    {
        // 150 names of 200+ bytes: the directory spans many blocks and the NM tails fill several CE blocks.
        var entries = Enumerable.Range(0, 150)
            .Select(i => File($"lib/{i:D3}-{new string((char)('a' + (i % 26)), 200)}.rb", Encoding.ASCII.GetBytes($"{i}\n"), uid: i))
            .ToList();
        using var tmp = new TempFolder("isow");
        var iso = tmp["many.iso"];
        IsoWriter.WriteFile(iso, entries, new IsoWriterOptions { Timestamp = Time });
        var listing = Tool.Run("xorriso", "-indev", iso, "-find", "/lib", "-type", "f", "-exec", "lsdl").EnsureSuccess("xorriso").StdOut;
        var lines = listing.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(150, lines.Length);
        Assert.Contains(lines, l => l.Contains(" 149 ", StringComparison.Ordinal) && l.EndsWith($"/149-{new string('t', 200)}.rb'", StringComparison.Ordinal));
        using var reader = IsoReader.Open(iso);
        Assert.True(reader.Find("lib")!.Size > 4 * 2048);
        foreach (var (e, i) in entries.Select((e, i) => (e, i)))
        {
            var found = reader.Find(e.Path)!;
            Assert.Equal(i, found.Uid);
            Assert.Equal($"{i}\n", Encoding.ASCII.GetString(ReadAll(reader, e.Path)));
        }
    }

    [Fact]
    public void Write_RefusesDuplicatePath()
    {
        var e = Assert.Throws<IsoWriteException>(() => IsoWriter.Write(Stream.Null, [File("a", [1]), File("/a", [2])], new IsoWriterOptions()));
        Assert.Equal("/a", e.EntryPath);
    }

    [Fact]
    public void Write_RefusesShortContent()
    {
        var entry = IsoWriterEntry.File("a", 10, () => new MemoryStream(new byte[4]));
        Assert.Throws<IsoWriteException>(() => IsoWriter.Write(new MemoryStream(), [entry], new IsoWriterOptions()));
    }

    [Fact]
    public void Write_RefusesMissingBootImage()
        => Assert.Throws<IsoWriteException>(() => IsoWriter.Write(new MemoryStream(), [File("a", [1])], new IsoWriterOptions { BootImage = "boot/isolinux.bin" }));

    [Theory]
    [InlineData("../x")]
    [InlineData("a/./b")]
    [InlineData("a//b")]
    public void Write_RefusesBadPath(string path)
        => Assert.Throws<InvalidImagePathException>(() => IsoWriter.Write(new MemoryStream(), [File(path, [1])], new IsoWriterOptions()));
}
