using Microsoft.Win32.SafeHandles;

namespace Razor.Microkernel.Formats.IO;

/// <summary>Positional, thread-safe reads from an image (SquashFS, ISO 9660): a file handle (no shared
/// position) or a seekable stream behind a lock. A read past the end is reported through the reader's own
/// typed exception, made by the factory given at opening.</summary>
internal abstract class PositionalSource(Func<string, long, Exception> formatError) : IDisposable
{
    public abstract long Length { get; }

    /// <summary>Reads exactly <c>buffer.Length</c> bytes at <paramref name="offset"/> or throws a format error
    /// saying the image is truncated.</summary>
    public void ReadExactly(long offset, Span<byte> buffer)
    {
        if (offset < 0 || offset > Length || buffer.Length > Length - offset)
        {
            throw formatError($"the image is truncated: {buffer.Length} bytes needed at {offset}, the image has {Length}", offset);
        }

        var done = 0;
        while (done < buffer.Length)
        {
            var n = ReadAt(offset + done, buffer[done..]);
            if (n <= 0)
            {
                throw formatError("the image ended early", offset + done);
            }

            done += n;
        }
    }

    protected abstract int ReadAt(long offset, Span<byte> buffer);

    public abstract void Dispose();

    public static PositionalSource FromFile(string path, Func<string, long, Exception> formatError)
    {
        var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess);
        return new HandleSource(handle, formatError);
    }

    public static PositionalSource FromStream(Stream stream, bool leaveOpen, Func<string, long, Exception> formatError)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanSeek || !stream.CanRead)
        {
            throw new ArgumentException("the stream must be readable and seekable", nameof(stream));
        }

        return new StreamSource(stream, leaveOpen, formatError);
    }

    private sealed class HandleSource(SafeFileHandle handle, Func<string, long, Exception> formatError) : PositionalSource(formatError)
    {
        private readonly long _length = RandomAccess.GetLength(handle);

        public override long Length => _length;

        protected override int ReadAt(long offset, Span<byte> buffer) => RandomAccess.Read(handle, buffer, offset);

        public override void Dispose() => handle.Dispose();
    }

    private sealed class StreamSource(Stream stream, bool leaveOpen, Func<string, long, Exception> formatError) : PositionalSource(formatError)
    {
        private readonly Lock _lock = new();
        private readonly long _length = stream.Length;

        public override long Length => _length;

        protected override int ReadAt(long offset, Span<byte> buffer)
        {
            lock (_lock)
            {
                stream.Position = offset;
                return stream.Read(buffer);
            }
        }

        public override void Dispose()
        {
            if (!leaveOpen)
            {
                stream.Dispose();
            }
        }
    }
}
