using System.Buffers;
using Razor.Microkernel.Formats.IO;

namespace Razor.Microkernel.Formats.SquashFs;

/// <summary>Hands out a file's decoded blocks in order.</summary>
internal interface IBlockFeed
{
    DecodedBlock Next();

    void Release(in DecodedBlock block);

    void Close();
}

/// <summary>A read-only, forward-only stream over a file's decoded blocks.</summary>
internal sealed class FileContentStream(IBlockFeed feed, long length) : ReadOnlyStream
{
    private DecodedBlock _current;
    private bool _hasCurrent;
    private int _used;
    private long _position;
    private bool _closed;

    public override long Length => length;

    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException();
    }

    public override int Read(Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_closed, this);
        var done = 0;
        while (done < buffer.Length && _position < length)
        {
            if (!_hasCurrent || _used == _current.Length)
            {
                ReleaseCurrent();
                _current = feed.Next();
                _hasCurrent = true;
                _used = 0;
                if (_current.Length > length - _position)
                {
                    throw new SquashFsFormatException("a file's blocks hold more bytes than its size", -1);
                }
            }

            var n = Math.Min(buffer.Length - done, _current.Length - _used);
            _current.Buffer.AsSpan(_current.Offset + _used, n).CopyTo(buffer[done..]);
            _used += n;
            done += n;
            _position += n;
        }

        if (_position == length)
        {
            ReleaseCurrent();
        }

        return done;
    }


    protected override void Dispose(bool disposing)
    {
        if (!_closed)
        {
            _closed = true;
            ReleaseCurrent();
            feed.Close();
        }

        base.Dispose(disposing);
    }

    private void ReleaseCurrent()
    {
        if (_hasCurrent)
        {
            _hasCurrent = false;
            feed.Release(_current);
        }
    }
}

/// <summary>The feed of <see cref="SquashFsImage.OpenRead"/>: keeps a few blocks decoding ahead.</summary>
internal sealed class PrefetchFeed(SquashFsImage image, IEnumerator<BlockJob> jobs, int depth) : IBlockFeed
{
    private readonly Queue<Task<DecodedBlock>> _queue = new();
    private bool _done;

    public DecodedBlock Next()
    {
        TopUp();
        if (_queue.Count == 0)
        {
            throw new SquashFsFormatException("a file's blocks hold fewer bytes than its size", -1);
        }

        var block = _queue.Dequeue().GetAwaiter().GetResult();
        TopUp();
        return block;
    }

    public void Release(in DecodedBlock block)
    {
        if (block.Pooled)
        {
            ArrayPool<byte>.Shared.Return(block.Buffer);
        }
    }

    public void Close()
    {
        _done = true;
        while (_queue.Count > 0)
        {
            var t = _queue.Dequeue();
            try
            {
                Release(t.GetAwaiter().GetResult());
            }
            catch (MicrokernelFormatException)
            {
                // the reader stopped before this block: its error does not matter
            }
        }

        jobs.Dispose();
    }

    private void TopUp()
    {
        while (!_done && _queue.Count < depth)
        {
            if (!jobs.MoveNext())
            {
                _done = true;
                break;
            }

            _queue.Enqueue(image.Start(jobs.Current));
        }
    }
}
