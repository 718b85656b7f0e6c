namespace Razor.Microkernel.Formats.IO;

/// <summary>A read-only stream of a known length that can also seek, whose bytes a subclass reads at a position: a
/// file inside an image (a FAT file's clusters, an ISO file's extents) read positionally from the image, so that
/// several may be open at once. The position and seeking live here once; the rest of a read-only stream is
/// <see cref="ReadOnlyStream"/>'s.</summary>
internal abstract class PositionalReadStream(long length) : ReadOnlyStream
{
    private long _position;

    public sealed override bool CanSeek => true;

    public sealed override long Length => length;

    public sealed override long Position
    {
        get => _position;
        set => _position = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value));
    }

    public sealed override int Read(Span<byte> buffer)
    {
        if (_position >= length || buffer.Length == 0)
        {
            return 0;
        }

        var n = ReadAt(_position, buffer[..(int)Math.Min(buffer.Length, length - _position)]);
        _position += n;
        return n;
    }

    /// <summary>Reads up to <paramref name="buffer"/>'s length (never past <see cref="Length"/>) at
    /// <paramref name="position"/>; returns how many bytes it read, 0 only when there is nothing there.</summary>
    protected abstract int ReadAt(long position, Span<byte> buffer);

    public sealed override long Seek(long offset, SeekOrigin origin)
    {
        Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => length + offset,
        };
        return _position;
    }
}
