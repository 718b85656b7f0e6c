using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Security.Cryptography;
using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Formats.Tests.SquashFs;

/// <summary>A source tree with every kind of entry SquashFS holds (made once per test class, as root), and
/// images of it made with the real mksquashfs on demand.</summary>
public sealed class SquashFsFixture : IDisposable
{
    private readonly ConcurrentDictionary<string, string> _images = new();
    private readonly TempFolder _tmp = new("rmk-sqfs");

    public SquashFsFixture()
    {
        Tool.Require("mksquashfs");
        Tool.Require("unsquashfs");
        Source = _tmp["src"];
        BuildTree(Source);
    }

    public string Source { get; }

    public string Folder => _tmp.Path;

    /// <summary>An image of the source tree made with <c>mksquashfs SRC IMG -noappend ARGS</c>, cached by name.</summary>
    public string Image(string name, params string[] args)
        => _images.GetOrAdd(name, n =>
        {
            var image = _tmp[n + ".sqfs"];
            Tool.Run("mksquashfs", new[] { Source, image, "-noappend", "-no-progress", "-quiet", "-processors", "2" }.Concat(args))
                .EnsureSuccess("mksquashfs " + string.Join(' ', args));
            return image;
        });

    public void Dispose() => _tmp.Dispose();

    private static void BuildTree(string root)
    {
        const long t0 = 1_300_000_000;
        var rng = new Random(42);
        void File(string rel, byte[] content, string? mode = null)
        {
            var full = Path.Combine(root, rel);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            System.IO.File.WriteAllBytes(full, content);
            if (mode is not null)
            {
                Chmod(mode, full);
            }
        }

        byte[] Random(int n)
        {
            var b = new byte[n];
            rng.NextBytes(b);
            return b;
        }

        byte[] Text(int n)
        {
            var b = new byte[n];
            for (var i = 0; i < n; i++)
            {
                b[i] = (byte)"the quick brown fox jumps over the lazy dog\n"[(i + (i / 5000)) % 44];
            }

            return b;
        }

        Directory.CreateDirectory(root);
        File("small.txt", "hello\n"u8.ToArray());
        File("empty-file", []);
        File("sizes/4095", Random(4095));
        File("sizes/4096", Random(4096));
        File("sizes/4097", Random(4097));
        File("sizes/131073", Random(131073));
        File("sizes/text-1m", Text((1 << 20) + 333));
        File("sizes/random-300k", Random(300_000));

        // Sparse: holes are all-zero blocks, stored as size 0 in the block list.
        var sparse = Path.Combine(root, "sparse/holes.img");
        Directory.CreateDirectory(Path.GetDirectoryName(sparse)!);
        using (var fs = new FileStream(sparse, FileMode.Create))
        {
            fs.SetLength(3 * (1 << 20) + 17);
            fs.Write(Random(5000));
            fs.Position = 2 << 20;
            fs.Write(Text(7000));
        }

        File("hl/a", Text(10_000));
        Link("hl/a", "hl/b");
        Link("hl/a", "hl/c");
        Directory.CreateDirectory(Path.Combine(root, "other"));
        Link("hl/a", "other/hl-a");
        File("hl/small", "tiny\n"u8.ToArray());
        Link("hl/small", "hl/small2");

        Directory.CreateDirectory(Path.Combine(root, "links"));
        Symlink("nowhere/at/all", "links/dangling");
        Symlink("/usr/local/bin/ruby", "links/absolute");
        Symlink("../small.txt", "links/relative");
        Symlink(new string('t', 200) + "/x", "links/long-target");
        Symlink("../hl", "links/to-dir");

        Directory.CreateDirectory(Path.Combine(root, "empty-dir"));
        Directory.CreateDirectory(Path.Combine(root, "nested/empty/deeper"));

        // Many owners: 3,000 distinct uids and gids make an id table of three metadata blocks (2,048 ids each).
        for (var i = 0; i < 3000; i++)
        {
            File($"many/entry-{i:D4}", System.Text.Encoding.ASCII.GetBytes($"{i}\n"));
            if (LChown(Path.Combine(root, $"many/entry-{i:D4}"), 10_000 + i, 20_000 + i) != 0)
            {
                throw new InvalidOperationException("lchown failed: " + System.Runtime.InteropServices.Marshal.GetLastPInvokeError());
            }
        }

        File("names/" + new string('n', 255), "long name\n"u8.ToArray());
        File(new string('d', 255) + "/" + new string('e', 255), "long dir\n"u8.ToArray());
        File(string.Join('/', Enumerable.Range(0, 40).Select(i => $"deep{i}")) + "/leaf", "deep\n"u8.ToArray());

        File("modes/setuid", "#!/bin/sh\n"u8.ToArray(), "4755");
        File("modes/setgid", "#!/bin/sh\n"u8.ToArray(), "2711");
        File("modes/none", "x"u8.ToArray(), "0000");
        File("modes/private", "x"u8.ToArray(), "0600");
        Directory.CreateDirectory(Path.Combine(root, "modes/sticky"));
        Chmod("1777", Path.Combine(root, "modes/sticky"));
        Directory.CreateDirectory(Path.Combine(root, "modes/group-dir"));
        Chmod("2750", Path.Combine(root, "modes/group-dir"));

        File("owners/tc", "tc\n"u8.ToArray());
        Chown("1001:50", "owners/tc");
        File("owners/nobody", "nobody\n"u8.ToArray());
        Chown("65534:65534", "owners/nobody");
        File("owners/big", "big\n"u8.ToArray());
        Chown("123456:7", "owners/big");
        Chown("1001:50", "owners");
        Symlink("tc", "owners/link");
        Chown("1001:50", "owners/link", noDereference: true);

        Directory.CreateDirectory(Path.Combine(root, "dev"));
        Tool.Run("mknod", "-m", "666", Path.Combine(root, "dev/null"), "c", "1", "3").EnsureSuccess("mknod");
        Tool.Run("mknod", "-m", "660", Path.Combine(root, "dev/sda"), "b", "8", "0").EnsureSuccess("mknod");
        Tool.Run("mknod", "-m", "600", Path.Combine(root, "dev/big"), "c", "259", "70000").EnsureSuccess("mknod");
        Tool.Run("mknod", "-m", "640", Path.Combine(root, "dev/sdb"), "b", "8", "16").EnsureSuccess("mknod");
        Tool.Run("mkfifo", "-m", "640", Path.Combine(root, "dev/fifo")).EnsureSuccess("mkfifo");
        Tool.Run("mkfifo", "-m", "600", Path.Combine(root, "dev/fifo2")).EnsureSuccess("mkfifo");
        foreach (var name in new[] { "dev/socket", "dev/socket2" })
        {
            // .NET removes a bound socket's file when the socket is closed: keep a second name (a hard link).
            var bound = Path.Combine(root, name + ".bound");
            using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            s.Bind(new UnixDomainSocketEndPoint(bound));
            Link(name + ".bound", name);
            s.Close();
            if (System.IO.File.Exists(bound) || !System.IO.File.Exists(Path.Combine(root, name)))
            {
                throw new InvalidOperationException("could not make the socket " + name);
            }
        }

        // Extended attributes: images made without -no-xattrs carry an xattr table, and mksquashfs gives an entry
        // with xattrs the extended form of its inode, so these make extended symlink, device, fifo, socket and
        // folder inodes (types 8-14) next to the basic ones above (sdb, big, fifo2, socket2, other links).
        foreach (var (rel, name) in new[]
        {
            ("small.txt", "user.rmk"), ("empty-dir", "user.rmk"), ("links/absolute", "trusted.rmk"), ("dev/null", "trusted.rmk"),
            ("dev/sda", "trusted.rmk"), ("dev/fifo", "trusted.rmk"), ("dev/socket", "trusted.rmk"),
        })
        {
            if (LSetXattr(Path.Combine(root, rel), name, [49], 1, 0) != 0)
            {
                throw new InvalidOperationException($"lsetxattr {rel} failed: " + System.Runtime.InteropServices.Marshal.GetLastPInvokeError());
            }
        }

        // Times: everything at t0, a few entries elsewhere (folders last, as their contents change them).
        Tool.Run("find", root, "-exec", "touch", "-h", "-d", "@" + t0, "{}", "+").EnsureSuccess("touch");
        Tool.Run("touch", "-h", "-d", "@" + (t0 + 12345), Path.Combine(root, "small.txt"), Path.Combine(root, "links/dangling"), Path.Combine(root, "dev/null"), Path.Combine(root, "modes/sticky"))
            .EnsureSuccess("touch");
        Tool.Run("touch", "-d", "@0", Path.Combine(root, "hl/a")).EnsureSuccess("touch");

        void Link(string existing, string rel) => Tool.Run("ln", Path.Combine(root, existing), Path.Combine(root, rel)).EnsureSuccess("ln");
        void Symlink(string target, string rel) => Tool.Run("ln", "-s", target, Path.Combine(root, rel)).EnsureSuccess("ln -s");
        void Chown(string owner, string rel, bool noDereference = false)
            => Tool.Run("chown", noDereference ? ["-h", owner, Path.Combine(root, rel)] : [owner, Path.Combine(root, rel)]).EnsureSuccess("chown");
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "lchown", SetLastError = true)]
    private static extern int LChown([System.Runtime.InteropServices.MarshalAs(System.Runtime.InteropServices.UnmanagedType.LPUTF8Str)] string path, int uid, int gid);

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "lsetxattr", SetLastError = true)]
    private static extern int LSetXattr([System.Runtime.InteropServices.MarshalAs(System.Runtime.InteropServices.UnmanagedType.LPUTF8Str)] string path,
        [System.Runtime.InteropServices.MarshalAs(System.Runtime.InteropServices.UnmanagedType.LPUTF8Str)] string name, byte[] value, nuint size, int flags);

    private static void Chmod(string mode, string full) => Tool.Run("chmod", mode, full).EnsureSuccess("chmod");

    public static string Sha256(Stream s) => Convert.ToHexStringLower(SHA256.HashData(s));
}
