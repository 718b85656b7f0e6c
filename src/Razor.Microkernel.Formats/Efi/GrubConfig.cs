using System.Globalization;
using System.Text;

namespace Razor.Microkernel.Formats.Efi;

/// <summary>
/// GRUB configuration (<c>grub.cfg</c>): the one the SDK writes to boot the microkernel, and the edit that adds
/// kernel arguments to a release's own, as <c>isolinux.cfg</c>'s <c>append</c> lines are edited.
/// </summary>
public static class GrubConfig
{
    /// <summary>Largest grub.cfg read from a release.</summary>
    public const int MaxBytes = 1 << 20;

    /// <summary>Appends <paramref name="args"/> to every kernel line (<c>linux</c> or <c>linuxefi</c> followed by a
    /// path; GRUB commands are case-sensitive); <paramref name="kernelLines"/> says how many there are. Line ends
    /// become LF.</summary>
    public static string WithKernelArgs(string cfg, string args, out int kernelLines)
    {
        ArgumentNullException.ThrowIfNull(cfg);
        kernelLines = 0;
        var lines = cfg.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var words = lines[i].Split([' ', '\t'], 3, StringSplitOptions.RemoveEmptyEntries);
            if (words.Length >= 2 && words[0] is "linux" or "linuxefi")
            {
                kernelLines++;
                if (!string.IsNullOrWhiteSpace(args))
                {
                    lines[i] = lines[i].TrimEnd() + " " + args.Trim();
                }
            }
        }

        return string.Join('\n', lines);
    }

    /// <summary>The configuration that boots the microkernel at once: the device holding the marker file becomes
    /// the root (the ISO 9660 file system, on a CD or the whole disk of an isohybrid stick), then its kernel and
    /// initrd with the arguments.</summary>
    public static string ForMicrokernel(string title, string markerPath, string kernelPath, string initrdPath, string args)
    {
        var line = string.IsNullOrWhiteSpace(args) ? "" : " " + args.Trim();
        return string.Create(CultureInfo.InvariantCulture, $"""
            # Written by Razor.Microkernel.Sdk: boots the microkernel from the ISO 9660 file system that holds {markerPath}.
            set default=0
            set timeout=0
            search --no-floppy --set=root --file {markerPath}
            menuentry "{title}" {"{"}
                linux /{kernelPath}{line}
                initrd /{initrdPath}
            {"}"}

            """).Replace("\r\n", "\n", StringComparison.Ordinal);
    }

    /// <summary>Reads a configuration's text (UTF-8), refusing one larger than <see cref="MaxBytes"/>.</summary>
    public static string Read(Stream s, long length, string path)
    {
        if (length > MaxBytes)
        {
            throw new EfiBootException(EfiBootProblem.ConfigNotEditable, path, $"it is {length} bytes, more than the {MaxBytes} a boot configuration may be");
        }

        using var reader = new StreamReader(s, Encoding.UTF8, detectEncodingFromByteOrderMarks: false, leaveOpen: true);
        return reader.ReadToEnd();
    }
}
