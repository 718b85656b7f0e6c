using System.Buffers.Binary;

namespace Razor.Microkernel.Formats.Efi;

/// <summary>A file that was to be a UEFI loader is not an x86_64 EFI application; <see cref="Reason"/> says what it is.</summary>
public sealed class EfiApplicationException(string reason, long offset = -1)
    : MicrokernelFormatException(offset >= 0 ? $"{reason} (at byte {offset})" : reason, offset)
{
    public string Reason { get; } = reason;
}

/// <summary>
/// Checks that a file is what UEFI firmware on x86_64 starts as <c>\EFI\BOOT\BOOTX64.EFI</c>: a PE/COFF image
/// (an <c>MZ</c> header whose <c>e_lfanew</c> at 0x3C points at <c>PE\0\0</c>) for machine 0x8664 (x86_64) with a
/// PE32+ optional header (magic 0x20B) whose subsystem is 10, EFI application. Only the headers are read.
/// </summary>
public static class EfiApplication
{
    public const ushort MachineX64 = 0x8664;
    public const ushort SubsystemEfiApplication = 10;

    /// <summary>Largest loader accepted (GRUB with every module built in is a few MiB).</summary>
    public const long MaxBytes = 64L << 20;

    /// <summary>Throws <see cref="EfiApplicationException"/> unless <paramref name="image"/> is an x86_64 EFI application.</summary>
    public static void Check(Stream image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var length = image.CanSeek ? image.Length : -1;
        if (length > MaxBytes)
        {
            throw new EfiApplicationException($"it is {length} bytes, more than the {MaxBytes} a loader may be");
        }

        var head = new byte[4096];
        var n = image.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        Check(head.AsSpan(0, n), length < 0 ? n : length);
    }

    /// <summary>Checks the first bytes of an image (its headers must lie within them) of <paramref name="length"/> bytes.</summary>
    public static void Check(ReadOnlySpan<byte> head, long length)
    {
        if (head.Length < 0x40 || head[0] != (byte)'M' || head[1] != (byte)'Z')
        {
            throw new EfiApplicationException("it is not a PE/COFF image: no MZ header", 0);
        }

        var pe = BinaryPrimitives.ReadUInt32LittleEndian(head[0x3C..]);
        if (pe > (uint)head.Length - 24 || pe > length - 24)
        {
            throw new EfiApplicationException($"it is not a PE/COFF image: the PE header offset 0x{pe:X} lies outside its first {head.Length} bytes", 0x3C);
        }

        var p = (int)pe;
        if (!head.Slice(p, 4).SequenceEqual("PE\0\0"u8))
        {
            throw new EfiApplicationException("it is not a PE/COFF image: no PE signature (perhaps a DOS program)", p);
        }

        var machine = BinaryPrimitives.ReadUInt16LittleEndian(head[(p + 4)..]);
        if (machine != MachineX64)
        {
            throw new EfiApplicationException($"it is built for machine 0x{machine:X4} ({MachineName(machine)}), not x86_64 (0x8664)", p + 4);
        }

        var optionalSize = BinaryPrimitives.ReadUInt16LittleEndian(head[(p + 20)..]);
        var optional = p + 24;
        if (optionalSize < 70 || optional + 70 > head.Length)
        {
            throw new EfiApplicationException($"its optional header of {optionalSize} bytes is too short to name a subsystem", p + 20);
        }

        var magic = BinaryPrimitives.ReadUInt16LittleEndian(head[optional..]);
        if (magic != 0x20B)
        {
            throw new EfiApplicationException($"its optional header has magic 0x{magic:X3}, not PE32+ (0x20B)", optional);
        }

        var subsystem = BinaryPrimitives.ReadUInt16LittleEndian(head[(optional + 68)..]);
        if (subsystem != SubsystemEfiApplication)
        {
            throw new EfiApplicationException($"its subsystem is {subsystem} ({SubsystemName(subsystem)}), not 10 (EFI application)", optional + 68);
        }
    }

    private static string MachineName(ushort machine) => machine switch
    {
        0x014C => "i386",
        0xAA64 => "ARM64",
        0x01C4 => "ARM",
        0x5064 => "RISC-V 64",
        0x0200 => "Itanium",
        0xEBC => "EFI byte code",
        _ => "unknown",
    };

    private static string SubsystemName(ushort subsystem) => subsystem switch
    {
        1 => "native",
        2 => "Windows GUI",
        3 => "Windows console",
        11 => "EFI boot service driver",
        12 => "EFI runtime driver",
        13 => "EFI ROM",
        _ => "not EFI",
    };
}
