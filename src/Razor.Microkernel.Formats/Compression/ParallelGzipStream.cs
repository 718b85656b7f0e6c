using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;

namespace Razor.Microkernel.Formats.Compression;

/// <summary>
/// A write-only gzip stream that compresses fixed-size chunks on several cores and joins them into one
/// gzip member: every chunk but the last is a raw deflate stream ended by a sync flush (byte-aligned, no
/// final block), so the concatenation is one valid deflate stream; the CRC-32 runs over the whole input.
/// The header carries no name and no time. Output depends only on the input, the level and the chunk
/// size, never on the number of cores. Memory is bounded: at most <c>workers + 2</c> chunks in flight, and
/// at most <see cref="MaxWorkers"/> workers (feeding more cores than that is not where the time goes).
/// </summary>
public sealed class ParallelGzipStream : Stream
{
    public const int DefaultChunkSize = 1 << 20;

    /// <summary>The most compression threads used, whatever the machine: keeps peak memory flat on big servers.</summary>
    public const int MaxWorkers = 8;

    private readonly Stream _output;
    private readonly bool _leaveOpen;
    private readonly int _level;
    private readonly int _chunkSize;
    private readonly int _maxInFlight;
    private readonly CancellationToken _cancellationToken;
    private readonly Queue<Task<Compressed>> _inFlight = new();
    private readonly Crc32 _crc = new();
    private byte[] _buffer;
    private int _filled;
    private long _length;
    private bool _closed;
    private bool _abandoned;
    private bool _bufferSubmitted;

    /// <param name="level">zlib level 0–9 (6 is gzip's default).</param>
    /// <param name="cancellationToken">Ends a write's wait for a chunk being compressed (the wait that bounds memory) with
    /// <see cref="OperationCanceledException"/>; <see cref="Abandon"/> the stream then.</param>
    public ParallelGzipStream(Stream output, int level = 6, int workers = 0, int chunkSize = DefaultChunkSize, bool leaveOpen = false,
        CancellationToken cancellationToken = default)
    {
        _cancellationToken = cancellationToken;
        ArgumentOutOfRangeException.ThrowIfLessThan(level, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(level, 9);
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkSize, 64 * 1024);
        _output = output;
        _leaveOpen = leaveOpen;
        _level = level;
        _chunkSize = chunkSize;
        _maxInFlight = Math.Min(workers > 0 ? workers : Environment.ProcessorCount, MaxWorkers) + 2;
        _buffer = ArrayPool<byte>.Shared.Rent(chunkSize);
        Span<byte> header = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, (byte)(level == 9 ? 2 : level == 1 ? 4 : 0), 3];
        _output.Write(header);
    }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => !_closed;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => _length;
        set => throw new NotSupportedException();
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_closed, this);
        if (_abandoned)
        {
            return;
        }

        _crc.Append(buffer);
        _length += buffer.Length;
        while (buffer.Length > 0)
        {
            var n = Math.Min(buffer.Length, _chunkSize - _filled);
            buffer[..n].CopyTo(_buffer.AsSpan(_filled));
            _filled += n;
            buffer = buffer[n..];
            if (_filled == _chunkSize)
            {
                Submit(final: false);
            }
        }
    }

    public override void WriteByte(byte value) => Write([value]);

    /// <summary>Does nothing: output is written as chunks complete. Closing writes the rest.</summary>
    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    /// <summary>Gives the output up after a failure or Ctrl+C: later writes are ignored, and closing neither compresses
    /// what is buffered nor waits for the chunks being compressed (their buffers return to the pool as they finish).
    /// What was written to the output so far is a truncated gzip member; the caller discards it. (Closing after the
    /// token given at construction was cancelled stops the same way, with <see cref="OperationCanceledException"/>.)</summary>
    public void Abandon() => _abandoned = true;

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_closed)
        {
            try
            {
                if (!_abandoned)
                {
                    Submit(final: true);
                    while (_inFlight.Count > 0)
                    {
                        WaitForOldest();
                        WriteOldest();
                    }

                    Span<byte> trailer = stackalloc byte[8];
                    BinaryPrimitives.WriteUInt32LittleEndian(trailer, _crc.GetCurrentHashAsUInt32());
                    BinaryPrimitives.WriteUInt32LittleEndian(trailer[4..], unchecked((uint)_length));
                    _output.Write(trailer);
                    _output.Flush();
                }
            }
            finally
            {
                _closed = true;
                if (!_bufferSubmitted)
                {
                    ArrayPool<byte>.Shared.Return(_buffer);
                }

                // After a failure, Ctrl+C or Abandon: chunks still being compressed return their buffers to the pool when
                // they finish; nothing waits for them.
                while (_inFlight.Count > 0)
                {
                    _ = _inFlight.Dequeue().ContinueWith(static t =>
                    {
                        if (t.IsCompletedSuccessfully)
                        {
                            t.Result.Return();
                        }
                    }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                }

                if (!_leaveOpen)
                {
                    _output.Dispose();
                }
            }
        }

        base.Dispose(disposing);
    }

    private void Submit(bool final)
    {
        var input = _buffer;
        var length = _filled;
        var level = _level;
        _inFlight.Enqueue(Task.Run(() => Compress(input, length, level, final)));
        if (final)
        {
            _bufferSubmitted = true;
        }
        else
        {
            _buffer = ArrayPool<byte>.Shared.Rent(_chunkSize);
        }

        _filled = 0;
        while (_inFlight.Count >= _maxInFlight)
        {
            WaitForOldest();
            WriteOldest();
        }
    }

    /// <summary>Waits for the oldest chunk, or for the token: a high level is slow, and Ctrl+C need not wait for the workers.</summary>
    private void WaitForOldest() => Task.WaitAny([_inFlight.Peek()], _cancellationToken);

    private void WriteOldest()
    {
        var done = _inFlight.Dequeue().GetAwaiter().GetResult();
        try
        {
            _output.Write(done.Buffer, 0, done.Length);
        }
        finally
        {
            done.Return();
        }
    }

    private static Compressed Compress(byte[] input, int length, int level, bool final)
    {
        try
        {
            // Start at the input's size (pooled arrays round up); the sink grows for incompressible chunks.
            var sink = new PooledSink(Math.Max(64 * 1024, length));
            var options = new ZLibCompressionOptions { CompressionLevel = level };
            int keep;
            using (var deflate = new DeflateStream(sink, options, leaveOpen: true))
            {
                deflate.Write(input, 0, length);
                if (!final)
                {
                    deflate.Flush(); // sync flush: byte-aligned, ends with an empty stored block
                    keep = sink.Count;
                }
                else
                {
                    keep = -1;
                }
            }

            if (final && sink.Count == 0)
            {
                // DeflateStream writes nothing when nothing was written to it; end the stream with an
                // empty final block (fixed Huffman, end-of-block code): bits 1,01,0000000.
                sink.Write([0x03, 0x00]);
            }

            return new Compressed(sink.Detach(), keep < 0 ? sink.Count : keep);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(input);
        }
    }

    private readonly record struct Compressed(byte[] Buffer, int Length)
    {
        public void Return() => ArrayPool<byte>.Shared.Return(Buffer);
    }

    /// <summary>A growable write-only sink over pooled arrays.</summary>
    private sealed class PooledSink(int initial) : Stream
    {
        private byte[] _data = ArrayPool<byte>.Shared.Rent(initial);

        public int Count { get; private set; }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => Count;

        public override long Position
        {
            get => Count;
            set => throw new NotSupportedException();
        }

        public byte[] Detach()
        {
            var d = _data;
            _data = [];
            return d;
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (Count + buffer.Length > _data.Length)
            {
                var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_data.Length * 2, Count + buffer.Length));
                _data.AsSpan(0, Count).CopyTo(bigger);
                ArrayPool<byte>.Shared.Return(_data);
                _data = bigger;
            }

            buffer.CopyTo(_data.AsSpan(Count));
            Count += buffer.Length;
        }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
