using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;
using Razor.Microkernel.Formats.IO;

namespace Razor.Microkernel.Formats.Compression;

/// <summary>
/// Decompresses gzip (one or several members) and, at the end, proves the input was complete: .NET's
/// <see cref="GZipStream"/> checks each member's CRC when it reaches that member's trailer, but a file cut
/// short simply ends. Here the output's CRC-32 and length are compared with the file's final trailer; when
/// they differ (several members, or a truncated file), the last member is located and verified alone.
/// A truncated or corrupt input ends in <see cref="InvalidDataException"/>, never in silently short data.
/// </summary>
public sealed class VerifyingGzipStream : Stream
{
    private readonly Stream _raw;
    private readonly long _start;
    private readonly GZipStream _gzip;
    private readonly Crc32 _crc = new();
    private long _length;
    private bool _verified;

    /// <param name="raw">The compressed input; must be seekable (the trailer is read from its end).</param>
    public VerifyingGzipStream(Stream raw)
    {
        if (!raw.CanSeek)
        {
            throw new ArgumentException("gzip input must be seekable to be verified", nameof(raw));
        }

        _raw = raw;
        _start = raw.Position;
        _gzip = new GZipStream(raw, CompressionMode.Decompress, leaveOpen: true);
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => _length;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (buffer.Length == 0)
        {
            return 0;
        }

        var n = _gzip.Read(buffer);
        if (n > 0)
        {
            _crc.Append(buffer[..n]);
            _length += n;
            return n;
        }

        if (!_verified)
        {
            Verify();
            _verified = true;
        }

        return 0;
    }

    /// <summary>Reads whatever output is left (for callers that stop early) and verifies the input.</summary>
    public void ReadToEndAndVerify()
    {
        var buffer = new byte[81920];
        while (Read(buffer) > 0)
        {
        }
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _gzip.Dispose();
        }

        base.Dispose(disposing);
    }

    private void Verify()
    {
        var end = _raw.Length;
        if (end - _start < 18)
        {
            throw new InvalidDataException("the gzip data is truncated");
        }

        var (crc, size) = Trailer(end);
        if (crc == _crc.GetCurrentHashAsUInt32() && size == unchecked((uint)_length))
        {
            return;
        }

        if (!LastMemberVerifies(end, crc, size))
        {
            throw new InvalidDataException("the gzip data is truncated or corrupt: its end does not match its content (CRC-32 or length)");
        }
    }

    private (uint Crc, uint Size) Trailer(long end)
    {
        Span<byte> t = stackalloc byte[8];
        _raw.Position = end - 8;
        _raw.ReadExactly(t);
        return (BinaryPrimitives.ReadUInt32LittleEndian(t), BinaryPrimitives.ReadUInt32LittleEndian(t[4..]));
    }

    /// <summary>Several members: find a member start from which the rest decompresses to exactly what the
    /// final trailer describes. Only runs when the single-member check fails (rare for tarballs).</summary>
    private bool LastMemberVerifies(long end, uint crc, uint size)
    {
        const int Window = 1 << 16;
        var buffer = new byte[Window + 2];
        for (var pos = _start + 1; pos < end - 18; pos += Window)
        {
            _raw.Position = pos;
            var n = _raw.ReadAtLeast(buffer, (int)Math.Min(buffer.Length, end - pos), throwOnEndOfStream: false);
            for (var i = 0; i + 2 < n; i++)
            {
                if (buffer[i] != 0x1f || buffer[i + 1] != 0x8b || buffer[i + 2] != 8)
                {
                    continue;
                }

                if (TryMember(pos + i, end, crc, size))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private bool TryMember(long at, long end, uint crc, uint size)
    {
        try
        {
            using var window = new WindowStream(_raw, at, end - at);
            using var gz = new GZipStream(window, CompressionMode.Decompress);
            var c = new Crc32();
            long length = 0;
            var buffer = new byte[81920];
            int n;
            while ((n = gz.Read(buffer)) > 0)
            {
                c.Append(buffer.AsSpan(0, n));
                length += n;
            }

            return c.GetCurrentHashAsUInt32() == crc && unchecked((uint)length) == size;
        }
        catch (InvalidDataException)
        {
            return false;
        }
    }
}
