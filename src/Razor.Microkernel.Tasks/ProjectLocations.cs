using System.Xml;

namespace Razor.Microkernel.Tasks;

/// <summary>A place in a project file for a diagnostic: the file, and the element's line and column when known
/// (0 when not).</summary>
internal sealed record SourceLocation(string File, int Line, int Column);

/// <summary>
/// Finds where a project file defines an item or a property, so that an error caused by it can point there.
/// MSBuild gives task items no line numbers, so the file is read (once per file and task) with line
/// information: an item is the element of its type whose <c>Include</c> lists the item's text (or the only
/// element of that type, which covers globs); a property is the last element of that name in a
/// PropertyGroup (the last definition wins). Anything unreadable or ambiguous gives the file without a line.
/// </summary>
internal sealed class ProjectLocations
{
    private readonly Dictionary<string, List<Element>?> _files = new(StringComparer.Ordinal);

    private sealed record Element(string Name, string? Parent, string? Include, int Line, int Column);

    public SourceLocation Item(string file, string itemType, string itemSpec)
    {
        var elements = Read(file)?.Where(e => e.Include is not null && e.Name == itemType).ToList();
        if (elements is null || elements.Count == 0)
        {
            return new SourceLocation(file, 0, 0);
        }

        var spec = Normalize(itemSpec);
        var matches = elements.Where(e => e.Include!.Split(';').Any(part => Normalize(part) == spec)).ToList();
        var at = matches.Count == 1 ? matches[0] : matches.Count == 0 && elements.Count == 1 ? elements[0] : null;
        return at is null ? new SourceLocation(file, 0, 0) : new SourceLocation(file, at.Line, at.Column);
    }

    public SourceLocation Property(string file, string property)
    {
        var at = Read(file)?.LastOrDefault(e => e.Include is null && e.Parent == "PropertyGroup" && e.Name == property);
        return at is null ? new SourceLocation(file, 0, 0) : new SourceLocation(file, at.Line, at.Column);
    }

    private static string Normalize(string text) => text.Trim().Replace('\\', '/');

    private List<Element>? Read(string file)
    {
        if (_files.TryGetValue(file, out var known))
        {
            return known;
        }

        List<Element>? elements = null;
        try
        {
            elements = [];
            using var reader = XmlReader.Create(file, new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null });
            var info = (IXmlLineInfo)reader;
            var parents = new Stack<string>();
            while (reader.Read())
            {
                if (reader.NodeType == XmlNodeType.Element)
                {
                    // XmlReader's position is the name's first character; MSBuild's columns point at the '<'.
                    elements.Add(new Element(reader.LocalName, parents.TryPeek(out var parent) ? parent : null, reader.GetAttribute("Include"),
                        info.LineNumber, Math.Max(1, info.LinePosition - 1)));
                    if (!reader.IsEmptyElement)
                    {
                        parents.Push(reader.LocalName);
                    }
                }
                else if (reader.NodeType == XmlNodeType.EndElement)
                {
                    parents.TryPop(out _);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or XmlException or ArgumentException)
        {
            elements = null;
        }

        _files[file] = elements;
        return elements;
    }
}
