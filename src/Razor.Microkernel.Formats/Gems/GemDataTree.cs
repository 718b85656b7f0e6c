using Razor.Microkernel.Formats.Layers;

namespace Razor.Microkernel.Formats.Gems;

/// <summary>
/// The entries of a gem's <c>data.tar.gz</c> as the gem's folder holds them once RubyGems has written them all:
/// names normalised as <c>File.expand_path</c> normalises them (<c>./x</c>, <c>a//b</c>, <c>a/./b</c> and
/// <c>a/../b</c> are one path each), and an entry given twice under one path replaced by its last copy, content
/// and mode, as <c>gem install</c> does (it removes what is there and writes the entry again). Two entries of
/// different kinds under one path, anything below a file or a link, and links that lead out of the gem's folder
/// are refused. Links are checked as the target resolves them: every link on the way is followed, within the
/// gem's own tree, so a chain of links that each look inside (<c>lib/x -&gt; ..</c>, <c>lib/w -&gt; x/..</c>)
/// cannot reach out.
/// </summary>
internal sealed class GemDataTree
{
    /// <summary>Links followed while resolving one path before it counts as a loop (Linux's MAXSYMLINKS).</summary>
    private const int MaxLinkHops = 40;

    private readonly string _gem;
    private readonly List<string> _order = [];
    private readonly Dictionary<string, GemDataEntry> _entries = new(StringComparer.Ordinal);

    public GemDataTree(string gem) => _gem = gem;

    public int Count => _entries.Count;

    /// <summary>The entries in the order their paths first appeared in the gem.</summary>
    public IReadOnlyList<GemDataEntry> Entries => _order.Select(p => _entries[p]).ToList();

    public GemDataEntry? this[string path] => _entries.GetValueOrDefault(path);

    /// <summary>Adds an entry read from the tar (<paramref name="raw"/> is its name there, for messages). A path seen
    /// before keeps its place and takes the new copy; a folder given again changes nothing.</summary>
    public void Add(string raw, GemDataEntry entry)
    {
        if (_entries.TryGetValue(entry.Path, out var earlier))
        {
            if (earlier.Type != entry.Type)
            {
                throw new GemUnsafeEntryException(_gem, raw,
                    $"the gem's data has '{entry.Path}' as a {Describe(earlier.Type)} and again as a {Describe(entry.Type)}");
            }

            if (entry.Type == GemDataEntryType.Directory)
            {
                return;
            }
        }
        else
        {
            _order.Add(entry.Path);
        }

        _entries[entry.Path] = entry;
    }

    /// <summary>Checks the whole tree: nothing below a file or a link, and every link inside the gem's folder.</summary>
    public void Validate()
    {
        foreach (var path in _order)
        {
            foreach (var ancestor in ImagePath.Ancestors(path))
            {
                if (_entries.TryGetValue(ancestor, out var a) && a.Type != GemDataEntryType.Directory)
                {
                    throw new GemUnsafeEntryException(_gem, path, $"'{ancestor}' is a {Describe(a.Type)}, so nothing can be placed below it");
                }
            }
        }

        foreach (var path in _order)
        {
            var e = _entries[path];
            if (e.Type != GemDataEntryType.Symlink)
            {
                continue;
            }

            // RubyGems' own check, by the name alone: the target must lie inside the gem's folder, not be the folder.
            var parent = ImagePath.Parent(path);
            if (e.LinkTarget.Length > 0 && e.LinkTarget[0] != '/' && Lexical(parent.Length == 0 ? e.LinkTarget : parent + "/" + e.LinkTarget) is "")
            {
                throw new GemUnsafeEntryException(_gem, path, $"symlink to '{e.LinkTarget}' names the gem's folder itself");
            }

            var hops = 0;
            if (Resolve(parent, e.LinkTarget, ref hops) is { Escapes: true } r)
            {
                var how = r.Via is null ? string.Empty : $" (through the link '{r.Via}')";
                throw new GemUnsafeEntryException(_gem, path, $"symlink to '{e.LinkTarget}' leads outside the gem's folder{how}");
            }
        }
    }

    /// <summary>The regular file <paramref name="path"/> names on the target, following links (and a hard link to
    /// its file) within the gem; null when it names nothing, a folder, or leads out.</summary>
    public GemDataEntry? FindFile(string path)
    {
        var hops = 0;
        var r = Resolve(string.Empty, path, ref hops);
        if (r.Escapes || r.Path is null || !_entries.TryGetValue(r.Path, out var e))
        {
            return null;
        }

        return e.Type switch
        {
            GemDataEntryType.File => e,
            GemDataEntryType.HardLink => _entries.GetValueOrDefault(e.LinkTarget),
            _ => null,
        };
    }

    /// <summary>True when <paramref name="path"/>, its folders resolved through links, is itself a symlink.</summary>
    public bool IsSymlink(string path)
    {
        var hops = 0;
        var parent = Resolve(string.Empty, ImagePath.Parent(path) is { Length: > 0 } p ? p : ".", ref hops);
        if (parent.Escapes || parent.Path is null)
        {
            return false;
        }

        var full = parent.Path.Length == 0 ? ImagePath.FileName(path) : parent.Path + "/" + ImagePath.FileName(path);
        return _entries.TryGetValue(full, out var e) && e.Type == GemDataEntryType.Symlink;
    }

    /// <summary>Resolves <paramref name="target"/> from the folder <paramref name="from"/> as the kernel would within
    /// the gem's folder: links met on the way are followed (a hop count bounds loops); a <c>..</c> at the gem's
    /// folder, or an absolute link, escapes. Components that name nothing in the gem are taken as written.</summary>
    private Resolution Resolve(string from, string target, ref int hops)
    {
        if (target.Length == 0 || target[0] == '/' || target.Contains('\0', StringComparison.Ordinal))
        {
            return new Resolution(null, true, null);
        }

        var stack = from.Length == 0 ? new List<string>() : [.. from.Split('/')];
        var pending = new Stack<string>(target.Split('/').Reverse());
        string? via = null;
        while (pending.TryPop(out var part))
        {
            if (part is "" or ".")
            {
                continue;
            }

            if (part == "..")
            {
                if (stack.Count == 0)
                {
                    return new Resolution(null, true, via);
                }

                stack.RemoveAt(stack.Count - 1);
                continue;
            }

            stack.Add(part);
            var here = string.Join('/', stack);
            if (!_entries.TryGetValue(here, out var e) || e.Type != GemDataEntryType.Symlink)
            {
                continue;
            }

            if (++hops > MaxLinkHops)
            {
                return new Resolution(null, false, here); // a loop: the target cannot resolve it, so it leads nowhere
            }

            stack.RemoveAt(stack.Count - 1);
            if (e.LinkTarget.Length == 0 || e.LinkTarget[0] == '/')
            {
                return new Resolution(null, true, here);
            }

            foreach (var p in e.LinkTarget.Split('/').Reverse())
            {
                pending.Push(p);
            }

            via ??= here;
        }

        return new Resolution(string.Join('/', stack), false, null);
    }

    /// <summary>Normalises a relative path by its name alone (<c>..</c> removes the component before it), as
    /// <c>File.expand_path</c> does; null when it climbs above the gem's folder, "" for the folder itself.</summary>
    public static string? Lexical(string relative)
    {
        var stack = new List<string>();
        foreach (var part in relative.Split('/'))
        {
            if (part is "" or ".")
            {
                continue;
            }

            if (part == "..")
            {
                if (stack.Count == 0)
                {
                    return null;
                }

                stack.RemoveAt(stack.Count - 1);
                continue;
            }

            stack.Add(part);
        }

        return string.Join('/', stack);
    }

    private static string Describe(GemDataEntryType t) => t switch
    {
        GemDataEntryType.File => "file",
        GemDataEntryType.Directory => "folder",
        GemDataEntryType.Symlink => "symlink",
        _ => "hard link",
    };

    /// <summary>Where a path leads: <see cref="Path"/> inside the gem (null for a loop), or out of it; <see cref="Via"/>
    /// names the first link followed on the way.</summary>
    private readonly record struct Resolution(string? Path, bool Escapes, string? Via);
}
