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

    /// <summary>Debian's <c>gem install --local</c> of one .gem into <paramref name="dir"/> (bindir <c>dir/bin</c>).</summary>
    public static Tool.Result DebianInstall(string home, string dir, params string[] gems)
        => Tool.Run("gem", ["install", "--local", "--install-dir", dir, "--bindir", dir + "/bin", "--ignore-dependencies", "--no-document", .. gems],
            home, Env(home));

    private static void Add(TarWriter w, string name, byte[] content)
        => w.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content), Mode = (UnixFileMode)0x1A4 });
}
