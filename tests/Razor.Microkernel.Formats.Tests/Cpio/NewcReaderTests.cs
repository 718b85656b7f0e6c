using System.Text;
using Razor.Microkernel.Formats.Cpio;
using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Formats.Tests.Cpio;

/// <summary><see cref="NewcReader"/> over archives made by GNU cpio and by <see cref="NewcWriter"/>, and hostile edits.</summary>
public sealed class NewcReaderTests
{
    private static List<(CpioHeader Header, byte[] Data)> ReadAll(byte[] archive)
    {
        var result = new List<(CpioHeader, byte[])>();
        using var reader = new NewcReader(new MemoryStream(archive));
        while (reader.ReadNext() is { } h)
        {
            using var ms = new MemoryStream();
            if (h.Type == CpioEntryType.File && h.Path.EndsWith('b'))
            {
                reader.OpenData().CopyTo(ms); // read some, skip others
            }

            result.Add((h, ms.ToArray()));
        }

        return result;
    }

    [Fact]
    public void Read_GnuCpioArchive()
    {
        using var tmp = new TempFolder("cpior");
        tmp.Write("t/usr/bin/b", "bee\n");
        File.CreateSymbolicLink(tmp["t/usr/bin/sh"], "busybox");
        Tool.Run("ln", tmp["t/usr/bin/b"], tmp["t/usr/bin/hb"]).EnsureSuccess("ln");
        Tool.Run("chown", "-h", "1001:50", tmp["t/usr/bin/sh"]).EnsureSuccess("chown");
        Tool.Run("mknod", tmp["t/console"], "c", "5", "1").EnsureSuccess("mknod");
        var list = Tool.Run("find", ["."], workingDirectory: tmp["t"]).EnsureSuccess("find").StdOut;
        Tool.Run("sh", ["-c", "find . | sort | cpio -o -H newc --quiet > ../a.cpio"], workingDirectory: tmp["t"]).EnsureSuccess("cpio -o");
        var entries = ReadAll(File.ReadAllBytes(tmp["a.cpio"]));
        var byPath = entries.ToDictionary(e => e.Header.Path);
        Assert.Equal(list.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length, entries.Count);
        Assert.Equal((CpioEntryType.Symlink, "busybox", 1001, 50), (byPath["usr/bin/sh"].Header.Type, byPath["usr/bin/sh"].Header.LinkTarget, byPath["usr/bin/sh"].Header.Uid, byPath["usr/bin/sh"].Header.Gid));
        Assert.Equal((CpioEntryType.CharacterDevice, 5, 1), (byPath["console"].Header.Type, byPath["console"].Header.DeviceMajor, byPath["console"].Header.DeviceMinor));
        Assert.Equal(byPath["usr/bin/b"].Header.Inode, byPath["usr/bin/hb"].Header.Inode);
        Assert.Equal(2, byPath["usr/bin/hb"].Header.LinkCount);
        // GNU cpio puts a hard-link group's data on its last member: b comes first (sorted), so it is empty.
        Assert.Equal(0, byPath["usr/bin/b"].Header.Size);
        Assert.Equal(4, byPath["usr/bin/hb"].Header.Size);
    }

    [Fact]
    public void Read_RoundTripsNewcWriter()
    {
        using var ms = new MemoryStream();
        using (var w = new NewcWriter(ms, 1234, leaveOpen: true))
        {
            w.Write(new CpioEntry("usr", CpioEntryType.Directory, 0x1ED));
            w.Write(new CpioEntry("usr/b", CpioEntryType.File, 0x1A4, 1, 2), new MemoryStream("hello"u8.ToArray()), 5);
            w.Write(new CpioEntry("usr/x", CpioEntryType.File, 0x1A4), new MemoryStream("xyz"u8.ToArray()), 3);
            w.Write(new CpioEntry("usr/l", CpioEntryType.Symlink, 0x1FF, LinkTarget: "b"));
        }

        var entries = ReadAll(ms.ToArray());
        Assert.Equal(["usr", "usr/b", "usr/x", "usr/l"], entries.Select(e => e.Header.Path));
        Assert.Equal("hello", Encoding.ASCII.GetString(entries[1].Data));
        Assert.Equal((1, 2, 1234L, 2u), (entries[1].Header.Uid, entries[1].Header.Gid, entries[1].Header.ModificationTime, entries[1].Header.Inode));
        Assert.Equal("b", entries[3].Header.LinkTarget);
    }

    private static byte[] Archive(string name)
    {
        using var ms = new MemoryStream();
        using (var w = new NewcWriter(ms, leaveOpen: true))
        {
            w.Write(new CpioEntry("ok", CpioEntryType.File, 0x1A4), new MemoryStream(new byte[10]), 10);
            w.Write(new CpioEntry(name, CpioEntryType.File, 0x1A4), new MemoryStream(new byte[10]), 10);
        }

        return ms.ToArray();
    }

    [Fact]
    public void Read_RefusesDotDotName()
    {
        var bytes = Archive("xx/etc/passwd");
        var at = Encoding.ASCII.GetString(bytes).IndexOf("xx/etc", StringComparison.Ordinal);
        "..".CopyTo(at, bytes);
        var e = Assert.Throws<CpioFormatException>(() => ReadAll(bytes));
        Assert.Equal(at, e.Offset);
    }

    [Fact]
    public void Read_RefusesTruncationAndBadMagic()
    {
        var bytes = Archive("second");
        foreach (var cut in new[] { 5, 115, 130, 240, bytes.Length - 20 })
        {
            Assert.Throws<CpioFormatException>(() => ReadAll(bytes[..cut]));
        }

        bytes[0] = (byte)'1';
        Assert.Equal(0, Assert.Throws<CpioFormatException>(() => ReadAll(bytes)).Offset);
    }
}

internal static class ByteEdit
{
    public static void CopyTo(this string text, int at, byte[] bytes) => Encoding.ASCII.GetBytes(text).CopyTo(bytes, at);
}
