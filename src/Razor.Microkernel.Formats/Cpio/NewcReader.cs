using System.Buffers;
using System.Globalization;
using System.Text;

namespace Razor.Microkernel.Formats.Cpio;

/// <summary>A newc archive is malformed, truncated or hostile. <see cref="MicrokernelFormatException.Offset"/>
/// is the byte offset in the (uncompressed) archive.</summary>
public sealed class CpioFormatException(string reason, long offset)
    : MicrokernelFormatException($"{reason} (at byte {offset})", offset)
{
    public string Reason { get; } = reason;
}

/// <summary>One member header as read. <see cref="Path"/> is normalised (no leading <c>/</c> or <c>./</c>;
/// <c>.</c> for the root). Hard links share <see cref="Inode"/> and have <see cref="LinkCount"/> above 1;
/// newc writers put the data on the last (GNU cpio) or the first (some others) member of a group.
/// <see cref="Offset"/> is where the header starts.</summary>
public sealed record CpioHeader(
    string Path,
    CpioEntryType Type,
    int Mode,
    int Uid,
    int Gid,
    uint Inode,
    int LinkCount,
    long ModificationTime,
    long Size,
    string LinkTarget,
    int DeviceMajor,
    int DeviceMinor,
    long Offset);

/// <summary>
/// Reads a <c>newc</c> (<c>070701</c>) or <c>crc</c> (<c>070702</c>, checksum not verified) archive from a
/// forward-only stream (e.g. a gunzip stream of an initrd). <see cref="ReadNext"/> returns members in
/// archive order and null at <c>TRAILER!!!</c>; <see cref="OpenData"/> reads the current regular file's bytes.
/// Names with <c>..</c>, NUL or absurd lengths, unknown types, bad hex and truncation end in a
/// <see cref="CpioFormatException"/>.
/// </summary>
public sealed class NewcReader(Stream input, bool leaveOpen = false) : IDisposable
{
    private const int HeaderSize = 110;
    private const int MaxName = 4096;
    private readonly byte[] _header = new byte[HeaderSize];
    private long _position;
    private long _dataLeft;
    private int _dataPad;
    private bool _done;

    /// <summary>Bytes consumed so far.</summary>
    public long Position => _position;

    public CpioHeader? ReadNext()
    {
        if (_done)
        {
            return null;
        }

        SkipData();
        var start = _position;
        if (!Fill(_header, allowEnd: true))
        {
            throw new CpioFormatException("the archive ends without TRAILER!!!", start);
        }

        if (!_header.AsSpan(0, 6).SequenceEqual("070701"u8) && !_header.AsSpan(0, 6).SequenceEqual("070702"u8))
        {
            throw new CpioFormatException("not a newc header (magic 070701 or 070702 expected)", start);
        }

        uint Field(int index)
        {
            var text = Encoding.ASCII.GetString(_header, 6 + (index * 8), 8);
            if (!uint.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var v))
            {
                throw new CpioFormatException($"header field {index} '{text}' is not hexadecimal", start + 6 + (index * 8));
            }

            return v;
        }

        var inode = Field(0);
        var mode = Field(1);
        var uid = Field(2);
        var gid = Field(3);
        var nlink = Field(4);
        var mtime = Field(5);
        var size = Field(6);
        var rdevMajor = Field(9);
        var rdevMinor = Field(10);
        var nameSize = Field(11);
        if (nameSize is < 1 or > MaxName)
        {
            throw new CpioFormatException($"name size {nameSize} is out of range", start + 94);
        }

        var nameBytes = new byte[(int)nameSize];
        Read(nameBytes);
        Skip(Pad4(HeaderSize + (int)nameSize));
        if (nameBytes[^1] != 0 || Array.IndexOf(nameBytes, (byte)0) != nameBytes.Length - 1)
        {
            throw new CpioFormatException("the name is not NUL-terminated or contains NUL", start + HeaderSize);
        }

        var raw = Encoding.UTF8.GetString(nameBytes, 0, nameBytes.Length - 1);
        if (raw == "TRAILER!!!")
        {
            _done = true;
            return null;
        }

        var path = Normalize(raw, start);
        var type = (mode & 0xF000) switch
        {
            0x8000 => CpioEntryType.File,
            0x4000 => CpioEntryType.Directory,
            0xA000 => CpioEntryType.Symlink,
            0x2000 => CpioEntryType.CharacterDevice,
            0x6000 => CpioEntryType.BlockDevice,
            0x1000 => CpioEntryType.Fifo,
            _ => throw new CpioFormatException($"'{raw}': file type 0{Convert.ToString(mode & 0xF000, 8)} is not supported", start + 14),
        };
        var target = "";
        if (type == CpioEntryType.Symlink)
        {
            if (size is 0 or > MaxName)
            {
                throw new CpioFormatException($"'{raw}': symlink target size {size} is out of range", start + 54);
            }

            var t = new byte[size];
            Read(t);
            Skip(Pad4((int)size));
            target = Encoding.UTF8.GetString(t);
            if (target.Contains('\0', StringComparison.Ordinal))
            {
                throw new CpioFormatException($"'{raw}': symlink target contains NUL", start + HeaderSize);
            }
        }
        else if (type == CpioEntryType.File)
        {
            _dataLeft = size;
            _dataPad = Pad4((int)(size & 3));
        }
        else if (size != 0)
        {
            throw new CpioFormatException($"'{raw}': a {type} with {size} bytes of data", start + 54);
        }

        return new CpioHeader(path, type, (int)(mode & 0xFFF), (int)Math.Min(uid, int.MaxValue), (int)Math.Min(gid, int.MaxValue), inode,
            (int)Math.Min(nlink, int.MaxValue), mtime, type == CpioEntryType.Symlink ? 0 : size, target, (int)Math.Min(rdevMajor, int.MaxValue),
            (int)Math.Min(rdevMinor, int.MaxValue), start);
    }

    /// <summary>The current regular file's bytes; valid until the next <see cref="ReadNext"/>.</summary>
    public Stream OpenData() => new DataStream(this);

    public void Dispose()
    {
        if (!leaveOpen)
        {
            input.Dispose();
        }
    }

    private static string Normalize(string raw, long offset)
    {
        var p = raw;
        while (p.StartsWith("./", StringComparison.Ordinal) || p.StartsWith('/'))
        {
            p = p.StartsWith('/') ? p[1..] : p[2..];
        }

        p = p.TrimEnd('/');
        if (p.Length == 0 || p == ".")
        {
            return ".";
        }

        foreach (var part in p.Split('/'))
        {
            if (part.Length == 0 || part is "." or "..")
            {
                throw new CpioFormatException($"member name '{raw}' has an empty, '.' or '..' component", offset + HeaderSize);
            }
        }

        return p;
    }

    private static int Pad4(int v) => (4 - (v & 3)) & 3;

    private void SkipData()
    {
        var buffer = ArrayPool<byte>.Shared.Rent(65536);
        try
        {
            while (_dataLeft > 0)
            {
                var n = ReadData(buffer.AsSpan(0, (int)Math.Min(buffer.Length, _dataLeft)));
                if (n == 0)
                {
                    break;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        Skip(_dataPad);
        _dataPad = 0;
    }

    private int ReadData(Span<byte> buffer)
    {
        if (_dataLeft == 0 || buffer.Length == 0)
        {
            return 0;
        }

        var n = input.Read(buffer[..(int)Math.Min(buffer.Length, _dataLeft)]);
        if (n <= 0)
        {
            throw new CpioFormatException($"the archive ends {_dataLeft} bytes into a file's data", _position);
        }

        _position += n;
        _dataLeft -= n;
        return n;
    }

    private void Skip(int count)
    {
        if (count > 0)
        {
            Read(stackalloc byte[count]);
        }
    }

    private void Read(Span<byte> buffer)
    {
        if (!Fill(buffer, allowEnd: false))
        {
            throw new CpioFormatException("the archive is truncated", _position);
        }
    }

    private bool Fill(Span<byte> buffer, bool allowEnd)
    {
        var done = 0;
        while (done < buffer.Length)
        {
            var n = input.Read(buffer[done..]);
            if (n <= 0)
            {
                if (done == 0 && allowEnd)
                {
                    return false;
                }

                throw new CpioFormatException("the archive is truncated", _position);
            }

            done += n;
            _position += n;
        }

        return true;
    }

    private sealed class DataStream(NewcReader reader) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => reader.ReadData(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer) => reader.ReadData(buffer);

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
