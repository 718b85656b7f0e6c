using Razor.Microkernel.Formats.IO;

namespace Razor.Microkernel.Formats.Tar;

/// <summary>
/// Wraps the input of a <see cref="System.Formats.Tar.TarReader"/> to tell a complete archive from one cut
/// at an entry boundary: the reader returns no more entries in both cases, but only a complete archive's
/// last read is its zero end-of-archive block. Call <see cref="EnsureEnded"/> after the last entry.
/// </summary>
public sealed class TarEndCheckStream(Stream inner, bool leaveOpen = false) : ReadOnlyStream
{
    private bool _lastReadAllZero;
    private bool _anyRead;

    /// <summary>Throws <see cref="ArchiveFormatException"/> when the archive stopped without its end marker.</summary>
    public void EnsureEnded()
    {
        if (_anyRead && !_lastReadAllZero)
        {
            throw new ArchiveFormatException("the archive ends without its end-of-archive blocks: it is truncated");
        }
    }

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

    protected override void Dispose(bool disposing)
    {
        if (disposing && !leaveOpen)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
