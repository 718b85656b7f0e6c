using System.Buffers;

namespace Razor.Microkernel.Formats.Iso9660;

/// <summary>Writes the image sequentially, checking that each structure starts at the block the layout gave it.</summary>
internal sealed class IsoBlockWriter(Stream output)
{
    private const int Block = IsoBytes.BlockSize;
    private long _position;

    public void Expect(long block, string what)
    {
        if (_position != block * Block)
        {
            throw new InvalidOperationException($"layout error: {what} expected at block {block}, writer at byte {_position}");
        }
    }

    public void Write(ReadOnlySpan<byte> bytes)
    {
        output.Write(bytes);
        _position += bytes.Length;
    }

    public void Zero(long count)
    {
        var zeros = new byte[Block];
        while (count > 0)
        {
            var n = (int)Math.Min(count, Block);
            Write(zeros.AsSpan(0, n));
            count -= n;
        }
    }

    public void WritePadded(ReadOnlySpan<byte> bytes)
    {
        Write(bytes);
        Pad();
    }

    public void CopyPadded(Stream s, long size, string path, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(1 << 16);
        try
        {
            var left = size;
            while (left > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var n = s.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
                if (n <= 0)
                {
                    throw new IsoWriteException(path, $"content ended {left} bytes before the announced size {size}");
                }

                Write(buffer.AsSpan(0, n));
                left -= n;
            }

            if (s.Read(buffer, 0, 1) > 0)
            {
                throw new IsoWriteException(path, $"content is longer than the announced size {size}");
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        Pad();
    }

    private void Pad()
    {
        var rest = (int)(_position % Block);
        if (rest != 0)
        {
            Zero(Block - rest);
        }
    }
}
