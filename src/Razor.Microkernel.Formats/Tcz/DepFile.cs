namespace Razor.Microkernel.Formats.Tcz;

/// <summary>A <c>NAME.tcz.dep</c> file: one dependency a line.</summary>
public static class DepFile
{
    /// <summary>Parses a <c>.dep</c> file as tce-load reads it: all spaces and tabs are stripped, empty
    /// lines skipped (CRLF, CR and LF line ends, with or without a final newline), <c>-KERNEL.tcz</c>
    /// becomes <c>-<paramref name="kernel"/>.tcz</c>, and every name is normalised to <c>NAME.tcz</c>.
    /// Duplicates are kept once, in first-seen order.</summary>
    /// <exception cref="KernelVersionRequiredException">A line has the placeholder and <paramref name="kernel"/> is empty.</exception>
    public static IReadOnlyList<string> Parse(string text, string? kernel)
    {
        ArgumentNullException.ThrowIfNull(text);
        var result = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var raw in text.Split('\n'))
        {
            var line = StripBlanks(raw);
            if (line.Length == 0)
            {
                continue;
            }

            var name = ExtensionName.Normalize(line, kernel);
            if (seen.Add(name))
            {
                result.Add(name);
            }
        }

        return result;
    }

    private static string StripBlanks(string line)
    {
        var sb = new System.Text.StringBuilder(line.Length);
        foreach (var c in line)
        {
            if (c is not (' ' or '\t' or '\r' or '\v' or '\f' or '\uFEFF'))
            {
                sb.Append(c);
            }
        }

        return sb.ToString();
    }
}
