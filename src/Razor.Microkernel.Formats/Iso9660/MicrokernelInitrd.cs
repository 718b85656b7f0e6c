using System.IO.Compression;
using Razor.Microkernel.Formats.Compression;
using Razor.Microkernel.Formats.Cpio;
using Razor.Microkernel.Formats.IO;
using Razor.Microkernel.Formats.Layers;

namespace Razor.Microkernel.Formats.Iso9660;

/// <summary>How the overlay reaches the initrd.</summary>
public enum InitrdMode
{
    /// <summary>The release's initrd byte for byte, then the overlay as one more gzip'd newc cpio (the kernel
    /// unpacks concatenated archives in order, so later members replace earlier ones).</summary>
    Append,

    /// <summary>The release's initrd unpacked and written again as one gzip'd newc cpio with the overlay merged in:
    /// the same file system the kernel would unpack from <see cref="Append"/>, in a single archive.</summary>
    Merge,
}

/// <summary>The release's initrd cannot be read: not a (gzip'd) newc cpio archive, or beyond the limits.
/// <see cref="Reason"/> completes "the initrd …".</summary>
public sealed class ReleaseInitrdException(string reason, Exception? inner = null) : MicrokernelFormatException($"the initrd {reason}", -1, inner)
{
    public string Reason { get; } = reason;
}

/// <summary>How <see cref="MicrokernelInitrd.WriteInitrd"/> makes the initrd.</summary>
public sealed record InitrdWriteOptions
{
    public InitrdMode Mode { get; init; } = InitrdMode.Append;

    /// <summary>Time of every member (seconds since the epoch).</summary>
    public long ModificationTime { get; init; } = PackOptions.DefaultModificationTime;

    /// <summary>zlib level of the overlay's (Append) or the merged (Merge) archive.</summary>
    public int CompressionLevel { get; init; } = 9;

    public InitrdLimits Limits { get; init; } = new();
}

/// <summary>Limits on the release's initrd, which is outside input.</summary>
public sealed record InitrdLimits
{
    /// <summary>Uncompressed bytes of all archives in the release's initrd together.</summary>
    public long MaxUncompressedBytes { get; init; } = 4L << 30;

    /// <summary>Members of all archives together.</summary>
    public int MaxEntries { get; init; } = 1_000_000;
}

/// <summary>What the initrd builder wrote.</summary>
public sealed record InitrdSummary(int CoreEntries, int OverlayEntries, int Written);

/// <summary>
/// The overlay as initrd content, with the same outcome in both <see cref="InitrdMode"/>s: every path the overlay
/// holds wins over the release's, and what the release had below a path the overlay makes a file, symlink or
/// device is gone. One exception keeps the release's attributes: a folder the overlay only holds because
/// something lies below it (an implicit folder, root 0755) never replaces a folder of the release, so
/// <c>/tmp</c> keeps its 1777 and <c>/home/tc</c> its owner. Output is deterministic: entries in tree order
/// (parents first, siblings ordinal), one fixed mtime, inode numbers in write order, and each hard-link group
/// written where its last member sorts (all its members' parent folders are written by then).
/// </summary>
public static class MicrokernelInitrd
{
    /// <summary>The whole initrd file, as the ISO and the network boot files carry it: in
    /// <see cref="InitrdMode.Append"/> mode the release's initrd byte for byte followed by the overlay as one gzip
    /// member; in <see cref="InitrdMode.Merge"/> mode one gzip'd archive of both. <paramref name="openReleaseInitrd"/>
    /// is called once per pass over the release's initrd (twice in Append mode).</summary>
    /// <param name="spoolDirectory">Where Merge mode keeps the release's file bytes while it writes (a temporary file).</param>
    /// <exception cref="ReleaseInitrdException">The release's initrd is not a gzip'd or plain newc cpio, or is beyond the limits.</exception>
    public static InitrdSummary WriteInitrd(Func<Stream> openReleaseInitrd, OverlayMerge overlay, Stream output, InitrdWriteOptions options,
        string? spoolDirectory = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(openReleaseInitrd);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Mode == InitrdMode.Append)
        {
            using var original = openReleaseInitrd();
            original.CopyTo(output);
        }

        using var releaseInitrd = openReleaseInitrd();
        using var gzip = new ParallelGzipStream(output, options.CompressionLevel, leaveOpen: true, cancellationToken: cancellationToken);
        try
        {
            return Write(releaseInitrd, overlay, gzip, options.Mode, options.ModificationTime, options.Limits, spoolDirectory, cancellationToken);
        }
        // A failure or Ctrl+C: do not compress the rest of what is buffered.
        catch (Exception e) when (e is CpioFormatException or InvalidDataException)
        {
            gzip.Abandon();
            throw new ReleaseInitrdException($"is not a gzip'd newc cpio archive: {e.Message}", e);
        }
        catch (FormatLimitException e)
        {
            gzip.Abandon();
            throw new ReleaseInitrdException($"is beyond the reader's limits: {e.Message}", e);
        }
        catch
        {
            gzip.Abandon();
            throw;
        }
    }

    /// <summary>Checks that <paramref name="releaseInitrd"/> starts as a release's initrd must: gzip'd (or plain) newc cpio
    /// whose first member header reads (the same rules as <see cref="WriteInitrd"/>). Only the start is read, at most a
    /// buffer of the file and the first header, so a build can refuse a file that is no initrd at all before it writes
    /// anything; damage further in is found by <see cref="WriteInitrd"/>. The stream is left open.</summary>
    /// <exception cref="ReleaseInitrdException">Not a gzip'd or plain newc cpio archive.</exception>
    public static void CheckStart(Stream releaseInitrd)
    {
        ArgumentNullException.ThrowIfNull(releaseInitrd);
        try
        {
            using var unpacked = CoreIndex.Unpacked(releaseInitrd); // does not close releaseInitrd
            using var reader = new NewcReader(unpacked, leaveOpen: true);
            _ = reader.ReadNext();
        }
        catch (Exception e) when (e is CpioFormatException or InvalidDataException)
        {
            throw new ReleaseInitrdException($"is not a gzip'd newc cpio archive: {e.Message}", e);
        }
    }

    /// <summary>Writes the archive(s) to add to, or replace, <paramref name="coreInitrd"/> (the release's initrd
    /// bytes: gzip'd or plain newc, one or more concatenated archives). In <see cref="InitrdMode.Append"/> mode
    /// only the overlay's archive is written (the caller puts the release's initrd in front of it, unchanged); in
    /// <see cref="InitrdMode.Merge"/> mode the one merged archive is. <paramref name="output"/> receives an
    /// uncompressed newc stream; the caller compresses it.</summary>
    public static InitrdSummary Write(Stream coreInitrd, OverlayMerge overlay, Stream output, InitrdMode mode, long modificationTime,
        InitrdLimits? limits = null, string? spoolDirectory = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(coreInitrd);
        ArgumentNullException.ThrowIfNull(overlay);
        ArgumentNullException.ThrowIfNull(output);
        limits ??= new InitrdLimits();
        // Merge mode keeps the release's file bytes in a spool, deleted when closed.
        using var spool = mode == InitrdMode.Merge
            ? new FileStream(Path.Combine(spoolDirectory ?? Path.GetTempPath(), $".rmk-initrd-{Guid.NewGuid():N}.tmp"), SpoolOptions())
            : null;

        var core = CoreIndex.Read(coreInitrd, spool, limits, cancellationToken);
        var items = new Dictionary<string, Item>(StringComparer.Ordinal);
        if (mode == InitrdMode.Merge)
        {
            foreach (var (path, member) in core.Members)
            {
                items[path] = member;
            }
        }

        var overlayNonDirectories = new HashSet<string>(StringComparer.Ordinal);
        var overlayLinks = overlay.Entries.Where(m => m.Entry.Type == LayerEntryType.HardLink)
            .GroupBy(m => m.Entry.LinkTarget, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Select(l => l.Path).ToList(), StringComparer.Ordinal);
        var byPath = overlay.Entries.ToDictionary(m => m.Path, StringComparer.Ordinal);
        var overlayCount = 0;
        foreach (var m in overlay.Entries)
        {
            var e = m.Entry;
            if (e.Type == LayerEntryType.Directory && e.Implicit && core.Members.TryGetValue(m.Path, out var existing) && existing.Entry.Type == CpioEntryType.Directory)
            {
                continue; // the release's folder stays as it is
            }

            if (e.Type != LayerEntryType.Directory)
            {
                overlayNonDirectories.Add(m.Path);
            }

            overlayCount++;
            if (e.Type == LayerEntryType.HardLink)
            {
                // A member of the group of the file it links to.
                var target = byPath[e.LinkTarget];
                items[m.Path] = Item.FromOverlay(m.Path, target, "o:" + e.LinkTarget);
                continue;
            }

            items[m.Path] = Item.FromOverlay(m.Path, m, overlayLinks.ContainsKey(m.Path) ? "o:" + m.Path : null);
        }

        if (mode == InitrdMode.Merge && overlayNonDirectories.Count > 0)
        {
            // What the release had below an overlay file, symlink or device is gone.
            foreach (var path in core.Members.Keys)
            {
                if (items.TryGetValue(path, out var item) && item.Source == Item.CoreSource && BelowAny(path, overlayNonDirectories))
                {
                    items.Remove(path);
                }
            }
        }

        var paths = items.Keys.Where(p => p != ".").ToArray();
        Array.Sort(paths, ImagePath.TreeOrder);
        var groups = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var path in paths)
        {
            if (items[path].Group is { } g)
            {
                (groups.TryGetValue(g, out var list) ? list : groups[g] = []).Add(path);
            }
        }

        var written = 0;
        using var layers = new LayerData(overlay.Layers, cancellationToken);
        Stream Open(Item item) => item.Source == Item.CoreSource
            ? LayerData.Window(spool ?? throw new InvalidOperationException("core data without a spool"), item.DataOffset, item.Size, cancellationToken)
            : layers.Open(item.Source, item.DataOffset, item.Size);

        using var cpio = new NewcWriter(output, modificationTime, leaveOpen: true);
        if (items.TryGetValue(".", out var root))
        {
            cpio.Write(root.Entry);
            written++;
        }

        foreach (var path in paths)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var item = items[path];
            if (item.Group is { } g && groups[g] is { Count: > 1 } members)
            {
                if (!ReferenceEquals(members[^1], path))
                {
                    continue; // the group is written where its last member sorts
                }

                var dataItem = members.Select(p => items[p]).FirstOrDefault(i => i.Size > 0) ?? item;
                using var data = Open(dataItem);
                cpio.WriteHardLinks([.. members.Select(p => items[p].Entry with { Path = p })], data, dataItem.Size);
                written += members.Count;
                continue;
            }

            if (item.Entry.Type == CpioEntryType.File && item.Size > 0)
            {
                using var data = Open(item);
                cpio.Write(item.Entry with { Path = path }, data, item.Size);
            }
            else
            {
                cpio.Write(item.Entry with { Path = path });
            }

            written++;
        }

        cpio.Finish();
        return new InitrdSummary(core.Members.Count, overlayCount, written);
    }

    /// <summary>The Merge spool: owner-only from creation (as every file the SDK writes), deleted when closed.</summary>
    private static FileStreamOptions SpoolOptions()
    {
        var options = AtomicFile.CreateNewOptions();
        options.Access = FileAccess.ReadWrite;
        options.Options = FileOptions.DeleteOnClose;
        return options;
    }

    private static bool BelowAny(string path, HashSet<string> ancestors)
    {
        for (var i = path.LastIndexOf('/'); i > 0; i = path.LastIndexOf('/', i - 1))
        {
            if (ancestors.Contains(path[..i]))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>One member of the output: its header, where its bytes are (<see cref="CoreSource"/> = the spool
    /// of the release's data, else a layer index) and the hard-link group it belongs to.</summary>
    private sealed record Item(CpioEntry Entry, int Source, long DataOffset, long Size, string? Group)
    {
        public const int CoreSource = -1;

        public static Item FromOverlay(string path, MergedEntry m, string? group)
        {
            var e = m.Entry;
            var a = e.Attributes;
            var type = e.Type switch
            {
                LayerEntryType.Directory => CpioEntryType.Directory,
                LayerEntryType.Symlink => CpioEntryType.Symlink,
                LayerEntryType.CharacterDevice => CpioEntryType.CharacterDevice,
                LayerEntryType.BlockDevice => CpioEntryType.BlockDevice,
                LayerEntryType.Fifo => CpioEntryType.Fifo,
                _ => CpioEntryType.File,
            };
            var isFile = type == CpioEntryType.File;
            return new Item(new CpioEntry(path, type, a.Mode, a.Owner.Uid, a.Owner.Gid, e.LinkTarget, e.DeviceMajor, e.DeviceMinor),
                m.LayerIndex, isFile ? e.DataOffset : 0, isFile ? e.Size : 0, group);
        }
    }

    /// <summary>The release's initrd as the kernel would leave it: every archive in order, a later member of
    /// a path replacing an earlier one. File bytes go to the spool when one is given (Merge mode).</summary>
    private sealed class CoreIndex
    {
        public Dictionary<string, Item> Members { get; } = new(StringComparer.Ordinal);

        public static CoreIndex Read(Stream coreInitrd, FileStream? spool, InitrdLimits limits, CancellationToken cancellationToken)
        {
            var index = new CoreIndex();
            var counted = new LimitedReadStream(Unpacked(coreInitrd), limits.MaxUncompressedBytes);
            var archive = 0;
            var entries = 0;
            var buffer = new byte[1 << 16];
            Stream next = counted;
            while (true)
            {
                using (var reader = new NewcReader(next, leaveOpen: true))
                {
                    // Hard links are matched by inode within one archive, as the kernel does.
                    var groupData = new Dictionary<uint, (long Offset, long Size)>();
                    var pending = new List<(string Path, CpioHeader Header)>();
                    while (reader.ReadNext() is { } h)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        if (++entries > limits.MaxEntries)
                        {
                            throw new FormatLimitException("initrd entries", entries, limits.MaxEntries);
                        }

                        long offset = 0;
                        if (h.Type == CpioEntryType.File && h.Size > 0 && spool is not null)
                        {
                            offset = spool.Position;
                            using var data = reader.OpenData();
                            int read;
                            while ((read = data.Read(buffer)) > 0)
                            {
                                spool.Write(buffer, 0, read);
                            }
                        }

                        var linked = h.Type == CpioEntryType.File && h.LinkCount > 1;
                        if (linked && h.Size > 0)
                        {
                            groupData[h.Inode] = (offset, h.Size);
                        }

                        var entry = new CpioEntry(h.Path, h.Type, h.Mode, h.Uid, h.Gid, h.LinkTarget, h.DeviceMajor, h.DeviceMinor);
                        index.Members[h.Path] = new Item(entry, Item.CoreSource, offset, h.Type == CpioEntryType.File ? h.Size : 0,
                            linked ? $"c{archive}:{h.Inode}" : null);
                        if (linked)
                        {
                            pending.Add((h.Path, h));
                        }
                    }

                    // Every member of a group reads the group's data, wherever the archive put it.
                    foreach (var (path, h) in pending)
                    {
                        if (index.Members[path] is { Group: not null } item && groupData.TryGetValue(h.Inode, out var d))
                        {
                            index.Members[path] = item with { DataOffset = d.Offset, Size = d.Size };
                        }
                    }
                }

                archive++;
                // After a trailer: zero padding, then another archive or the end.
                int b;
                while ((b = counted.ReadByte()) == 0)
                {
                }

                if (b < 0)
                {
                    break;
                }

                next = new PrefixedStream([(byte)b], counted);
            }

            return index;
        }

        /// <summary>The initrd's cpio bytes: gunzipped when it starts with the gzip magic, else as they are.</summary>
        public static Stream Unpacked(Stream initrd)
        {
            var head = new byte[2];
            var buffered = new BufferedStream(initrd, 1 << 16);
            var n = buffered.ReadAtLeast(head, 2, throwOnEndOfStream: false);
            Stream raw = new PrefixedStream(head.AsSpan(0, n).ToArray(), buffered);
            return n == 2 && head[0] == 0x1F && head[1] == 0x8B ? new BufferedStream(new GZipStream(raw, CompressionMode.Decompress), 1 << 16) : raw;
        }
    }

    /// <summary>Counts what is read and refuses to go past the limit (a gzip bomb as the release's initrd).</summary>
    private sealed class LimitedReadStream(Stream inner, long limit) : ReadOnlyStream
    {
        private long _read;

        public override int Read(Span<byte> buffer)
        {
            var n = inner.Read(buffer);
            _read += n;
            if (_read > limit)
            {
                throw new FormatLimitException("initrd uncompressed bytes", _read, limit);
            }

            return n;
        }
    }
}
