using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;

namespace Razor.Microkernel.TestSupport;

/// <summary>Takes .gem files apart and puts them together again, to give gems made by <c>gem build</c> the shapes real
/// gems have (duplicate entries, uncompressed metadata, checksums as RubyGems 2.x wrote them …).</summary>
public static class GemParts
{
    /// <summary>The entries of a .gem's outer tar, in order.</summary>
    public static List<(string Name, byte[] Bytes)> Parts(byte[] gem)
    {
        var parts = new List<(string, byte[])>();
        using var reader = new TarReader(new MemoryStream(gem));
        while (reader.GetNextEntry(copyData: true) is { } e)
        {
            var ms = new MemoryStream();
            e.DataStream?.CopyTo(ms);
            parts.Add((e.Name, ms.ToArray()));
        }

        return parts;
    }

    /// <summary>An outer tar of these parts, in this order, as RubyGems writes it (ustar, 0444 … here 0644).</summary>
    public static byte[] Outer(IEnumerable<(string Name, byte[] Bytes)> parts)
    {
        var outer = new MemoryStream();
        using (var w = new TarWriter(outer, TarEntryFormat.Ustar, leaveOpen: true))
        {
            foreach (var (name, bytes) in parts)
            {
                Add(w, name, bytes);
            }
        }

        return outer.ToArray();
    }

    public static byte[] Gunzip(byte[] gz)
    {
        using var z = new GZipStream(new MemoryStream(gz), CompressionMode.Decompress);
        var ms = new MemoryStream();
        z.CopyTo(ms);
        return ms.ToArray();
    }

    /// <summary>A data.tar.gz holding the entries of <paramref name="dataGz"/> and then what <paramref name="more"/> writes.</summary>
    public static byte[] AppendToData(byte[] dataGz, Action<TarWriter> more)
    {
        var tar = new MemoryStream();
        using (var w = new TarWriter(tar, TarEntryFormat.Ustar, leaveOpen: true))
        {
            using var r = new TarReader(new MemoryStream(Gunzip(dataGz)));
            while (r.GetNextEntry(copyData: true) is { } e)
            {
                w.WriteEntry(e);
            }

            more(w);
        }

        return TestArchives.Gzip(tar.ToArray());
    }

    /// <summary>A built gem with its parts changed by <paramref name="change"/> (name, bytes) → replacement, or null to
    /// drop the part; checksums.yaml.gz is dropped unless <paramref name="keepChecksums"/>.</summary>
    public static byte[] Rewrite(string gem, Func<string, byte[], (string Name, byte[] Bytes)?> change, bool keepChecksums = false)
        => Outer(Parts(File.ReadAllBytes(gem))
            .Where(p => keepChecksums || p.Name != "checksums.yaml.gz")
            .Select(p => change(p.Name, p.Bytes))
            .OfType<(string, byte[])>());

    /// <summary>How RubyGems wrote checksums.yaml.gz: plain (2.0, 2.5 and later), with !binary values (2.1–2.4 on
    /// Ruby 2.0), or with !binary algorithm names as well.</summary>
    public enum ChecksumStyle
    {
        Plain,
        BinaryValues,
        BinaryKeysAndValues,
    }

    /// <summary>The text of a checksums.yaml for <paramref name="parts"/> (metadata.gz and data.tar.gz) as Psych wrote
    /// it: !binary values as literal blocks of 60-character base64 lines.</summary>
    public static string ChecksumsYaml(IReadOnlyList<(string Name, byte[] Bytes)> parts, ChecksumStyle style, params string[] algorithms)
    {
        var sb = new StringBuilder("---\n");
        foreach (var alg in algorithms)
        {
            sb.Append(style == ChecksumStyle.BinaryKeysAndValues ? $"!binary \"{Convert.ToBase64String(Encoding.ASCII.GetBytes(alg))}\"" : alg).Append(":\n");
            foreach (var (name, bytes) in parts.Where(p => p.Name is "metadata.gz" or "data.tar.gz" or "metadata"))
            {
                var hex = Convert.ToHexStringLower(alg switch
                {
                    "SHA1" => SHA1.HashData(bytes),
                    "SHA256" => SHA256.HashData(bytes),
                    "SHA512" => SHA512.HashData(bytes),
                    _ => throw new ArgumentException(alg),
                });
                if (style == ChecksumStyle.Plain)
                {
                    sb.Append($"  {name}: {hex}\n");
                    continue;
                }

                var b64 = Convert.ToBase64String(Encoding.ASCII.GetBytes(hex));
                sb.Append($"  {name}: !binary |-\n");
                for (var i = 0; i < b64.Length; i += 60)
                {
                    sb.Append("    ").Append(b64, i, Math.Min(60, b64.Length - i)).Append('\n');
                }
            }
        }

        return sb.ToString();
    }

    /// <summary>Every entry below <paramref name="folder"/>: folders and files with their mode (files with their SHA-256),
    /// symlinks with their target; symlinks are never followed.</summary>
    public static string Tree(string folder)
    {
        var lines = new List<string>();
        void Walk(DirectoryInfo dir)
        {
            foreach (var info in dir.EnumerateFileSystemInfos().OrderBy(i => i.Name, StringComparer.Ordinal))
            {
                var rel = Path.GetRelativePath(folder, info.FullName);
                var mode = Convert.ToString((int)info.UnixFileMode, 8);
                if (info.LinkTarget is { } target)
                {
                    lines.Add($"{rel} -> {target}");
                }
                else if (info is DirectoryInfo d)
                {
                    lines.Add($"{rel}/ {mode}");
                    Walk(d);
                }
                else
                {
                    lines.Add($"{rel} {mode} {Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(info.FullName)))}");
                }
            }
        }

        Walk(new DirectoryInfo(folder));
        return string.Join('\n', lines);
    }

    /// <summary>A gem of the pre-0.9 format, as RubyGems 0.8 wrote it: a Ruby script ending at <c>__END__</c>, the
    /// specification, the list of files, and each file zlib-deflated in base64 (<c>pack("m")</c>: 60-character lines).</summary>
    public static byte[] OldFormat(string name, string version, IReadOnlyList<(string Path, string Content, int Mode)> files, string extraSpec = "")
    {
        var sb = new StringBuilder("MD5SUM = \"d41d8cd98f00b204e9800998ecf8427e\"\nif $0 == __FILE__\n  require 'optparse'\nend\n__END__\n");
        sb.Append($"--- !ruby/object:Gem::Specification\nrubygems_version: \"0.8.11\"\nspecification_version: 1\nname: {name}\n")
          .Append($"version: !ruby/object:Gem::Version\n  version: {version}\ndate: 2005-03-18 22:01:52.859121 -05:00\nplatform: ruby\n")
          .Append($"summary: The {name} gem\nrequire_paths:\n  - lib\nfiles:\n").AppendJoin("", files.Select(f => $"  - {f.Path}\n")).Append(extraSpec).Append("---\n");
        foreach (var (path, content, mode) in files)
        {
            sb.Append($"-\n  size: {Encoding.UTF8.GetByteCount(content)}\n  mode: {mode}\n  path: {path}\n");
        }

        sb.Append("---\n");
        foreach (var (_, content, _) in files)
        {
            var z = new MemoryStream();
            using (var d = new ZLibStream(z, CompressionLevel.Optimal, leaveOpen: true))
            {
                d.Write(Encoding.UTF8.GetBytes(content));
            }

            var b64 = Convert.ToBase64String(z.ToArray());
            for (var i = 0; i < b64.Length; i += 60)
            {
                sb.Append(b64, i, Math.Min(60, b64.Length - i)).Append('\n');
            }

            sb.Append("---\n");
        }

        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    private static void Add(TarWriter w, string name, byte[] content)
        => w.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content), Mode = (UnixFileMode)0x1A4 });
}
