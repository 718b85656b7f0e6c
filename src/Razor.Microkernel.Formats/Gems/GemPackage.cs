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

    /// <summary>Largest decompressed metadata YAML.</summary>
    public long MaxMetadataBytes { get; init; } = 16L << 20;

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
/// A .gem read and checked: the outer ustar, <c>metadata.gz</c> (gzipped YAML specification),
/// <c>data.tar.gz</c>, and <c>checksums.yaml.gz</c> when present (every digest it lists is verified).
/// Data entries that would escape the gem's folder, duplicates, devices and oversized entries are refused.
/// </summary>
public sealed class GemPackage
{
    private GemPackage(GemSpecification spec, string metadataYaml, IReadOnlyList<GemDataEntry> data, bool hadChecksums)
    {
        Specification = spec;
        MetadataYaml = metadataYaml;
        DataEntries = data;
        HasChecksums = hadChecksums;
    }

    public GemSpecification Specification { get; }

    public string MetadataYaml { get; }

    public IReadOnlyList<GemDataEntry> DataEntries { get; }

    /// <summary>True when the gem carried checksums.yaml.gz (and they matched).</summary>
    public bool HasChecksums { get; }

    /// <summary>Reads a .gem. <paramref name="gemName"/> names the gem in errors (a file name or URL).</summary>
    public static GemPackage Read(Stream gem, string gemName = "gem", GemReadOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(gem);
        options ??= GemReadOptions.Default;
        var parts = ReadOuter(gem, gemName, options);
        if (!parts.TryGetValue("metadata.gz", out var metadataGz))
        {
            var reason = parts.ContainsKey("metadata")
                ? "has an uncompressed 'metadata' entry (RubyGems 0.9 pre-release format), which is not supported"
                : "has no metadata.gz";
            throw new GemFormatException(gemName, null, reason);
        }

        if (!parts.TryGetValue("data.tar.gz", out var dataGz))
        {
            throw new GemFormatException(gemName, null, "has no data.tar.gz");
        }

        var hasChecksums = parts.TryGetValue("checksums.yaml.gz", out var checksumsGz);
        if (hasChecksums)
        {
            VerifyChecksums(gemName, Gunzip(gemName, "checksums.yaml.gz", checksumsGz!, options.MaxMetadataBytes), parts, cancellationToken);
        }

        var yamlBytes = Gunzip(gemName, "metadata.gz", metadataGz, options.MaxMetadataBytes);
        string yaml;
        try
        {
            yaml = new UTF8Encoding(false, true).GetString(yamlBytes);
        }
        catch (DecoderFallbackException e)
        {
            throw new GemFormatException(gemName, "metadata.gz", "the YAML is not UTF-8", e);
        }

        var spec = GemMetadataReader.Parse(yaml, gemName);
        var data = ReadData(gemName, dataGz, options, cancellationToken);
        return new GemPackage(spec, yaml, data, hasChecksums);
    }

    private static Dictionary<string, byte[]> ReadOuter(Stream gem, string gemName, GemReadOptions options)
    {
        var parts = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        var head = new byte[512];
        var buffered = gem.CanSeek ? gem : new BufferedStream(gem, 1 << 16);
        var start = buffered.CanSeek ? buffered.Position : 0;
        var n = buffered.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        if (n < 512 || (!head.AsSpan(257, 5).SequenceEqual("ustar"u8) && !LooksLikeV7Tar(head)))
        {
            var text = Encoding.ASCII.GetString(head, 0, n);
            if (text.Contains("MD5SUM", StringComparison.Ordinal) || text.StartsWith("# !/usr/bin/env ruby", StringComparison.Ordinal))
            {
                throw new GemFormatException(gemName, null, "is a pre-0.9 gem (a Ruby script with embedded YAML), which is not supported");
            }

            throw new GemFormatException(gemName, null, "is not a tar archive");
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

                var bytes = new byte[entry.Length];
                if (entry.DataStream is { } ds)
                {
                    ds.ReadExactly(bytes);
                }

                parts[name] = bytes;
            }

            endCheck.EnsureEnded();
        }
        catch (Exception e) when (IsFormatError(e))
        {
            throw new GemFormatException(gemName, null, $"the outer tar is malformed: {e.Message}", e);
        }

        return parts;
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

    private static void VerifyChecksums(string gemName, byte[] yamlBytes, Dictionary<string, byte[]> parts, CancellationToken cancellationToken)
    {
        YamlMappingNode root;
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(Encoding.UTF8.GetString(yamlBytes)));
            root = stream.Documents.Count > 0 && stream.Documents[0].RootNode is YamlMappingNode m
                ? m
                : throw new GemFormatException(gemName, "checksums.yaml.gz", "is not a mapping of algorithms to digests");
        }
        catch (YamlException e)
        {
            throw new GemFormatException(gemName, "checksums.yaml.gz", $"the YAML cannot be read: {e.Message}", e);
        }

        foreach (var (algNode, digestsNode) in root.Children)
        {
            var algorithm = (algNode as YamlScalarNode)?.Value ?? string.Empty;
            HashAlgorithmName? hash = algorithm switch
            {
                "SHA1" => HashAlgorithmName.SHA1,
                "SHA256" => HashAlgorithmName.SHA256,
                "SHA512" => HashAlgorithmName.SHA512,
                _ => null,
            };
            if (hash is null || digestsNode is not YamlMappingNode digests)
            {
                continue;
            }

            foreach (var (fileNode, digestNode) in digests.Children)
            {
                var file = (fileNode as YamlScalarNode)?.Value ?? string.Empty;
                var expected = ((digestNode as YamlScalarNode)?.Value ?? string.Empty).Trim().ToLowerInvariant();
                if (!parts.TryGetValue(file, out var content))
                {
                    continue;
                }

                var actual = Convert.ToHexStringLower(Hash(hash.Value, content, cancellationToken));
                if (actual != expected)
                {
                    throw new GemChecksumException(gemName, file, algorithm, expected, actual);
                }
            }
        }
    }

    /// <summary>The digest of a part, a megabyte at a time so that Ctrl+C is not held up by a big gem.</summary>
    private static byte[] Hash(HashAlgorithmName algorithm, byte[] content, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(algorithm);
        for (var offset = 0; offset < content.Length; offset += 1 << 20)
        {
            cancellationToken.ThrowIfCancellationRequested();
            hash.AppendData(content, offset, Math.Min(1 << 20, content.Length - offset));
        }

        return hash.GetHashAndReset();
    }

    private static List<GemDataEntry> ReadData(string gemName, byte[] dataGz, GemReadOptions options, CancellationToken cancellationToken)
    {
        var result = new List<GemDataEntry>();
        var seen = new Dictionary<string, GemDataEntryType>(StringComparer.Ordinal);
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
                if (result.Count >= options.MaxEntries)
                {
                    throw new GemLimitException(gemName, raw, "entry count", result.Count + 1, options.MaxEntries);
                }

                var isDir = entry.EntryType == TarEntryType.Directory;
                var path = InGemPath(gemName, raw, raw);
                if (path is null)
                {
                    if (isDir)
                    {
                        continue; // "./" itself
                    }

                    throw new GemUnsafeEntryException(gemName, raw, "the entry has no name");
                }

                if (seen.ContainsKey(path))
                {
                    if (isDir && seen[path] == GemDataEntryType.Directory)
                    {
                        continue;
                    }

                    throw new GemUnsafeEntryException(gemName, raw, "the gem's data has this entry twice");
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

                        var bytes = new byte[entry.Length];
                        entry.DataStream?.ReadExactly(bytes);
                        result.Add(new GemDataEntry(path, GemDataEntryType.File, mode, bytes, string.Empty));
                        seen[path] = GemDataEntryType.File;
                        break;
                    case TarEntryType.Directory:
                        result.Add(new GemDataEntry(path, GemDataEntryType.Directory, mode, [], string.Empty));
                        seen[path] = GemDataEntryType.Directory;
                        break;
                    case TarEntryType.SymbolicLink:
                        var target = entry.LinkName;
                        if (target.Length == 0 || target.StartsWith('/') || target.Contains('\0', StringComparison.Ordinal))
                        {
                            throw new GemUnsafeEntryException(gemName, raw, $"symlink to '{target}' points outside the gem's folder");
                        }

                        var parent = ImagePath.Parent(path);
                        if (ResolveInside(parent.Length == 0 ? target : parent + "/" + target) is null)
                        {
                            throw new GemUnsafeEntryException(gemName, raw, $"symlink to '{target}' points outside the gem's folder");
                        }

                        result.Add(new GemDataEntry(path, GemDataEntryType.Symlink, 0x1FF, [], target));
                        seen[path] = GemDataEntryType.Symlink;
                        break;
                    case TarEntryType.HardLink:
                        var linkTarget = entry.LinkName;
                        var resolved = linkTarget.StartsWith('/') ? null : ResolveInside(linkTarget);
                        if (resolved is null)
                        {
                            throw new GemUnsafeEntryException(gemName, raw, $"hard link to '{linkTarget}' points outside the gem's folder");
                        }

                        if (!seen.TryGetValue(resolved, out var t) || t != GemDataEntryType.File)
                        {
                            throw new GemUnsafeEntryException(gemName, raw, $"hard link to '{linkTarget}', which is not a file earlier in the gem");
                        }

                        result.Add(new GemDataEntry(path, GemDataEntryType.HardLink, mode, [], resolved));
                        seen[path] = GemDataEntryType.HardLink;
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

        // Nothing may sit below a file or a symlink.
        foreach (var e in result)
        {
            foreach (var ancestor in ImagePath.Ancestors(e.Path))
            {
                if (seen.TryGetValue(ancestor, out var at) && at != GemDataEntryType.Directory)
                {
                    throw new GemUnsafeEntryException(gemName, e.Path, $"'{ancestor}' is not a folder, so nothing can be placed below it");
                }
            }
        }

        return result;
    }

    /// <summary>Normalises an entry name to a path inside the gem's folder; null for the folder itself.</summary>
    private static string? InGemPath(string gemName, string name, string raw)
    {
        if (name.StartsWith('/') || (name.Length >= 2 && name[1] == ':'))
        {
            throw new GemUnsafeEntryException(gemName, raw, "absolute paths are refused");
        }

        if (name.Contains('\\', StringComparison.Ordinal))
        {
            throw new GemUnsafeEntryException(gemName, raw, "backslashes in entry names are refused");
        }

        if (ImagePath.TryNormalize(name, out var normalized, out var reason))
        {
            return normalized;
        }

        if (name.Split('/').Any(p => p == ".."))
        {
            throw new GemUnsafeEntryException(gemName, raw, "'..' would leave the gem's folder");
        }

        if (name.Contains('\0', StringComparison.Ordinal))
        {
            throw new GemUnsafeEntryException(gemName, raw, reason);
        }

        return null;
    }

    /// <summary>Resolves a relative path with '..' inside the gem's folder; null when it climbs out.</summary>
    private static string? ResolveInside(string relative)
    {
        var stack = new List<string>();
        foreach (var part in relative.Split('/'))
        {
            if (part is "" or ".")
            {
                continue;
            }

            if (part == "..")
            {
                if (stack.Count == 0)
                {
                    return null;
                }

                stack.RemoveAt(stack.Count - 1);
                continue;
            }

            stack.Add(part);
        }

        return string.Join('/', stack);
    }

    private static bool IsFormatError(Exception e) => ReadErrors.IsMalformedInput(e);
}
