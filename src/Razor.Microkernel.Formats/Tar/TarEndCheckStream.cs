namespace Razor.Microkernel.Formats.Tar;

/// <summary>
/// Wraps the input of a <see cref="System.Formats.Tar.TarReader"/> to tell a complete archive from one cut
/// at an entry boundary: the reader returns no more entries in both cases, but only a complete archive's
/// last read is its zero end-of-archive block. Call <see cref="EnsureEnded"/> after the last entry.
/// </summary>
public sealed class TarEndCheckStream(Stream inner, bool leaveOpen = false) : Stream
{
    private bool _lastReadAllZero;
    private bool _anyRead;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <summary>Throws <see cref="ArchiveFormatException"/> when the archive stopped without its end marker.</summary>
    public void EnsureEnded()
    {
        if (_anyRead && !_lastReadAllZero)
        {
            throw new ArchiveFormatException("the archive ends without its end-of-archive blocks: it is truncated");
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = inner.Read(buffer);
        if (n > 0)
        {
            _anyRead = true;
            _lastReadAllZero = !buffer[..n].ContainsAnyExcept((byte)0);
        }

        return n;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && !leaveOpen)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
