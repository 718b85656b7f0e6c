using System.Text;
using Razor.Microkernel.Formats.Cpio;
using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Formats.Tests.Cpio;

/// <summary>Archives from <see cref="NewcWriter"/> read back by GNU cpio (listing and extraction as root).</summary>
public sealed class NewcWriterTests
{
    private const long Mtime = 1_300_000_000; // 2011-03-13

    private static byte[] Sample()
    {
        using var ms = new MemoryStream();
        using (var w = new NewcWriter(ms, Mtime, leaveOpen: true))
        {
            w.Write(new CpioEntry(".", CpioEntryType.Directory, 0x1ED));
            w.Write(new CpioEntry("dev", CpioEntryType.Directory, 0x1ED));
            w.Write(new CpioEntry("dev/console", CpioEntryType.CharacterDevice, 0x180, DeviceMajor: 5, DeviceMinor: 1));
            w.Write(new CpioEntry("dev/sda1", CpioEntryType.BlockDevice, 0x1B0, 0, 6, DeviceMajor: 8, DeviceMinor: 1));
            w.Write(new CpioEntry("dev/initctl", CpioEntryType.Fifo, 0x180));
            w.Write(new CpioEntry("/usr", CpioEntryType.Directory, 0x1ED));
            w.Write(new CpioEntry("usr/bin", CpioEntryType.Directory, 0x1ED));
            var text = Encoding.ASCII.GetBytes("#!/bin/sh\necho hello\n");
            w.Write(new CpioEntry("usr/bin/hello", CpioEntryType.File, 0x9ED, 1001, 50), new MemoryStream(text), text.Length); // 04755
            w.Write(new CpioEntry("usr/bin/empty", CpioEntryType.File, 0x1A4));
            w.Write(new CpioEntry("usr/bin/sh", CpioEntryType.Symlink, 0x1FF, LinkTarget: "../../bin/busybox"));
            var data = new byte[5000];
            new Random(7).NextBytes(data);
            w.WriteHardLinks(
                [new CpioEntry("usr/bin/a", CpioEntryType.File, 0x1ED), new CpioEntry("usr/bin/b", CpioEntryType.File, 0x1ED)],
                new MemoryStream(data), data.Length);
            w.Write(new CpioEntry("tmp", CpioEntryType.Directory, 0x3FF)); // 01777
        }

        return ms.ToArray();
    }

    [Fact]
    public void Write_IsDeterministic()
        => Assert.Equal(Sample(), Sample());

    [Fact]
    public void Write_ListsInGnuCpio()
    {
        var listing = Tool.Run("cpio", ["-itvn", "--quiet"], stdin: Sample()).EnsureSuccess("cpio -itv").StdOut;
        var lines = listing.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(13, lines.Length);
        Assert.Matches(@"^crw------- +1 0 +0 +5, +1 .* dev/console$", lines[2]);
        Assert.Matches(@"^brw-rw---- +1 0 +6 +8, +1 .* dev/sda1$", lines[3]);
        Assert.Matches(@"^prw------- .* dev/initctl$", lines[4]);
        Assert.Matches(@"^-rwsr-xr-x +1 1001 +50 +21 .* usr/bin/hello$", lines[7]);
        Assert.Matches(@"^lrwxrwxrwx .* usr/bin/sh -> \.\./\.\./bin/busybox$", lines[9]);
        Assert.Matches(@"^-rwxr-xr-x +2 0 +0 +0 .* usr/bin/a$", lines[10]);
        Assert.Matches(@"^-rwxr-xr-x +2 0 +0 +5000 .* usr/bin/b$", lines[11]);
        Assert.Contains("Mar 13  2011", lines[0]);
    }

    [Fact]
    public void Write_ExtractsWithGnuCpio()
    {
        using var tmp = new TempFolder("cpio");
        var output = Tool.Run("cpio", ["-idm", "--no-absolute-filenames", "--quiet"], workingDirectory: tmp.Path, stdin: Sample());
        output.EnsureSuccess("cpio -idm");
        var stat = Tool.Run("find", [".", "-printf", "%p %M %U %G %s %n %T@\n"], workingDirectory: tmp.Path).EnsureSuccess("find").StdOut;
        var byPath = stat.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')).ToDictionary(p => p[0]);
        Assert.Equal("-rwsr-xr-x 1001 50 21 1", string.Join(' ', byPath["./usr/bin/hello"][1..6]));
        Assert.Equal("-rwxr-xr-x 0 0 5000 2", string.Join(' ', byPath["./usr/bin/a"][1..6]));
        Assert.Equal("-rwxr-xr-x 0 0 5000 2", string.Join(' ', byPath["./usr/bin/b"][1..6]));
        Assert.Equal("drwxrwxrwt", byPath["./tmp"][1]);
        Assert.Equal("prw-------", byPath["./dev/initctl"][1]);
        Assert.Equal("crw-------", byPath["./dev/console"][1]);
        Assert.Equal("brw-rw----", byPath["./dev/sda1"][1]);
        Assert.Equal("lrwxrwxrwx", byPath["./usr/bin/sh"][1]);
        Assert.Equal("../../bin/busybox", new FileInfo(tmp["usr/bin/sh"]).LinkTarget);
        Assert.Equal("#!/bin/sh\necho hello\n", File.ReadAllText(tmp["usr/bin/hello"]));
        Assert.StartsWith(Mtime.ToString(System.Globalization.CultureInfo.InvariantCulture), byPath["./usr/bin/hello"][6], StringComparison.Ordinal);
        var data = new byte[5000];
        new Random(7).NextBytes(data);
        Assert.Equal(data, File.ReadAllBytes(tmp["usr/bin/a"]));
        var devices = Tool.Run("stat", ["-c", "%t:%T", "dev/console", "dev/sda1"], workingDirectory: tmp.Path).EnsureSuccess("stat").StdOut;
        Assert.Equal("5:1\n8:1\n", devices);
    }

    [Fact]
    public void Write_HeaderFieldsAreNewcWithSequentialInodes()
    {
        var bytes = Sample();
        var text = Encoding.ASCII.GetString(bytes);
        Assert.StartsWith("07070100000001000041ED", text, StringComparison.Ordinal);
        // second member: inode 2
        var second = text.IndexOf("070701", 6, StringComparison.Ordinal);
        Assert.Equal("00000002", text.Substring(second + 6, 8));
        Assert.EndsWith("TRAILER!!!\0\0\0\0", text, StringComparison.Ordinal);
        Assert.Equal(0, bytes.Length % 4);
    }

    [Theory]
    [InlineData("../etc/passwd")]
    [InlineData("a/../b")]
    [InlineData("a//b")]
    [InlineData("a\0b")]
    public void Write_RefusesBadPath(string path)
    {
        using var w = new NewcWriter(new MemoryStream());
        Assert.Throws<InvalidImagePathException>(() => w.Write(new CpioEntry(path, CpioEntryType.Directory, 0x1ED)));
    }

    [Fact]
    public void Write_RefusesShortContent()
    {
        using var w = new NewcWriter(new MemoryStream());
        var e = Assert.Throws<CpioWriteException>(() => w.Write(new CpioEntry("f", CpioEntryType.File, 0x1A4), new MemoryStream(new byte[3]), 10));
        Assert.Contains("7 bytes before", e.Message, StringComparison.Ordinal);
    }
}
