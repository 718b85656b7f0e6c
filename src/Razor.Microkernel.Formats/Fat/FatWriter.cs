using System.Buffers;
using System.Text;

namespace Razor.Microkernel.Formats.Fat;

/// <summary>One file or folder to write. Files supply <see cref="OpenContent"/>, which must yield exactly
/// <see cref="Size"/> bytes and is called once, when the file's clusters are written.</summary>
public sealed record FatWriterEntry(string Path, bool IsDirectory, long Size, Func<Stream>? OpenContent)
{
    public static FatWriterEntry Directory(string path) => new(path, true, 0, null);

    public static FatWriterEntry File(string path, long size, Func<Stream> openContent) => new(path, false, size, openContent);

    public static FatWriterEntry File(string path, byte[] content)
    {
        ArgumentNullException.ThrowIfNull(content);
        return new(path, false, content.Length, () => new MemoryStream(content, writable: false));
    }
}

public sealed record FatWriterOptions
{
    /// <summary>Up to 11 characters: A–Z, 0–9, space and <c>!#$%&amp;'()-@^_`{}~</c>. Written into the boot
    /// sector and as the root folder's label entry.</summary>
    public string VolumeLabel { get; init; } = "EFIBOOT";

    /// <summary>The volume serial number (fixed, so the image is reproducible).</summary>
    public uint VolumeSerial { get; init; } = 0x524D4B31; // "1KMR"

    /// <summary>Every time in the image (DOS times: from 1980, in 2-second steps).</summary>
    public DateTimeOffset Timestamp { get; init; } = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Make the image at least this large (free clusters are added); 0 for the smallest that holds the entries.</summary>
    public long MinimumBytes { get; init; }

    /// <summary>The image's size is made a multiple of this many bytes (a multiple of 512) by reserving sectors after
    /// the boot sector. The default, 2048, makes an El Torito boot image of whole CD blocks, so the partition a hybrid
    /// ISO's GPT gives it (whole blocks) and its MBR partition (whole sectors) cover the same bytes.</summary>
    public int SizeAlignment { get; init; } = 2048;

    /// <summary>Largest image the writer makes.</summary>
    public long MaximumBytes { get; init; } = 1L << 30;

    /// <summary>The boot sector's OEM name (8 characters).</summary>
    public string OemName { get; init; } = "RAZORMK ";
}

/// <summary>What was written.</summary>
public sealed record FatWriteResult(FatType Type, long Bytes, int ClusterBytes, long Clusters);

/// <summary>
/// Writes a FAT12 or FAT16 image, in-process and deterministically: the same entries give the same bytes (folders
/// and names in ordinal order ignoring case, every time <see cref="FatWriterOptions.Timestamp"/>, a fixed volume
/// serial, clusters allocated contiguously — the folders breadth first, then the files in tree order). Sectors are
/// 512 bytes; the FAT type follows from the cluster count: FAT12 with 512-byte clusters while fewer than 4085 are
/// needed, else FAT16 with the smallest cluster (up to 32 KiB) that keeps the count under 65525 — enough for images
/// up to 2 GiB; FAT32 is not written (an EFI boot image holding a loader and its configuration never needs it).
/// Two FATs, a 512-entry root folder (more when the root needs them), media 0xF8. A name that is not an upper-case
/// 8.3 name gets a VFAT long name and an 8.3 alias (<c>grub.cfg</c> → <c>GRUB.CFG</c>, longer names
/// <c>NAME~1.EXT</c>). The output is written sequentially; file contents are streamed.
/// </summary>
public static class FatWriter
{
    private const int SectorBytes = 512;

    public static FatWriteResult Write(Stream output, IEnumerable<FatWriterEntry> entries, FatWriterOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(entries);
        options ??= new FatWriterOptions();
        CheckLabel(options.VolumeLabel);
        var root = new Node("", null, true, 0, null);
        foreach (var e in entries)
        {
            Add(root, e);
        }

        Prepare(root);
        var layout = Plan(root, options);
        Emit(output, root, layout, options, cancellationToken);
        return new FatWriteResult(layout.Geometry.Type, layout.Geometry.ImageBytes, layout.Geometry.ClusterBytes, layout.Geometry.ClusterCount);
    }

    /// <summary>Writes the image to a file atomically (a temporary sibling renamed over the target).</summary>
    public static FatWriteResult WriteFile(string path, IEnumerable<FatWriterEntry> entries, FatWriterOptions? options = null, CancellationToken cancellationToken = default)
        => AtomicFile.Write(path, s => Write(s, entries, options, cancellationToken));

    private static void CheckLabel(string label)
    {
        ArgumentNullException.ThrowIfNull(label);
        if (label.Length is 0 or > 11 || label.Any(c => !(c is (>= 'A' and <= 'Z') or (>= '0' and <= '9') or ' ' || "!#$%&'()-@^_`{}~".Contains(c, StringComparison.Ordinal))))
        {
            throw new FatWriteException("/", $"the volume label '{label}' must be 1 to 11 of A-Z, 0-9, space and !#$%&'()-@^_`{{}}~");
        }
    }

    private sealed class Node(string name, Node? parent, bool isDirectory, long size, Func<Stream>? open)
    {
        public string Name { get; } = name;

        public Node? Parent { get; } = parent;

        public bool IsDirectory { get; set; } = isDirectory;

        public bool Implicit { get; set; }

        public long Size { get; } = size;

        public Func<Stream>? Open { get; } = open;

        public List<Node> Children { get; } = [];

        public byte[] ShortName { get; set; } = [];

        public string? LongName { get; set; }

        public uint FirstCluster { get; set; }

        public long Clusters { get; set; }

        public string Path => Parent is null ? "" : Parent.Parent is null ? Name : Parent.Path + "/" + Name;

        /// <summary>Records of this folder: ".", ".." (not the root), then each child's.</summary>
        public long RecordCount => (Parent is null ? 0 : 2) + Children.Sum(c => (long)FatDirectoryRecords.RecordCount(c.LongName));
    }

    private static void Add(Node root, FatWriterEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry.Path);
        var parts = entry.Path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0)
        {
            if (!entry.IsDirectory)
            {
                throw new FatWriteException(entry.Path, "the root must be a folder");
            }

            return;
        }

        foreach (var p in parts)
        {
            if (FatDirectoryRecords.LongNameProblem(p) is { } problem)
            {
                throw new FatWriteException(entry.Path, $"{problem}");
            }
        }

        if (!entry.IsDirectory && (entry.Size < 0 || entry.Size > uint.MaxValue || (entry.Size > 0 && entry.OpenContent is null)))
        {
            throw new FatWriteException(entry.Path, $"a file of {entry.Size} bytes {(entry.OpenContent is null ? "without content" : "does not fit FAT")}");
        }

        var node = root;
        for (var i = 0; i < parts.Length; i++)
        {
            var last = i == parts.Length - 1;
            var existing = node.Children.Find(c => string.Equals(c.Name, parts[i], StringComparison.OrdinalIgnoreCase));
            if (existing is not null)
            {
                if (!last && existing.IsDirectory)
                {
                    node = existing;
                    continue;
                }

                if (last && existing.IsDirectory && existing.Implicit && entry.IsDirectory && existing.Name == parts[i])
                {
                    existing.Implicit = false;
                    return;
                }

                throw new FatWriteException(entry.Path, last ? "the path is given twice (FAT names ignore case)" : $"'{existing.Path}' is not a folder");
            }

            var child = last
                ? new Node(parts[i], node, entry.IsDirectory, entry.Size, entry.OpenContent)
                : new Node(parts[i], node, true, 0, null) { Implicit = true };
            node.Children.Add(child);
            node = child;
        }
    }

    /// <summary>Sorts every folder and gives each name its 8.3 form (and long name where needed).</summary>
    private static void Prepare(Node dir)
    {
        dir.Children.Sort((a, b) =>
        {
            var c = string.Compare(a.Name, b.Name, StringComparison.OrdinalIgnoreCase);
            return c != 0 ? c : string.CompareOrdinal(a.Name, b.Name);
        });
        var used = new HashSet<string>(StringComparer.Ordinal);
        // Names that are 8.3 already keep their form; long names get aliases after them, so an alias never takes a real 8.3 name.
        foreach (var c in dir.Children.Where(c => FatDirectoryRecords.IsShortName(c.Name)))
        {
            var dot = c.Name.IndexOf('.', StringComparison.Ordinal);
            var text = dot < 0 ? c.Name.PadRight(11) : c.Name[..dot].PadRight(8) + c.Name[(dot + 1)..].PadRight(3);
            used.Add(text);
            c.ShortName = Encoding.ASCII.GetBytes(text);
        }

        foreach (var c in dir.Children.Where(c => !FatDirectoryRecords.IsShortName(c.Name)))
        {
            c.ShortName = FatDirectoryRecords.ShortAlias(c.Name, used);
            c.LongName = c.Name;
        }

        foreach (var c in dir.Children.Where(c => c.IsDirectory))
        {
            Prepare(c);
        }
    }

    private sealed record Layout(FatGeometry Geometry, List<Node> Directories, List<Node> Files);

    private static Layout Plan(Node root, FatWriterOptions options)
    {
        var directories = new List<Node>();
        var queue = new Queue<Node>();
        queue.Enqueue(root);
        while (queue.Count > 0)
        {
            var d = queue.Dequeue();
            directories.Add(d);
            foreach (var c in d.Children.Where(c => c.IsDirectory))
            {
                queue.Enqueue(c);
            }
        }

        var files = new List<Node>();
        void CollectFiles(Node d)
        {
            foreach (var c in d.Children)
            {
                if (c.IsDirectory)
                {
                    CollectFiles(c);
                }
                else
                {
                    files.Add(c);
                }
            }
        }

        CollectFiles(root);
        // The label entry takes a root record too; the fixed root holds at least 512 entries, in whole sectors.
        var rootRecords = root.RecordCount + 1;
        var rootEntries = (int)Math.Max(512, (rootRecords + 15) / 16 * 16);
        if (rootEntries > 0xFFF0)
        {
            throw new FatWriteException("/", $"the root folder holds {rootRecords} records, more than FAT12/16 can");
        }

        foreach (var spc in new[] { 1, 2, 4, 8, 16, 32, 64 })
        {
            var clusterBytes = spc * SectorBytes;
            long needed = 0;
            foreach (var d in directories.Skip(1))
            {
                d.Clusters = Math.Max(1, ((d.RecordCount * FatDirectoryRecords.Size) + clusterBytes - 1) / clusterBytes);
                needed += d.Clusters;
            }

            foreach (var f in files)
            {
                f.Clusters = (f.Size + clusterBytes - 1) / clusterBytes;
                needed += f.Clusters;
            }

            var geometry = Fit(needed, spc, rootEntries, options);
            if (geometry is null)
            {
                continue;
            }

            var next = 2u;
            foreach (var n in directories.Skip(1).Concat(files))
            {
                n.FirstCluster = n.Clusters == 0 ? 0 : next;
                next += (uint)n.Clusters;
            }

            return new Layout(geometry, directories, files);
        }

        throw new FatWriteException("/", "the entries do not fit a FAT16 image of 32 KiB clusters");
    }

    /// <summary>The geometry for <paramref name="needed"/> clusters of <paramref name="spc"/> sectors, or null when that
    /// cluster size cannot hold them in FAT12/16. The cluster count is what is needed, raised to 4085 when FAT16 it is,
    /// and raised further to reach <see cref="FatWriterOptions.MinimumBytes"/>.</summary>
    private static FatGeometry? Fit(long needed, int spc, int rootEntries, FatWriterOptions options)
    {
        var rootSectors = rootEntries * (long)FatDirectoryRecords.Size / SectorBytes;
        var count = Math.Max(needed, 1);
        if (spc == 1 && count < 4085)
        {
            // FAT12 at 512-byte clusters while it holds them.
        }
        else if (count < 65525)
        {
            count = Math.Max(count, 4085);
        }
        else
        {
            return null;
        }

        if (options.SizeAlignment < SectorBytes || options.SizeAlignment % SectorBytes != 0)
        {
            throw new FatWriteException("/", $"a size alignment of {options.SizeAlignment} bytes is not a multiple of {SectorBytes}");
        }

        var alignSectors = options.SizeAlignment / SectorBytes;
        FatGeometry Make(long clusters)
        {
            var type = clusters < 4085 ? FatType.Fat12 : FatType.Fat16;
            var fatBytes = type == FatType.Fat12 ? (((clusters + 2) * 3) + 1) / 2 : (clusters + 2) * 2;
            var fatSectors = (fatBytes + 1 + SectorBytes - 1) / SectorBytes;
            var sectors = 1 + (2 * fatSectors) + rootSectors + (clusters * spc);
            var reserved = 1 + (int)((alignSectors - (sectors % alignSectors)) % alignSectors);
            return new FatGeometry
            {
                BytesPerSector = SectorBytes,
                SectorsPerCluster = spc,
                ReservedSectors = reserved,
                FatCount = 2,
                RootEntries = rootEntries,
                TotalSectors = sectors + reserved - 1,
                SectorsPerFat = fatSectors,
                Media = 0xF8,
                VolumeSerial = options.VolumeSerial,
                VolumeLabel = options.VolumeLabel,
            };
        }

        var g = Make(count);
        if (g.ImageBytes < options.MinimumBytes)
        {
            var more = (options.MinimumBytes - g.ImageBytes + g.ClusterBytes - 1) / g.ClusterBytes;
            count += more;
            if (g.Type == FatType.Fat12 && count >= 4085)
            {
                count = Math.Max(count, 4085);
            }

            if (count >= 65525)
            {
                return null;
            }

            // The FATs grew with the count: give back the clusters they took from the minimum.
            var least = g.Type == FatType.Fat12 && count < 4085 ? needed : Math.Max(needed, 4085);
            while (count > least && Make(count - 1).ImageBytes >= options.MinimumBytes)
            {
                count--;
            }

            g = Make(count);
        }

        // The counts chosen above make the geometry's own count agree; check it, as a reader will.
        if (g.ClusterCount != count || g.ImageBytes > options.MaximumBytes)
        {
            return g.ImageBytes > options.MaximumBytes ? throw new FatWriteException("/", $"the image would be {g.ImageBytes} bytes, more than {options.MaximumBytes}") : null;
        }

        return g;
    }

    private static void Emit(Stream output, Node root, Layout layout, FatWriterOptions options, CancellationToken cancellationToken)
    {
        var g = layout.Geometry;
        var (date, time) = FatDirectoryRecords.ToDos(options.Timestamp);
        output.Write(g.WriteBootSector(options.OemName));
        output.Write(new byte[(g.ReservedSectors - 1) * g.BytesPerSector]);
        var fat = FatTable.Build(g.Type, g.ClusterCount, g.Media, g.FatBytes,
            layout.Directories.Skip(1).Concat(layout.Files).Where(n => n.Clusters > 0).Select(n => (n.FirstCluster, n.Clusters)));
        for (var i = 0; i < g.FatCount; i++)
        {
            output.Write(fat);
        }

        var rootBytes = new byte[g.RootDirectorySectors * g.BytesPerSector];
        var pos = 0;
        var label = Encoding.ASCII.GetBytes(options.VolumeLabel.PadRight(11));
        FatDirectoryRecords.Write(rootBytes.AsSpan(pos), label, null, FatDirectoryRecords.AttrVolumeId, 0, 0, date, time);
        pos += FatDirectoryRecords.Size;
        WriteRecords(rootBytes.AsSpan(pos), root, date, time);
        output.Write(rootBytes);
        foreach (var d in layout.Directories.Skip(1))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var bytes = new byte[d.Clusters * g.ClusterBytes];
            FatDirectoryRecords.Write(bytes, ".          "u8, null, FatDirectoryRecords.AttrDirectory, d.FirstCluster, 0, date, time);
            FatDirectoryRecords.Write(bytes.AsSpan(FatDirectoryRecords.Size), "..         "u8, null, FatDirectoryRecords.AttrDirectory,
                d.Parent!.Parent is null ? 0 : d.Parent.FirstCluster, 0, date, time); // ".." of a folder in the root names cluster 0
            WriteRecords(bytes.AsSpan(2 * FatDirectoryRecords.Size), d, date, time);
            output.Write(bytes);
        }

        var buffer = ArrayPool<byte>.Shared.Rent(1 << 16);
        try
        {
            foreach (var f in layout.Files)
            {
                if (f.Size == 0)
                {
                    continue;
                }

                using var s = f.Open!();
                var left = f.Size;
                while (left > 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var n = s.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
                    if (n <= 0)
                    {
                        throw new FatWriteException(f.Path, $"content ended {left} bytes before the announced size {f.Size}");
                    }

                    output.Write(buffer, 0, n);
                    left -= n;
                }

                if (s.Read(buffer, 0, 1) > 0)
                {
                    throw new FatWriteException(f.Path, $"content is longer than the announced size {f.Size}");
                }

                var pad = (f.Clusters * g.ClusterBytes) - f.Size;
                Array.Clear(buffer, 0, (int)Math.Min(buffer.Length, pad));
                while (pad > 0)
                {
                    var n = (int)Math.Min(buffer.Length, pad);
                    output.Write(buffer, 0, n);
                    pad -= n;
                }
            }

            // Free clusters at the end (a minimum size, FAT16's least count).
            var used = layout.Directories.Skip(1).Concat(layout.Files).Sum(n => n.Clusters);
            var free = (g.ClusterCount - used) * g.ClusterBytes;
            Array.Clear(buffer);
            while (free > 0)
            {
                var n = (int)Math.Min(buffer.Length, free);
                output.Write(buffer, 0, n);
                free -= n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        output.Flush();
    }

    private static void WriteRecords(Span<byte> at, Node dir, ushort date, ushort time)
    {
        var pos = 0;
        foreach (var c in dir.Children)
        {
            var attributes = c.IsDirectory ? FatDirectoryRecords.AttrDirectory : FatDirectoryRecords.AttrArchive;
            FatDirectoryRecords.Write(at[pos..], c.ShortName, c.LongName, attributes, c.FirstCluster, (uint)(c.IsDirectory ? 0 : c.Size), date, time);
            pos += FatDirectoryRecords.RecordCount(c.LongName) * FatDirectoryRecords.Size;
        }
    }
}
