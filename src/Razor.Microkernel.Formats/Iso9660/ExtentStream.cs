using Razor.Microkernel.Formats.IO;

namespace Razor.Microkernel.Formats.Iso9660;

/// <summary>A read-only, seekable stream over a file's extents (positional reads, so several may be open at once).</summary>
internal sealed class ExtentStream(PositionalSource source, IReadOnlyList<IsoExtent> extents, long length) : Stream
{
    private long _position;

    public override bool CanRead => true;

    public override bool CanSeek => true;

    public override bool CanWrite => false;

    public override long Length => length;

    public override long Position
    {
        get => _position;
        set => _position = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value));
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_position >= length || buffer.Length == 0)
        {
            return 0;
        }

        var skip = _position;
        foreach (var e in extents)
        {
            if (skip >= e.Length)
            {
                skip -= e.Length;
                continue;
            }

            var n = (int)Math.Min(buffer.Length, e.Length - skip);
            source.ReadExactly((e.Block * IsoBytes.BlockSize) + skip, buffer[..n]);
            _position += n;
            return n;
        }

        return 0;
    }

    public override long Seek(long offset, SeekOrigin origin)
    {
        Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => length + offset,
        };
        return _position;
    }

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
