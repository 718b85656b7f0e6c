using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;

namespace Razor.Microkernel.Formats.Release;

/// <summary>A kernel file that is not an x86 bzImage with a version string.</summary>
public sealed class KernelImageException(string reason, long offset = -1)
    : MicrokernelFormatException($"not an x86 Linux kernel (bzImage) with a version string: {reason}", offset)
{
    public string Reason { get; } = reason;
}

/// <summary>
/// Reads the kernel release (what <c>uname -r</c> prints on it) from an x86 bzImage, as the
/// <c>file</c> command does: the real-mode setup header (Linux boot protocol 2.00 and later; Documentation/arch/x86/boot.rst)
/// holds at 0x20E a pointer, less 0x200, to a NUL-terminated version string inside the setup code, whose first word
/// is the release.
/// </summary>
public static partial class KernelImage
{
    private const int BootFlagOffset = 0x1FE;
    private const int SetupSectorsOffset = 0x1F1;
    private const int HeaderMagicOffset = 0x202;
    private const int ProtocolOffset = 0x206;
    private const int VersionPointerOffset = 0x20E;
    private const uint HeaderMagic = 0x53726448; // "HdrS"
    private const int MaxVersionString = 512;

    /// <summary>The kernel release of the bzImage in <paramref name="kernel"/> (read from its start; at most the setup code,
    /// 128 KiB, is read).</summary>
    /// <exception cref="KernelImageException">Not a bzImage, or no readable version string.</exception>
    public static string ReadRelease(Stream kernel)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        var head = new byte[0x400];
        var n = kernel.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        if (n < VersionPointerOffset + 2)
        {
            throw new KernelImageException($"the file has {n} bytes, fewer than a boot sector and setup header", n);
        }

        if (BinaryPrimitives.ReadUInt16LittleEndian(head.AsSpan(BootFlagOffset)) != 0xAA55)
        {
            throw new KernelImageException("no boot sector signature 55 AA", BootFlagOffset);
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(head.AsSpan(HeaderMagicOffset)) != HeaderMagic)
        {
            throw new KernelImageException("no setup header (HdrS)", HeaderMagicOffset);
        }

        var protocol = BinaryPrimitives.ReadUInt16LittleEndian(head.AsSpan(ProtocolOffset));
        if (protocol < 0x0200)
        {
            throw new KernelImageException($"boot protocol {protocol >> 8}.{protocol & 0xFF:D2} has no version string", ProtocolOffset);
        }

        var pointer = BinaryPrimitives.ReadUInt16LittleEndian(head.AsSpan(VersionPointerOffset));
        if (pointer == 0)
        {
            throw new KernelImageException("the version string pointer is 0", VersionPointerOffset);
        }

        var setupSectors = head[SetupSectorsOffset] == 0 ? 4 : head[SetupSectorsOffset];
        var setupBytes = (setupSectors + 1) * 512;
        long at = pointer + 0x200;
        if (at >= setupBytes)
        {
            throw new KernelImageException($"the version string pointer 0x{pointer:X} lies beyond the {setupBytes}-byte setup code", VersionPointerOffset);
        }

        var text = ReadString(kernel, head, n, at, setupBytes);
        var release = text.Split(' ', 2)[0];
        if (!IsKernelRelease(release))
        {
            throw new KernelImageException($"the version string '{Printable(text)}' does not start with a kernel release", at);
        }

        return release;
    }

    /// <summary>The release of the kernel file at <paramref name="path"/>.</summary>
    public static string ReadRelease(string path)
    {
        using var s = File.OpenRead(path);
        return ReadRelease(s);
    }

    /// <summary>True for a kernel release a shell word and a file name can hold: letters, digits, <c>. _ + ~ -</c>,
    /// at most 64 characters (Linux's <c>UTS_RELEASE</c> limit).</summary>
    public static bool IsKernelRelease(string? release) => release is { Length: > 0 and <= 64 } && Release().IsMatch(release);

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._+~-]*$")]
    private static partial Regex Release();

    private static string ReadString(Stream kernel, byte[] head, int headLength, long at, int setupBytes)
    {
        var bytes = new List<byte>();
        var limit = Math.Min(setupBytes, at + MaxVersionString);
        if (at < headLength)
        {
            for (var i = (int)at; i < Math.Min(headLength, limit); i++)
            {
                if (head[i] == 0)
                {
                    return Encoding.ASCII.GetString([.. bytes]);
                }

                bytes.Add(head[i]);
            }
        }
        else
        {
            // Skip to the string (a stream that cannot seek is read forward).
            var skip = at - headLength;
            var buffer = new byte[4096];
            while (skip > 0)
            {
                var r = kernel.Read(buffer, 0, (int)Math.Min(buffer.Length, skip));
                if (r == 0)
                {
                    throw new KernelImageException("the file ends before the version string", at);
                }

                skip -= r;
            }
        }

        var position = at + bytes.Count;
        while (position < limit)
        {
            var b = kernel.ReadByte();
            if (b < 0)
            {
                throw new KernelImageException("the file ends inside the version string", position);
            }

            if (b == 0)
            {
                return Encoding.ASCII.GetString([.. bytes]);
            }

            bytes.Add((byte)b);
            position++;
        }

        throw new KernelImageException($"the version string is not terminated within {limit - at} bytes", at);
    }

    private static string Printable(string s)
    {
        var sb = new StringBuilder();
        foreach (var c in s.Length > 80 ? s[..80] : s)
        {
            sb.Append(c is >= ' ' and < (char)0x7F ? c : '?');
        }

        return sb.ToString();
    }
}
