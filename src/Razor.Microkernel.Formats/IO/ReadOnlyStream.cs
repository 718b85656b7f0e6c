namespace Razor.Microkernel.Formats.IO;

/// <summary>
/// Base of the library's read-only, forward-only wrapper streams: a subclass only reads. Length and
/// Position are unsupported unless a subclass knows them.
/// </summary>
public abstract class ReadOnlyStream : Stream
{
    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public sealed override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public abstract override int Read(Span<byte> buffer);

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

/// <summary>A read-only view of <c>length</c> bytes of a seekable stream starting at <c>offset</c>; it seeks
/// before each read only when something else moved the stream.</summary>
internal sealed class WindowStream(Stream inner, long offset, long length) : ReadOnlyStream
{
    private long _position;

    public override long Length => length;

    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException();
    }

    public override int Read(Span<byte> buffer)
    {
        var left = length - _position;
        if (left <= 0)
        {
            return 0;
        }

        if (buffer.Length > left)
        {
            buffer = buffer[..(int)left];
        }

        if (inner.Position != offset + _position)
        {
            inner.Position = offset + _position;
        }

        var n = inner.Read(buffer);
        _position += n;
        return n;
    }
}

/// <summary>Tells a malformed input (the reading side) from everything else, for the readers of outside bytes.</summary>
internal static class ReadErrors
{
    /// <summary>True for what the BCL and SharpCompress throw on truncated or corrupt input.</summary>
    public static bool IsMalformedInput(Exception e)
        => e is InvalidDataException or EndOfStreamException or FormatException or ArgumentException or OverflowException
            or InvalidOperationException or ArchiveFormatException or SharpCompress.Common.SharpCompressException
            or SharpCompress.Common.ArchiveOperationException
            || (e is IOException && e is not FileNotFoundException and not DirectoryNotFoundException);
}

/// <summary>Bytes already read (to sniff a format), then the rest of the stream they came from.</summary>
internal sealed class PrefixedStream(byte[] prefix, Stream rest) : ReadOnlyStream
{
    private int _used;

    public override int Read(Span<byte> buffer)
    {
        if (_used < prefix.Length)
        {
            var n = Math.Min(buffer.Length, prefix.Length - _used);
            prefix.AsSpan(_used, n).CopyTo(buffer);
            _used += n;
            return n;
        }

        return rest.Read(buffer);
    }
}
