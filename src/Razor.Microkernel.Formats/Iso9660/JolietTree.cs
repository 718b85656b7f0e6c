using System.Globalization;
using System.Text;

namespace Razor.Microkernel.Formats.Iso9660;

/// <summary>
/// The Joliet tree (<c>mkisofs -J</c>): the real names in UCS-2 big-endian (no <c>;1</c>), symlinks left out, its
/// own directory extents of bare records (no system use) that name the same file extents as the primary tree.
/// How names are mapped is described on <see cref="IsoWriter"/>.
/// </summary>
internal static class JolietTree
{
    private const int MaxName = 64;
    private const int MaxExtension = 16; // the dot and up to 15 characters

    /// <summary>Names the children of <paramref name="dir"/> and below and fills <see cref="IsoNode.JolietChildren"/> in Joliet order.</summary>
    public static void AssignNames(IsoNode dir)
    {
        var children = dir.Children.Where(c => c.Entry.Type != IsoEntryType.Symlink).ToList();
        children.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        var used = new HashSet<string>(StringComparer.Ordinal);
        var changed = new List<(IsoNode Node, string Mapped)>();
        foreach (var c in children)
        {
            var mapped = Map(c.Name);
            if (mapped.Length <= MaxName && mapped == c.Name)
            {
                c.JolietName = mapped;
                used.Add(mapped);
            }
            else
            {
                changed.Add((c, mapped));
            }
        }

        foreach (var (c, mapped) in changed)
        {
            var dot = mapped.LastIndexOf('.');
            var (stem, ext) = dot > 0 && mapped.Length - dot <= MaxExtension ? (mapped[..dot], mapped[dot..]) : (mapped, "");
            var candidate = NoTrailingDots(IsoNames.Truncate(stem, MaxName - ext.Length) + ext);
            var n = 1;
            while (!used.Add(candidate))
            {
                var suffix = "_" + n++.ToString(CultureInfo.InvariantCulture);
                candidate = IsoNames.Truncate(stem, MaxName - ext.Length - suffix.Length) + suffix + ext;
            }

            c.JolietName = candidate;
        }

        children.Sort((a, b) => string.CompareOrdinal(a.JolietName, b.JolietName));
        foreach (var c in children)
        {
            c.JolietId = Encoding.BigEndianUnicode.GetBytes(c.JolietName);
            dir.JolietChildren.Add(c);
            if (c.IsDirectory)
            {
                AssignNames(c);
            }
        }
    }

    /// <summary>A name as Joliet can hold it: characters Joliet forbids, control characters, characters outside
    /// UCS-2 (a surrogate pair becomes one <c>_</c>) and trailing dots replaced by <c>_</c>; not yet cut.</summary>
    private static string Map(string name)
    {
        var b = new StringBuilder(name.Length);
        for (var i = 0; i < name.Length; i++)
        {
            var ch = name[i];
            if (char.IsHighSurrogate(ch) && i + 1 < name.Length && char.IsLowSurrogate(name[i + 1]))
            {
                i++;
                b.Append('_');
            }
            else
            {
                b.Append(ch is < ' ' or '*' or '/' or ':' or ';' or '?' or '\\' || char.IsSurrogate(ch) ? '_' : ch);
            }
        }

        return NoTrailingDots(b.ToString());
    }

    private static string NoTrailingDots(string name)
    {
        var end = name.Length;
        while (end > 0 && name[end - 1] == '.')
        {
            end--;
        }

        return end == name.Length ? name : name[..end] + new string('_', name.Length - end);
    }

    /// <summary>The records of a Joliet directory: ".", "..", then the children in Joliet order.</summary>
    public static IEnumerable<(IsoNode Target, byte[] Id)> Records(IsoNode d)
    {
        yield return (d, [0]);
        yield return (d.Parent ?? d, [1]);
        foreach (var c in d.JolietChildren)
        {
            yield return (c, c.JolietId);
        }
    }

    public static int RecordLength(int idLength) => 33 + idLength + ((idLength & 1) == 0 ? 1 : 0);

    /// <summary>Bytes of a Joliet directory's extent (records never cross a block), in whole blocks.</summary>
    public static long ExtentSize(IsoNode d) => DirectoryRecords.ExtentSize(Records(d).Select(r => RecordLength(r.Id.Length)));

    public static byte[] Extent(IsoNode d, DateTimeOffset timestamp)
    {
        var extent = new byte[d.JolietSize];
        var pos = 0;
        foreach (var (target, id) in Records(d))
        {
            var length = RecordLength(id.Length);
            if ((pos % IsoBytes.BlockSize) + length > IsoBytes.BlockSize)
            {
                pos = ((pos / IsoBytes.BlockSize) + 1) * IsoBytes.BlockSize;
            }

            var (block, size) = target.IsDirectory ? (target.JolietBlock, target.JolietSize) : (target.Block, target.Size);
            DirectoryRecords.WriteBare(extent.AsSpan(pos, length), block, size, target.IsDirectory, id, timestamp);
            pos += length;
        }

        return extent;
    }
}
