using System.Buffers.Binary;

namespace Razor.Microkernel.Formats.Iso9660;

/// <summary>A type L (little-endian) and a type M (big-endian) path table with the same records.</summary>
internal readonly record struct PathTablePair(byte[] L, byte[] M);

/// <summary>Path tables (ECMA-119 9.4): one record per directory in path-table order (breadth first), each naming
/// its extent's block and its parent's number; the root's identifier is one zero byte.</summary>
internal static class PathTables
{
    public static PathTablePair Build(IsoNode root, List<IsoNode> directories, Func<IsoNode, byte[]> idOf, Func<IsoNode, long> blockOf, Func<IsoNode, int> numberOf)
    {
        if (directories.Count > 0xFFFF)
        {
            throw new IsoWriteException("/", $"{directories.Count} directories do not fit a path table");
        }

        var size = 0;
        foreach (var d in directories)
        {
            var idLen = d == root ? 1 : idOf(d).Length;
            size += 8 + idLen + (idLen & 1);
        }

        var l = new byte[size];
        var m = new byte[size];
        var pos = 0;
        foreach (var d in directories)
        {
            var id = d == root ? new byte[] { 0 } : idOf(d);
            var block = (uint)blockOf(d);
            var parent = (ushort)numberOf(d.Parent ?? d);
            l[pos] = m[pos] = (byte)id.Length;
            BinaryPrimitives.WriteUInt32LittleEndian(l.AsSpan(pos + 2), block);
            BinaryPrimitives.WriteUInt16LittleEndian(l.AsSpan(pos + 6), parent);
            BinaryPrimitives.WriteUInt32BigEndian(m.AsSpan(pos + 2), block);
            BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(pos + 6), parent);
            id.CopyTo(l, pos + 8);
            id.CopyTo(m, pos + 8);
            pos += 8 + id.Length + (id.Length & 1);
        }

        return new PathTablePair(l, m);
    }
}
