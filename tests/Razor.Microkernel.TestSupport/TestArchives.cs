using System.Formats.Tar;
using System.IO.Compression;

namespace Razor.Microkernel.TestSupport;

/// <summary>Builds small tar archives in memory, including hostile ones (names are written as given).</summary>
public static class TestArchives
{
    public sealed record Entry(Func<TarEntry> Create);

    public static Entry File(string name, string content, int mode = 0x1A4, int uid = 0, int gid = 0, string uname = "root", string gname = "root")
        => new(() =>
        {
            var e = new UstarTarEntry(TarEntryType.RegularFile, name)
            {
                DataStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(content)),
            };
            return Set(e, mode, uid, gid, uname, gname);
        });

    public static Entry Dir(string name, int mode = 0x1ED, int uid = 0, int gid = 0)
        => new(() => Set(new UstarTarEntry(TarEntryType.Directory, name), mode, uid, gid, "root", "root"));

    public static Entry Symlink(string name, string target)
        => new(() => Set(new UstarTarEntry(TarEntryType.SymbolicLink, name) { LinkName = target }, 0x1FF, 0, 0, "root", "root"));

    public static Entry HardLink(string name, string target)
        => new(() => Set(new UstarTarEntry(TarEntryType.HardLink, name) { LinkName = target }, 0x1A4, 0, 0, "root", "root"));

    public static Entry Device(string name, bool block, int major, int minor)
        => new(() => Set(new UstarTarEntry(block ? TarEntryType.BlockDevice : TarEntryType.CharacterDevice, name)
        {
            DeviceMajor = major,
            DeviceMinor = minor,
        }, 0x180, 0, 0, "root", "root"));

    public static Entry Fifo(string name) => new(() => Set(new UstarTarEntry(TarEntryType.Fifo, name), 0x180, 0, 0, "root", "root"));

    public static byte[] Tar(params Entry[] entries)
    {
        var ms = new MemoryStream();
        using (var w = new TarWriter(ms, TarEntryFormat.Ustar, leaveOpen: true))
        {
            foreach (var e in entries)
            {
                w.WriteEntry(e.Create());
            }
        }

        return ms.ToArray();
    }

    public static byte[] Tgz(params Entry[] entries) => Gzip(Tar(entries));

    /// <summary>A tar whose only header is a PAX extended header claiming 8 GiB of records, followed by nothing.</summary>
    public static byte[] HugePaxHeader()
    {
        var header = new byte[512];
        void Put(string text, int offset) => System.Text.Encoding.ASCII.GetBytes(text).CopyTo(header, offset);
        Put("PaxHeaders/x", 0);
        Put("0000644\0", 100);
        Put("0000000\0", 108);
        Put("0000000\0", 116);
        Put("77777777777\0", 124);
        Put("00000000000\0", 136);
        header[156] = (byte)'x';
        Put("ustar\0" + "00", 257);
        Put("        ", 148);
        var sum = header.Sum(b => b);
        Put(Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 ", 148);
        return [.. header, .. new byte[1024]];
    }

    public static byte[] Gzip(byte[] data)
    {
        var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Optimal, leaveOpen: true))
        {
            gz.Write(data);
        }

        return ms.ToArray();
    }

    private static TarEntry Set(PosixTarEntry e, int mode, int uid, int gid, string uname, string gname)
    {
        e.Mode = (UnixFileMode)mode;
        e.Uid = uid;
        e.Gid = gid;
        e.UserName = uname;
        e.GroupName = gname;
        e.ModificationTime = DateTimeOffset.FromUnixTimeSeconds(1329004800);
        return e;
    }
}
