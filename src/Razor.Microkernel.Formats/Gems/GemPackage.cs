using System.Formats.Tar;
using Razor.Microkernel.Formats.Compression;
using Razor.Microkernel.Formats.IO;
using Razor.Microkernel.Formats.Tar;
using System.Security.Cryptography;
using System.Text;
using Razor.Microkernel.Formats.Layers;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Razor.Microkernel.Formats.Gems;

/// <summary>Limits applied while reading a .gem; inputs beyond them are refused, never allocated.</summary>
public sealed record GemReadOptions
{
    public static GemReadOptions Default { get; } = new();

    /// <summary>Largest compressed part (metadata.gz, data.tar.gz …) of the outer tar.</summary>
    public long MaxPartBytes { get; init; } = 1L << 30;

    /// <summary>Largest decompressed metadata YAML (and checksums.yaml).</summary>
    public long MaxMetadataBytes { get; init; } = 16L << 20;

    /// <summary>Most YAML values the metadata may hold, an aliased value counted once for every place that uses it
    /// (a billion-laughs alias bomb is refused here). Real metadata holds a few thousand.</summary>
    public long MaxMetadataNodes { get; init; } = 1L << 18;

    /// <summary>Most characters of YAML text the metadata may hold, aliased text counted once per use.</summary>
    public long MaxMetadataChars { get; init; } = 4L << 20;

    /// <summary>Largest single data entry.</summary>
    public long MaxEntryBytes { get; init; } = 512L << 20;

    /// <summary>Largest sum of data entry sizes.</summary>
    public long MaxDataBytes { get; init; } = 2L << 30;

    public int MaxEntries { get; init; } = 100_000;
}

public enum GemDataEntryType
{
    File,
    Directory,
    Symlink,
    HardLink,
}

/// <summary>One entry of <c>data.tar.gz</c>: a normalised path relative to the gem's folder, its permission
/// bits, and its content (files) or target (links; a hard link's target is a path in the gem).</summary>
public sealed record GemDataEntry(string Path, GemDataEntryType Type, int Mode, byte[] Content, string LinkTarget);

/// <summary>
/// A .gem read and checked as RubyGems reads it: the outer ustar with <c>metadata.gz</c> (gzipped YAML
/// specification; the uncompressed <c>metadata</c> of early gems is read too, the later of the two winning as in
/// RubyGems), <c>data.tar.gz</c>, and <c>checksums.yaml.gz</c> when present (every digest it lists is verified);
/// or a gem of the pre-0.9 format (<see cref="GemOldFormat"/>).
/// The data entries are those the gem's folder holds once they are all written (<see cref="GemDataTree"/>);
/// entries that would escape the gem's folder, devices and oversized entries are refused.
/// </summary>
public sealed class GemPackage
{
    private readonly GemDataTree _tree;

    private GemPackage(GemSpecification spec, string metadataYaml, GemDataTree tree, int verifiedDigests)
    {
        Specification = spec;
        MetadataYaml = metadataYaml;
        _tree = tree;
        DataEntries = tree.Entries;
        VerifiedDigests = verifiedDigests;
    }

    public GemSpecification Specification { get; }

    public string MetadataYaml { get; }

    /// <summary>The entries of the gem's folder, each path once (its last copy), in the order paths first appear.</summary>
    public IReadOnlyList<GemDataEntry> DataEntries { get; }

    /// <summary>True when the gem carried checksums.yaml.gz (and every digest in it matched).</summary>
    public bool HasChecksums => VerifiedDigests > 0;

    /// <summary>How many digests of checksums.yaml.gz were verified (0 without the file).</summary>
    public int VerifiedDigests { get; }

    /// <summary>The regular file that <paramref name="path"/> (relative to the gem's folder) names once installed,
    /// following symlinks inside the gem as the target will; null when it names nothing, a folder, or leads out.</summary>
    public GemDataEntry? FindFile(string path) => GemDataTree.Lexical(path) is { Length: > 0 } p ? _tree.FindFile(p) : null;

    /// <summary>True when <paramref name="path"/> (its folders resolved through links) is a symlink of the gem.</summary>
    public bool IsSymlink(string path) => GemDataTree.Lexical(path) is { Length: > 0 } p && _tree.IsSymlink(p);

    /// <summary>Reads a .gem. <paramref name="gemName"/> names the gem in errors (a file name or URL).</summary>
    public static GemPackage Read(Stream gem, string gemName = "gem", GemReadOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(gem);
        options ??= GemReadOptions.Default;
        var (parts, metadataEntry, oldGem) = ReadOuter(gem, gemName, options);
        if (oldGem is not null)
        {
            var (oldYaml, oldData) = GemOldFormat.Read(oldGem, gemName, options, cancellationToken);
            return new GemPackage(GemMetadataReader.Parse(oldYaml, gemName, options, GemOldFormat.SpecificationEntry), oldYaml, oldData, 0);
        }

        if (metadataEntry is null)
        {
            throw new GemFormatException(gemName, null, "has no metadata.gz");
        }

        if (!parts.TryGetValue("data.tar.gz", out var dataGz))
        {
            throw new GemFormatException(gemName, null, "has no data.tar.gz");
        }

        var verified = 0;
        if (parts.TryGetValue("checksums.yaml.gz", out var checksumsGz))
        {
            var checksums = Gunzip(gemName, "checksums.yaml.gz", checksumsGz, options.MaxMetadataBytes);
            verified = GemChecksums.Verify(gemName, new UTF8Encoding(false, false).GetString(checksums), parts, options, cancellationToken);
        }

        var yamlBytes = metadataEntry == "metadata"
            ? parts["metadata"].Length <= options.MaxMetadataBytes
                ? parts["metadata"]
                : throw new GemLimitException(gemName, "metadata", "size", parts["metadata"].Length, options.MaxMetadataBytes)
            : Gunzip(gemName, "metadata.gz", parts["metadata.gz"], options.MaxMetadataBytes);
        string yaml;
        try
        {
            yaml = new UTF8Encoding(false, true).GetString(yamlBytes);
        }
        catch (DecoderFallbackException e)
        {
            throw new GemFormatException(gemName, metadataEntry, "the YAML is not UTF-8", e);
        }

        var spec = GemMetadataReader.Parse(yaml, gemName, options, metadataEntry);
        var data = ReadData(gemName, dataGz, options, cancellationToken);
        return new GemPackage(spec, yaml, data, verified);
    }

    /// <summary>The parts of the outer tar, and which metadata entry RubyGems would use (the later of
    /// <c>metadata</c> and <c>metadata.gz</c>; null when there is neither); or, for a gem of the pre-0.9 format, all
    /// its bytes.</summary>
    private static (Dictionary<string, byte[]> Parts, string? Metadata, byte[]? OldGem) ReadOuter(Stream gem, string gemName, GemReadOptions options)
    {
        var parts = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        string? metadata = null;
        var head = new byte[512];
        var buffered = gem.CanSeek ? gem : new BufferedStream(gem, 1 << 16);
        var start = buffered.CanSeek ? buffered.Position : 0;
        var n = buffered.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        if (GemOldFormat.Matches(head.AsSpan(0, n)))
        {
            using var all = new MemoryStream();
            all.Write(head, 0, n);
            var buffer = new byte[81920];
            int read;
            while ((read = buffered.Read(buffer)) > 0)
            {
                if (all.Length + read > options.MaxPartBytes)
                {
                    throw new GemLimitException(gemName, null, "gem size", all.Length + read, options.MaxPartBytes);
                }

                all.Write(buffer, 0, read);
            }

            return (parts, null, all.ToArray());
        }

        if (n < 512 || (!head.AsSpan(257, 5).SequenceEqual("ustar"u8) && !LooksLikeV7Tar(head)))
        {
            throw new GemFormatException(gemName, null, "is not a tar archive, nor a pre-0.9 gem (whose first line holds its MD5SUM)");
        }

        Stream source;
        if (buffered.CanSeek)
        {
            buffered.Position = start;
            source = buffered;
        }
        else
        {
            source = new PrefixedStream(head, buffered);
        }

        try
        {
            using var endCheck = new TarEndCheckStream(source, leaveOpen: true);
            using var reader = new TarReader(endCheck, leaveOpen: true);
            while (reader.GetNextEntry(copyData: false) is { } entry)
            {
                if (entry.EntryType is TarEntryType.GlobalExtendedAttributes or TarEntryType.Directory)
                {
                    continue;
                }

                var name = entry.Name.StartsWith("./", StringComparison.Ordinal) ? entry.Name[2..] : entry.Name;
                if (name is not ("metadata.gz" or "data.tar.gz" or "checksums.yaml.gz" or "metadata"))
                {
                    continue; // signatures (*.sig) and anything newer
                }

                if (entry.Length > options.MaxPartBytes)
                {
                    throw new GemLimitException(gemName, name, "entry size", entry.Length, options.MaxPartBytes);
                }

                if (parts.ContainsKey(name))
                {
                    throw new GemUnsafeEntryException(gemName, name, "the gem has this entry twice");
                }

                parts[name] = ReadContent(entry.DataStream, entry.Length);
                if (name is "metadata" or "metadata.gz")
                {
                    metadata = name;
                }
            }

            endCheck.EnsureEnded();
        }
        catch (Exception e) when (IsFormatError(e))
        {
            throw new GemFormatException(gemName, null, $"the outer tar is malformed: {e.Message}", e);
        }

        return (parts, metadata, null);
    }

    private static bool LooksLikeV7Tar(byte[] head)
    {
        // A V7 header: checksum field of octal digits and the checksum matching.
        var sum = 0;
        for (var i = 0; i < 512; i++)
        {
            sum += i is >= 148 and < 156 ? ' ' : head[i];
        }

        var field = Encoding.ASCII.GetString(head, 148, 8).Trim('\0', ' ');
        return field.Length > 0 && field.All(c => c is >= '0' and <= '7') && Convert.ToInt32(field, 8) == sum;
    }

    private static byte[] Gunzip(string gemName, string entry, byte[] gz, long max)
    {
        try
        {
            using var z = new VerifyingGzipStream(new MemoryStream(gz, writable: false));
            using var ms = new MemoryStream();
            var buffer = new byte[81920];
            int read;
            while ((read = z.Read(buffer)) > 0)
            {
                if (ms.Length + read > max)
                {
                    throw new GemLimitException(gemName, entry, "decompressed size", ms.Length + read, max);
                }

                ms.Write(buffer, 0, read);
            }

            return ms.ToArray();
        }
        catch (Exception e) when (IsFormatError(e))
        {
            throw new GemFormatException(gemName, entry, $"bad gzip data: {e.Message}", e);
        }
    }

    private static GemDataTree ReadData(string gemName, byte[] dataGz, GemReadOptions options, CancellationToken cancellationToken)
    {
        var tree = new GemDataTree(gemName, MaxTreeNodes(options));
        var count = 0;
        long total = 0;
        try
        {
            // Inflating a big gem's data takes time: every read of the compressed bytes checks for Ctrl+C.
            using var z = new VerifyingGzipStream(new CancellingStream(new MemoryStream(dataGz, writable: false), cancellationToken));
            using var endCheck = new TarEndCheckStream(z, leaveOpen: true);
            using var reader = new TarReader(endCheck);
            while (reader.GetNextEntry(copyData: false) is { } entry)
            {
                if (entry.EntryType is TarEntryType.GlobalExtendedAttributes)
                {
                    continue;
                }

                var raw = entry.Name;
                if (++count > options.MaxEntries)
                {
                    throw new GemLimitException(gemName, raw, "entry count", count, options.MaxEntries);
                }

                var isDir = entry.EntryType == TarEntryType.Directory;
                var path = InGemPath(gemName, raw);
                if (path is null)
                {
                    if (isDir)
                    {
                        continue; // "./" itself
                    }

                    throw new GemUnsafeEntryException(gemName, raw, "the entry names the gem's folder itself");
                }

                var mode = (int)entry.Mode & 0x1FF; // permission bits only: no setuid/setgid/sticky from a gem
                switch (entry.EntryType)
                {
                    case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                        if (entry.Length > options.MaxEntryBytes)
                        {
                            throw new GemLimitException(gemName, raw, "entry size", entry.Length, options.MaxEntryBytes);
                        }

                        total += entry.Length;
                        if (total > options.MaxDataBytes)
                        {
                            throw new GemLimitException(gemName, raw, "data size", total, options.MaxDataBytes);
                        }

                        tree.Add(raw, new GemDataEntry(path, GemDataEntryType.File, mode, ReadContent(entry.DataStream, entry.Length), string.Empty));
                        break;
                    case TarEntryType.Directory:
                        tree.Add(raw, new GemDataEntry(path, GemDataEntryType.Directory, mode, [], string.Empty));
                        break;
                    case TarEntryType.SymbolicLink:
                        var target = entry.LinkName;
                        if (target.Length > MaxPathLength)
                        {
                            throw new GemUnsafeEntryException(gemName, raw, $"its symlink target is longer than {MaxPathLength} characters, the target's PATH_MAX");
                        }

                        if (target.Length == 0 || target.StartsWith('/') || target.Contains('\0', StringComparison.Ordinal))
                        {
                            throw new GemUnsafeEntryException(gemName, raw, $"symlink to '{target}' points outside the gem's folder");
                        }

                        tree.Add(raw, new GemDataEntry(path, GemDataEntryType.Symlink, 0x1FF, [], target));
                        break;
                    case TarEntryType.HardLink:
                        var linkTarget = entry.LinkName;
                        var resolved = linkTarget.StartsWith('/') || linkTarget.Contains('\0', StringComparison.Ordinal) ? null : GemDataTree.Lexical(linkTarget);
                        if (string.IsNullOrEmpty(resolved))
                        {
                            throw new GemUnsafeEntryException(gemName, raw, $"hard link to '{linkTarget}' points outside the gem's folder");
                        }

                        if (tree[resolved]?.Type != GemDataEntryType.File)
                        {
                            throw new GemUnsafeEntryException(gemName, raw, $"hard link to '{linkTarget}', which is not a file earlier in the gem");
                        }

                        tree.Add(raw, new GemDataEntry(path, GemDataEntryType.HardLink, mode, [], resolved));
                        break;
                    default:
                        throw new GemUnsafeEntryException(gemName, raw, $"entries of type {entry.EntryType} are refused");
                }
            }

            endCheck.EnsureEnded();
            z.ReadToEndAndVerify();
        }
        catch (Exception e) when (IsFormatError(e))
        {
            throw new GemFormatException(gemName, "data.tar.gz", $"bad data: {e.Message}", e);
        }

        tree.Validate();
        return tree;
    }

    /// <summary>Paths and folders a gem's data may hold: each entry and, for folders its names imply, as many again.</summary>
    internal static int MaxTreeNodes(GemReadOptions options) => (int)Math.Min(int.MaxValue, 2L * options.MaxEntries + 1);

    /// <summary>The target's PATH_MAX: a longer name or link target cannot be created there (RubyGems fails on it).</summary>
    internal const int MaxPathLength = 4096;

    /// <summary>Reads an entry's <paramref name="length"/> bytes. Memory follows the bytes actually there, not the size
    /// the header claims: a large entry is read a megabyte at a time, so a truncated or lying header costs nothing.</summary>
    private static byte[] ReadContent(Stream? data, long length)
    {
        const int Chunk = 1 << 20;
        if (length == 0 || data is null)
        {
            return length == 0 ? [] : throw new EndOfStreamException("the entry's data is missing");
        }

        if (length <= Chunk)
        {
            var small = new byte[length];
            data.ReadExactly(small);
            return small;
        }

        var chunks = new List<byte[]>();
        for (var left = length; left > 0; left -= Chunk)
        {
            var chunk = new byte[Math.Min(Chunk, left)];
            data.ReadExactly(chunk);
            chunks.Add(chunk);
        }

        var all = new byte[length];
        var at = 0;
        foreach (var c in chunks)
        {
            c.CopyTo(all, at);
            at += c.Length;
        }

        return all;
    }

    /// <summary>Normalises an entry name to a path inside the gem's folder as RubyGems' <c>install_location</c> does
    /// (<c>File.expand_path</c>: <c>./</c>, <c>//</c>, <c>.</c> and <c>..</c> resolved by name); null for the folder
    /// itself. Absolute names, names that climb out, backslashes and NUL are refused.</summary>
    private static string? InGemPath(string gemName, string name)
    {
        if (name.Length > MaxPathLength)
        {
            throw new GemUnsafeEntryException(gemName, name[..64] + "…", $"the name is longer than {MaxPathLength} characters, the target's PATH_MAX");
        }

        if (name.StartsWith('/') || (name.Length >= 2 && name[1] == ':'))
        {
            throw new GemUnsafeEntryException(gemName, name, "absolute paths are refused");
        }

        if (name.Contains('\\', StringComparison.Ordinal))
        {
            throw new GemUnsafeEntryException(gemName, name, "backslashes in entry names are refused");
        }

        if (name.Contains('\0', StringComparison.Ordinal))
        {
            throw new GemUnsafeEntryException(gemName, name, "it contains a NUL character");
        }

        return GemDataTree.Lexical(name) switch
        {
            null => throw new GemUnsafeEntryException(gemName, name, "'..' would leave the gem's folder"),
            "" => null,
            var p => p,
        };
    }

    private static bool IsFormatError(Exception e) => ReadErrors.IsMalformedInput(e);
}
