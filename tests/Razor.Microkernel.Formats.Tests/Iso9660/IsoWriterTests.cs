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
        // With the Joliet tree (the default): xorriso sees the isohybrid MBR over the whole padded image.
        var area = Tool.Run("xorriso", "-indev", hybrid, "-report_system_area", "plain").EnsureSuccess("xorriso -report_system_area").StdOut;
        Assert.Contains("System area summary: MBR isohybrid cyl-align-on\n", area, StringComparison.Ordinal);
        Assert.Matches($@"MBR partition +: +1 +0x80 +0x17 +0 +{expected.Length / 512}\n", area);
        using (var reader = IsoReader.Open(hybrid, names: IsoNameSource.Joliet))
        {
            Assert.Equal(Initrd, ReadAll(reader, "boot/core.gz"));
        }

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

    // ---- Joliet ---------------------------------------------------------------------------------------

    /// <summary>Joliet names of <see cref="Entries"/>: the symlinks left out, the long name cut to 64 keeping
    /// its extension.</summary>
    private static readonly string[] JolietPaths =
    [
        "/.profile", "/README.TXT", "/boot", "/boot/core.gz", "/boot/isolinux", "/boot/isolinux/boot.cat",
        "/boot/isolinux/isolinux.bin", "/boot/isolinux/isolinux.cfg", "/boot/vmlinuz", "/gem-" + new string('n', 52) + ".gemspec",
        "/iso-metadata.yaml", "/readme.txt", "/root", "/usr", "/usr/local", "/usr/local/bin", "/usr/local/bin/tool", "/usr/local/empty",
    ];

    /// <summary>xorriso's listing of the Joliet tree (<c>-read_fs norock</c>; names converted to UTF-8 whatever the
    /// locale): path to the lsdl line.</summary>
    private static Dictionary<string, string> XorrisoJolietListing(string iso)
    {
        var result = Tool.Run("xorriso", "-local_charset", "UTF-8", "-read_fs", "norock", "-indev", iso, "-find", "/", "-exec", "lsdl").EnsureSuccess("xorriso -read_fs norock -find");
        Assert.DoesNotContain("FAILURE", result.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain("SORRY", result.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain("WARNING", result.StdErr, StringComparison.Ordinal);
        return result.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => !l.EndsWith("'/'", StringComparison.Ordinal))
            .ToDictionary(l => l[(l.IndexOf('\'', StringComparison.Ordinal) + 1)..^1], StringComparer.Ordinal);
    }

    [Fact]
    public void Write_Joliet_XorrisoListsTheJolietTreeWithoutSymlinks()
    {
        using var tmp = new TempFolder("isow");
        var iso = WriteIso(tmp);
        var listing = XorrisoJolietListing(iso);
        Assert.Equal(JolietPaths, listing.Keys.Order(StringComparer.Ordinal));
        // Joliet has no modes: xorriso shows its defaults; sizes are the files'.
        Assert.Matches(@"^-r-xr-xr-x +1 0 +0 +300001 ", listing["/boot/core.gz"]);
        Assert.Matches(@"^e.* 2048 ", listing["/boot/isolinux/boot.cat"]); // e: xorriso's mark for the boot catalog
        Assert.Matches(@"^-r-xr-xr-x +1 0 +0 +0 ", listing["/usr/local/empty"]);
        Assert.StartsWith("d", listing["/usr/local/bin"], StringComparison.Ordinal);

        // The primary tree still reads with Rock Ridge, and xorriso's descriptor report is unchanged.
        var pvd = Tool.Run("xorriso", "-indev", iso, "-pvd_info").EnsureSuccess("xorriso -pvd_info").StdOut;
        Assert.Matches(@"Volume Id +: Razor MK 1\.0\.0\n", pvd);
        Assert.Matches(@"App Id +: RAZOR\.MICROKERNEL\.SDK\n", pvd);
        Assert.Matches(@"Creation Time: 2012020710203000\n", pvd);
    }

    [Fact]
    public void Write_Joliet_XorrisoExtractsTheSameContentFromTheJolietTree()
    {
        using var tmp = new TempFolder("isow");
        var iso = WriteIso(tmp);
        var output = tmp["out"];
        Tool.Run("xorriso", "-local_charset", "UTF-8", "-osirrox", "on", "-read_fs", "norock", "-indev", iso, "-extract", "/", output).EnsureSuccess("xorriso -read_fs norock -extract");
        var found = Directory.EnumerateFileSystemEntries(output, "*", SearchOption.AllDirectories)
            .Select(p => "/" + Path.GetRelativePath(output, p)).Order(StringComparer.Ordinal);
        Assert.Equal(JolietPaths, found);
        Assert.Equal(Kernel, System.IO.File.ReadAllBytes(Path.Combine(output, "boot/vmlinuz")));
        Assert.Equal(Initrd, System.IO.File.ReadAllBytes(Path.Combine(output, "boot/core.gz")));
        Assert.Equal("long\n", System.IO.File.ReadAllText(Path.Combine(output, JolietPaths[9][1..])));
        Assert.Equal("upper\n", System.IO.File.ReadAllText(Path.Combine(output, "README.TXT")));
        Assert.Equal("lower\n", System.IO.File.ReadAllText(Path.Combine(output, "readme.txt")));
    }

    [Fact]
    public void Write_Joliet_IsoReaderReadsTheJolietTreeWithTheSameExtents()
    {
        using var ms = new MemoryStream();
        IsoWriter.Write(ms, Entries(), Options);
        var bytes = ms.ToArray();
        using var rr = IsoReader.Open(new MemoryStream(bytes));
        using var joliet = IsoReader.Open(new MemoryStream(bytes), names: IsoNameSource.Joliet);
        Assert.Equal(IsoNameSource.RockRidge, rr.NameSource);
        Assert.True(rr.HasJoliet);
        Assert.Equal(IsoNameSource.Joliet, joliet.NameSource);
        Assert.Equal(JolietPaths, joliet.Entries.Select(e => "/" + e.Path));
        Assert.Equal(rr.VolumeBlocks, joliet.VolumeBlocks);
        foreach (var e in rr.Entries.Where(e => e.Type == IsoEntryType.File))
        {
            var j = joliet.Find(e.Path == LongName ? JolietPaths[9] : e.Path);
            Assert.NotNull(j);
            Assert.Equal(e.Size, j.Size);
            Assert.Equal(e.Extents, j.Extents);
            Assert.Equal(ReadAll(rr, e.Path), ReadAll(joliet, j.Path));
        }

        foreach (var d in rr.Entries.Where(e => e.IsDirectory))
        {
            Assert.True(joliet.Find(d.Path)!.IsDirectory);
        }

        // The boot entry (same catalog and image) is seen through either tree.
        Assert.Equal(rr.Boot, joliet.Boot);
        Assert.Equal(joliet.Find("boot/isolinux/isolinux.bin")!.Extents[0].Block, joliet.Boot!.LoadBlock);
        Assert.Equal(joliet.Find("boot/isolinux/boot.cat")!.Extents[0].Block, joliet.Boot.CatalogBlock);

        // Plain ISO 9660 names on request, and a tree the image lacks is refused.
        using var plain = IsoReader.Open(new MemoryStream(bytes), names: IsoNameSource.Iso9660);
        Assert.Equal(IsoNameSource.Iso9660, plain.NameSource);
        Assert.NotNull(plain.Find("BOOT/CORE.GZ"));
        using var none = new MemoryStream();
        IsoWriter.Write(none, Entries(), Options with { Joliet = false });
        Assert.Throws<IsoFormatException>(() => IsoReader.Open(new MemoryStream(none.ToArray()), names: IsoNameSource.Joliet));
        using var noRock = IsoReader.Open(new MemoryStream(none.ToArray()), names: IsoNameSource.Iso9660);
        Assert.False(noRock.HasJoliet);
    }

    [Fact]
    public void Write_Joliet_DescriptorsAndPathTablesAsGenisoimageReadsThem()
    {
        using var tmp = new TempFolder("isow");
        var iso = WriteIso(tmp);
        var info = Tool.Run("isoinfo", "-d", "-i", iso).EnsureSuccess("isoinfo -d").StdOut;
        Assert.Contains("Joliet with UCS level 3 found", info, StringComparison.Ordinal);
        Assert.Contains("Rock Ridge signatures version 1 found", info, StringComparison.Ordinal);
        Assert.Contains("El Torito VD version 1 found", info, StringComparison.Ordinal);
        Assert.Contains("Volume id: Razor MK 1.0.0\n", info, StringComparison.Ordinal);

        // isoinfo -J -l walks the Joliet directories; -J -p prints the Joliet path table.
        var list = Tool.Run("isoinfo", "-J", "-l", "-i", iso).EnsureSuccess("isoinfo -J -l").StdOut;
        Assert.Contains("Directory listing of /usr/local/bin/\n", list, StringComparison.Ordinal);
        Assert.Matches(@"\] +gem-n{52}\.gemspec *\n", list);
        Assert.DoesNotContain(" sh \n", list, StringComparison.Ordinal);
        Assert.Equal(["/", "/boot/", "/root/", "/usr/", "/boot/isolinux/", "/usr/local/", "/usr/local/bin/"], PathTableAgreesWithDirectories(iso, "-J"));
        Assert.Equal(["/", "/BOOT/", "/ROOT/", "/USR/", "/BOOT/ISOLINUX/", "/USR/LOCAL/", "/USR/LOCAL/BIN/"], PathTableAgreesWithDirectories(iso));
    }

    /// <summary>isoinfo's path table (<c>-p</c>: number, parent number, block in hex, name) gives the same block
    /// for every directory as isoinfo's walk of the tree (<c>-l</c>: each listing's "." record). Returns the
    /// directories in path-table order.</summary>
    private static List<string> PathTableAgreesWithDirectories(string iso, params string[] tree)
    {
        var table = Tool.Run("isoinfo", [.. tree, "-p", "-i", iso]).EnsureSuccess("isoinfo -p").StdOut;
        var paths = new List<string>();
        var fromTable = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(table, @"^ *(\d+): +(\d+) ([0-9a-f]+) (.*?) ?$", System.Text.RegularExpressions.RegexOptions.Multiline))
        {
            var number = int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            var parent = int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(paths.Count + 1, number);
            Assert.True(parent <= number);
            var path = number == 1 ? "/" : paths[parent - 1] + m.Groups[4].Value + "/";
            paths.Add(path);
            fromTable[path] = long.Parse(m.Groups[3].Value, System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
        }

        var list = Tool.Run("isoinfo", [.. tree, "-l", "-i", iso]).EnsureSuccess("isoinfo -l").StdOut;
        var fromTree = System.Text.RegularExpressions.Regex.Matches(list, @"^Directory listing of (.*)\n[^\n]*\[ *(\d+) +\d+\] +\. $", System.Text.RegularExpressions.RegexOptions.Multiline)
            .ToDictionary(m => m.Groups[1].Value, m => long.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture), StringComparer.Ordinal);
        Assert.Equal(fromTree.OrderBy(kv => kv.Key, StringComparer.Ordinal), fromTable.OrderBy(kv => kv.Key, StringComparer.Ordinal));
        return paths;
    }

    [Fact]
    public void Write_Joliet_LongAndForbiddenNamesAreCutMappedAndMadeUnique()
    {
        var a60 = new string('a', 60);
        var a70 = new string('a', 70);
        var expected = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [a60 + ".txt"] = a60 + ".txt", // exactly 64: kept, and wins over the cut names below
            [a70 + ".txt"] = new string('a', 58) + "_1.txt",
            [a70 + "b.txt"] = new string('a', 58) + "_2.txt",
            [new string('z', 100)] = new string('z', 64),
            ["x." + new string('y', 80)] = "x." + new string('y', 62), // the extension is too long to keep
            ["q:u*e?s;t\\x"] = "q_u_e_s_t_x_1",
            ["q_u_e_s_t_x"] = "q_u_e_s_t_x",
            ["trailing."] = "trailing_",
            ["emoji-\U0001F600.txt"] = "emoji-_.txt",
            ["\u00e9t\u00e9 \u65e5\u672c.txt"] = "\u00e9t\u00e9 \u65e5\u672c.txt",
            ["ctl\u0001"] = "ctl_",
            [new string('d', 80) + "/f.txt"] = new string('d', 64) + "/f.txt",
            ["link"] = "", // a symlink: not in the Joliet tree
        };
        List<IsoWriterEntry> Make() =>
            [.. expected.Keys.Select(k => k == "link" ? IsoWriterEntry.Symlink(k, "f") : File("dir/" + k, Encoding.UTF8.GetBytes(k)))];

        using var tmp = new TempFolder("isow");
        var iso = tmp["names.iso"];
        var options = new IsoWriterOptions { Timestamp = Time };
        IsoWriter.WriteFile(iso, Make(), options);
        using (var reversed = new MemoryStream())
        {
            IsoWriter.Write(reversed, Make().AsEnumerable().Reverse(), options);
            Assert.Equal(System.IO.File.ReadAllBytes(iso), reversed.ToArray());
        }

        var files = expected.Where(kv => kv.Value.Length > 0).ToList();
        var listing = XorrisoJolietListing(iso);
        foreach (var (_, joliet) in files)
        {
            Assert.True(listing.ContainsKey("/dir/" + joliet), $"xorriso does not list /dir/{joliet}: {string.Join(", ", listing.Keys)}");
        }

        Assert.Equal(files.Count + 2, listing.Count); // dir and the long directory
        using var reader = IsoReader.Open(iso, names: IsoNameSource.Joliet);
        foreach (var (name, joliet) in files)
        {
            Assert.True(joliet.Length <= 64 || joliet.Contains('/', StringComparison.Ordinal));
            Assert.Equal(name, Encoding.UTF8.GetString(ReadAll(reader, "dir/" + joliet)));
        }

        Assert.Null(reader.Find("link"));
        using var rr = IsoReader.Open(iso);
        Assert.Equal(IsoEntryType.Symlink, rr.Find("link")!.Type);
    }

    [Fact]
    public void Write_JolietOff_WritesNoSupplementaryDescriptor()
    {
        using var with = new MemoryStream();
        using var without = new MemoryStream();
        IsoWriter.Write(with, Entries(), Options);
        IsoWriter.Write(without, Entries(), Options with { Joliet = false });
        using var reader = IsoReader.Open(new MemoryStream(without.ToArray()));
        Assert.False(reader.HasJoliet);
        Assert.True(reader.HasRockRidge);
        Assert.Equal(Initrd, ReadAll(reader, "boot/core.gz"));
        // Descriptors 16 (primary), 17 (boot record), 18 (terminator) without; 18 is Joliet's with.
        Assert.Equal(255, without.ToArray()[(18 * 2048) + 0]);
        Assert.Equal(2, with.ToArray()[(18 * 2048) + 0]);
        Assert.Equal(255, with.ToArray()[(19 * 2048) + 0]);
        Assert.True(with.Length > without.Length);
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
