using System.Globalization;
using System.IO.Compression;
using System.Text;
using YamlDotNet.Core;

namespace Razor.Microkernel.Formats.Gems;

/// <summary>
/// The gem format of RubyGems before 0.9, which RubyGems 1.8 (<c>Gem::OldFormat</c>) and 3.x
/// (<c>Gem::Package::Old</c>) still install: a Ruby script whose first 20 bytes hold <c>MD5SUM =</c> and which ends
/// at a line <c>__END__</c>; then the specification's YAML up to a line <c>---</c>; a YAML list of the files
/// (<c>path</c>, <c>mode</c>, <c>size</c>) up to the next <c>---</c>; and each file's bytes, zlib-deflated and
/// base64-encoded, each up to a <c>---</c>. Read as RubyGems reads it (lines split at <c>\n</c>, a file whose
/// inflated size is not its listed size refused); the MD5SUM is not checked, as RubyGems never checked it.
/// </summary>
internal static class GemOldFormat
{
    /// <summary>The name errors give the specification of an old gem.</summary>
    public const string SpecificationEntry = "specification (pre-0.9 format)";

    /// <summary>RubyGems' own test: the first 20 bytes hold <c>MD5SUM =</c>.</summary>
    public static bool Matches(ReadOnlySpan<byte> start) => start[..Math.Min(20, start.Length)].IndexOf("MD5SUM ="u8) >= 0;

    public static (string SpecificationYaml, GemDataTree Data) Read(byte[] gem, string gemName, GemReadOptions options, CancellationToken cancellationToken)
    {
        var lines = new LineReader(gem);

        // The self-installing Ruby script.
        while (true)
        {
            var line = lines.Next() ?? throw new GemFormatException(gemName, null, "is a pre-0.9 gem without the '__END__' line that ends its Ruby script");
            if (Chomp(line) == "__END__")
            {
                break;
            }
        }

        var spec = lines.UntilDashes(options.MaxMetadataBytes, gemName, SpecificationEntry);
        string specYaml;
        try
        {
            specYaml = new UTF8Encoding(false, true).GetString(spec);
        }
        catch (DecoderFallbackException e)
        {
            throw new GemFormatException(gemName, SpecificationEntry, "the YAML is not UTF-8", e);
        }

        var header = Encoding.UTF8.GetString(lines.UntilDashes(options.MaxMetadataBytes, gemName, "file list (pre-0.9 format)"));
        var files = FileList(gemName, header, options);
        var tree = new GemDataTree(gemName, GemPackage.MaxTreeNodes(options));
        long total = 0;
        foreach (var (path, mode, size) in files)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (size > options.MaxEntryBytes)
            {
                throw new GemLimitException(gemName, path, "entry size", size, options.MaxEntryBytes);
            }

            total += size;
            if (total > options.MaxDataBytes)
            {
                throw new GemLimitException(gemName, path, "data size", total, options.MaxDataBytes);
            }

            var normalized = GemDataTree.Lexical(path);
            if (path.Length == 0 || path.Length > GemPackage.MaxPathLength || path[0] == '/' || path.Contains('\0', StringComparison.Ordinal) || path.Contains('\\', StringComparison.Ordinal)
                || string.IsNullOrEmpty(normalized))
            {
                throw new GemUnsafeEntryException(gemName, path, "the path would leave the gem's folder");
            }

            var encoded = lines.UntilDashes(options.MaxPartBytes, gemName, path);
            var content = Inflate(gemName, path, encoded, size);
            tree.Add(path, new GemDataEntry(normalized, GemDataEntryType.File, mode & 0x1FF, content, string.Empty));
        }

        tree.Validate();
        return (specYaml, tree);
    }

    /// <summary>The list of files: a YAML sequence of mappings with path, mode and size.</summary>
    private static List<(string Path, int Mode, long Size)> FileList(string gemName, string yaml, GemReadOptions options)
    {
        const string Entry = "file list (pre-0.9 format)";
        RubyYamlNode? root;
        try
        {
            root = RubyYaml.Load(yaml);
        }
        catch (YamlException e)
        {
            throw new GemFormatException(gemName, Entry, $"the YAML cannot be read: {e.Message}", e);
        }

        if (root is not RubyYamlSequence list)
        {
            throw new GemFormatException(gemName, Entry, "it is not a list of files");
        }

        if (list.Items.Count > options.MaxEntries)
        {
            throw new GemLimitException(gemName, Entry, "entry count", list.Items.Count, options.MaxEntries);
        }

        var result = new List<(string, int, long)>();
        foreach (var item in list.Items)
        {
            if (item is not RubyYamlMapping m || m["path"] is not RubyYamlScalar path)
            {
                throw new GemFormatException(gemName, Entry, "a file has no path");
            }

            var mode = Integer(m["mode"]) is { } md and >= 0 and <= 0xFFFF ? (int)md : throw new GemFormatException(gemName, path.Value, "the file's mode is not a number");
            var size = Integer(m["size"]) is { } sz and >= 0 ? sz : throw new GemFormatException(gemName, path.Value, "the file's size is not a number");
            result.Add((path.Value, mode, size));
        }

        return result;
    }

    /// <summary>An integer as YAML 1.1 (and so Ruby) reads a plain scalar: decimal, <c>0</c>-prefixed octal, <c>0x</c> hex.</summary>
    private static long? Integer(RubyYamlNode? node)
    {
        if (node is not RubyYamlScalar { IsPlain: true } s)
        {
            return null;
        }

        var v = s.Value.Replace("_", "", StringComparison.Ordinal);
        if (v.StartsWith("0x", StringComparison.Ordinal))
        {
            return long.TryParse(v[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var h) ? h : null;
        }

        if (v.Length > 1 && v[0] == '0' && v.All(c => c is >= '0' and <= '7'))
        {
            try
            {
                return Convert.ToInt64(v, 8);
            }
            catch (OverflowException)
            {
                return null;
            }
        }

        return long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var d) ? d : null;
    }

    /// <summary><c>unpack("m")</c> (base64, characters outside the alphabet ignored), then <c>Zlib::Inflate</c>.</summary>
    private static byte[] Inflate(string gemName, string path, byte[] encoded, long size)
    {
        var base64 = new StringBuilder(encoded.Length);
        foreach (var b in encoded)
        {
            if (b is >= (byte)'A' and <= (byte)'Z' or >= (byte)'a' and <= (byte)'z' or >= (byte)'0' and <= (byte)'9' or (byte)'+' or (byte)'/' or (byte)'=')
            {
                base64.Append((char)b);
            }
        }

        try
        {
            // Memory follows the bytes that are there, never the size the list claims.
            using var z = new ZLibStream(new MemoryStream(Convert.FromBase64String(base64.ToString())), CompressionMode.Decompress);
            using var content = new MemoryStream();
            var buffer = new byte[81920];
            int n;
            while ((n = z.Read(buffer)) > 0)
            {
                content.Write(buffer, 0, n);
                if (content.Length > size)
                {
                    throw new InvalidDataException("the file is longer than its listed size");
                }
            }

            return content.Length == size ? content.ToArray() : throw new InvalidDataException("the file is shorter than its listed size");
        }
        catch (Exception e) when (e is FormatException or InvalidDataException or EndOfStreamException or IOException)
        {
            throw new GemFormatException(gemName, path, $"the file's data is corrupt or not its listed size ({e.Message})", e);
        }
    }

    private static string Chomp(ReadOnlySpan<byte> line)
    {
        if (line.EndsWith("\n"u8))
        {
            line = line[..^1];
        }

        if (line.EndsWith("\r"u8))
        {
            line = line[..^1];
        }

        return Encoding.Latin1.GetString(line);
    }

    /// <summary>Lines as Ruby's <c>IO#gets</c> returns them: up to and including each <c>\n</c>.</summary>
    private sealed class LineReader(byte[] bytes)
    {
        private int _at;

        public ReadOnlySpan<byte> NextSpan(out bool any)
        {
            any = _at < bytes.Length;
            if (!any)
            {
                return default;
            }

            var nl = bytes.AsSpan(_at).IndexOf((byte)'\n');
            var end = nl < 0 ? bytes.Length : _at + nl + 1;
            var line = bytes.AsSpan(_at, end - _at);
            _at = end;
            return line;
        }

        public byte[]? Next()
        {
            var line = NextSpan(out var any);
            return any ? line.ToArray() : null;
        }

        /// <summary>The lines up to the next line that is <c>---</c> (stripped), or to the end.</summary>
        public byte[] UntilDashes(long max, string gemName, string what)
        {
            var ms = new MemoryStream();
            while (true)
            {
                var line = NextSpan(out var any);
                if (!any || Chomp(line).Trim() == "---")
                {
                    return ms.ToArray();
                }

                if (ms.Length + line.Length > max)
                {
                    throw new GemLimitException(gemName, what, "size", ms.Length + line.Length, max);
                }

                ms.Write(line);
            }
        }
    }
}
