namespace Razor.Microkernel.Formats.Iso9660;

/// <summary>One directory record of the primary tree as planned: its target and identifier, the system use
/// entries kept in the record and, when they overflow, a chain of continuation areas.</summary>
internal sealed class DirectoryRecordPlan
{
    public required IsoNode Target { get; init; }

    public required byte[] Id { get; init; }

    public List<byte[]> InRecord { get; } = [];

    public ContinuationArea? Continuation { get; set; }

    public int RecordLength { get; set; }
}

/// <summary>
/// Directory records (ECMA-119 9.1) of the primary tree with their Rock Ridge system use, and the directory
/// extents made of them: records never cross a block boundary, a record is at most 254 bytes and what does not
/// fit goes to continuation areas.
/// </summary>
internal static class DirectoryRecords
{
    private const int MaxRecord = 254;

    /// <summary>Plans the records of every directory (in path-table order); continuation areas are added to <paramref name="areas"/>.</summary>
    public static void Plan(IsoNode root, List<IsoNode> directories, List<ContinuationArea> areas, DateTimeOffset timestamp)
    {
        foreach (var d in directories)
        {
            var dot = new List<byte[]>();
            if (d == root)
            {
                dot.Add(RockRidgeEntries.Sp());
            }

            dot.Add(RockRidgeEntries.Px(d));
            dot.Add(RockRidgeEntries.Tf(timestamp));
            if (d == root)
            {
                dot.Add(RockRidgeEntries.Er());
            }

            d.Records.Add(Place(d, [0], dot, areas));
            d.Records.Add(Place(d.Parent ?? d, [1], [RockRidgeEntries.Px(d.Parent ?? d), RockRidgeEntries.Tf(timestamp)], areas));
            foreach (var c in d.Children)
            {
                var su = new List<byte[]> { RockRidgeEntries.Px(c), RockRidgeEntries.Tf(timestamp) };
                su.AddRange(RockRidgeEntries.Nm(c.Name));
                if (c.Entry.Type == IsoEntryType.Symlink)
                {
                    su.AddRange(RockRidgeEntries.Sl(c.Entry.LinkTarget));
                }

                d.Records.Add(Place(c, c.IsoId, su, areas));
            }
        }
    }

    private static DirectoryRecordPlan Place(IsoNode target, byte[] id, List<byte[]> su, List<ContinuationArea> areas)
    {
        var fixedLength = 33 + id.Length + ((id.Length & 1) == 0 ? 1 : 0);
        var budget = MaxRecord - fixedLength;
        var record = new DirectoryRecordPlan { Target = target, Id = id };
        var total = su.Sum(e => e.Length);
        var i = 0;
        var used = 0;
        if (total <= budget)
        {
            record.InRecord.AddRange(su);
            used = total;
            i = su.Count;
        }
        else
        {
            while (i < su.Count && used + su[i].Length <= budget - RockRidgeEntries.CeLength)
            {
                used += su[i].Length;
                record.InRecord.Add(su[i++]);
            }

            used += RockRidgeEntries.CeLength;
            ContinuationArea? previous = null;
            while (i < su.Count)
            {
                var area = new ContinuationArea();
                var rest = su.Skip(i).Sum(e => e.Length);
                var capacity = rest <= IsoBytes.BlockSize ? IsoBytes.BlockSize : IsoBytes.BlockSize - RockRidgeEntries.CeLength;
                var areaUsed = 0;
                while (i < su.Count && areaUsed + su[i].Length <= capacity)
                {
                    areaUsed += su[i].Length;
                    area.Entries.Add(su[i++]);
                }

                areas.Add(area);
                if (previous is null)
                {
                    record.Continuation = area;
                }
                else
                {
                    previous.Next = area;
                }

                previous = area;
            }
        }

        var length = fixedLength + used;
        record.RecordLength = length + (length & 1);
        return record;
    }

    /// <summary>Bytes of an extent holding records of these lengths in order, none crossing a block, in whole blocks.</summary>
    public static long ExtentSize(IEnumerable<int> recordLengths)
    {
        var size = 0L;
        foreach (var length in recordLengths)
        {
            if ((size % IsoBytes.BlockSize) + length > IsoBytes.BlockSize)
            {
                size = ((size / IsoBytes.BlockSize) + 1) * IsoBytes.BlockSize;
            }

            size += length;
        }

        return (size + IsoBytes.BlockSize - 1) / IsoBytes.BlockSize * IsoBytes.BlockSize;
    }

    public static byte[] Extent(IsoNode d, DateTimeOffset timestamp)
    {
        var extent = new byte[d.Size];
        var pos = 0;
        foreach (var r in d.Records)
        {
            if ((pos % IsoBytes.BlockSize) + r.RecordLength > IsoBytes.BlockSize)
            {
                pos = ((pos / IsoBytes.BlockSize) + 1) * IsoBytes.BlockSize;
            }

            Write(extent.AsSpan(pos, r.RecordLength), r, timestamp);
            pos += r.RecordLength;
        }

        return extent;
    }

    /// <summary>A directory record without system use: extent, size, date, flags, identifier.</summary>
    public static void WriteBare(Span<byte> rec, long block, long size, bool directory, ReadOnlySpan<byte> id, DateTimeOffset timestamp)
    {
        rec[0] = (byte)rec.Length;
        IsoBytes.WriteBoth32(rec[2..], (uint)block);
        IsoBytes.WriteBoth32(rec[10..], (uint)size);
        IsoBytes.WriteShortDate(rec[18..], timestamp);
        rec[25] = (byte)(directory ? 0x02 : 0);
        IsoBytes.WriteBoth16(rec[28..], 1);
        rec[32] = (byte)id.Length;
        id.CopyTo(rec[33..]);
    }

    private static void Write(Span<byte> rec, DirectoryRecordPlan r, DateTimeOffset timestamp)
    {
        var n = r.Target;
        rec[0] = (byte)rec.Length;
        IsoBytes.WriteBoth32(rec[2..], (uint)n.Block);
        IsoBytes.WriteBoth32(rec[10..], (uint)(n.Entry.Type == IsoEntryType.Symlink ? 0 : n.Size));
        IsoBytes.WriteShortDate(rec[18..], timestamp);
        rec[25] = (byte)(n.IsDirectory ? 0x02 : 0);
        IsoBytes.WriteBoth16(rec[28..], 1);
        rec[32] = (byte)r.Id.Length;
        r.Id.CopyTo(rec[33..]);
        var pos = 33 + r.Id.Length + ((r.Id.Length & 1) == 0 ? 1 : 0);
        foreach (var e in r.InRecord)
        {
            e.CopyTo(rec[pos..]);
            pos += e.Length;
        }

        if (r.Continuation is { } c)
        {
            RockRidgeEntries.Ce(c).CopyTo(rec[pos..]);
        }
    }
}
