using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace Razor.Microkernel.Formats.IO;

/// <summary>What a path names, after following symlinks.</summary>
public enum InputFileKind
{
    Missing,
    Regular,
    Directory,
    CharacterDevice,
    BlockDevice,
    Fifo,
    Socket,
    Other,
}

/// <summary>
/// The identity of a local input file, cheap enough to take on every build: size, modification and change
/// times (nanoseconds), inode and device, from <c>statx(2)</c> following symlinks. A file replaced by another
/// (<c>cp -p</c>, <c>tar x</c>, <c>git checkout</c>, <c>wget</c> with the server's time) or rewritten and
/// given an old date (<c>touch -d</c>) gets a new change time or inode even when its modification time
/// goes back, so a changed fingerprint is what says "this input changed", not the modification time alone.
/// Where <c>statx</c> is not available (not Linux), the fingerprint holds the size, the modification time
/// and a SHA-256 of the content instead: slower, never wrong.
/// </summary>
public readonly record struct InputFileStatus(InputFileKind Kind, string Fingerprint)
{
    public bool IsRegular => Kind == InputFileKind.Regular;
}

public static class InputFile
{
    private const int AtFdCwd = -100;
    private const uint StatxBasicStats = 0x7FF;
    private const int StatxSize = 256;
    private static bool s_noStatx;

    /// <summary>Describes <paramref name="path"/> (following symlinks) and fingerprints it when it is a regular file.
    /// Never opens anything but a regular file, so a FIFO, a device or a link to one is never read.</summary>
    /// <exception cref="IOException">The path exists but cannot be examined (permissions, I/O error).</exception>
    public static InputFileStatus Stat(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (OperatingSystem.IsLinux() && !s_noStatx)
        {
            var buffer = new byte[StatxSize];
            int result;
            int errno;
            try
            {
                // errno read here, right after the call, rather than kept by the marshalling stub (SetLastError): compiled
                // ahead of time (the ReadyToRun task assemblies) that stub handed back a wrong one, and a name beyond
                // NAME_MAX was reported missing (ENOENT for ENAMETOOLONG). This is what LibraryImport's generated code does.
                // The path goes in as bytes, so nothing (no string buffer to free) runs between the call and the read.
                var name = new byte[Encoding.UTF8.GetByteCount(path) + 1];
                Encoding.UTF8.GetBytes(path, name);
                Marshal.SetLastSystemError(0);
                result = NativeMethods.Statx(AtFdCwd, name, 0, StatxBasicStats, buffer);
                errno = Marshal.GetLastSystemError();
            }
            catch (EntryPointNotFoundException)
            {
                s_noStatx = true;
                return Portable(path);
            }

            if (result == 0)
            {
                return FromStatx(buffer);
            }

            switch (errno)
            {
                case 2 or 20: // ENOENT, ENOTDIR
                    return new InputFileStatus(InputFileKind.Missing, string.Empty);
                case 38: // ENOSYS: a kernel or sandbox without statx
                    s_noStatx = true;
                    return Portable(path);
                case 40: // ELOOP: a symlink cycle names nothing
                    return new InputFileStatus(InputFileKind.Other, string.Empty);
                default:
                    throw new IOException($"cannot examine '{path}': {Marshal.GetPInvokeErrorMessage(errno)}");
            }
        }

        return Portable(path);
    }

    private static InputFileStatus FromStatx(ReadOnlySpan<byte> s)
    {
        var mode = BinaryPrimitives.ReadUInt16LittleEndian(s[28..]);
        var kind = (mode & 0xF000) switch
        {
            0x8000 => InputFileKind.Regular,
            0x4000 => InputFileKind.Directory,
            0x2000 => InputFileKind.CharacterDevice,
            0x6000 => InputFileKind.BlockDevice,
            0x1000 => InputFileKind.Fifo,
            0xC000 => InputFileKind.Socket,
            _ => InputFileKind.Other,
        };
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("statx fingerprints are read little-endian");
        }

        var inode = BinaryPrimitives.ReadUInt64LittleEndian(s[32..]);
        var size = BinaryPrimitives.ReadUInt64LittleEndian(s[40..]);
        static string Time(ReadOnlySpan<byte> t) => string.Create(CultureInfo.InvariantCulture,
            $"{BinaryPrimitives.ReadInt64LittleEndian(t)}.{BinaryPrimitives.ReadUInt32LittleEndian(t[8..]):D9}");
        var ctime = Time(s[96..]);
        var mtime = Time(s[112..]);
        var devMajor = BinaryPrimitives.ReadUInt32LittleEndian(s[136..]);
        var devMinor = BinaryPrimitives.ReadUInt32LittleEndian(s[140..]);
        return new InputFileStatus(kind, kind == InputFileKind.Regular
            ? string.Create(CultureInfo.InvariantCulture, $"size={size} mtime={mtime} ctime={ctime} inode={devMajor}:{devMinor}:{inode}")
            : string.Empty);
    }

    /// <summary>Without statx: the type from the file system's attributes (directories, and devices on Windows; a
    /// FIFO or device on another Unix is not told apart here), and a content hash for regular files.</summary>
    private static InputFileStatus Portable(string path)
    {
        FileSystemInfo info = new FileInfo(path);
        if (info.LinkTarget is not null)
        {
            info = info.ResolveLinkTarget(returnFinalTarget: true) ?? info;
        }

        if (!info.Exists)
        {
            return Directory.Exists(info.FullName)
                ? new InputFileStatus(InputFileKind.Directory, string.Empty)
                : new InputFileStatus(InputFileKind.Missing, string.Empty);
        }

        if (OperatingSystem.IsWindows() && (info.Attributes & FileAttributes.Device) != 0)
        {
            return new InputFileStatus(InputFileKind.CharacterDevice, string.Empty);
        }

        var file = (FileInfo)info;
        using var stream = new FileStream(file.FullName, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var hash = Convert.ToHexStringLower(SHA256.HashData(stream));
        return new InputFileStatus(InputFileKind.Regular, string.Create(CultureInfo.InvariantCulture,
            $"size={file.Length} mtime={file.LastWriteTimeUtc.Ticks} sha256={hash}"));
    }

    private static class NativeMethods
    {
        [DllImport("libc", EntryPoint = "statx")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int Statx(int dirfd, byte[] path, int flags, uint mask, [Out] byte[] buffer);
    }
}
