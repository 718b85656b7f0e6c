using Razor.Microkernel.Formats.Layers;

namespace Razor.Microkernel.Formats.Report;

/// <summary>An axis-aligned rectangle in pixels.</summary>
internal readonly record struct TreemapRect(double X, double Y, double Width, double Height)
{
    public double Area => Width * Height;
}

/// <summary>What a treemap box stands for.</summary>
internal enum TreemapKind
{
    Layer,
    Folder,
    File,

    /// <summary>Several items of one folder too small to draw one by one.</summary>
    Other,
}

/// <summary>One box of the treemap: what it is, where it is drawn and how deep it is nested.</summary>
internal sealed record TreemapBox(TreemapKind Kind, int LayerIndex, string Path, string Label, long Bytes, int Files, int Depth, TreemapRect Rect, bool Labelled);

/// <summary>A node of the size tree: a layer, a folder or a file, with the bytes of regular files below it.</summary>
internal sealed class TreemapNode(string name, string path)
{
    public string Name { get; } = name;

    /// <summary>Image path without a leading slash; empty for a layer.</summary>
    public string Path { get; } = path;

    public long Bytes { get; set; }

    /// <summary>Regular files at or below this node.</summary>
    public int Files { get; set; }

    public bool IsFile { get; set; }

    public Dictionary<string, TreemapNode> Children { get; } = new(StringComparer.Ordinal);
}

/// <summary>
/// Lays the overlay's bytes out as a nested squarified treemap (Bruls, Huizing, van Wijk 2000): layer → folders
/// → … → files, each box's area proportional to the bytes of the regular files in it. Boxes that would be too
/// small to see are grouped per folder into one "other" box; nesting stops when a box is too small to hold
/// children. Pure arithmetic on the merge, so the same overlay always gives the same boxes.
/// </summary>
internal static class Treemap
{
    /// <summary>Height of the strip that holds a layer's or folder's name.</summary>
    public const double HeaderHeight = 15;

    /// <summary>Space between a box's edge and its children.</summary>
    public const double Padding = 2;

    /// <summary>A child smaller than this many square pixels is drawn only as part of "other".</summary>
    public const double MinArea = 120;

    /// <summary>At most this many children of one box are drawn; the rest go into "other".</summary>
    public const int MaxChildren = 40;

    /// <summary>Boxes nested deeper than this (layer = 0) are drawn without children.</summary>
    public const int MaxDepth = 10;

    /// <summary>One tree per layer, holding every regular file with content (hard-link members carry no bytes).</summary>
    public static List<TreemapNode> BuildTrees(OverlayMerge merge)
    {
        var roots = merge.Layers.Select(l => new TreemapNode(l.Name, string.Empty)).ToList();
        foreach (var m in merge.Entries)
        {
            if (m.Entry.Type != LayerEntryType.File)
            {
                continue;
            }

            var size = m.Entry.Size;
            var node = roots[m.LayerIndex];
            node.Bytes += size;
            node.Files++;
            var start = 0;
            while (true)
            {
                var slash = m.Path.IndexOf('/', start);
                var end = slash < 0 ? m.Path.Length : slash;
                var name = m.Path[start..end];
                if (!node.Children.TryGetValue(name, out var child))
                {
                    child = new TreemapNode(name, m.Path[..end]);
                    node.Children.Add(name, child);
                }

                child.Bytes += size;
                child.Files++;
                node = child;
                if (slash < 0)
                {
                    node.IsFile = true;
                    break;
                }

                start = slash + 1;
            }
        }

        return roots;
    }

    /// <summary>Every box to draw, parents before their children.</summary>
    public static List<TreemapBox> Layout(IReadOnlyList<TreemapNode> layers, double width, double height)
    {
        var boxes = new List<TreemapBox>();
        var drawn = layers.Select((l, i) => (Node: l, Index: i)).Where(l => l.Node.Bytes > 0)
            .OrderByDescending(l => l.Node.Bytes).ThenBy(l => l.Index).ToList();
        var rects = Squarify(drawn.Select(l => (double)l.Node.Bytes).ToList(), new TreemapRect(0, 0, width, height));
        for (var i = 0; i < drawn.Count; i++)
        {
            Place(drawn[i].Node, TreemapKind.Layer, drawn[i].Index, rects[i], 0, boxes);
        }

        return boxes;
    }

    private static void Place(TreemapNode node, TreemapKind kind, int layer, TreemapRect rect, int depth, List<TreemapBox> boxes)
    {
        var labelled = rect.Width >= 36 && rect.Height >= HeaderHeight + 2;
        boxes.Add(new TreemapBox(kind, layer, node.Path, node.Name, node.Bytes, node.Files, depth, rect, labelled));
        if (node.IsFile || node.Children.Count == 0 || depth >= MaxDepth)
        {
            return;
        }

        // Room for children below the name strip; too little room and the box stays whole.
        var header = labelled ? HeaderHeight : Padding;
        var inner = new TreemapRect(rect.X + Padding, rect.Y + header, rect.Width - 2 * Padding, rect.Height - header - Padding);
        if (inner.Width < 8 || inner.Height < 8 || node.Bytes <= 0)
        {
            return;
        }

        var perByte = inner.Area / node.Bytes;
        var sorted = node.Children.Values.Where(c => c.Bytes > 0)
            .OrderByDescending(c => c.Bytes).ThenBy(c => c.Name, StringComparer.Ordinal).ToList();
        var shown = new List<TreemapNode>();
        foreach (var c in sorted)
        {
            if (shown.Count >= MaxChildren || c.Bytes * perByte < MinArea)
            {
                break;
            }

            shown.Add(c);
        }

        if (shown.Count == 0)
        {
            return; // only crumbs: the box itself says how big they are together
        }

        var rest = sorted.Skip(shown.Count).ToList();
        var sizes = shown.Select(c => (double)c.Bytes).ToList();
        long otherBytes = rest.Sum(c => c.Bytes);
        if (otherBytes > 0)
        {
            sizes.Add(otherBytes);
        }

        var rects = Squarify(sizes, inner);
        for (var i = 0; i < shown.Count; i++)
        {
            var child = shown[i];
            Place(child.IsFile ? child : Collapse(child), child.IsFile ? TreemapKind.File : TreemapKind.Folder, layer, rects[i], depth + 1, boxes);
        }

        if (otherBytes > 0)
        {
            var r = rects[^1];
            var items = rest.Count;
            boxes.Add(new TreemapBox(TreemapKind.Other, layer, node.Path, $"{items} smaller item{(items == 1 ? "" : "s")}", otherBytes,
                rest.Sum(c => c.Files), depth + 1, r, r.Width >= 36 && r.Height >= HeaderHeight));
        }
    }

    /// <summary>A folder whose content is all in one subfolder is drawn as one box named by both
    /// (<c>usr/local/lib</c>), so that a chain of single folders does not eat the map with name strips.</summary>
    private static TreemapNode Collapse(TreemapNode folder)
    {
        var node = folder;
        var name = folder.Name;
        while (true)
        {
            TreemapNode? only = null;
            var count = 0;
            foreach (var c in node.Children.Values)
            {
                if (c.Bytes > 0)
                {
                    only = c;
                    count++;
                }
            }

            if (count != 1 || only is null || only.IsFile)
            {
                break;
            }

            name += "/" + only.Name;
            node = only;
        }

        if (ReferenceEquals(node, folder))
        {
            return folder;
        }

        var collapsed = new TreemapNode(name, node.Path) { Bytes = node.Bytes, Files = node.Files };
        foreach (var (key, child) in node.Children)
        {
            collapsed.Children.Add(key, child);
        }

        return collapsed;
    }

    /// <summary>
    /// Squarified layout of <paramref name="sizes"/> (largest first) in <paramref name="bounds"/>: rows are laid
    /// along the shorter side and grow while that improves their worst aspect ratio. Returns one rectangle per
    /// size, in the same order; their areas are proportional to the sizes and together fill the bounds.
    /// </summary>
    public static List<TreemapRect> Squarify(IReadOnlyList<double> sizes, TreemapRect bounds)
    {
        var result = new List<TreemapRect>(sizes.Count);
        var total = sizes.Sum();
        if (sizes.Count == 0 || total <= 0 || bounds.Width <= 0 || bounds.Height <= 0)
        {
            result.AddRange(sizes.Select(_ => new TreemapRect(bounds.X, bounds.Y, 0, 0)));
            return result;
        }

        var scale = bounds.Area / total;
        var areas = sizes.Select(s => s * scale).ToArray();
        var free = bounds;
        var i = 0;
        while (i < areas.Length)
        {
            var side = Math.Min(free.Width, free.Height);
            var j = i;
            var rowArea = 0.0;
            var worst = double.PositiveInfinity;
            double largest = 0, smallest = double.PositiveInfinity;
            while (j < areas.Length)
            {
                var grown = rowArea + areas[j];
                var max = Math.Max(largest, areas[j]);
                var min = Math.Min(smallest, areas[j]);
                var w = Worst(max, min, grown, side);
                if (j > i && w > worst)
                {
                    break;
                }

                worst = w;
                rowArea = grown;
                largest = max;
                smallest = min;
                j++;
            }

            var last = j == areas.Length;
            if (free.Width >= free.Height)
            {
                // A column at the left of the free space, items from top to bottom.
                var thickness = last ? free.Width : (side > 0 ? rowArea / side : 0);
                var y = free.Y;
                for (var k = i; k < j; k++)
                {
                    var h = k == j - 1 ? free.Y + free.Height - y : (rowArea > 0 ? free.Height * areas[k] / rowArea : 0);
                    result.Add(new TreemapRect(free.X, y, thickness, h));
                    y += h;
                }

                free = new TreemapRect(free.X + thickness, free.Y, Math.Max(0, free.Width - thickness), free.Height);
            }
            else
            {
                // A row at the top of the free space, items from left to right.
                var thickness = last ? free.Height : (side > 0 ? rowArea / side : 0);
                var x = free.X;
                for (var k = i; k < j; k++)
                {
                    var w = k == j - 1 ? free.X + free.Width - x : (rowArea > 0 ? free.Width * areas[k] / rowArea : 0);
                    result.Add(new TreemapRect(x, free.Y, w, thickness));
                    x += w;
                }

                free = new TreemapRect(free.X, free.Y + thickness, free.Width, Math.Max(0, free.Height - thickness));
            }

            i = j;
        }

        return result;
    }

    /// <summary>The worst aspect ratio of a row of total <paramref name="rowArea"/> laid along <paramref name="side"/>.</summary>
    private static double Worst(double largest, double smallest, double rowArea, double side)
    {
        if (side <= 0 || rowArea <= 0 || smallest <= 0)
        {
            return double.PositiveInfinity;
        }

        var s2 = side * side;
        var r2 = rowArea * rowArea;
        return Math.Max(s2 * largest / r2, r2 / (s2 * smallest));
    }
}
