using System.Globalization;

namespace Razor.Microkernel.Formats.Report;

/// <summary>Escaping for text and quoted attribute values, and the number formats of the report.</summary>
internal static class Html
{
    /// <summary>
    /// Writes <paramref name="text"/> safely for element content and for a double-quoted attribute value:
    /// <c>&amp; &lt; &gt; " '</c> become character references. Control characters and unpaired surrogates,
    /// which HTML cannot carry, are shown as <c>\xNN</c> / <c>\uXXXX</c> so that a hostile name stays visible
    /// and unambiguous.
    /// </summary>
    public static void Write(TextWriter w, string text)
    {
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            string? replacement = c switch
            {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' => "&quot;",
                '\'' => "&#39;",
                _ => null,
            };
            if (replacement is null)
            {
                if (c < 0x20 || (c >= 0x7F && c < 0xA0))
                {
                    replacement = "\\x" + ((int)c).ToString("X2", CultureInfo.InvariantCulture);
                }
                else if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                {
                    i++;
                    continue;
                }
                else if (char.IsSurrogate(c))
                {
                    replacement = "\\u" + ((int)c).ToString("X4", CultureInfo.InvariantCulture);
                }
                else
                {
                    continue;
                }
            }

            w.Write(text.AsSpan(start, i - start));
            w.Write(replacement);
            start = i + 1;
        }

        w.Write(text.AsSpan(start));
    }

    public static string Escape(string text)
    {
        using var w = new StringWriter(CultureInfo.InvariantCulture);
        Write(w, text);
        return w.ToString();
    }

    /// <summary>The same units as the build's messages: B, KB, MB, GB (powers of 1024).</summary>
    public static string Bytes(long n) => n switch
    {
        < 1024 => n.ToString(CultureInfo.InvariantCulture) + " B",
        < 1024 * 1024 => string.Format(CultureInfo.InvariantCulture, "{0:0.0} KB", n / 1024.0),
        < 1024L * 1024 * 1024 => string.Format(CultureInfo.InvariantCulture, "{0:0.0} MB", n / (1024.0 * 1024)),
        _ => string.Format(CultureInfo.InvariantCulture, "{0:0.00} GB", n / (1024.0 * 1024 * 1024)),
    };

    /// <summary>An integer with thousands separators: 1,234,567.</summary>
    public static string Count(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>A share of a total as a percentage with one decimal.</summary>
    public static string Percent(long part, long total)
        => total <= 0 ? "–" : string.Format(CultureInfo.InvariantCulture, "{0:0.0} %", 100.0 * part / total);

    /// <summary>A pixel coordinate, rounded to a tenth (the same on every machine).</summary>
    public static string Px(double v) => Math.Round(v, 1, MidpointRounding.AwayFromZero).ToString("0.#", CultureInfo.InvariantCulture);
}
