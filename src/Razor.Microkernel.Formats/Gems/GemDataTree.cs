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
/// <remarks>The tree is held as numbered nodes (one per path and folder) so that checking and resolving cost one
/// lookup per name component, whatever the depth; the number of nodes and of resolution steps is bounded.</remarks>
internal sealed class GemDataTree
{
    /// <summary>Links followed while resolving one path before it counts as a loop (Linux's MAXSYMLINKS).</summary>
    private const int MaxLinkHops = 40;

    /// <summary>Name components looked at while resolving every link of one gem; real gems need a few hundred.</summary>
    private const long MaxResolveSteps = 1L << 24;

    private const int Root = 0;

    private readonly string _gem;
    private readonly int _maxNodes;
    private readonly List<int> _order = [];
    private readonly Dictionary<(int Parent, string Name), int> _children = [];
    private readonly List<(int Parent, string Name)> _nodes = [(-1, string.Empty)];
    private readonly List<GemDataEntry?> _entryOf = [null];
    private readonly List<bool> _hasChildren = [false];
    private long _steps;

    /// <param name="gem">Names the gem in errors.</param>
    /// <param name="maxNodes">Most paths and folders the tree may hold (folders implied by names count too).</param>
    public GemDataTree(string gem, int maxNodes)
    {
        _gem = gem;
        _maxNodes = maxNodes;
    }

    /// <summary>The entries in the order their paths first appeared in the gem.</summary>
    public IReadOnlyList<GemDataEntry> Entries => _order.Select(n => _entryOf[n]!).ToList();

    public GemDataEntry? this[string path] => Find(path) is var n and >= 0 ? _entryOf[n] : null;

    /// <summary>Adds an entry read from the tar (<paramref name="raw"/> is its name there, for messages). A path seen
    /// before keeps its place and takes the new copy; a folder given again changes nothing.</summary>
    public void Add(string raw, GemDataEntry entry)
    {
        var node = Root;
        foreach (var name in entry.Path.Split('/'))
        {
            if (_entryOf[node] is { Type: not GemDataEntryType.Directory } above)
            {
                throw new GemUnsafeEntryException(_gem, raw, $"'{PathOf(node)}' is a {Describe(above.Type)}, so nothing can be placed below it");
            }

            _hasChildren[node] = true;
            if (!_children.TryGetValue((node, name), out var child))
            {
                if (_nodes.Count >= _maxNodes)
                {
                    throw new GemLimitException(_gem, raw, "paths and folders", _nodes.Count + 1, _maxNodes);
                }

                child = _nodes.Count;
                _nodes.Add((node, name));
                _entryOf.Add(null);
                _hasChildren.Add(false);
                _children[(node, name)] = child;
            }

            node = child;
        }

        if (_entryOf[node] is { } earlier)
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
            if (entry.Type != GemDataEntryType.Directory && _hasChildren[node])
            {
                throw new GemUnsafeEntryException(_gem, raw, $"'{entry.Path}' is a {Describe(entry.Type)}, so nothing can be placed below it");
            }

            _order.Add(node);
        }

        _entryOf[node] = entry;
    }

    /// <summary>Checks every link: inside the gem's folder by its name (as RubyGems checks), and when followed as the
    /// target follows it.</summary>
    public void Validate()
    {
        foreach (var node in _order)
        {
            var e = _entryOf[node]!;
            if (e.Type != GemDataEntryType.Symlink)
            {
                continue;
            }

            // RubyGems' own check, by the name alone: the target must lie inside the gem's folder, not be the folder.
            var parent = _nodes[node].Parent;
            var parentPath = PathOf(parent);
            if (e.LinkTarget.Length > 0 && e.LinkTarget[0] != '/' && Lexical(parentPath.Length == 0 ? e.LinkTarget : parentPath + "/" + e.LinkTarget) is "")
            {
                throw new GemUnsafeEntryException(_gem, e.Path, $"symlink to '{e.LinkTarget}' names the gem's folder itself");
            }

            if (Resolve(parent, e.LinkTarget, e.Path) is { Escapes: true } r)
            {
                var how = r.Via < 0 ? string.Empty : $" (through the link '{PathOf(r.Via)}')";
                throw new GemUnsafeEntryException(_gem, e.Path, $"symlink to '{e.LinkTarget}' leads outside the gem's folder{how}");
            }
        }
    }

    /// <summary>The regular file <paramref name="path"/> names on the target, following links (and a hard link to
    /// its file) within the gem; null when it names nothing, a folder, or leads out.</summary>
    public GemDataEntry? FindFile(string path)
    {
        var r = Resolve(Root, path, path);
        var e = !r.Escapes && r.Node >= 0 ? _entryOf[r.Node] : null;
        return e?.Type switch
        {
            GemDataEntryType.File => e,
            GemDataEntryType.HardLink => this[e.LinkTarget],
            _ => null,
        };
    }

    /// <summary>True when <paramref name="path"/>, its folders resolved through links, is itself a symlink.</summary>
    public bool IsSymlink(string path)
    {
        var slash = path.LastIndexOf('/');
        var parent = slash < 0 ? new Resolution(Root, false, -1) : Resolve(Root, path[..slash], path);
        return !parent.Escapes && parent.Node >= 0 && _children.TryGetValue((parent.Node, path[(slash + 1)..]), out var node)
               && _entryOf[node]?.Type == GemDataEntryType.Symlink;
    }

    /// <summary>Resolves <paramref name="target"/> from the folder node <paramref name="from"/> as the kernel would,
    /// within the gem's folder: links met on the way are followed (a hop count bounds loops); a <c>..</c> at the gem's
    /// folder, or an absolute link, escapes. Components that name nothing in the gem are taken as written (nothing of
    /// the gem lies below them, so no link can be met there).</summary>
    private Resolution Resolve(int from, string target, string what)
    {
        if (target.Length == 0 || target[0] == '/' || target.Contains('\0', StringComparison.Ordinal))
        {
            return new Resolution(-1, true, -1);
        }

        // The folders walked so far; -1 stands for a component that names nothing in the gem.
        var stack = new List<int>();
        for (var n = from; n > Root; n = _nodes[n].Parent)
        {
            stack.Add(n);
        }

        stack.Reverse();

        var pending = new Stack<string>(target.Split('/').Reverse());
        var hops = 0;
        var via = -1;
        while (pending.TryPop(out var part))
        {
            if (++_steps > MaxResolveSteps)
            {
                throw new GemLimitException(_gem, what, "steps resolving symlinks", _steps, MaxResolveSteps);
            }

            if (part is "" or ".")
            {
                continue;
            }

            if (part == "..")
            {
                if (stack.Count == 0)
                {
                    return new Resolution(-1, true, via);
                }

                stack.RemoveAt(stack.Count - 1);
                continue;
            }

            var top = stack.Count == 0 ? Root : stack[^1];
            if (top < 0 || !_children.TryGetValue((top, part), out var child))
            {
                stack.Add(-1);
                continue;
            }

            if (_entryOf[child] is not { Type: GemDataEntryType.Symlink } link)
            {
                stack.Add(child);
                continue;
            }

            if (++hops > MaxLinkHops)
            {
                return new Resolution(-1, false, child); // a loop: the target cannot resolve it, so it leads nowhere
            }

            if (link.LinkTarget.Length == 0 || link.LinkTarget[0] == '/')
            {
                return new Resolution(-1, true, child);
            }

            foreach (var p in link.LinkTarget.Split('/').Reverse())
            {
                pending.Push(p);
            }

            via = via < 0 ? child : via;
        }

        return new Resolution(stack.Count == 0 ? Root : stack[^1], false, -1);
    }

    private int Find(string path)
    {
        var node = Root;
        foreach (var name in path.Split('/'))
        {
            if (!_children.TryGetValue((node, name), out node))
            {
                return -1;
            }
        }

        return node;
    }

    private string PathOf(int node)
    {
        var names = new List<string>();
        for (; node > Root; node = _nodes[node].Parent)
        {
            names.Add(_nodes[node].Name);
        }

        names.Reverse();
        return string.Join('/', names);
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

    /// <summary>Where a path leads: <see cref="Node"/> (the gem's folder is 0; -1 for a name outside the tree or a loop),
    /// or out of the gem (<see cref="Escapes"/>); <see cref="Via"/> is the first link followed on the way, or -1.</summary>
    private readonly record struct Resolution(int Node, bool Escapes, int Via);
}
