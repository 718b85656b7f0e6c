using System.Globalization;

namespace Razor.Microkernel.Tasks;

/// <summary>
/// How each property is read, in one place: the step that uses a property and the check made before any work
/// (CheckMicrokernelProperties) accept and refuse exactly the same values.
/// </summary>
internal static class PropertyChecks
{
    /// <summary>OverlayCompressionLevel: empty (6) or 0–9.</summary>
    public static bool TryCompressionLevel(string? text, out int level)
    {
        level = 6;
        return string.IsNullOrWhiteSpace(text)
            || (int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out level) && level <= 9);
    }

    /// <summary>GemInstallMode: empty, Preinstall or BootTime (any case).</summary>
    public static bool IsGemInstallMode(string? text)
        => string.IsNullOrWhiteSpace(text) || text.Trim().Equals("Preinstall", StringComparison.OrdinalIgnoreCase)
            || text.Trim().Equals("BootTime", StringComparison.OrdinalIgnoreCase);

    /// <summary>RubyVersion: two or more dot-separated numbers (1.8, 1.8.7).</summary>
    public static bool IsRubyVersion(string? text)
    {
        var parts = (text ?? string.Empty).Trim().Split('.');
        return parts.Length >= 2 && parts.All(p => p.Length > 0 && p.All(char.IsAsciiDigit));
    }

    /// <summary>MicrokernelInitrdMode: empty (Append), Append or Merge.</summary>
    public static bool TryInitrdMode(string? text, out Formats.Iso9660.InitrdMode mode)
    {
        mode = Formats.Iso9660.InitrdMode.Append;
        return string.IsNullOrWhiteSpace(text) || Enum.TryParse(text.Trim(), ignoreCase: true, out mode);
    }

    /// <summary>MicrokernelVersion: a semantic version such as 1.2.0 or 1.2.0-rc.1 (<c>^\d+\.\d+\.\d+([-+][0-9A-Za-z.+-]+)?$</c>),
    /// read without a regular expression (this runs on every build of an ISO).</summary>
    public static bool IsMicrokernelVersion(string? text)
    {
        if (text is null)
        {
            return false;
        }

        var i = 0;
        for (var part = 0; part < 3; part++)
        {
            var start = i;
            while (i < text.Length && char.IsAsciiDigit(text[i]))
            {
                i++;
            }

            if (i == start || (part < 2 && (i >= text.Length || text[i++] != '.')))
            {
                return false;
            }
        }

        if (i == text.Length)
        {
            return true;
        }

        if (text[i] is not ('-' or '+') || i + 1 == text.Length)
        {
            return false;
        }

        for (i++; i < text.Length; i++)
        {
            if (!char.IsAsciiLetterOrDigit(text[i]) && text[i] is not ('.' or '+' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A switch such as MicrokernelPxe: empty (the default: null), or a word MSBuild's conditions take for true or
    /// false (<c>'$(P)' == 'true'</c> holds for <c>yes</c> and <c>on</c> too): true, on, yes, !false, !off, !no; false,
    /// off, no, !true, !on, !yes, in any case.</summary>
    public static bool TryParseSwitch(string? text, out bool? value)
    {
        value = null;
        var word = (text ?? "").Trim().ToLowerInvariant();
        switch (word)
        {
            case "":
                return true;
            case "true" or "on" or "yes" or "!false" or "!off" or "!no":
                value = true;
                return true;
            case "false" or "off" or "no" or "!true" or "!on" or "!yes":
                value = false;
                return true;
            default:
                return false;
        }
    }

    /// <summary>MicrokernelKernelArgs: one line, no NUL.</summary>
    public static bool IsKernelArgs(string? text) => text is null || text.IndexOfAny(['\r', '\n', '\0']) < 0;
}
