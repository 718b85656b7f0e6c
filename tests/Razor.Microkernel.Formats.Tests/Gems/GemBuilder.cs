using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Formats.Tests.Gems;

/// <summary>Builds real gems with Debian's <c>gem build</c> from a small gemspec and files written here, and
/// hand-made (hostile) gems with System.Formats.Tar.</summary>
internal static class GemBuilder
{
    /// <summary>A file of the gem's source; with <paramref name="LinkTarget"/>, a symlink (which <c>gem build</c> keeps).</summary>
    public sealed record GemFile(string Path, string Content, UnixFileMode Mode = (UnixFileMode)0x1A4, string? LinkTarget = null);

    /// <summary>Writes the files and a gemspec into <paramref name="folder"/>/NAME and runs <c>gem build</c>; returns the .gem path.</summary>
    public static string Build(string folder, string name, string version, IReadOnlyList<GemFile> files, string extraSpec = "")
    {
        var dir = Path.Combine(folder, "src-" + name + "-" + version + "-" + Guid.NewGuid().ToString("N")[..6]);
        Directory.CreateDirectory(dir);
        foreach (var f in files)
        {
            var full = Path.Combine(dir, f.Path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            if (f.LinkTarget is not null)
            {
                File.CreateSymbolicLink(full, f.LinkTarget);
                continue;
            }

            File.WriteAllText(full, f.Content);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(full, f.Mode);
            }
        }

        var spec = new StringBuilder()
            .AppendLine("# -*- encoding: utf-8 -*-")
            .AppendLine("Gem::Specification.new do |s|")
            .AppendLine($"  s.name = '{name}'")
            .AppendLine($"  s.version = '{version}'")
            .AppendLine($"  s.summary = 'The {name} gem'")
            .AppendLine("  s.authors = ['Razor Tests']")
            .AppendLine("  s.license = 'MIT'")
            .AppendLine("  s.email = 'tests@example.com'")
            .AppendLine("  s.homepage = 'https://example.com/" + name + "'")
            .AppendLine("  s.files = [" + string.Join(", ", files.Select(f => $"'{f.Path}'")) + "]")
            .AppendLine(extraSpec)
            .AppendLine("end")
            .ToString();
        File.WriteAllText(Path.Combine(dir, name + ".gemspec"), spec);
        var result = Tool.Run("gem", ["build", name + ".gemspec"], dir, Env(folder)).EnsureSuccess("gem build");
        var built = Directory.GetFiles(dir, "*.gem").Single();
        var dest = Path.Combine(folder, Path.GetFileName(built));
        File.Move(built, dest, overwrite: true);
        _ = result;
        return dest;
    }

    public static Dictionary<string, string?> Env(string home) => new()
    {
        ["HOME"] = home,
        ["GEM_HOME"] = null,
        ["GEM_PATH"] = null,
        ["RUBYOPT"] = null,
        ["SOURCE_DATE_EPOCH"] = "1326000000",
    };

    /// <summary>A hand-made gem: the outer tar of metadata.gz, data.tar.gz (entries written by <paramref name="data"/>)
    /// and, when asked, a checksums.yaml.gz (optionally with a wrong digest).</summary>
    public static byte[] Handmade(string metadataYaml, Action<TarWriter> data, bool checksums = false, bool corruptChecksum = false,
        byte[]? metadataGzOverride = null, byte[]? dataGzOverride = null)
    {
        var metadataGz = metadataGzOverride ?? Gzip(Encoding.UTF8.GetBytes(metadataYaml));
        byte[] dataGz;
        if (dataGzOverride is not null)
        {
            dataGz = dataGzOverride;
        }
        else
        {
            var tar = new MemoryStream();
            using (var w = new TarWriter(tar, TarEntryFormat.Gnu, leaveOpen: true))
            {
                data(w);
            }

            dataGz = Gzip(tar.ToArray());
        }

        var outer = new MemoryStream();
        using (var w = new TarWriter(outer, TarEntryFormat.Ustar, leaveOpen: true))
        {
            Add(w, "metadata.gz", metadataGz);
            Add(w, "data.tar.gz", dataGz);
            if (checksums)
            {
                var sha = Convert.ToHexStringLower(SHA256.HashData(dataGz));
                if (corruptChecksum)
                {
                    sha = new string('0', 64);
                }

                var yaml = $"---\nSHA256:\n  metadata.gz: {Convert.ToHexStringLower(SHA256.HashData(metadataGz))}\n  data.tar.gz: {sha}\n";
                Add(w, "checksums.yaml.gz", Gzip(Encoding.UTF8.GetBytes(yaml)));
            }
        }

        return outer.ToArray();
    }

    public static void AddFile(TarWriter w, string name, string content, int mode = 0x1A4)
    {
        var e = new GnuTarEntry(TarEntryType.RegularFile, name)
        {
            DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)),
            Mode = (UnixFileMode)mode,
        };
        w.WriteEntry(e);
    }

    public static void AddLink(TarWriter w, TarEntryType type, string name, string target)
        => w.WriteEntry(new GnuTarEntry(type, name) { LinkName = target });

    public static string MinimalYaml(string name = "hostile", string version = "1.0") => $"""
        --- !ruby/object:Gem::Specification
        name: {name}
        version: !ruby/object:Gem::Version
          version: '{version}'
        platform: ruby
        authors: []
        date: 2024-01-01 00:00:00.000000000 Z
        dependencies: []
        files: []
        require_paths:
        - lib
        rubygems_version: 3.3.15
        specification_version: 4
        summary: hostile
        """;

    public static byte[] Gzip(byte[] data)
    {
        var ms = new MemoryStream();
        using (var z = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true))
        {
            z.Write(data);
        }

        return ms.ToArray();
    }

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

        return Gzip(tar.ToArray());
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

    /// <summary>Debian's <c>gem install --local</c> of one .gem into <paramref name="dir"/> (bindir <c>dir/bin</c>).</summary>
    public static Tool.Result DebianInstall(string home, string dir, params string[] gems)
        => Tool.Run("gem", ["install", "--local", "--install-dir", dir, "--bindir", dir + "/bin", "--ignore-dependencies", "--no-document", .. gems],
            home, Env(home));

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

    private static void Add(TarWriter w, string name, byte[] content)
        => w.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content), Mode = (UnixFileMode)0x1A4 });
}
