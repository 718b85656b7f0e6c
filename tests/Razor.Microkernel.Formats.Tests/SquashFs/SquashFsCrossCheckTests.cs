using System.Globalization;
using System.Text.RegularExpressions;
using Razor.Microkernel.Formats.Layers;
using Razor.Microkernel.Formats.SquashFs;
using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Formats.Tests.SquashFs;

/// <summary>Images made by the real mksquashfs, read by us, compared entry by entry with what the real
/// unsquashfs lists (-lln) and extracts (-d).</summary>
public sealed class SquashFsCrossCheckTests(SquashFsFixture fixture) : IClassFixture<SquashFsFixture>
{
    public static TheoryData<string, string> Matrix => new()
    {
        { "tcl-gzip-4k", "-b 4096 -no-xattrs" },
        { "gzip-128k", "" },
        { "gzip-1m-options", "-b 1M -Xcompression-level 1" },
        { "lzma", "-comp lzma -b 64K" },
        { "lzo", "-comp lzo" },
        { "lz4-hc", "-comp lz4 -Xhc" },
        { "xz-bcj", "-comp xz -Xbcj x86 -b 256K" },
        { "zstd", "-comp zstd -b 4096" },
        { "lzo-options", "-comp lzo -Xalgorithm lzo1x_1 -b 4096" },
        { "zstd-options", "-comp zstd -Xcompression-level 3" },
        { "no-fragments", "-no-fragments -b 4096" },
        { "always-fragments", "-always-use-fragments" },
        { "uncompressed", "-noI -noD -noF -noX -b 4096" },
        { "lz4-uncompressed-data", "-comp lz4 -noD -b 1M" },
    };

    [Theory]
    [MemberData(nameof(Matrix))]
    public void Read_MatchesUnsquashfs(string name, string args)
    {
        var image = fixture.Image(name, args.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        var expected = Expected(image);

        // A non-default compressor setting (-X…) makes mksquashfs write a compressor options block (flag 0x400);
        // lz4 always writes one (its format version).
        var flags = System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(File.ReadAllBytes(image).AsSpan(24, 2));
        Assert.Equal(args.Contains("-X", StringComparison.Ordinal) || args.Contains("-comp lz4", StringComparison.Ordinal), (flags & 0x400) != 0);

        using var img = SquashFsImage.Open(image);
        var ours = new Dictionary<string, Observed>(StringComparer.Ordinal);
        var entries = img.Entries().ToList();
        var groups = entries.Where(e => e.Type == SquashFsEntryType.File).GroupBy(e => e.InodeReference)
            .ToDictionary(g => g.Key, g => g.Select(e => e.Path).Order(StringComparer.Ordinal).First());
        foreach (var e in entries)
        {
            var sha = string.Empty;
            if (e.Type == SquashFsEntryType.File)
            {
                using var s = img.OpenRead(e);
                sha = SquashFsFixture.Sha256(s);
            }

            ours[e.Path] = new Observed(TypeLetter(e.Type), e.Mode, e.Uid, e.Gid, e.ModificationTime,
                e.Type is SquashFsEntryType.File or SquashFsEntryType.Symlink ? e.Size : 0, e.SymlinkTarget, sha,
                e.DeviceMajor, e.DeviceMinor, e.Type == SquashFsEntryType.File ? groups[e.InodeReference] : "");
        }

        Compare(expected.Tree, ours);

        // unsquashfs -lln: permissions string, owners and size (folders: listing size) per path.
        foreach (var e in entries)
        {
            Assert.True(expected.Listing.TryGetValue(e.Path, out var line), $"unsquashfs -lln does not list {e.Path}");
            Assert.Equal(line.Perm, Permissions(e), StringComparer.Ordinal);
            Assert.Equal((line.Uid, line.Gid), (e.Uid, e.Gid));
            if (e.Type is not (SquashFsEntryType.BlockDevice or SquashFsEntryType.CharacterDevice))
            {
                Assert.Equal(line.Size, e.Size.ToString(CultureInfo.InvariantCulture));
            }
        }

        Assert.Equal(expected.Listing.Count, entries.Count);
        Assert.Equal(!args.Contains("-no-xattrs", StringComparison.Ordinal), img.HasXattrs);

        // The inode forms the image holds (1-7 basic, 8-14 extended): every basic form, and with xattrs every
        // extended one (mksquashfs uses them for entries with xattrs); the 3,000-entry folder and the hard-linked
        // and sparse files are extended in any case. More ids than one id-table metadata block holds.
        var forms = entries.Select(e => e.Inode.Type + (e.Inode.Extended ? 7 : 0)).ToHashSet();
        int[] wanted = img.HasXattrs ? [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14] : [1, 2, 3, 4, 5, 6, 7, 8, 9];
        Assert.Equal(wanted, forms.Order());
        Assert.True(entries.Select(e => e.Uid).Concat(entries.Select(e => e.Gid)).Distinct().Count() > 2048);
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public void Extract_LayerMatchesUnsquashfs(string name, string args)
    {
        var image = fixture.Image(name, args.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        var expected = new Dictionary<string, Observed>(Expected(image).Tree, StringComparer.Ordinal);
        var layer = Path.Combine(fixture.Folder, name + ".tar");
        SquashFsExtractResult result;
        using (var w = new LayerWriter(File.Create(layer)))
        {
            result = SquashFsExtractor.ExtractToLayer(image, w, new SquashFsExtractOptions(), CancellationToken.None);
            w.Finish();
        }

        var entries = LayerReader.ReadAll(layer);
        Assert.DoesNotContain(entries, e => e.Implicit);
        var sockets = expected.Where(p => p.Value.Type == "s").Select(p => p.Key).ToList();
        Assert.Equal(["dev/socket", "dev/socket2"], sockets);
        Assert.Equal(sockets, result.Warnings.Where(w => w.Kind == SquashFsWarningKind.SocketSkipped).Select(w => w.Path));
        Assert.Equal(expected.Count - sockets.Count, result.Entries);
        var xattrWarnings = result.Warnings.Count(w => w.Kind == SquashFsWarningKind.XattrsIgnored);
        Assert.Equal(args.Contains("-no-xattrs", StringComparison.Ordinal) ? 0 : 1, xattrWarnings);
        Assert.Equal(expected.Count - sockets.Count, entries.Count);

        var byPath = entries.ToDictionary(e => e.Path, StringComparer.Ordinal);
        var ours = new Dictionary<string, Observed>(StringComparer.Ordinal);
        using var tar = File.OpenRead(layer);
        foreach (var e in entries)
        {
            var a = e.Attributes;
            var file = e.Type == LayerEntryType.HardLink ? byPath[e.LinkTarget] : e;
            var sha = string.Empty;
            if (file.Type == LayerEntryType.File)
            {
                tar.Position = file.DataOffset;
                var bytes = new byte[file.Size];
                tar.ReadExactly(bytes);
                sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));
            }

            var type = e.Type switch
            {
                LayerEntryType.File or LayerEntryType.HardLink => "f",
                LayerEntryType.Directory => "d",
                LayerEntryType.Symlink => "l",
                LayerEntryType.CharacterDevice => "c",
                LayerEntryType.BlockDevice => "b",
                _ => "p",
            };
            ours[e.Path] = new Observed(type, a.Mode, a.Owner.Uid, a.Owner.Gid, a.ModificationTime,
                type is "f" ? file.Size : type is "l" ? System.Text.Encoding.UTF8.GetByteCount(e.LinkTarget) : 0,
                type is "l" ? e.LinkTarget : "", sha, e.DeviceMajor, e.DeviceMinor, type == "f" ? "?" : "");
        }

        // Hard-link groups: every member of an unsquashfs inode group is the first member or links to it.
        foreach (var (path, o) in ours.Where(p => p.Value.Type == "f").ToList())
        {
            var e = byPath[path];
            var expectedGroup = expected[path].Group;
            var ourGroup = e.Type == LayerEntryType.HardLink ? expected[e.LinkTarget].Group : expectedGroup;
            Assert.Equal(expectedGroup, ourGroup);
            ours[path] = o with { Group = expectedGroup };
            if (e.Type == LayerEntryType.File)
            {
                Assert.Equal(expectedGroup, expected.Where(p => p.Value.Group == expectedGroup).Select(p => p.Key)
                    .First(p => byPath[p].Type == LayerEntryType.File));
            }
        }

        foreach (var s in sockets)
        {
            expected.Remove(s);
        }

        Compare(expected, ours);
        Assert.Equal(expected.Where(p => p.Value.Type == "f" && p.Value.Group == p.Key).Sum(p => p.Value.Size), result.ContentBytes);
    }

    /// <summary>Each data block and each fragment block is read (and so decoded) once, however many files' tails a
    /// fragment block holds. Without -no-duplicates mksquashfs lets files share blocks, so it is given here.</summary>
    [Fact]
    public void Extract_ReadsEveryDataAndFragmentBlockOnce()
    {
        var image = fixture.Image("once", "-b", "4096", "-no-duplicates", "-no-xattrs");
        var bytes = File.ReadAllBytes(image);
        var inodeTable = (long)System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(64));
        var reads = new CountingStream(bytes);
        SquashFsExtractResult result;
        int tails;
        using (var img = SquashFsImage.Open(reads))
        {
            tails = img.Entries().Count(e => e.Type == SquashFsEntryType.File && e.Inode.HasFragment);
            reads.Reads.Clear();
            using var w = new LayerWriter(Stream.Null);
            result = SquashFsExtractor.ExtractToLayer(img, w, new SquashFsExtractOptions());
            w.Finish();
        }

        Assert.True(tails > 3000, $"{tails} files with a tail in a fragment");
        var dataReads = reads.Reads.Where(r => r < inodeTable).GroupBy(r => r).ToList();
        Assert.NotEmpty(dataReads);
        var twice = dataReads.Where(g => g.Count() > 1).Select(g => $"{g.Key} ({g.Count()}x)").Take(5).ToList();
        Assert.True(twice.Count == 0, "blocks read more than once: " + string.Join(", ", twice));
        Assert.True(result.ContentBytes > 3 << 20);
    }

    private sealed class CountingStream(byte[] bytes) : MemoryStream(bytes, writable: false)
    {
        public List<long> Reads { get; } = [];

        // A MemoryStream subclass's Read(Span) goes through Stream.Read(Span), which calls this one.
        public override int Read(byte[] buffer, int offset, int count)
        {
            lock (Reads)
            {
                Reads.Add(Position);
            }

            return base.Read(buffer, offset, count);
        }
    }

    private static void Compare(Dictionary<string, Observed> expected, Dictionary<string, Observed> actual)
    {
        var missing = expected.Keys.Except(actual.Keys).Take(5).ToList();
        var extra = actual.Keys.Except(expected.Keys).Take(5).ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0, $"missing: {string.Join(", ", missing)}; extra: {string.Join(", ", extra)}");
        foreach (var (path, e) in expected)
        {
            Assert.True(e == actual[path], $"{path}:\n expected {e}\n actual   {actual[path]}");
        }
    }

    private sealed record Observed(string Type, int Mode, int Uid, int Gid, long Mtime, long Size, string Target, string Sha,
        int Major, int Minor, string Group);

    private sealed record ListingLine(string Perm, int Uid, int Gid, string Size);

    private sealed record Snapshot(Dictionary<string, Observed> Tree, Dictionary<string, ListingLine> Listing);

    private static readonly Regex ListingRegex = new(@"^(\S{10}) (\d+)/(\d+) +(\d+, *\d+|\S+) \d{4}-\d\d-\d\d \d\d:\d\d squashfs-root/(.*?)(?: -> .*)?$", RegexOptions.Multiline);

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Snapshot> Snapshots = new();

    /// <summary>What the real unsquashfs lists and extracts (once per image).</summary>
    private Snapshot Expected(string image) => Snapshots.GetOrAdd(image, Unsquash);

    private Snapshot Unsquash(string image)
    {
        var listing = Tool.Run("unsquashfs", "-lln", image).EnsureSuccess("unsquashfs -lln").StdOut;
        var lines = new Dictionary<string, ListingLine>(StringComparer.Ordinal);
        foreach (Match m in ListingRegex.Matches(listing))
        {
            lines[m.Groups[5].Value] = new ListingLine(m.Groups[1].Value, int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture),
                int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture), m.Groups[4].Value);
        }

        var outDir = Path.Combine(fixture.Folder, "x-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            Tool.Run("unsquashfs", "-no-progress", "-q", "-d", outDir, image).EnsureSuccess("unsquashfs -d");
            var found = Tool.Run("find", outDir, "-mindepth", "1", "-printf", "%P\\t%y\\t%m\\t%U\\t%G\\t%T@\\t%s\\t%l\\t%i\\n")
                .EnsureSuccess("find").StdOut;
            var rows = found.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t')).ToList();
            var groups = rows.Where(r => r[1] == "f").GroupBy(r => r[8]).ToDictionary(g => g.Key, g => g.Select(r => r[0]).Order(StringComparer.Ordinal).First());
            var tree = new Dictionary<string, Observed>(StringComparer.Ordinal);
            foreach (var r in rows)
            {
                var full = Path.Combine(outDir, r[0]);
                var (major, minor) = (0, 0);
                if (r[1] is "c" or "b")
                {
                    var st = Tool.Run("stat", "-c", "%t %T", full).EnsureSuccess("stat").StdOut.Trim().Split(' ');
                    (major, minor) = (int.Parse(st[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture), int.Parse(st[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                }

                var sha = string.Empty;
                if (r[1] == "f")
                {
                    using var s = File.OpenRead(full);
                    sha = SquashFsFixture.Sha256(s);
                }

                tree[r[0]] = new Observed(r[1], Convert.ToInt32(r[2], 8), int.Parse(r[3], CultureInfo.InvariantCulture), int.Parse(r[4], CultureInfo.InvariantCulture),
                    long.Parse(r[5].Split('.')[0], CultureInfo.InvariantCulture), r[1] is "f" or "l" ? long.Parse(r[6], CultureInfo.InvariantCulture) : 0,
                    r[7], sha, major, minor, r[1] == "f" ? groups[r[8]] : "");
            }

            return new Snapshot(tree, lines);
        }
        finally
        {
            Tool.Run("rm", "-rf", outDir);
        }
    }

    private static string TypeLetter(SquashFsEntryType t) => t switch
    {
        SquashFsEntryType.Directory => "d",
        SquashFsEntryType.File => "f",
        SquashFsEntryType.Symlink => "l",
        SquashFsEntryType.BlockDevice => "b",
        SquashFsEntryType.CharacterDevice => "c",
        SquashFsEntryType.Fifo => "p",
        _ => "s",
    };

    private static string Permissions(SquashFsEntry e)
    {
        var m = e.Mode;
        var t = TypeLetter(e.Type) switch { "f" => '-', var x => x[0] };
        char X(int bit, int special, char set, char setNoX) => (m & special) != 0 ? ((m & bit) != 0 ? set : setNoX) : ((m & bit) != 0 ? 'x' : '-');
        return string.Concat(
            t,
            (m & 0x100) != 0 ? 'r' : '-', (m & 0x80) != 0 ? 'w' : '-', X(0x40, 0x800, 's', 'S'),
            (m & 0x20) != 0 ? 'r' : '-', (m & 0x10) != 0 ? 'w' : '-', X(0x8, 0x400, 's', 'S'),
            (m & 0x4) != 0 ? 'r' : '-', (m & 0x2) != 0 ? 'w' : '-', X(0x1, 0x200, 't', 'T'));
    }
}
