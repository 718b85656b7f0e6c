using Microsoft.Win32.SafeHandles;

namespace Razor.Microkernel.Formats.SquashFs;

/// <summary>Positional, thread-safe reads from the image: a file handle (no shared position) or a
/// seekable stream behind a lock.</summary>
internal abstract class ImageSource : IDisposable
{
    public abstract long Length { get; }

    /// <summary>Reads exactly <c>buffer.Length</c> bytes at <paramref name="offset"/> or throws a format error
    /// saying the image is truncated.</summary>
    public void ReadExactly(long offset, Span<byte> buffer)
    {
        if (offset < 0 || offset > Length || buffer.Length > Length - offset)
        {
            throw new SquashFsFormatException($"the image is truncated: {buffer.Length} bytes needed at {offset}, the image has {Length}", offset);
        }

        var done = 0;
        while (done < buffer.Length)
        {
            var n = ReadAt(offset + done, buffer[done..]);
            if (n <= 0)
            {
                throw new SquashFsFormatException("the image ended early", offset + done);
            }

            done += n;
        }
    }

    protected abstract int ReadAt(long offset, Span<byte> buffer);

    public abstract void Dispose();

    public static ImageSource FromFile(string path)
    {
        var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess);
        return new HandleSource(handle);
    }

    public static ImageSource FromStream(Stream stream, bool leaveOpen)
    {
        if (!stream.CanSeek || !stream.CanRead)
        {
            throw new ArgumentException("the stream must be readable and seekable", nameof(stream));
        }

        return new StreamSource(stream, leaveOpen);
    }

    private sealed class HandleSource(SafeFileHandle handle) : ImageSource
    {
        private readonly long _length = RandomAccess.GetLength(handle);

        public override long Length => _length;

        protected override int ReadAt(long offset, Span<byte> buffer) => RandomAccess.Read(handle, buffer, offset);

        public override void Dispose() => handle.Dispose();
    }

    private sealed class StreamSource(Stream stream, bool leaveOpen) : ImageSource
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
