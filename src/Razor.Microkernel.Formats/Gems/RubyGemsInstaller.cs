using System.Formats.Tar;
using System.Text;
using Razor.Microkernel.Formats.Layers;

namespace Razor.Microkernel.Formats.Gems;

/// <summary>The RubyGems source tarball cannot be installed: not a tar, no single top folder with
/// <c>setup.rb</c>, <c>lib/</c> and <c>bin/</c>, or an entry that would leave it.</summary>
public sealed class RubyGemsTarballException(string entry, string reason, Exception? inner = null)
    : MicrokernelFormatException(entry.Length == 0 ? $"RubyGems tarball: {reason}" : $"RubyGems tarball, entry '{entry}': {reason}", -1, inner)
{
    public string Entry { get; } = entry;

    public string Reason { get; } = reason;
}

public sealed record RubyGemsInstallOptions
{
    /// <summary>Ruby's <c>sitelibdir</c> on the target, where <c>lib/**/*rb</c> goes.</summary>
    public string SiteRubyDir { get; init; } = "usr/local/lib/ruby/site_ruby/1.8";

    /// <summary>Ruby's <c>bindir</c> on the target, where <c>bin/gem</c> goes.</summary>
    public string BinDir { get; init; } = "usr/local/bin";

    /// <summary><c>Gem.ruby</c> on the target, the shebang of the installed commands.</summary>
    public string RubyPath { get; init; } = "/usr/local/bin/ruby";

    /// <summary>The target's Ruby; setup refuses anything older than 1.8.7.</summary>
    public string RubyVersion { get; init; } = "1.8.7";

    public long ModificationTime { get; init; }

    public Ownership Owner { get; init; } = Ownership.Root;

    public long MaxEntryBytes { get; init; } = 64L << 20;

    public int MaxEntries { get; init; } = 20_000;
}

/// <summary>What was installed: the tarball's top folder (<c>rubygems-1.8.15</c>) and the image paths written.</summary>
public sealed record RubyGemsInstallResult(string TopFolder, IReadOnlyList<string> LibraryFiles, IReadOnlyList<string> Commands);

/// <summary>
/// Installs a RubyGems source tarball as <c>ruby setup.rb --no-rdoc --no-ri</c> of RubyGems 1.8 does for the
/// target Ruby: every <c>lib/**/*rb</c> under site_ruby (0644), every <c>bin/*</c> but <c>update_rubygems</c> in the
/// bindir (0755) with its first line replaced by <c>#!RUBY</c>; nothing else.
/// </summary>
public static class RubyGemsInstaller
{
    private const int DirMode = 0x1ED;

    public static RubyGemsInstallResult Install(Stream tarball, LayerWriter layer, RubyGemsInstallOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(tarball);
        ArgumentNullException.ThrowIfNull(layer);
        options ??= new RubyGemsInstallOptions();
        var required = GemRequirement.Create(">= 1.8.7");
        if (!required.IsSatisfiedBy(GemVersion.Parse(options.RubyVersion)))
        {
            throw new RubyGemsTarballException(string.Empty, $"setup needs Ruby {required}; the target has {options.RubyVersion}");
        }

        var files = ReadFiles(tarball, options);
        var tops = files.Keys.Select(k => k.Split('/')[0]).Distinct(StringComparer.Ordinal).ToList();
        if (tops.Count != 1 || !files.ContainsKey(tops[0] + "/setup.rb"))
        {
            throw new RubyGemsTarballException(string.Empty, "expected one top folder holding setup.rb, lib/ and bin/");
        }

        var top = tops[0];
        var lib = files.Keys.Where(k => k.StartsWith(top + "/lib/", StringComparison.Ordinal))
            .Select(k => k[(top.Length + 5)..])
            .Where(IsLibFile)
            .Order(StringComparer.Ordinal)
            .ToList();
        var bin = files.Keys.Where(k => k.StartsWith(top + "/bin/", StringComparison.Ordinal))
            .Select(k => k[(top.Length + 5)..])
            .Where(n => !n.Contains('/', StringComparison.Ordinal) && !n.StartsWith('.') && n != "update_rubygems")
            .Order(StringComparer.Ordinal)
            .ToList();
        if (lib.Count == 0 || !lib.Contains("rubygems.rb"))
        {
            throw new RubyGemsTarballException(top + "/lib", "the tarball has no lib/rubygems.rb");
        }

        var siteRuby = ImagePath.Normalize(options.SiteRubyDir);
        var binDir = ImagePath.Normalize(options.BinDir);
        var dirAttrs = new EntryAttributes(DirMode, options.Owner, options.ModificationTime);
        var made = new HashSet<string>(StringComparer.Ordinal);
        var libOut = new List<string>();
        foreach (var rel in lib)
        {
            var parent = ImagePath.Parent(rel);
            var chain = new List<string>();
            for (var p = parent; p.Length > 0 && !made.Contains(p); p = ImagePath.Parent(p))
            {
                chain.Add(p);
            }

            chain.Reverse();
            foreach (var p in chain)
            {
                layer.AddDirectory(ImagePath.Combine(siteRuby, p), dirAttrs);
                made.Add(p);
            }

            var path = ImagePath.Combine(siteRuby, rel);
            layer.AddFile(path, new EntryAttributes(0x1A4, options.Owner, options.ModificationTime), files[$"{top}/lib/{rel}"]);
            libOut.Add(path);
        }

        var commands = new List<string>();
        foreach (var name in bin)
        {
            var path = ImagePath.Combine(binDir, name);
            layer.AddFile(path, new EntryAttributes(0x1ED, options.Owner, options.ModificationTime), RewriteShebang(files[$"{top}/bin/{name}"], options.RubyPath));
            commands.Add(path);
        }

        return new RubyGemsInstallResult(top, libOut, commands);
    }

    /// <summary><c>Dir['**/*rb']</c>: names ending in "rb", no hidden file or folder on the way.</summary>
    private static bool IsLibFile(string rel)
        => rel.EndsWith("rb", StringComparison.Ordinal) && rel.Split('/').All(p => !p.StartsWith('.'));

    /// <summary>readlines, replace line 0 with <c>#!RUBY\n</c>, join, and <c>puts</c> (a final newline when missing).</summary>
    internal static byte[] RewriteShebang(byte[] content, string rubyPath)
    {
        var firstEnd = Array.IndexOf(content, (byte)'\n');
        var rest = firstEnd < 0 ? [] : content.AsSpan(firstEnd + 1);
        var ms = new MemoryStream();
        ms.Write(Encoding.UTF8.GetBytes($"#!{rubyPath}\n"));
        ms.Write(rest);
        if (rest.Length > 0 && rest[^1] != (byte)'\n')
        {
            ms.WriteByte((byte)'\n');
        }

        return ms.ToArray();
    }

    private static Dictionary<string, byte[]> ReadFiles(Stream tarball, RubyGemsInstallOptions options)
    {
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        var count = 0;
        try
        {
            using var decompressed = ArchiveImporter.OpenDecompressed(tarball);
            using var reader = new TarReader(decompressed);
            while (reader.GetNextEntry(copyData: false) is { } entry)
            {
                if (entry.EntryType is TarEntryType.GlobalExtendedAttributes)
                {
                    continue;
                }

                if (++count > options.MaxEntries)
                {
                    throw new RubyGemsTarballException(entry.Name, $"more than {options.MaxEntries} entries");
                }

                var name = entry.Name;
                if (name.StartsWith('/') || name.Split('/').Any(p => p == ".."))
                {
                    throw new RubyGemsTarballException(name, "the entry would leave the tarball's folder");
                }

                if (!ImagePath.TryNormalize(name, out var path, out _))
                {
                    continue; // "./"
                }

                switch (entry.EntryType)
                {
                    case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                        if (entry.Length > options.MaxEntryBytes)
                        {
                            throw new RubyGemsTarballException(name, $"{entry.Length} bytes exceeds the limit of {options.MaxEntryBytes}");
                        }

                        var bytes = new byte[entry.Length];
                        entry.DataStream?.ReadExactly(bytes);
                        if (!files.TryAdd(path, bytes))
                        {
                            throw new RubyGemsTarballException(name, "the tarball has this entry twice");
                        }

                        break;
                    case TarEntryType.Directory:
                        break;
                    case TarEntryType.SymbolicLink or TarEntryType.HardLink:
                        throw new RubyGemsTarballException(name, "links are refused in a RubyGems tarball");
                    default:
                        throw new RubyGemsTarballException(name, $"entries of type {entry.EntryType} are refused");
                }
            }
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException or ArgumentException
                                      or InvalidOperationException or SharpCompress.Common.SharpCompressException
                                  || (e is IOException && e is not FileNotFoundException and not DirectoryNotFoundException))
        {
            throw new RubyGemsTarballException(string.Empty, $"the tarball is malformed: {e.Message}", e);
        }

        return files;
    }
}
