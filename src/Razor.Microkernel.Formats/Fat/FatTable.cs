using System.Buffers.Binary;

namespace Razor.Microkernel.Formats.Fat;

/// <summary>
/// The file allocation table: 12-, 16- or 28-bit entries, one per cluster, each naming the next cluster of a chain,
/// an end-of-chain mark, a bad-cluster mark or 0 (free). Chains are followed with every link checked: a link to a
/// free or bad cluster, to a cluster number outside the data area, or a chain longer than its owner can be (a loop
/// or a cross-link) is a <see cref="FatFormatException"/> with the offset of the FAT entry.
/// </summary>
internal sealed class FatTable
{
    private readonly byte[] _fat;
    private readonly FatGeometry _geometry;
    private readonly long _offset;

    private FatTable(byte[] fat, FatGeometry geometry, long offset)
    {
        _fat = fat;
        _geometry = geometry;
        _offset = offset;
    }

    /// <summary>The bytes of the active FAT that hold entries 0 to the last cluster (never more than the image has).</summary>
    public static FatTable Read(IO.PositionalSource source, FatGeometry g)
    {
        var bytes = g.Type switch
        {
            FatType.Fat12 => ((g.ClusterCount + 2) * 3 + 1) / 2,
            FatType.Fat16 => (g.ClusterCount + 2) * 2,
            _ => (g.ClusterCount + 2) * 4,
        };
        var offset = g.FatOffset(g.ActiveFat);
        var fat = new byte[bytes]; // bytes <= the FAT's size <= the image's length: Parse checked both
        source.ReadExactly(offset, fat);
        return new FatTable(fat, g, offset);
    }

    /// <summary>The raw entry of <paramref name="cluster"/> (28 bits on FAT32).</summary>
    public uint Entry(uint cluster) => _geometry.Type switch
    {
        FatType.Fat12 => (cluster & 1) == 0
            ? (uint)(BinaryPrimitives.ReadUInt16LittleEndian(_fat.AsSpan((int)(cluster * 3 / 2))) & 0x0FFF)
            : (uint)(BinaryPrimitives.ReadUInt16LittleEndian(_fat.AsSpan((int)(cluster * 3 / 2))) >> 4),
        FatType.Fat16 => BinaryPrimitives.ReadUInt16LittleEndian(_fat.AsSpan((int)cluster * 2)),
        _ => BinaryPrimitives.ReadUInt32LittleEndian(_fat.AsSpan((int)cluster * 4)) & 0x0FFFFFFF,
    };

    private long EntryOffset(uint cluster) => _offset + _geometry.Type switch
    {
        FatType.Fat12 => cluster * 3 / 2,
        FatType.Fat16 => cluster * 2L,
        _ => cluster * 4L,
    };

    private uint EndOfChain => _geometry.Type switch { FatType.Fat12 => 0xFF8, FatType.Fat16 => 0xFFF8, _ => 0x0FFFFFF8 };

    private uint Bad => _geometry.Type switch { FatType.Fat12 => 0xFF7, FatType.Fat16 => 0xFFF7, _ => 0x0FFFFFF7 };

    /// <summary>Checks that <paramref name="cluster"/> can start a chain.</summary>
    public void CheckStart(uint cluster, string owner, long recordOffset)
    {
        if (cluster < 2 || cluster > _geometry.MaxCluster)
        {
            throw new FatFormatException($"{owner} starts at cluster {cluster}, outside the data area (2 to {_geometry.MaxCluster})", recordOffset);
        }
    }

    /// <summary>The clusters of the chain from <paramref name="first"/>, at most <paramref name="maxClusters"/>; a
    /// chain that goes on past that is refused (a loop or a cross-link, or more clusters than its size needs).</summary>
    public List<uint> Chain(uint first, long maxClusters, string owner, long recordOffset)
    {
        CheckStart(first, owner, recordOffset);
        var chain = new List<uint>();
        var cluster = first;
        while (true)
        {
            chain.Add(cluster);
            var next = Entry(cluster);
            if (next >= EndOfChain)
            {
                return chain;
            }

            if (next == Bad)
            {
                throw new FatFormatException($"{owner}: the chain runs into a cluster marked bad (after cluster {cluster})", EntryOffset(cluster));
            }

            if (next == 0)
            {
                throw new FatFormatException($"{owner}: the chain runs into a free cluster (after cluster {cluster})", EntryOffset(cluster));
            }

            if (next < 2 || next > _geometry.MaxCluster)
            {
                throw new FatFormatException($"{owner}: cluster {cluster} links to cluster {next}, outside the data area (2 to {_geometry.MaxCluster})", EntryOffset(cluster));
            }

            if (chain.Count >= maxClusters)
            {
                throw new FatFormatException($"{owner}: the cluster chain is longer than {maxClusters} clusters (a loop, a cross-link or a wrong size)", EntryOffset(cluster));
            }

            cluster = next;
        }
    }

    /// <summary>A FAT of <paramref name="type"/> for <paramref name="clusterCount"/> clusters, <paramref name="bytes"/>
    /// long, with each chain laid out contiguously from its first cluster.</summary>
    public static byte[] Build(FatType type, long clusterCount, byte media, long bytes, IEnumerable<(uint First, long Count)> chains)
    {
        var fat = new byte[bytes];
        void Set(uint cluster, uint value)
        {
            switch (type)
            {
                case FatType.Fat12:
                    var at = (int)(cluster * 3 / 2);
                    var word = BinaryPrimitives.ReadUInt16LittleEndian(fat.AsSpan(at));
                    var v = value & 0x0FFFu;
                    word = (cluster & 1) == 0 ? (ushort)((word & 0xF000u) | v) : (ushort)((word & 0x000Fu) | (v << 4));
                    BinaryPrimitives.WriteUInt16LittleEndian(fat.AsSpan(at), word);
                    break;
                case FatType.Fat16:
                    BinaryPrimitives.WriteUInt16LittleEndian(fat.AsSpan((int)cluster * 2), (ushort)value);
                    break;
                default:
                    throw new InvalidOperationException("the writer makes FAT12/16 only");
            }
        }

        var end = type == FatType.Fat12 ? 0xFFFu : 0xFFFFu;
        Set(0, (end & ~0xFFu) | media);
        Set(1, end);
        foreach (var (first, count) in chains)
        {
            for (var i = 0L; i < count; i++)
            {
                var c = (uint)(first + i);
                if (c < 2 || c > clusterCount + 1)
                {
                    throw new InvalidOperationException($"cluster {c} is outside the {clusterCount} clusters");
                }

                Set(c, i + 1 < count ? c + 1 : end);
            }
        }

        return fat;
    }
}
