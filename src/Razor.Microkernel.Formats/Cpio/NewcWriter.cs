using System.Buffers;
using System.Globalization;
using System.Text;

namespace Razor.Microkernel.Formats.Cpio;

public enum CpioEntryType
{
    File,
    Directory,
    Symlink,
    CharacterDevice,
    BlockDevice,
    Fifo,
}

/// <summary>One member of a newc archive. <see cref="Path"/> is relative (a leading <c>/</c> is dropped;
/// <c>.</c> names the root); <see cref="Mode"/> holds the twelve permission bits only, the writer adds the
/// file type. <see cref="LinkTarget"/> is the symlink target; device numbers apply to devices only.</summary>
public sealed record CpioEntry(
    string Path,
    CpioEntryType Type,
    int Mode,
    int Uid = 0,
    int Gid = 0,
    string LinkTarget = "",
    int DeviceMajor = 0,
    int DeviceMinor = 0);

/// <summary>An entry cannot be written as newc: a bad path, a size or number the format cannot hold,
/// content shorter than announced, or a call out of order.</summary>
public sealed class CpioWriteException(string path, string reason)
    : MicrokernelFormatException($"cpio entry '{path}': {reason}")
{
    public string EntryPath { get; } = path;

    public string Reason { get; } = reason;
}

/// <summary>
/// Writes a deterministic SVR4 <c>newc</c> (magic <c>070701</c>, no checksum) archive, streaming: members in
/// the order the caller writes them, every mtime the given constant, inode numbers 1, 2, 3 … in write order,
/// device of the archive 0:0. Hard links follow the newc convention that GNU cpio and the Linux initramfs
/// unpacker read: every member of a group carries the same inode number and the group's link count, and only
/// the last member carries the data. <see cref="Dispose"/> (or <see cref="Finish"/>) writes <c>TRAILER!!!</c>.
/// </summary>
public sealed class NewcWriter : IDisposable
{
    private const int HeaderSize = 110;
    private const uint MaxFileSize = uint.MaxValue;
    private readonly Stream _output;
    private readonly bool _leaveOpen;
    private readonly uint _mtime;
    private uint _nextInode;
    private long _position;
    private bool _finished;

    /// <param name="output">Where the archive goes; written sequentially, never sought.</param>
    /// <param name="modificationTime">Seconds since the epoch stored as every member's mtime.</param>
    /// <param name="firstInode">Inode number of the first member.</param>
    public NewcWriter(Stream output, long modificationTime = 0, bool leaveOpen = false, uint firstInode = 1)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentOutOfRangeException.ThrowIfNegative(modificationTime);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(modificationTime, uint.MaxValue);
        _output = output;
        _leaveOpen = leaveOpen;
        _mtime = (uint)modificationTime;
        _nextInode = firstInode;
    }

    /// <summary>Bytes written so far.</summary>
    public long Position => _position;

    /// <summary>Writes one member. Regular files need <paramref name="content"/> holding at least
    /// <paramref name="size"/> bytes (exactly that many are copied); other types take neither.</summary>
    public void Write(CpioEntry entry, Stream? content = null, long size = 0)
    {
        ArgumentNullException.ThrowIfNull(entry);
        EnsureOpen(entry.Path);
        var name = NormalizeName(entry.Path);
        switch (entry.Type)
        {
            case CpioEntryType.File:
                CheckSize(name, size);
                if (size > 0 && content is null)
                {
                    throw new CpioWriteException(name, $"a regular file of {size} bytes needs content");
                }

                WriteHeader(name, entry, TypeBits(entry.Type), _nextInode++, 1, (uint)size, 0, 0);
                CopyContent(name, content, size);
                break;
            case CpioEntryType.Symlink:
                var target = Encoding.UTF8.GetBytes(entry.LinkTarget);
                if (target.Length == 0 || target.Contains((byte)0))
                {
                    throw new CpioWriteException(name, "a symlink needs a target without NUL");
                }

                WriteHeader(name, entry, TypeBits(entry.Type), _nextInode++, 1, (uint)target.Length, 0, 0);
                WriteRaw(target);
                Pad();
                break;
            case CpioEntryType.Directory:
                WriteHeader(name, entry, TypeBits(entry.Type), _nextInode++, 2, 0, 0, 0);
                break;
            case CpioEntryType.CharacterDevice:
            case CpioEntryType.BlockDevice:
                if (entry.DeviceMajor < 0 || entry.DeviceMinor < 0)
                {
                    throw new CpioWriteException(name, "device numbers must not be negative");
                }

                WriteHeader(name, entry, TypeBits(entry.Type), _nextInode++, 1, 0, (uint)entry.DeviceMajor, (uint)entry.DeviceMinor);
                break;
            case CpioEntryType.Fifo:
                WriteHeader(name, entry, TypeBits(entry.Type), _nextInode++, 1, 0, 0, 0);
                break;
            default:
                throw new CpioWriteException(name, $"unknown entry type {entry.Type}");
        }
    }

    /// <summary>Writes a hard-link group: the regular files in <paramref name="members"/> (in the given order)
    /// share one inode, and the data goes with the last one.</summary>
    public void WriteHardLinks(IReadOnlyList<CpioEntry> members, Stream content, long size)
    {
        ArgumentNullException.ThrowIfNull(members);
        ArgumentNullException.ThrowIfNull(content);
        if (members.Count == 0)
        {
            throw new ArgumentException("a hard-link group needs at least one member", nameof(members));
        }

        EnsureOpen(members[0].Path);
        var names = new string[members.Count];
        for (var i = 0; i < members.Count; i++)
        {
            names[i] = NormalizeName(members[i].Path);
            if (members[i].Type != CpioEntryType.File)
            {
                throw new CpioWriteException(names[i], "only regular files can be hard-linked in newc");
            }
        }

        CheckSize(names[^1], size);
        var inode = _nextInode++;
        for (var i = 0; i < members.Count; i++)
        {
            var last = i == members.Count - 1;
            WriteHeader(names[i], members[i], TypeBits(CpioEntryType.File), inode, (uint)members.Count, last ? (uint)size : 0, 0, 0);
        }

        CopyContent(names[^1], content, size);
    }

    /// <summary>Writes the <c>TRAILER!!!</c> member and pads nothing further (the caller may compress or
    /// append another archive). Called by <see cref="Dispose"/> when not called before.</summary>
    public void Finish()
    {
        if (_finished)
        {
            return;
        }

        WriteHeader("TRAILER!!!", new CpioEntry("TRAILER!!!", CpioEntryType.File, 0), 0, 0, 1, 0, 0, 0, mtime: 0);
        _finished = true;
        _output.Flush();
    }

    public void Dispose()
    {
        Finish();
        if (!_leaveOpen)
        {
            _output.Dispose();
        }
    }

    private void EnsureOpen(string path)
    {
        if (_finished)
        {
            throw new CpioWriteException(path, "the archive is already finished");
        }
    }

    private static string NormalizeName(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var p = path.TrimStart('/');
        if (p.Length == 0 || p == ".")
        {
            return ".";
        }

        if (p.EndsWith('/'))
        {
            p = p.TrimEnd('/');
        }

        foreach (var part in p.Split('/'))
        {
            if (part.Length == 0 || part == "." || part == ".." || part.Contains('\0', StringComparison.Ordinal))
            {
                throw new InvalidImagePathException(path, "cpio member names must be relative, without empty, '.' or '..' components or NUL");
            }
        }

        return p;
    }

    private static void CheckSize(string name, long size)
    {
        if (size < 0 || size > MaxFileSize)
        {
            throw new CpioWriteException(name, $"size {size} does not fit newc's 32-bit size field");
        }
    }

    private static uint TypeBits(CpioEntryType type) => type switch
    {
        CpioEntryType.File => 0x8000, // 0100000
        CpioEntryType.Directory => 0x4000, // 0040000
        CpioEntryType.Symlink => 0xA000, // 0120000
        CpioEntryType.CharacterDevice => 0x2000, // 0020000
        CpioEntryType.BlockDevice => 0x6000, // 0060000
        CpioEntryType.Fifo => 0x1000, // 0010000
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    private void WriteHeader(string name, CpioEntry entry, uint typeBits, uint inode, uint nlink, uint size, uint rdevMajor, uint rdevMinor, uint? mtime = null)
    {
        if ((entry.Mode & ~0xFFF) != 0)
        {
            throw new CpioWriteException(name, $"mode 0{Convert.ToString(entry.Mode, 8)} has bits beyond the twelve permission bits");
        }

        if (entry.Uid < 0 || entry.Gid < 0)
        {
            throw new CpioWriteException(name, "uid and gid must not be negative");
        }

        var nameBytes = Encoding.UTF8.GetBytes(name);
        var nameSize = nameBytes.Length + 1;
        var total = Align4(HeaderSize + nameSize);
        var buffer = ArrayPool<byte>.Shared.Rent(total);
        try
        {
            var span = buffer.AsSpan(0, total);
            span.Clear();
            "070701"u8.CopyTo(span);
            var at = 6;
            foreach (var v in (ReadOnlySpan<uint>)[
                         inode, typeBits | (uint)entry.Mode, (uint)entry.Uid, (uint)entry.Gid, nlink, mtime ?? _mtime, size,
                         0, 0, rdevMajor, rdevMinor, (uint)nameSize, 0])
            {
                v.TryFormat(span.Slice(at, 8), out _, "X8", CultureInfo.InvariantCulture);
                at += 8;
            }

            nameBytes.CopyTo(span[HeaderSize..]);
            WriteRaw(span);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void CopyContent(string name, Stream? content, long size)
    {
        if (size == 0)
        {
            return;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(81920);
        try
        {
            var left = size;
            while (left > 0)
            {
                var n = content!.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
                if (n <= 0)
                {
                    throw new CpioWriteException(name, $"content ended {left} bytes before the announced size {size}");
                }

                WriteRaw(buffer.AsSpan(0, n));
                left -= n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        Pad();
    }

    private void Pad()
    {
        var pad = (int)(Align4(_position) - _position);
        if (pad > 0)
        {
            WriteRaw(stackalloc byte[pad]);
        }
    }

    private void WriteRaw(ReadOnlySpan<byte> bytes)
    {
        _output.Write(bytes);
        _position += bytes.Length;
    }

    private static int Align4(int v) => (v + 3) & ~3;

    private static long Align4(long v) => (v + 3) & ~3L;
}
