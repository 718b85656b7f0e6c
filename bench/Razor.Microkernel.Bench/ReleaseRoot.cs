using static Razor.Microkernel.Bench.Measure;

namespace Razor.Microkernel.Bench;

/// <summary>A stand-in Tiny Core base system of release size, as its initrd: an ELF-heavy root (busybox and its applet
/// links, shared objects, binaries, incompressible <c>.ko.gz</c> modules, config and scripts) made into a gzip'd newc
/// cpio by GNU cpio and <c>gzip -9 -n</c>, with fixed dates, order and inode numbers so every run makes the same bytes.
/// Used by the iso benchmark (as core.gz) and the pxe benchmark (as corepure64.gz).</summary>
internal static class ReleaseRoot
{
    public static void MakeInitrd(ContentGenerator gen, string root, string output, long rootBytes)
    {
        var rng = gen.Random;
        void Write(string path, ContentKind kind, long size, int mode = 0x1A4)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            using (var f = File.Create(path))
            using (var content = gen.Open(kind, size))
            {
                content.CopyTo(f, 1 << 16);
            }

            File.SetUnixFileMode(path, (UnixFileMode)mode);
        }

        void Fill(string[] dirs, string extension, ContentKind kind, long budget, long min, long max, int mode)
        {
            long used = 0;
            while (used < budget)
            {
                var size = Math.Min(rng.LogUniform(min, max), budget - used);
                var path = Path.Combine(root, dirs[rng.Next(dirs.Length)], gen.Word() + extension);
                if (!File.Exists(path))
                {
                    Write(path, kind, size, mode);
                    used += size;
                }
            }
        }

        Write(Path.Combine(root, "bin/busybox"), ContentKind.Binary, rootBytes * 5 / 100, 0x1ED);
        foreach (var applet in new[] { "ash", "cat", "cp", "ls", "mount", "sed", "sh", "tar", "gzip", "grep", "vi", "wget" })
        {
            File.CreateSymbolicLink(Path.Combine(root, "bin", applet), "busybox");
        }

        Fill(["lib", "usr/lib", "usr/lib/gconv"], ".so", ContentKind.Binary, rootBytes * 55 / 100, 10_000, 1_500_000, 0x1ED);
        Fill(["sbin", "usr/bin", "usr/sbin"], "", ContentKind.Binary, rootBytes * 15 / 100, 5_000, 300_000, 0x1ED);
        Fill(["lib/modules/3.0.21-tinycore/kernel/drivers/net", "lib/modules/3.0.21-tinycore/kernel/fs", "lib/modules/3.0.21-tinycore/kernel/drivers/scsi"],
            ".ko.gz", ContentKind.Random, rootBytes * 13 / 100, 2_000, 200_000, 0x1A4);
        Fill(["etc", "etc/init.d", "usr/share/kmap", "usr/share/doc"], "", ContentKind.Prose, rootBytes * 6 / 100, 100, 40_000, 0x1A4);
        Fill(["etc/init.d", "usr/bin"], ".sh", ContentKind.Code, rootBytes * 6 / 100, 100, 20_000, 0x1ED);
        foreach (var d in new[] { "dev", "proc", "sys", "tmp", "var/log", "home", "mnt", "opt" })
        {
            Directory.CreateDirectory(Path.Combine(root, d));
        }

        Command("bash", ["-c", "cd \"$1\" && find . -exec touch -h -d @1330560000 {} + && find . | LC_ALL=C sort | cpio -o -H newc --quiet --reproducible | gzip -9 -n > \"$2\"", "bash", root, output]);
        Directory.Delete(root, recursive: true);
    }
}
