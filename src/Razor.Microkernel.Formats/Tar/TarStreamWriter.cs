using System.Buffers;
using System.Globalization;
using System.Text;
using Razor.Microkernel.Formats.Layers;

namespace Razor.Microkernel.Formats.Tar;

/// <summary>
/// A deterministic, streaming POSIX tar writer: a ustar header per entry, preceded by a PAX extended
/// header only when a value does not fit ustar (long names or link targets, big ids, sizes or times,
/// long user names) or when extra attributes are given. The extended header's own name is derived from
/// the entry's name alone, never from the process or the clock, so the same entries give the same bytes.
/// </summary>
public sealed class TarStreamWriter : IDisposable
{
    private const int Block = 512;
    private const long MaxOctal7 = 0x1FFFFF; // 7777777
    private const long MaxOctal11 = 0x1FFFFFFFF; // 77777777777
    private static readonly byte[] Zeros = new byte[Block * 2];

    private readonly Stream _output;
    private readonly bool _leaveOpen;
    private readonly byte[] _header = new byte[Block];
    private bool _finished;

    public TarStreamWriter(Stream output, bool leaveOpen = false)
    {
        _output = output;
        _leaveOpen = leaveOpen;
    }

    /// <summary>Bytes written so far.</summary>
    public long Position { get; private set; }

    /// <summary>Writes one entry. For regular files exactly <see cref="TarHeader.Size"/> bytes are copied
    /// from <paramref name="data"/>; a shorter source is an error.</summary>
    /// <returns>The offset of the entry's data in the output.</returns>
    public long WriteEntry(in TarHeader header, Stream? data)
    {
        ObjectDisposedException.ThrowIf(_finished, this);
        var size = header.Type == LayerEntryType.File ? header.Size : 0;
        if (size < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(header), "size is negative");
        }

        var pax = new List<KeyValuePair<string, string>>();
        var nameBytes = Encoding.UTF8.GetBytes(header.Name);
        if (!TrySplitName(nameBytes, out var prefixLength))
        {
            pax.Add(new("path", header.Name));
        }

        var linkBytes = Encoding.UTF8.GetBytes(header.LinkName);
        if (linkBytes.Length > 100)
        {
            pax.Add(new("linkpath", header.LinkName));
        }

        AddIfTooBig(pax, "uid", header.Owner.Uid, MaxOctal7);
        AddIfTooBig(pax, "gid", header.Owner.Gid, MaxOctal7);
        AddIfTooBig(pax, "size", size, MaxOctal11);
        AddIfTooBig(pax, "mtime", header.ModificationTime, MaxOctal11);
        if (Encoding.UTF8.GetByteCount(header.Owner.UserName) > 31)
        {
            pax.Add(new("uname", header.Owner.UserName));
        }

        if (Encoding.UTF8.GetByteCount(header.Owner.GroupName) > 31)
        {
            pax.Add(new("gname", header.Owner.GroupName));
        }

        if (header.DeviceMajor > MaxOctal7 || header.DeviceMinor > MaxOctal7 || header.DeviceMajor < 0 || header.DeviceMinor < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(header), "device numbers must be between 0 and 2097151");
        }

        if (header.ExtraAttributes is { } extra)
        {
            pax.AddRange(extra);
        }

        if (pax.Count > 0)
        {
            WritePaxHeader(header, pax);
        }

        FillHeader(header, nameBytes, prefixLength, linkBytes, size);
        Write(_header);
        var dataOffset = Position;
        if (size > 0)
        {
            if (data is null)
            {
                throw new ArgumentNullException(nameof(data), $"entry '{header.Name}' has {size} bytes but no data");
            }

            Copy(data, size, header.Name);
            Pad(size);
        }

        return dataOffset;
    }

    /// <summary>Writes the two zero blocks that end the archive and flushes.</summary>
    public void Finish()
    {
        if (_finished)
        {
            return;
        }

        Write(Zeros);
        _output.Flush();
        _finished = true;
    }

    public void Dispose()
    {
        if (!_leaveOpen)
        {
            _output.Dispose();
        }

        _finished = true;
    }

    private static void AddIfTooBig(List<KeyValuePair<string, string>> pax, string key, long value, long max)
    {
        if (value < 0 || value > max)
        {
            pax.Add(new(key, value.ToString(CultureInfo.InvariantCulture)));
        }
    }

    /// <summary>Finds where to cut a name into ustar's prefix (155 bytes) and name (100 bytes).
    /// prefixLength is 0 when the whole name fits the name field.</summary>
    private static bool TrySplitName(byte[] name, out int prefixLength)
    {
        prefixLength = 0;
        if (name.Length <= 100)
        {
            return true;
        }

        // The cut is at a '/', which is dropped; prefix ≤ 155 bytes, remaining name 1..100 bytes.
        // A trailing '/' (directories) must stay in the name part.
        var searchEnd = name[^1] == (byte)'/' ? name.Length - 2 : name.Length - 1;
        for (var i = Math.Min(155, searchEnd); i > 0; i--)
        {
            if (name[i] == (byte)'/' && name.Length - i - 1 <= 100 && name.Length - i - 1 > 0)
            {
                prefixLength = i;
                return true;
            }
        }

        return false;
    }

    private void WritePaxHeader(in TarHeader header, List<KeyValuePair<string, string>> pax)
    {
        var body = new MemoryStream();
        foreach (var (key, value) in pax)
        {
            var rest = Encoding.UTF8.GetByteCount($" {key}={value}\n");
            var length = rest + 1;
            while (length.ToString(CultureInfo.InvariantCulture).Length + rest != length)
            {
                length++;
            }

            var record = Encoding.UTF8.GetBytes($"{length.ToString(CultureInfo.InvariantCulture)} {key}={value}\n");
            body.Write(record);
        }

        // Name of the extended header: PaxHeaders/<last component>, cut to fit; deterministic.
        var baseName = ImagePath.FileName(header.Name.TrimEnd('/'));
        var paxName = "PaxHeaders/" + baseName;
        var paxNameBytes = Encoding.UTF8.GetBytes(paxName);
        if (paxNameBytes.Length > 100)
        {
            paxNameBytes = paxNameBytes[..100];
        }

        var paxHeader = new TarHeader(string.Empty, LayerEntryType.File, 0x1A4, new Ownership(0, 0, "", ""),
            Math.Clamp(header.ModificationTime, 0, MaxOctal11), body.Length);
        FillHeader(paxHeader, paxNameBytes, 0, [], body.Length, typeFlag: (byte)'x');
        Write(_header);
        body.Position = 0;
        Copy(body, body.Length, paxName);
        Pad(body.Length);
    }

    private void FillHeader(in TarHeader h, byte[] nameBytes, int prefixLength, byte[] linkBytes, long size, byte typeFlag = 0)
    {
        var b = _header.AsSpan();
        b.Clear();
        if (prefixLength > 0)
        {
            nameBytes.AsSpan(prefixLength + 1).CopyTo(b[..100]);
            nameBytes.AsSpan(0, prefixLength).CopyTo(b.Slice(345, 155));
        }
        else
        {
            // Either it fits, or a PAX 'path' carries it and this field holds a truncated copy.
            nameBytes.AsSpan(0, Math.Min(100, nameBytes.Length)).CopyTo(b[..100]);
        }

        Octal(b.Slice(100, 8), h.Mode & 0xFFF);
        Octal(b.Slice(108, 8), Math.Clamp(h.Owner.Uid, 0, MaxOctal7));
        Octal(b.Slice(116, 8), Math.Clamp(h.Owner.Gid, 0, MaxOctal7));
        Octal(b.Slice(124, 12), size > MaxOctal11 ? 0 : size);
        Octal(b.Slice(136, 12), Math.Clamp(h.ModificationTime, 0, MaxOctal11));
        b[156] = typeFlag != 0 ? typeFlag : h.Type switch
        {
            LayerEntryType.File => (byte)'0',
            LayerEntryType.HardLink => (byte)'1',
            LayerEntryType.Symlink => (byte)'2',
            LayerEntryType.CharacterDevice => (byte)'3',
            LayerEntryType.BlockDevice => (byte)'4',
            LayerEntryType.Directory => (byte)'5',
            LayerEntryType.Fifo => (byte)'6',
            _ => throw new ArgumentOutOfRangeException(nameof(h)),
        };
        linkBytes.AsSpan(0, Math.Min(100, linkBytes.Length)).CopyTo(b.Slice(157, 100));
        "ustar\0"u8.CopyTo(b.Slice(257, 6));
        "00"u8.CopyTo(b.Slice(263, 2));
        CopyName(b.Slice(265, 32), h.Owner.UserName);
        CopyName(b.Slice(297, 32), h.Owner.GroupName);
        if (h.Type is LayerEntryType.CharacterDevice or LayerEntryType.BlockDevice)
        {
            Octal(b.Slice(329, 8), h.DeviceMajor);
            Octal(b.Slice(337, 8), h.DeviceMinor);
        }

        b.Slice(148, 8).Fill((byte)' ');
        var sum = 0;
        foreach (var x in b)
        {
            sum += x;
        }

        Octal(b.Slice(148, 7), sum);
        b[155] = (byte)' ';
    }

    private static void CopyName(Span<byte> field, string name)
    {
        var bytes = Encoding.UTF8.GetBytes(name);
        if (bytes.Length <= field.Length - 1)
        {
            bytes.CopyTo(field);
        }
    }

    /// <summary>Writes value as zero-padded octal digits followed by a NUL, filling the field.</summary>
    private static void Octal(Span<byte> field, long value)
    {
        var digits = field.Length - 1;
        for (var i = digits - 1; i >= 0; i--)
        {
            field[i] = (byte)('0' + (value & 7));
            value >>= 3;
        }

        field[digits] = 0;
    }

    private void Copy(Stream data, long size, string name)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(128 * 1024);
        try
        {
            var left = size;
            while (left > 0)
            {
                var n = data.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
                if (n <= 0)
                {
                    throw new ArchiveFormatException($"the content of '{name}' ended {left} bytes before its stated size of {size}");
                }

                _output.Write(buffer, 0, n);
                left -= n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        Position += size;
    }

    private void Pad(long size)
    {
        var rem = (int)(size % Block);
        if (rem != 0)
        {
            Write(Zeros.AsSpan(0, Block - rem));
        }
    }

    private void Write(ReadOnlySpan<byte> bytes)
    {
        _output.Write(bytes);
        Position += bytes.Length;
    }
}
