using System.Security.Cryptography;

namespace Razor.Microkernel.TestSupport.Mirror;

/// <summary>Writes a Tiny Core mirror layout into a folder: <c>&lt;root&gt;/&lt;version&gt;/&lt;arch&gt;/tcz/NAME.tcz</c> with its
/// <c>.md5.txt</c> (md5sum format) and, when it has dependencies, its <c>.dep</c>; and the release's files, each with an
/// <c>.md5.txt</c>, under <c>&lt;root&gt;/&lt;version&gt;/&lt;arch&gt;/release/distribution_files/</c>.</summary>
public sealed class TinyCoreMirrorBuilder(string root, string version = "4.x", string arch = "x86")
{
    public string Root { get; } = root;

    public string TczFolder => Path.Combine(Root, version, arch, "tcz");

    public string ReleaseFolder => Path.Combine(Root, version, arch, "release");

    public string DistributionFilesFolder => Path.Combine(ReleaseFolder, "distribution_files");

    /// <summary>Adds a release file (<c>vmlinuz64</c>, <c>corepure64.gz</c>) to <c>release/distribution_files/</c>, with its
    /// <c>.md5.txt</c> unless <paramref name="md5"/> is false.</summary>
    public void AddReleaseFile(string name, byte[] content, bool md5 = true)
    {
        Directory.CreateDirectory(DistributionFilesFolder);
        File.WriteAllBytes(Path.Combine(DistributionFilesFolder, name), content);
        if (md5)
        {
            File.WriteAllText(Path.Combine(DistributionFilesFolder, name + ".md5.txt"), $"{Md5(content)}  {name}\n");
        }
    }

    /// <summary>The path of a release file relative to the root.</summary>
    public string ReleaseRelative(string fileName) => $"{version}/{arch}/release/distribution_files/{fileName}";

    /// <summary>The path of a mirror file relative to the root, as <see cref="LoopbackMirror.Url"/> takes it.</summary>
    public string Relative(string fileName) => $"{version}/{arch}/tcz/{fileName}";

    /// <summary>Adds an extension with <paramref name="content"/> (random bytes of <paramref name="size"/> when null, seeded by
    /// the name so runs are repeatable) and a <c>.dep</c> with exactly <paramref name="depText"/> (none when null).</summary>
    public byte[] Add(string name, string? depText = null, byte[]? content = null, int size = 4096, bool md5 = true)
    {
        var file = name.EndsWith(".tcz", StringComparison.Ordinal) ? name : name + ".tcz";
        if (content is null)
        {
            content = new byte[size];
            new Random(StableSeed.Of(file) ^ size).NextBytes(content);
            var seed = SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(file));
            seed.AsSpan(0, Math.Min(seed.Length, content.Length)).CopyTo(content);
        }

        Directory.CreateDirectory(TczFolder);
        File.WriteAllBytes(Path.Combine(TczFolder, file), content);
        if (md5)
        {
            File.WriteAllText(Path.Combine(TczFolder, file + ".md5.txt"), $"{Convert.ToHexStringLower(MD5.HashData(content))}  {file}\n");
        }

        if (depText is not null)
        {
            File.WriteAllText(Path.Combine(TczFolder, file + ".dep"), depText);
        }

        return content;
    }

    /// <summary>Adds an extension made with the real mksquashfs from a folder, as Tiny Core 4.x builds them
    /// (squashfs 4.0, gzip, 4 KiB blocks, no xattrs, root-owned, fixed timestamps), with its .md5.txt and .dep.</summary>
    public byte[] AddSquashfs(string name, string sourceFolder, string? depText = null)
    {
        var file = name.EndsWith(".tcz", StringComparison.Ordinal) ? name : name + ".tcz";
        Directory.CreateDirectory(TczFolder);
        var target = Path.Combine(TczFolder, file);
        Tool.Run("mksquashfs", [sourceFolder, target, "-noappend", "-comp", "gzip", "-b", "4096", "-no-xattrs", "-all-root",
            "-mkfs-time", "0", "-all-time", "0", "-no-progress", "-quiet"]).EnsureSuccess("mksquashfs");
        return Add(file, depText, File.ReadAllBytes(target));
    }

    /// <summary>An extension NAME.tcz (mksquashfs) holding one library, <c>/usr/local/lib/libNAME.so</c>, with
    /// <paramref name="content"/>; its source folder is made under <see cref="Root"/>/src.</summary>
    public byte[] AddLibrary(string name, string? depText, byte[] content)
    {
        var tree = Path.Combine(Root, "src", name);
        Directory.CreateDirectory(Path.Combine(tree, "usr/local/lib"));
        File.WriteAllBytes(Path.Combine(tree, "usr/local/lib", $"lib{name}.so"), content);
        return AddSquashfs(name + ".tcz", tree, depText);
    }

    public static string Sha256(byte[] content) => Convert.ToHexStringLower(SHA256.HashData(content));

    public static string Md5(byte[] content) => Convert.ToHexStringLower(MD5.HashData(content));
}
