using Razor.Microkernel.Formats.Report;
using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Formats.Tests.Report;

public class TreemapTests
{
    private const double Epsilon = 1e-6;

    private static bool Inside(TreemapRect inner, TreemapRect outer)
        => inner.X >= outer.X - Epsilon && inner.Y >= outer.Y - Epsilon
           && inner.X + inner.Width <= outer.X + outer.Width + Epsilon && inner.Y + inner.Height <= outer.Y + outer.Height + Epsilon;

    private static bool Overlap(TreemapRect a, TreemapRect b)
        => Math.Min(a.X + a.Width, b.X + b.Width) - Math.Max(a.X, b.X) > Epsilon
           && Math.Min(a.Y + a.Height, b.Y + b.Height) - Math.Max(a.Y, b.Y) > Epsilon;

    [Fact]
    public void Squarify_AreasAreProportional_FillTheBounds_AndDoNotOverlap()
    {
        var sizes = new double[] { 6, 6, 4, 3, 2, 2, 1 }; // the paper's example
        var bounds = new TreemapRect(10, 20, 600, 400);
        var rects = Treemap.Squarify(sizes, bounds);
        Assert.Equal(sizes.Length, rects.Count);
        var scale = bounds.Area / sizes.Sum();
        for (var i = 0; i < sizes.Length; i++)
        {
            Assert.Equal(sizes[i] * scale, rects[i].Area, 6);
            Assert.True(Inside(rects[i], bounds), $"{rects[i]} outside {bounds}");
            for (var j = i + 1; j < sizes.Length; j++)
            {
                Assert.False(Overlap(rects[i], rects[j]), $"{rects[i]} overlaps {rects[j]}");
            }
        }

        Assert.Equal(bounds.Area, rects.Sum(r => r.Area), 6);
        // Squarified: no box is a sliver.
        Assert.All(rects, r => Assert.True(Math.Max(r.Width / r.Height, r.Height / r.Width) < 3, r.ToString()));
    }

    [Fact]
    public void Layout_NestsLayerFolderFile_ChildrenInsideParents_CrumbsGroupedAsOther()
    {
        using var tmp = new TempFolder();
        var merge = ReportFixture.MicrokernelOverlay(tmp, hostile: false);
        var boxes = Treemap.Layout(Treemap.BuildTrees(merge), 1160, 620);

        // Layers by bytes, together filling the map.
        var layers = boxes.Where(b => b.Kind == TreemapKind.Layer).ToList();
        Assert.Equal(merge.Summaries.Where(s => s.Bytes > 0).OrderByDescending(s => s.Bytes).Select(s => s.Name), layers.Select(b => merge.Layers[b.LayerIndex].Name));
        Assert.Equal(1160 * 620, layers.Sum(b => b.Rect.Area), 3);

        // Every box lies inside the box of its parent folder (or layer), after it in drawing order.
        for (var i = 0; i < boxes.Count; i++)
        {
            var b = boxes[i];
            if (b.Kind == TreemapKind.Layer)
            {
                continue;
            }

            // The parent is the last box drawn before it one level up; its path is an ancestor of the box's path.
            var parent = boxes.Take(i).Last(p => p.Depth == b.Depth - 1);
            Assert.Equal(parent.LayerIndex, b.LayerIndex);
            if (parent.Kind != TreemapKind.Layer)
            {
                Assert.True(b.Kind == TreemapKind.Other ? b.Path == parent.Path : b.Path.StartsWith(parent.Path + "/", StringComparison.Ordinal), $"{b} below {parent}");
            }

            Assert.True(Inside(b.Rect, parent.Rect), $"{b} outside {parent}");
        }

        // Nested all the way down to the big file; its area matches its share of its layer.
        var libruby = Assert.Single(boxes, b => b.Path == "usr/local/lib/libruby.so.1.8");
        Assert.Equal(TreemapKind.File, libruby.Kind);
        Assert.True(libruby.Labelled);

        // Chains of single folders are one box: tcz/ruby → usr/local → lib → libruby.so.1.8.
        Assert.Equal(3, libruby.Depth);
        var usrLocal = Assert.Single(boxes, b => b.Kind == TreemapKind.Folder && b.Path == "usr/local" && merge.Layers[b.LayerIndex].Name == "tcz/ruby");
        Assert.Equal("usr/local", usrLocal.Label);
        Assert.Equal(1, usrLocal.Depth);
        Assert.Single(boxes, b => b.Kind == TreemapKind.Folder && b.Path == "usr/local/lib" && b.Label == "lib" && b.Depth == 2 && b.LayerIndex == usrLocal.LayerIndex);
        Assert.Contains(boxes, b => b.Kind == TreemapKind.Folder && b.Label == "usr/local/lib/firmware/bnx2");

        // The sixty small .rb files of ruby/1.8 do not each get a box: they share an "other" box.
        var other = Assert.Single(boxes, b => b.Kind == TreemapKind.Other && b.Path == "usr/local/lib/ruby/1.8");
        Assert.EndsWith("smaller items", other.Label, StringComparison.Ordinal);
        Assert.All(boxes.Where(b => b.Kind != TreemapKind.Layer), b => Assert.True(b.Rect.Area >= Treemap.MinArea - Epsilon || b.Kind == TreemapKind.Other, b.ToString()));
    }

    [Fact]
    public void Layout_SameMerge_SameBoxes()
    {
        using var tmp = new TempFolder();
        var merge = ReportFixture.MicrokernelOverlay(tmp);
        Assert.Equal(Treemap.Layout(Treemap.BuildTrees(merge), 800, 500), Treemap.Layout(Treemap.BuildTrees(merge), 800, 500));
    }
}
