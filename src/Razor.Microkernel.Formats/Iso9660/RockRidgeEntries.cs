using System.Text;

namespace Razor.Microkernel.Formats.Iso9660;

/// <summary>
/// The SUSP and Rock Ridge (RRIP 1.10) system use entries the writer puts into directory records: SP and ER on the
/// root's ".", PX (mode, link count, owner), TF (dates), NM (names of any length, in pieces of 250 bytes), SL
/// (symlink targets, components split as needed) and CE (the pointer to a continuation area).
/// </summary>
internal static class RockRidgeEntries
{
    private const string ErId = "RRIP_1991A";
    private const string ErDescription = "THE ROCK RIDGE INTERCHANGE PROTOCOL PROVIDES SUPPORT FOR POSIX FILE SYSTEM SEMANTICS";
    private const string ErSource = "PLEASE CONTACT DISC PUBLISHER FOR SPECIFICATION SOURCE.  SEE PUBLISHER IDENTIFIER IN PRIMARY VOLUME DESCRIPTOR FOR CONTACT INFORMATION.";

    /// <summary>Bytes of a CE entry.</summary>
    public const int CeLength = 28;

    /// <summary>SP: SUSP is in use, no bytes skipped.</summary>
    public static byte[] Sp() => [(byte)'S', (byte)'P', 7, 1, 0xBE, 0xEF, 0];

    private static byte[] Entry(string sig, int version, ReadOnlySpan<byte> data)
    {
        var e = new byte[4 + data.Length];
        e[0] = (byte)sig[0];
        e[1] = (byte)sig[1];
        e[2] = (byte)e.Length;
        e[3] = (byte)version;
        data.CopyTo(e.AsSpan(4));
        return e;
    }

    private static int NlinkOf(IsoNode n) => n.IsDirectory ? 2 + n.Children.Count(c => c.IsDirectory) : 1;

    public static byte[] Px(IsoNode n)
    {
        var typeBits = n.Entry.Type switch
        {
            IsoEntryType.Directory => 0x4000,
            IsoEntryType.Symlink => 0xA000,
            _ => 0x8000,
        };
        Span<byte> d = stackalloc byte[32];
        IsoBytes.WriteBoth32(d, (uint)(typeBits | n.Entry.Mode));
        IsoBytes.WriteBoth32(d[8..], (uint)NlinkOf(n));
        IsoBytes.WriteBoth32(d[16..], (uint)n.Entry.Uid);
        IsoBytes.WriteBoth32(d[24..], (uint)n.Entry.Gid);
        return Entry("PX", 1, d);
    }

    public static byte[] Tf(DateTimeOffset timestamp)
    {
        Span<byte> d = stackalloc byte[1 + 21];
        d[0] = 0x0E; // modify, access, attributes
        IsoBytes.WriteShortDate(d[1..], timestamp);
        IsoBytes.WriteShortDate(d[8..], timestamp);
        IsoBytes.WriteShortDate(d[15..], timestamp);
        return Entry("TF", 1, d);
    }

    public static IEnumerable<byte[]> Nm(string name)
    {
        var bytes = Encoding.UTF8.GetBytes(name);
        for (var at = 0; at < bytes.Length; at += 250)
        {
            var n = Math.Min(250, bytes.Length - at);
            var d = new byte[1 + n];
            d[0] = (byte)(at + n < bytes.Length ? 0x01 : 0);
            bytes.AsSpan(at, n).CopyTo(d.AsSpan(1));
            yield return Entry("NM", 1, d);
        }
    }

    public static List<byte[]> Sl(string target)
    {
        var components = new List<byte[]>();
        if (target.StartsWith('/'))
        {
            components.Add([0x08, 0]);
        }

        foreach (var part in target.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == ".")
            {
                components.Add([0x02, 0]);
            }
            else if (part == "..")
            {
                components.Add([0x04, 0]);
            }
            else
            {
                var bytes = Encoding.UTF8.GetBytes(part);
                for (var at = 0; at < bytes.Length; at += 248)
                {
                    var n = Math.Min(248, bytes.Length - at);
                    var c = new byte[2 + n];
                    c[0] = (byte)(at + n < bytes.Length ? 0x01 : 0);
                    c[1] = (byte)n;
                    bytes.AsSpan(at, n).CopyTo(c.AsSpan(2));
                    components.Add(c);
                }
            }
        }

        var entries = new List<byte[]>();
        var current = new List<byte[]>();
        var size = 0;
        void Flush(bool more)
        {
            var d = new byte[1 + size];
            d[0] = (byte)(more ? 0x01 : 0);
            var pos = 1;
            foreach (var c in current)
            {
                c.CopyTo(d, pos);
                pos += c.Length;
            }

            entries.Add(Entry("SL", 1, d));
            current.Clear();
            size = 0;
        }

        foreach (var c in components)
        {
            if (size + c.Length > 250)
            {
                Flush(more: true);
            }

            current.Add(c);
            size += c.Length;
        }

        Flush(more: false);
        return entries;
    }

    public static byte[] Er()
    {
        var d = new byte[4 + ErId.Length + ErDescription.Length + ErSource.Length];
        d[0] = (byte)ErId.Length;
        d[1] = (byte)ErDescription.Length;
        d[2] = (byte)ErSource.Length;
        d[3] = 1;
        Encoding.ASCII.GetBytes(ErId + ErDescription + ErSource).CopyTo(d, 4);
        return Entry("ER", 1, d);
    }

    public static byte[] Ce(ContinuationArea area)
    {
        Span<byte> d = stackalloc byte[24];
        IsoBytes.WriteBoth32(d, (uint)area.Block);
        IsoBytes.WriteBoth32(d[8..], (uint)area.Offset);
        IsoBytes.WriteBoth32(d[16..], (uint)area.Length);
        return Entry("CE", 1, d);
    }
}
