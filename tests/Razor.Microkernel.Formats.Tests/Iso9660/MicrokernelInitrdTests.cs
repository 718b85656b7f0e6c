using System.IO.Compression;
using System.Text;
using Razor.Microkernel.Formats.Cpio;
using Razor.Microkernel.Formats.Iso9660;
using Razor.Microkernel.Formats.Layers;
using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Formats.Tests.Iso9660;

/// <summary>The initrd in both modes, checked by extracting with GNU cpio as root: the overlay wins, the
/// release's folders keep their attributes under implicit overlay folders, hard links of both sides survive.</summary>
public sealed class MicrokernelInitrdTests : IDisposable
{
    private const long Mtime = 1_300_000_000;
    private readonly TempFolder _dir = new("rmk-initrd");

    public void Dispose() => _dir.Dispose();

    /// <summary>A release root made with GNU cpio from a real folder: /tmp 1777, /home/tc owned by 1001:50,
    /// a hard-linked pair, a folder the overlay will replace with a file, a symlink.</summary>
    private byte[] CoreGz()
    {
        var root = _dir["core-root"];
        Directory.CreateDirectory(Path.Combine(root, "etc"));
        Directory.CreateDirectory(Path.Combine(root, "tmp"));
        Directory.CreateDirectory(Path.Combine(root, "home/tc"));
        Directory.CreateDirectory(Path.Combine(root, "opt/thing/deep"));
        Directory.CreateDirectory(Path.Combine(root, "bin"));
        File.WriteAllText(Path.Combine(root, "etc/version"), "4.5.2\n");
        File.WriteAllText(Path.Combine(root, "etc/hostname"), "box\n");
        File.WriteAllText(Path.Combine(root, "opt/thing/deep/file"), "gone\n");
        File.WriteAllText(Path.Combine(root, "bin/busybox"), "busybox binary\n");
        Tool.Run("ln", Path.Combine(root, "bin/busybox"), Path.Combine(root, "bin/sh")).EnsureSuccess("ln");
        Tool.Run("ln", "-s", "busybox", Path.Combine(root, "bin/ls")).EnsureSuccess("ln -s");
        Tool.Run("chmod", "1777", Path.Combine(root, "tmp")).EnsureSuccess("chmod");
        Tool.Run("chown", "1001:50", Path.Combine(root, "home/tc")).EnsureSuccess("chown");
        var gz = _dir["core.gz"];
        Tool.Run("sh", ["-c", $"cd {root} && find . | sort | cpio -o -H newc --quiet | gzip -9 -n > {gz}"]).EnsureSuccess("cpio | gzip");
        return File.ReadAllBytes(gz);
    }

    private OverlayMerge Overlay()
    {
        var path = _dir["overlay.tar"];
        using (var w = new LayerWriter(File.Create(path), Mtime))
        {
            var file = new EntryAttributes(0x1A4, Ownership.Root, Mtime);
            // /tmp and /tmp/tcloop are implicit here: the release's /tmp must keep 1777.
            w.AddFile("tmp/tcloop/ruby/usr/local/bin/ruby", new EntryAttributes(0x1ED, Ownership.Root, Mtime), "ruby"u8);
            w.AddFile("etc/version", file, "overlay\n"u8);
            w.AddFile("opt/thing", file, "now a file\n"u8);
            w.AddDirectory("home/tc", new EntryAttributes(0x1C0, new Ownership(1001, 50, "tc", "staff"), Mtime)); // explicit: wins
            w.AddFile("usr/local/lib/a.so", file, "shared"u8);
            w.AddHardLink("zz/b.so", "usr/local/lib/a.so", file);
            w.AddSymlink("usr/local/mcollective", "/usr/local/tce.installed/mcollective-1.2.1", new EntryAttributes(0x1FF, Ownership.Root, Mtime));
        }

        return OverlayMerge.Create([new LayerSource("overlay", path)]);
    }

    private byte[] Build(byte[] coreGz, InitrdMode mode, OverlayMerge overlay, InitrdLimits? limits = null)
    {
        using var output = new MemoryStream();
        MicrokernelInitrd.Write(new MemoryStream(coreGz), overlay, output, mode, Mtime, limits, _dir.Path);
        return output.ToArray();
    }

    private static List<string> Names(byte[] cpio)
        => [.. Tool.Run("cpio", ["-it", "--quiet"], stdin: cpio).EnsureSuccess("cpio -it").StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries)];

    private static string Listing(byte[] cpio) => Tool.Run("cpio", ["-itvn", "--quiet"], stdin: cpio).EnsureSuccess("cpio -itv").StdOut;

    private string Extract(string name, params byte[][] archives)
    {
        var target = _dir[name];
        Directory.CreateDirectory(target);
        foreach (var a in archives)
        {
            Tool.Run("sh", ["-c", $"cd {target} && cpio -idmu --quiet --no-absolute-filenames"], stdin: a).EnsureSuccess("cpio -id");
        }

        return target;
    }

    private static string Stat(string path) => Tool.Run("stat", "-c", "%a %u:%g %h %F", path).EnsureSuccess("stat").StdOut.Trim();

    private static string Mode(string path) => Tool.Run("stat", "-c", "%a %u:%g", path).EnsureSuccess("stat").StdOut.Trim();

    [Fact]
    public void Merge_OneArchive_OverlayWins_ReleaseFoldersKeepTheirAttributes()
    {
        var core = CoreGz();
        var merged = Build(core, InitrdMode.Merge, Overlay());
        var x = Extract("merged", merged);

        Assert.Equal("overlay\n", File.ReadAllText(Path.Combine(x, "etc/version")));
        Assert.Equal("box\n", File.ReadAllText(Path.Combine(x, "etc/hostname")));
        Assert.Equal("1777 0:0", Mode(Path.Combine(x, "tmp")));
        Assert.Equal("700 1001:50", Mode(Path.Combine(x, "home/tc")));
        Assert.Equal("now a file\n", File.ReadAllText(Path.Combine(x, "opt/thing")));
        Assert.Equal("ruby", File.ReadAllText(Path.Combine(x, "tmp/tcloop/ruby/usr/local/bin/ruby")));
        // Hard links from the release and from the overlay, each still one inode.
        Assert.Equal("644 0:0 2 regular file", Stat(Path.Combine(x, "bin/sh")));
        Assert.Equal("busybox binary\n", File.ReadAllText(Path.Combine(x, "bin/sh")));
        Assert.Equal(Stat(Path.Combine(x, "zz/b.so")), Stat(Path.Combine(x, "usr/local/lib/a.so")));
        Assert.Equal("shared", File.ReadAllText(Path.Combine(x, "zz/b.so")));
        Assert.Contains("2 regular file", Stat(Path.Combine(x, "zz/b.so")), StringComparison.Ordinal);
        Assert.Equal("busybox", new FileInfo(Path.Combine(x, "bin/ls")).LinkTarget);
        Assert.Equal("/usr/local/tce.installed/mcollective-1.2.1", new FileInfo(Path.Combine(x, "usr/local/mcollective")).LinkTarget);

        // Tree order, root first, one mtime; the release's children of the replaced folder are gone.
        var names = Names(merged);
        Assert.Equal(".", names[0]);
        Assert.DoesNotContain("opt/thing/deep/file", names);
        // Hard-link groups go where their last member sorts (bin/busybox with bin/sh, a.so with zz/b.so).
        var ordered = names.Skip(1).Where(n => n is not "bin/busybox" and not "usr/local/lib/a.so").ToList();
        Assert.Equal(ordered.Order(ImagePath.TreeOrder).ToList(), ordered);
        Assert.Equal(names.IndexOf("bin/sh") - 1, names.IndexOf("bin/busybox"));
        Assert.Equal(names.IndexOf("zz/b.so") - 1, names.IndexOf("usr/local/lib/a.so"));
        Assert.All(names.Skip(1).Where(n => n.Contains('/', StringComparison.Ordinal)),
            n => Assert.True(names.IndexOf(n[..n.LastIndexOf('/')]) < names.IndexOf(n), n + " comes before its folder"));
        Assert.DoesNotContain(Listing(merged).Split('\n', StringSplitOptions.RemoveEmptyEntries), l => !l.Contains("Mar 13  2011", StringComparison.Ordinal));
        Assert.Equal(merged, Build(core, InitrdMode.Merge, Overlay()));
    }

    [Fact]
    public void Append_LeavesOutImplicitFoldersTheReleaseHas_AndUnpacksToTheSameTreeAsMerge()
    {
        var core = CoreGz();
        var appended = Build(core, InitrdMode.Append, Overlay());
        var names = Names(appended);
        Assert.DoesNotContain("tmp", names); // the release has /tmp (1777): no root 0755 entry may replace it
        Assert.Contains("tmp/tcloop", names); // the release has no /tmp/tcloop: the overlay brings it
        Assert.Contains("home/tc", names); // explicit in the overlay
        Assert.DoesNotContain("etc/hostname", names);

        var x = Extract("appended", appended);
        Assert.Equal("overlay\n", File.ReadAllText(Path.Combine(x, "etc/version")));
        Assert.Equal("700 1001:50", Mode(Path.Combine(x, "home/tc")));
        Assert.Equal("shared", File.ReadAllText(Path.Combine(x, "zz/b.so")));
        Assert.Equal(appended, Build(core, InitrdMode.Append, Overlay()));
    }

    [Fact]
    public void Merge_ConcatenatedArchivesWithPadding_LaterMemberWins()
    {
        static byte[] Cpio(params (string Path, string Text)[] files)
        {
            using var ms = new MemoryStream();
            using (var w = new NewcWriter(ms, Mtime, leaveOpen: true))
            {
                foreach (var (path, text) in files)
                {
                    var b = Encoding.ASCII.GetBytes(text);
                    w.Write(new CpioEntry(path, CpioEntryType.File, 0x1A4), new MemoryStream(b), b.Length);
                }
            }

            ms.Write(new byte[512 - (ms.Length % 512)]); // padding as GNU cpio writes it
            return ms.ToArray();
        }

        static byte[] Gzip(byte[] data)
        {
            using var ms = new MemoryStream();
            using (var gz = new GZipStream(ms, CompressionLevel.Optimal, leaveOpen: true))
            {
                gz.Write(data);
            }

            return ms.ToArray();
        }

        var core = Gzip(Cpio(("a", "first"), ("b", "kept"))).Concat(Gzip(Cpio(("a", "second")))).ToArray();
        var x = Extract("concat", Build(core, InitrdMode.Merge, OverlayMerge.Create([])));
        Assert.Equal("second", File.ReadAllText(Path.Combine(x, "a")));
        Assert.Equal("kept", File.ReadAllText(Path.Combine(x, "b")));

        // An uncompressed initrd is read too.
        var plain = Extract("plain", Build(Cpio(("c", "plain")), InitrdMode.Merge, OverlayMerge.Create([])));
        Assert.Equal("plain", File.ReadAllText(Path.Combine(plain, "c")));
    }

    [Fact]
    public void HostileCoreInitrd_IsRefusedWithTypedErrors()
    {
        var overlay = OverlayMerge.Create([]);
        Assert.Throws<CpioFormatException>(() => Build("not an initrd at all, just text"u8.ToArray(), InitrdMode.Merge, overlay));
        Assert.Throws<CpioFormatException>(() => Build("not an initrd"u8.ToArray(), InitrdMode.Append, overlay));
        var core = CoreGz();
        var corrupt = Assert.ThrowsAny<Exception>(() => Build(core[..20].Concat(new byte[] { 1, 2, 3, 4, 5 }).ToArray(), InitrdMode.Merge, overlay));
        Assert.True(corrupt is CpioFormatException or InvalidDataException, corrupt.ToString());
        Assert.Throws<CpioFormatException>(() => Build(core[..(core.Length / 2)], InitrdMode.Merge, overlay)); // truncated

        // A gzip bomb: a few KiB that unpack to a valid archive followed by 64 MiB of "padding".
        using var bomb = new MemoryStream();
        using (var gz = new GZipStream(bomb, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            using (var w = new NewcWriter(gz, Mtime, leaveOpen: true))
            {
                w.Write(new CpioEntry("a", CpioEntryType.Directory, 0x1ED));
            }

            gz.Write(new byte[64 << 20]);
        }

        Assert.True(bomb.Length < 200_000);

        var e = Assert.Throws<FormatLimitException>(() => Build(bomb.ToArray(), InitrdMode.Merge, overlay, new InitrdLimits { MaxUncompressedBytes = 1 << 20 }));
        Assert.Equal("initrd uncompressed bytes", e.Limit);
        Assert.Throws<FormatLimitException>(() => Build(core, InitrdMode.Merge, overlay, new InitrdLimits { MaxEntries = 3 }));
        Assert.Empty(Directory.EnumerateFiles(_dir.Path, ".rmk-initrd-*"));
    }

    /// <summary>The build's early check (before any layer): what does not start as a gzip'd or plain newc cpio is refused
    /// by its first bytes, as <see cref="MicrokernelInitrd.WriteInitrd"/> would refuse it; damage further in is left to
    /// WriteInitrd. The caller's stream stays open.</summary>
    [Fact]
    public void CheckStart_RefusesWhatIsNoInitrdFromItsFirstBytes_AsWriteInitrdDoes()
    {
        var gz = CoreGz();
        using var cpio = new MemoryStream();
        using (var g = new GZipStream(new MemoryStream(gz), CompressionMode.Decompress))
        {
            g.CopyTo(cpio);
        }

        foreach (var good in new[] { gz, cpio.ToArray() })
        {
            using var s = new MemoryStream(good);
            MicrokernelInitrd.CheckStart(s);
            Assert.True(s.CanRead);
        }

        using var zeros = new MemoryStream();
        using (var g = new GZipStream(zeros, CompressionLevel.Optimal, leaveOpen: true))
        {
            g.Write(new byte[70_000]);
        }

        byte[][] bad = [[], "not an initrd at all, just text"u8.ToArray(), zeros.ToArray(), gz[..12], [0x1F, 0x8B, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]];
        foreach (var b in bad)
        {
            var early = Assert.Throws<ReleaseInitrdException>(() => MicrokernelInitrd.CheckStart(new MemoryStream(b)));
            Assert.StartsWith("is not a gzip'd newc cpio archive: ", early.Reason, StringComparison.Ordinal);
            var late = Assert.Throws<ReleaseInitrdException>(() => MicrokernelInitrd.WriteInitrd(() => new MemoryStream(b), OverlayMerge.Create([]), Stream.Null,
                new InitrdWriteOptions { Mode = InitrdMode.Merge }, _dir.Path));
            Assert.Equal(early.Reason, late.Reason);
        }

        // A good start and a cut-off end: only writing the initrd finds it.
        MicrokernelInitrd.CheckStart(new MemoryStream(gz[..(gz.Length / 2)]));
        Assert.Throws<ReleaseInitrdException>(() => MicrokernelInitrd.WriteInitrd(() => new MemoryStream(gz[..(gz.Length / 2)]), OverlayMerge.Create([]), Stream.Null,
            new InitrdWriteOptions(), _dir.Path));
    }

    [Fact]
    public void MutatedCoreInitrds_FailOnlyWithTypedErrors_AndNeverLeaveASpool()
    {
        var gz = CoreGz();
        using var cpio = new MemoryStream();
        using (var g = new GZipStream(new MemoryStream(gz), CompressionMode.Decompress))
        {
            g.CopyTo(cpio);
        }

        var overlay = Overlay();
        var random = new Random(20261126);
        var limits = new InitrdLimits { MaxUncompressedBytes = 8 << 20, MaxEntries = 10_000 };
        var outcomes = new Dictionary<string, int>();
        foreach (var original in new[] { cpio.ToArray(), gz })
        {
            for (var i = 0; i < 300; i++)
            {
                var bytes = (byte[])original.Clone();
                switch (i % 3)
                {
                    case 0: // flip a few bytes
                        for (var k = 0; k < 1 + random.Next(4); k++)
                        {
                            bytes[random.Next(bytes.Length)] ^= (byte)(1 + random.Next(255));
                        }

                        break;
                    case 1: // a hex digit of a header field becomes another character
                        bytes[random.Next(bytes.Length)] = (byte)"0123456789abcdefgxyz \0\xff"[random.Next(23)];
                        break;
                    default: // truncated
                        bytes = bytes[..random.Next(bytes.Length)];
                        break;
                }

                string outcome;
                try
                {
                    Build(bytes, i % 2 == 0 ? InitrdMode.Merge : InitrdMode.Append, overlay, limits);
                    outcome = "read";
                }
                catch (Exception e) when (e is MicrokernelFormatException or InvalidDataException)
                {
                    outcome = e.GetType().Name;
                }

                outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
            }
        }

        Assert.True(outcomes.GetValueOrDefault(nameof(CpioFormatException)) > 50, string.Join(", ", outcomes));
        Assert.Empty(Directory.EnumerateFiles(_dir.Path, ".rmk-initrd-*"));
    }
}
