namespace Razor.Microkernel.Formats.Iso9660;

/// <summary>A SUSP continuation area: system use entries that did not fit their directory record, and the next
/// area of the chain when they do not fit one block either.</summary>
internal sealed class ContinuationArea
{
    public List<byte[]> Entries { get; } = [];

    public ContinuationArea? Next { get; set; }

    public long Block { get; set; }

    public int Offset { get; set; }

    public int Length => Entries.Sum(e => e.Length) + (Next is null ? 0 : RockRidgeEntries.CeLength);
}

/// <summary>All continuation areas of the image, packed into blocks after the directories, never crossing a block boundary.</summary>
internal static class ContinuationAreas
{
    /// <summary>Places the areas from block <paramref name="next"/> on; returns the first block after them.</summary>
    public static long Assign(List<ContinuationArea> areas, long next)
    {
        var offset = 0;
        if (areas.Count > 0)
        {
            foreach (var a in areas)
            {
                if (offset + a.Length > IsoBytes.BlockSize)
                {
                    next++;
                    offset = 0;
                }

                a.Block = next;
                a.Offset = offset;
                offset += a.Length;
            }

            next++;
        }

        return next;
    }

    public static void Write(List<ContinuationArea> areas, IsoBlockWriter w)
    {
        if (areas.Count == 0)
        {
            return;
        }

        var block = new byte[IsoBytes.BlockSize];
        var current = areas[0].Block;
        foreach (var a in areas)
        {
            if (a.Block != current)
            {
                w.Write(block);
                block.AsSpan().Clear();
                current = a.Block;
            }

            var pos = a.Offset;
            foreach (var e in a.Entries)
            {
                e.CopyTo(block, pos);
                pos += e.Length;
            }

            if (a.Next is { } n)
            {
                RockRidgeEntries.Ce(n).CopyTo(block, pos);
            }
        }

        w.Write(block);
    }
}
