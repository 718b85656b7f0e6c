using System.Formats.Tar;
using Razor.Microkernel.Formats.Compression;
using Razor.Microkernel.Formats.Tar;
using SharpCompress.Compressors.BZip2;
using SharpCompress.Compressors.Xz;

namespace Razor.Microkernel.Formats.Layers;

public sealed record ArchiveImportOptions
{
    /// <summary>Normalised image folder the archive is unpacked into; "" is the root.</summary>
    public string Destination { get; init; } = string.Empty;

    /// <summary>When set, every entry gets this uid and user name.</summary>
    public (int Id, string Name)? Owner { get; init; }

    /// <summary>When set, every entry gets this gid and group name.</summary>
    public (int Id, string Name)? Group { get; init; }

    /// <summary>Device nodes are refused unless this is true.</summary>
    public bool AllowDevices { get; init; }

    /// <summary>Entries in the archive (OverlayArchiveMaxEntries).</summary>
    public long MaxEntries { get; init; } = 1_000_000;

    /// <summary>Bytes the archive unpacks to: the whole tar stream after decompression, headers and padding
    /// included (OverlayArchiveMaxBytes). Reading is linear in these bytes, so this also bounds the time.</summary>
    public long MaxBytes { get; init; } = DefaultMaxBytes;

    /// <summary>1 GiB: Tiny Core runs from RAM, and a whole microkernel overlay is tens of megabytes.</summary>
    public const long DefaultMaxBytes = 1L << 30;

    /// <summary>Path depth (OverlayArchiveMaxDepth).</summary>
    public int MaxDepth { get; init; } = 256;

    /// <summary>Bytes allowed after the end-of-archive marker (tar pads its last record to 10 KiB; some tools
    /// pad more). Past this the input is not one tar archive: a file of zeros, or two archives concatenated.</summary>
    public long MaxTrailingBytes { get; init; } = 1 << 20;

    /// <summary>Changes an entry's mode on the way in (archive-relative path, mode → mode), e.g. to make a
    /// script executable that the tarball ships without the bit.</summary>
    public Func<string, int, int>? AdjustMode { get; init; }
}

public sealed record ArchiveImportResult(int Entries, long Bytes, IReadOnlyList<string> TopLevelNames);

/// <summary>
/// Unpacks a tar, tar.gz, tar.bz2 or tar.xz (recognised by content, not by name) into a layer under a
/// destination folder, keeping modes, owners and links. Refuses entries that would land outside the
/// destination: absolute names, <c>..</c>, names below a symlink of the archive, and hard links to anything
/// but an earlier file of the archive. Symlink targets are stored verbatim (they are never followed).
/// </summary>
public static class ArchiveImporter
{
    public static ArchiveImportResult Import(Stream archive, LayerWriter writer, ArchiveImportOptions options,
        CancellationToken cancellationToken = default)
    {
        Stream tarStream;
        try
        {
            tarStream = OpenDecompressed(archive);
        }
        catch (Exception e) when (IsFormatError(e))
        {
            throw new ArchiveFormatException($"not a valid archive: {e.Message}", -1, e);
        }

        using var disposeTar = tarStream;
        using var bounded = new BoundedStream(tarStream, options.MaxBytes);
        using var endCheck = new TarEndCheckStream(bounded, leaveOpen: true);
        using var reader = new TarReader(endCheck, leaveOpen: true);
        var entries = 0;
        long bytes = 0;
        var top = new SortedSet<string>(StringComparer.Ordinal);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            TarEntry? entry;
            try
            {
                entry = reader.GetNextEntry(copyData: false);
            }
            catch (Exception e) when (IsFormatError(e))
            {
                throw new ArchiveFormatException($"not a valid archive: {e.Message}", -1, e);
            }

            if (entry is null)
            {
                break;
            }

            if (entry.EntryType == TarEntryType.GlobalExtendedAttributes)
            {
                continue;
            }

            if (++entries > options.MaxEntries)
            {
                throw new FormatLimitException("entry count", entries, options.MaxEntries);
            }

            var relative = RelativeName(entry.Name, entry.EntryType == TarEntryType.Directory);
            if (relative is null)
            {
                continue; // the archive's own root folder ("./"): the destination's attributes stay as they are
            }

            var path = ImagePath.Combine(options.Destination, relative);
            if (ImagePath.Depth(path) > options.MaxDepth)
            {
                throw new FormatLimitException($"path depth of '{entry.Name}'", ImagePath.Depth(path), options.MaxDepth);
            }

            top.Add(relative.Split('/')[0]);
            foreach (var ancestor in ImagePath.Ancestors(path))
            {
                if (writer.TypeOf(ancestor) is { } t && t != LayerEntryType.Directory)
                {
                    throw new UnsafeArchiveEntryException(entry.Name, UnsafeEntryKind.Escapes,
                        $"it lies below '{ancestor}', which the archive made a {LayerWriter.Describe(t)}");
                }
            }

            // Names stored in the archive are kept; numeric-only entries get Tiny Core's names for known ids.
            var (uname, gname) = entry is PosixTarEntry p ? (p.UserName ?? string.Empty, p.GroupName ?? string.Empty) : (string.Empty, string.Empty);
            var owner = new Ownership(entry.Uid, entry.Gid,
                uname.Length > 0 ? uname : Owners.NameOfUser(entry.Uid),
                gname.Length > 0 ? gname : Owners.NameOfGroup(entry.Gid));
            if (options.Owner is { } o)
            {
                owner = owner with { Uid = o.Id, UserName = o.Name };
            }

            if (options.Group is { } g)
            {
                owner = owner with { Gid = g.Id, GroupName = g.Name };
            }

            var mode = (int)entry.Mode & 0xFFF;
            if (options.AdjustMode is { } adjust)
            {
                mode = adjust(relative, mode) & 0xFFF;
            }

            var attributes = new EntryAttributes(mode, owner, entry.ModificationTime.ToUnixTimeSeconds());
            try
            {
                switch (entry.EntryType)
                {
                    case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                        if (entry.Length < 0 || bytes + entry.Length > options.MaxBytes)
                        {
                            throw new FormatLimitException("total size", bytes + entry.Length, options.MaxBytes);
                        }

                        writer.AddFile(path, attributes, new ReadFaultStream(entry.DataStream ?? Stream.Null), entry.Length);
                        bytes += entry.Length;
                        break;
                    case TarEntryType.Directory:
                        writer.AddDirectory(path, attributes);
                        break;
                    case TarEntryType.SymbolicLink:
                        writer.AddSymlink(path, entry.LinkName, attributes);
                        break;
                    case TarEntryType.HardLink:
                        var target = RelativeName(entry.LinkName, false)
                            ?? throw new UnsafeArchiveEntryException(entry.Name, UnsafeEntryKind.Escapes, "its hard-link target is empty");
                        var targetPath = ImagePath.Combine(options.Destination, target);
                        if (writer.TypeOf(targetPath) != LayerEntryType.File)
                        {
                            throw new UnsafeArchiveEntryException(entry.Name, UnsafeEntryKind.Escapes,
                                $"it is a hard link to '{entry.LinkName}', which is not an earlier file of the archive");
                        }

                        writer.AddHardLink(path, targetPath, attributes);
                        break;
                    case TarEntryType.CharacterDevice or TarEntryType.BlockDevice:
                        if (!options.AllowDevices)
                        {
                            throw new UnsafeArchiveEntryException(entry.Name, UnsafeEntryKind.Device,
                                "it is a device node, and device nodes are refused unless the item sets AllowDevices=\"true\"");
                        }

                        var dev = (PosixTarEntry)entry;
                        writer.AddDevice(path, entry.EntryType == TarEntryType.CharacterDevice ? LayerEntryType.CharacterDevice : LayerEntryType.BlockDevice,
                            dev.DeviceMajor, dev.DeviceMinor, attributes);
                        break;
                    case TarEntryType.Fifo:
                        writer.AddFifo(path, attributes);
                        break;
                    default:
                        throw new UnsafeArchiveEntryException(entry.Name, UnsafeEntryKind.UnsupportedType,
                            $"entries of type {entry.EntryType} are not supported");
                }
            }
            catch (LayerConflictException e)
            {
                throw new UnsafeArchiveEntryException(entry.Name, UnsafeEntryKind.Duplicate, e.Reason);
            }
        }

        // The tar must end with its end-of-archive block, and a compressed input is verified to its last byte;
        // what follows the end marker is bounded (a 4 GiB file of zeros is an empty archive and 4 GiB of padding).
        try
        {
            endCheck.EnsureEnded();
            var trailing = bounded.Position;
            var buffer = new byte[1 << 16];
            int n;
            while ((n = bounded.Read(buffer)) > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (bounded.Position - trailing > options.MaxTrailingBytes)
                {
                    throw new ArchiveTrailingDataException(bounded.Position - trailing, options.MaxTrailingBytes);
                }
            }
        }
        catch (Exception e) when (IsFormatError(e))
        {
            throw new ArchiveFormatException($"not a valid archive: {e.Message}", -1, e);
        }

        return new ArchiveImportResult(entries, bytes, top.ToList());
    }

    /// <summary>Opens the tar inside a possibly compressed archive, recognised by its first bytes.</summary>
    public static Stream OpenDecompressed(Stream raw)
    {
        var buffered = raw;
        if (!raw.CanSeek)
        {
            // Compressed inputs are verified against their trailer, which needs a seekable input.
            var copy = new MemoryStream();
            raw.CopyTo(copy);
            copy.Position = 0;
            buffered = copy;
        }

        Span<byte> magic = stackalloc byte[6];
        var start = buffered.CanSeek ? buffered.Position : 0;
        var n = buffered.ReadAtLeast(magic, magic.Length, throwOnEndOfStream: false);
        buffered.Position = start;
        if (n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b)
        {
            return new VerifyingGzipStream(buffered);
        }

        if (n >= 3 && magic[0] == 'B' && magic[1] == 'Z' && magic[2] == 'h')
        {
            return BZip2Stream.Create(buffered, SharpCompress.Compressors.CompressionMode.Decompress,
                decompressConcatenated: true, leaveOpen: true, tolerateTruncatedStream: false);
        }

        if (n >= 6 && magic.SequenceEqual((ReadOnlySpan<byte>)[0xFD, (byte)'7', (byte)'z', (byte)'X', (byte)'Z', 0]))
        {
            return new XZStream(buffered);
        }

        return new NonClosingStream(buffered);
    }

    /// <summary>Normalises an archive name to a path relative to the destination; null for the archive's root.</summary>
    private static string? RelativeName(string name, bool isDirectory)
    {
        if (name.StartsWith('/'))
        {
            throw new UnsafeArchiveEntryException(name, UnsafeEntryKind.Escapes, "absolute names are refused");
        }

        if (!ImagePath.TryNormalize(name, out var normalized, out var reason))
        {
            if (normalized.Length == 0 && isDirectory && !name.Contains("..", StringComparison.Ordinal) && !name.Contains('\0', StringComparison.Ordinal))
            {
                return null;
            }

            throw new UnsafeArchiveEntryException(name, UnsafeEntryKind.Escapes, reason);
        }

        return normalized;
    }

    private static bool IsFormatError(Exception e) => IO.ReadErrors.IsMalformedInput(e);

    /// <summary>Reports a failure to read an entry's bytes (a truncated or corrupt archive) as a format
    /// error, so that it is told apart from a failure to write the layer.</summary>
    private sealed class ReadFaultStream(Stream inner) : IO.ReadOnlyStream
    {
        public override int Read(Span<byte> buffer)
        {
            try
            {
                return inner.Read(buffer);
            }
            catch (Exception e) when (IsFormatError(e))
            {
                throw new ArchiveFormatException($"not a valid archive: {e.Message}", -1, e);
            }
        }
    }

    /// <summary>Counts the bytes of the unpacked tar stream and stops at the limit.</summary>
    private sealed class BoundedStream(Stream inner, long max) : IO.ReadOnlyStream
    {
        private long _read;

        public override long Position
        {
            get => _read;
            set => throw new NotSupportedException();
        }

        public override int Read(Span<byte> buffer)
        {
            var n = inner.Read(buffer);
            _read += n;
            if (_read > max)
            {
                throw new FormatLimitException("unpacked size (bytes)", _read, max);
            }

            return n;
        }
    }

    /// <summary>Lets the tar reader dispose its stream without closing the caller's.</summary>
    private sealed class NonClosingStream(Stream inner) : IO.ReadOnlyStream
    {
        public override int Read(Span<byte> buffer) => inner.Read(buffer);
    }
}
