using Razor.Microkernel.Formats.IO;

namespace Razor.Microkernel.Formats.Iso9660;

/// <summary>A read-only, seekable stream over a file's extents (positional reads, so several may be open at once).</summary>
internal sealed class ExtentStream(PositionalSource source, IReadOnlyList<IsoExtent> extents, long length) : PositionalReadStream(length)
{
    protected override int ReadAt(long position, Span<byte> buffer)
    {
        var skip = position;
        foreach (var e in extents)
        {
            if (skip >= e.Length)
            {
                skip -= e.Length;
                continue;
            }

            var n = (int)Math.Min(buffer.Length, e.Length - skip);
            source.ReadExactly((e.Block * IsoBytes.BlockSize) + skip, buffer[..n]);
            return n;
        }

        return 0;
    }
}
