namespace Razor.Microkernel.Bench;

/// <summary>What a generated tree holds.</summary>
internal sealed record TreeStats(int Files, int Directories, int Symlinks, long Bytes, IReadOnlyDictionary<ContentKind, long> BytesByKind);

/// <summary>
/// Builds a folder that looks like a Tiny Core overlay to tar and gzip: the ruby standard library and gems
/// (many small source files), mcollective plugins, docs and man pages, shared objects with their
/// <c>.so → .so.1 → .so.1.2.3</c> symlink chains, firmware blobs and gzipped kernel modules (incompressible),
/// a few big files, empty files and empty folders. The same seed and size give the same tree, byte for byte.
/// </summary>
internal static class TreeGenerator
{
    public static TreeStats Generate(string root, long totalBytes, ulong seed)
    {
        var gen = new ContentGenerator(seed);
        var rng = gen.Random;
        var stats = new Counter();
        var taken = new HashSet<string>(StringComparer.Ordinal);

        string[] Pool(string prefix, int count, int maxDepth)
        {
            var list = new List<string>();
            for (var i = 0; i < count; i++)
            {
                var depth = rng.Next(maxDepth + 1);
                var p = prefix;
                for (var d = 0; d < depth; d++)
                {
                    p += "/" + gen.Word();
                }

                list.Add(p);
            }

            return [.. list.Distinct(StringComparer.Ordinal)];
        }

        var ruby = Pool("usr/local/lib/ruby/1.8", 60, 2);
        string[] gems = ["facter-1.6.5", "stomp-1.2.0", "json_pure-1.6.5", "daemons-1.1.6", "rubygems-update-1.8.15"];
        var gemDirs = gems.SelectMany(g => Pool($"usr/local/lib/ruby/gems/1.8/gems/{g}/lib", 8, 2)).ToArray();
        var mco = new[] { "agent", "facts", "security", "connector", "application", "registration", "audit", "util" }
            .Select(d => "usr/local/tce.installed/mcollective-1.2.1/plugins/mcollective/" + d).ToArray();
        var docs = Pool("usr/local/share/doc", 30, 1).Concat(["usr/local/share/man/man1", "usr/local/share/man/man5", "usr/local/share/man/man8"]).ToArray();
        var firmware = Pool("lib/firmware", 8, 1);
        var modules = Pool("usr/local/lib/modules/3.0.21-tinycore/kernel/drivers", 12, 2);

        string NewPath(string[] dirs, string extension)
        {
            while (true)
            {
                var name = gen.Word() + (rng.Next(3) == 0 ? "_" + gen.Word() : "");
                var p = $"{dirs[rng.Next(dirs.Length)]}/{name}{extension}";
                if (taken.Add(p))
                {
                    return p;
                }
            }
        }

        void Fill(long budget, Func<(string Path, ContentKind Kind, long Size, int Mode)> next)
        {
            long used = 0;
            while (used < budget)
            {
                var (path, kind, size, mode) = next();
                size = Math.Min(size, Math.Max(1, budget - used));
                WriteFile(root, path, gen, kind, size, mode, stats);
                used += size;
            }
        }

        // Big files first (a few MB each), then the many small ones.
        WriteFile(root, "usr/local/lib/ruby/1.8/unicode_data/tables.rb", gen, ContentKind.Code, totalBytes * 6 / 100, 0x1A4, stats);
        WriteFile(root, "usr/local/share/hwdata/pci.ids", gen, ContentKind.Prose, totalBytes * 6 / 100, 0x1A4, stats);
        WriteFile(root, "lib/firmware/ql2500_fw.bin", gen, ContentKind.Random, totalBytes * 6 / 100, 0x1A4, stats);

        var code = ruby.Concat(gemDirs).Concat(mco).ToArray();
        Fill(totalBytes * 33 / 100, () => (NewPath(code, ".rb"), ContentKind.Code, rng.LogUniform(200, 40_000), 0x1A4));
        Fill(totalBytes * 2 / 100, () => (NewPath(["usr/local/bin", "usr/local/sbin"], ""), ContentKind.Code, rng.LogUniform(100, 8_000), 0x1ED));
        Fill(totalBytes * 9 / 100, () => (NewPath(docs, rng.Next(2) == 0 ? ".txt" : ".html"), ContentKind.Prose, rng.LogUniform(500, 200_000), 0x1A4));
        Fill(totalBytes * 14 / 100, () => (NewPath(firmware, ".fw"), ContentKind.Random, rng.LogUniform(4_000, 1_000_000), 0x1A4));
        Fill(totalBytes * 2 / 100, () => (NewPath(modules, ".ko.gz"), ContentKind.Random, rng.LogUniform(2_000, 200_000), 0x1A4));

        // Shared objects with their symlink chains; a few in per-package folders.
        long soUsed = 0;
        while (soUsed < totalBytes * 22 / 100)
        {
            var dir = rng.Next(4) == 0 ? "usr/local/lib/" + gems[rng.Next(gems.Length)].Split('-')[0] : "usr/local/lib";
            var name = "lib" + gen.Word();
            var major = 1 + rng.Next(3);
            var full = $"{dir}/{name}.so.{major}.{rng.Next(10)}.{rng.Next(10)}";
            if (!taken.Add($"{dir}/{name}.so"))
            {
                continue; // one library of each name per folder, so the links are unique too
            }

            var size = Math.Min(rng.LogUniform(8_000, 3_000_000), totalBytes * 22 / 100 - soUsed + 1);
            WriteFile(root, full, gen, ContentKind.Binary, size, 0x1ED, stats);
            soUsed += size;
            Symlink(root, $"{dir}/{name}.so.{major}", Path.GetFileName(full), stats);
            Symlink(root, $"{dir}/{name}.so", $"{name}.so.{major}", stats);
        }

        // The links a Tiny Core overlay has, empty files (.keep, __init__), empty folders.
        Symlink(root, "usr/local/mcollective", "/usr/local/tce.installed/mcollective-1.2.1", stats);
        Symlink(root, "usr/local/sbin/mcollectived", "/usr/local/tce.installed/mcollective-1.2.1/bin/mcollectived.rb", stats);
        Symlink(root, "usr/local/bin/lscpu", "/tmp/tcloop/util-linux/usr/local/bin/lscpu", stats);
        for (var i = 0; i < 30; i++)
        {
            WriteFile(root, NewPath(code, ".keep"), gen, ContentKind.Code, 0, 0x1A4, stats);
        }

        foreach (var d in new[] { "tmp", "var/log", "var/run/mcollective", "usr/local/etc/mcollective/ssl/clients", "home/tc/.ssh", "opt/.filetool" })
        {
            Directory.CreateDirectory(Path.Combine(root, d));
        }

        stats.Directories = Directory.GetDirectories(root, "*", SearchOption.AllDirectories).Length;
        return new TreeStats(stats.Files, stats.Directories, stats.Symlinks, stats.Bytes, stats.ByKind);
    }

    private static void WriteFile(string root, string relative, ContentGenerator gen, ContentKind kind, long size, int mode, Counter stats)
    {
        var full = Path.Combine(root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        using (var file = new FileStream(full, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
        using (var content = gen.Open(kind, size))
        {
            content.CopyTo(file, 1 << 16);
        }

        File.SetUnixFileMode(full, (UnixFileMode)mode);
        stats.Files++;
        stats.Bytes += size;
        stats.ByKind[kind] = stats.ByKind.GetValueOrDefault(kind) + size;
    }

    private static void Symlink(string root, string relative, string target, Counter stats)
    {
        var full = Path.Combine(root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.CreateSymbolicLink(full, target);
        stats.Symlinks++;
    }

    private sealed class Counter
    {
        public int Files { get; set; }

        public int Directories { get; set; }

        public int Symlinks { get; set; }

        public long Bytes { get; set; }

        public Dictionary<ContentKind, long> ByKind { get; } = [];
    }
}
