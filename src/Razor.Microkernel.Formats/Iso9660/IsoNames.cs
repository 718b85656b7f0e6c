using System.Globalization;
using System.Text;

namespace Razor.Microkernel.Formats.Iso9660;

/// <summary>
/// Primary-tree identifiers: uppercase d-characters (<c>A–Z 0–9 _</c>), folders up to 31 characters, files a name
/// and an extension of up to 30 together with <c>;1</c> (as <c>mkisofs -l</c>), made unique per directory with
/// <c>_1</c>, <c>_2</c>, …; records ordered as ECMA-119 9.3 asks. The real names come from Rock Ridge.
/// </summary>
internal static class IsoNames
{
    /// <summary>Names the children of <paramref name="dir"/> and below, and sorts each directory's children in record order.</summary>
    public static void Assign(IsoNode dir)
    {
        dir.Children.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var c in dir.Children)
        {
            string name, ext;
            if (c.IsDirectory)
            {
                (name, ext) = (Map(c.Name.Replace('.', '_')), "");
                name = Truncate(name, 31);
            }
            else
            {
                var dot = c.Name.LastIndexOf('.');
                (name, ext) = dot > 0 ? (Map(c.Name[..dot].Replace('.', '_')), Map(c.Name[(dot + 1)..])) : (Map(c.Name.Replace('.', '_')), "");
                ext = Truncate(ext, 8);
                name = Truncate(name, 30 - ext.Length);
            }

            if (name.Length == 0)
            {
                name = "_";
            }

            var n = 1;
            var candidate = name;
            while (!used.Add(candidate + "." + ext))
            {
                var suffix = "_" + n++.ToString(CultureInfo.InvariantCulture);
                candidate = Truncate(name, (c.IsDirectory ? 31 : 30 - ext.Length) - suffix.Length) + suffix;
            }

            c.SortName = candidate;
            c.SortExt = ext;
            c.IsoId = Encoding.ASCII.GetBytes(c.IsDirectory ? candidate : candidate + "." + ext + ";1");
        }

        // ECMA-119 9.3: records ordered by name, then extension (space-padded, so a prefix sorts first).
        dir.Children.Sort((a, b) =>
        {
            var r = string.CompareOrdinal(a.SortName, b.SortName);
            return r != 0 ? r : string.CompareOrdinal(a.SortExt, b.SortExt);
        });
        foreach (var c in dir.Children.Where(c => c.IsDirectory))
        {
            Assign(c);
        }
    }

    public static string Truncate(string s, int max) => s.Length <= max ? s : s[..Math.Max(0, max)];

    private static string Map(string s)
    {
        var b = new StringBuilder(s.Length);
        foreach (var ch in s)
        {
            var u = char.ToUpperInvariant(ch);
            b.Append(u is (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '_' ? u : '_');
        }

        return b.ToString();
    }
}
