using System.Buffers;
using Razor.Microkernel.Formats.Layers;

namespace Razor.Microkernel.Formats.SquashFs;

public sealed record SquashFsExtractOptions
{
    /// <summary>Paths or globs of entries to keep (<c>usr/local/bin/lscpu</c>, <c>usr/local/lib/*.so*</c>,
    /// <c>**/*.rb</c>); empty keeps everything. <c>*</c> and <c>?</c> stay inside one path component,
    /// <c>**</c> spans components. A kept entry keeps its parent folders; a kept folder keeps its contents.</summary>
    public IReadOnlyList<string> Files { get; init; } = [];

    /// <summary>An image folder (e.g. <c>tmp/tcloop/util-linux</c>) everything is placed under; "" is the root.
    /// With a prefix, the prefix folder gets the image root's owner, mode and time.</summary>
    public string Prefix { get; init; } = string.Empty;

    public SquashFsLimits Limits { get; init; } = SquashFsLimits.Default;
}

public enum SquashFsWarningKind
{
    /// <summary>A socket: tar cannot hold one, so it is skipped.</summary>
    SocketSkipped,

    /// <summary>The image has extended attributes; they are not carried into the layer (reported once).</summary>
    XattrsIgnored,
}

public sealed record SquashFsExtractWarning(SquashFsWarningKind Kind, string Path, string Message);

public sealed record SquashFsExtractResult(int Entries, long ContentBytes, IReadOnlyList<SquashFsExtractWarning> Warnings);

/// <summary>Writes the contents of a SquashFS image (all of it, or the entries that match a filter) into a
/// layer. Data and fragment blocks are decompressed in parallel ahead of the writer, a bounded number at a
/// time, and written in order; memory stays bounded whatever the size of the image.</summary>
public static class SquashFsExtractor
{
    public static SquashFsExtractResult ExtractToLayer(string imagePath, LayerWriter writer, SquashFsExtractOptions options,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        using var image = SquashFsImage.Open(imagePath, options.Limits);
        return ExtractToLayer(image, writer, options, cancellationToken);
    }

    /// <summary>Writes the layer tar at <paramref name="layerPath"/> atomically: on any failure the previous file
    /// (if any) is left as it was. <paramref name="defaultModificationTime"/> is the time of implicit folders
    /// (the prefix's ancestors).</summary>
    public static SquashFsExtractResult ExtractToLayerFile(string imagePath, string layerPath, SquashFsExtractOptions options,
        long defaultModificationTime = 0, CancellationToken cancellationToken = default)
        => AtomicFile.Write(layerPath, stream =>
        {
            using var writer = new LayerWriter(stream, defaultModificationTime, leaveOpen: true);
            var result = ExtractToLayer(imagePath, writer, options, cancellationToken);
            writer.Finish();
            return result;
        });

    public static SquashFsExtractResult ExtractToLayer(SquashFsImage image, LayerWriter writer, SquashFsExtractOptions options,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(options);
        var prefix = options.Prefix.Trim('/').Length == 0 ? string.Empty : ImagePath.Normalize(options.Prefix);
        var matcher = new PathMatcher(options.Files);
        var warnings = new List<SquashFsExtractWarning>();
        if (image.HasXattrs)
        {
            warnings.Add(new SquashFsExtractWarning(SquashFsWarningKind.XattrsIgnored, string.Empty,
                "the image has extended attributes; they are not carried into the layer"));
        }

        var hardLinks = new Dictionary<long, string>();
        var scheduled = new HashSet<long>();
        var pending = new List<SquashFsEntry>();
        if (prefix.Length > 0)
        {
            pending.Add(image.Root);
        }

        var written = 0;
        long bytes = 0;
        string Out(SquashFsEntry e) => e.Path.Length == 0 ? prefix : prefix.Length == 0 ? e.Path : prefix + "/" + e.Path;

        // Only entries that may be written reach the pipeline: every folder (kept or pending) and kept non-folders.
        // The first kept occurrence of a file inode carries its blocks; later ones become hard links.
        IEnumerable<Pending> Source()
        {
            foreach (var e in image.Entries())
            {
                if (e.Type == SquashFsEntryType.Directory)
                {
                    yield return new Pending(e, false);
                }
                else if (matcher.Keep(e.Path))
                {
                    // Only extended file inodes can be hard-linked (mksquashfs writes a basic inode when nlink is 1);
                    // remembering just those keeps memory small for images with millions of files.
                    var content = e.Type == SquashFsEntryType.File && (!e.Inode.Extended || scheduled.Add(e.InodeReference));
                    yield return new Pending(e, content);
                }
            }
        }

        using var pipeline = new BlockPipeline(image, Source().GetEnumerator(),
            Math.Clamp((32 << 20) / image.BlockSize, 2 * Environment.ProcessorCount + 2, 256), cancellationToken);
        while (pipeline.Next() is { } item)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var e = item.Entry;

            // Folders on the pending stack that are not ancestors of this entry will not be needed.
            while (pending.Count > 0 && !IsAncestor(pending[^1].Path, e.Path))
            {
                pending.RemoveAt(pending.Count - 1);
            }

            var keep = e.Type != SquashFsEntryType.Directory || matcher.Keep(e.Path);
            if (!keep)
            {
                pending.Add(e);
                continue;
            }

            foreach (var p in pending)
            {
                writer.AddDirectory(Out(p), Attributes(p));
                written++;
            }

            pending.Clear();
            var path = Out(e);
            var a = Attributes(e);
            switch (e.Type)
            {
                case SquashFsEntryType.Directory:
                    writer.AddDirectory(path, a);
                    break;
                case SquashFsEntryType.File when item.Content:
                {
                    using var content = new FileContentStream(pipeline.FeedFor(item), e.Size);
                    writer.AddFile(path, a, content, e.Size);
                    if (e.Inode.Extended)
                    {
                        hardLinks[e.InodeReference] = path;
                    }

                    bytes += e.Size;
                    break;
                }

                case SquashFsEntryType.File:
                    writer.AddHardLink(path, hardLinks[e.InodeReference], a);
                    break;
                case SquashFsEntryType.Symlink:
                    writer.AddSymlink(path, e.SymlinkTarget, a);
                    break;
                case SquashFsEntryType.BlockDevice:
                    writer.AddDevice(path, LayerEntryType.BlockDevice, e.DeviceMajor, e.DeviceMinor, a);
                    break;
                case SquashFsEntryType.CharacterDevice:
                    writer.AddDevice(path, LayerEntryType.CharacterDevice, e.DeviceMajor, e.DeviceMinor, a);
                    break;
                case SquashFsEntryType.Fifo:
                    writer.AddFifo(path, a);
                    break;
                default:
                    warnings.Add(new SquashFsExtractWarning(SquashFsWarningKind.SocketSkipped, path, $"'{path}' is a socket, which a tar layer cannot hold: skipped"));
                    continue;
            }

            written++;
        }

        return new SquashFsExtractResult(written, bytes, warnings);
    }

    private static bool IsAncestor(string folder, string path)
        => folder.Length == 0 || (path.Length > folder.Length && path[folder.Length] == '/' && path.StartsWith(folder, StringComparison.Ordinal));

    private static EntryAttributes Attributes(SquashFsEntry e)
        => new(e.Mode, new Ownership(e.Uid, e.Gid, Owners.NameOfUser(e.Uid), Owners.NameOfGroup(e.Gid)), e.ModificationTime);

    internal sealed record Pending(SquashFsEntry Entry, bool Content)
    {
        public IEnumerator<BlockJob>? Jobs { get; set; }

        public Queue<Task<DecodedBlock>> Scheduled { get; } = new();
    }

    /// <summary>Runs ahead of the writer over upcoming entries and keeps up to <c>maxInFlight</c> blocks
    /// decoding on the thread pool, in the order the writer will consume them. All metadata reads happen on
    /// the writer's thread; only block decoding runs in parallel.</summary>
    private sealed class BlockPipeline(SquashFsImage image, IEnumerator<Pending> source, int maxInFlight, CancellationToken cancellationToken)
        : IDisposable
    {
        private const int MaxLookahead = 4096;

        private readonly Queue<Pending> _lookahead = new();
        private readonly Queue<Pending> _unscheduled = new();
        private Pending? _current;

        public CancellationToken CancellationToken => cancellationToken;
        private int _inFlight;
        private bool _sourceDone;

        public Pending? Next()
        {
            _current = null;
            if (_lookahead.Count == 0)
            {
                Pull();
            }

            if (_lookahead.Count == 0)
            {
                return null;
            }

            _current = _lookahead.Dequeue();
            TopUp();
            return _current;
        }

        public IBlockFeed FeedFor(Pending item) => new Feed(this, item);

        public void Dispose()
        {
            // Let blocks still decoding finish so nothing reads the image after it is closed.
            foreach (var p in _lookahead.Prepend(_current))
            {
                if (p is null)
                {
                    continue;
                }

                while (p.Scheduled.Count > 0)
                {
                    Drop(p.Scheduled.Dequeue());
                }

                p.Jobs?.Dispose();
            }

            source.Dispose();
        }

        private static void Drop(Task<DecodedBlock> t)
        {
            try
            {
                var b = t.GetAwaiter().GetResult();
                if (b.Pooled)
                {
                    ArrayPool<byte>.Shared.Return(b.Buffer);
                }
            }
            catch (MicrokernelFormatException)
            {
                // the extraction already failed or stopped; this block's own error does not matter
            }
        }

        private bool Pull()
        {
            if (_sourceDone || _lookahead.Count >= MaxLookahead)
            {
                return false;
            }

            if (!source.MoveNext())
            {
                _sourceDone = true;
                return false;
            }

            var p = source.Current;
            _lookahead.Enqueue(p);
            if (p.Content)
            {
                p.Jobs = image.Jobs(p.Entry.Inode).GetEnumerator();
                _unscheduled.Enqueue(p);
            }

            return true;
        }

        private bool ScheduleOne(Pending p)
        {
            if (p.Jobs is null || !p.Jobs.MoveNext())
            {
                return false;
            }

            p.Scheduled.Enqueue(image.Start(p.Jobs.Current));
            _inFlight++;
            return true;
        }

        private void TopUp()
        {
            if (_current is not null)
            {
                while (_inFlight < maxInFlight && ScheduleOne(_current))
                {
                }
            }

            while (_inFlight < maxInFlight)
            {
                if (_unscheduled.Count > 0)
                {
                    if (!ScheduleOne(_unscheduled.Peek()))
                    {
                        _unscheduled.Dequeue();
                    }

                    continue;
                }

                if (!Pull())
                {
                    break;
                }
            }
        }

        private sealed class Feed(BlockPipeline owner, Pending item) : IBlockFeed
        {
            public DecodedBlock Next()
            {
                owner.CancellationToken.ThrowIfCancellationRequested();
                if (item.Scheduled.Count == 0 && !owner.ScheduleOne(item))
                {
                    throw new SquashFsFormatException($"'{item.Entry.Path}': the file's blocks hold fewer bytes than its size", item.Entry.Inode.Offset);
                }

                var block = item.Scheduled.Dequeue().GetAwaiter().GetResult();
                owner._inFlight--;
                owner.TopUp();
                return block;
            }

            public void Release(in DecodedBlock block)
            {
                if (block.Pooled)
                {
                    ArrayPool<byte>.Shared.Return(block.Buffer);
                }
            }

            public void Close()
            {
            }
        }
    }
}
