using System.Text;

namespace Razor.Microkernel.Formats.Gems;

/// <summary>Ruby 2.x/3.x <c>String#dump</c> and <c>String#inspect</c>, as RubyGems 3 writes strings into gemspecs.</summary>
public static class RubyString
{
    /// <summary><c>String#dump</c> of a UTF-8 string: every character outside printable ASCII escaped
    /// (<c>\u00E9</c>, <c>\u{1F600}</c>, <c>\x01</c>), and <c>#</c> before <c>{ $ @</c>.</summary>
    public static string Dump(string s) => Dump(Encoding.UTF8.GetBytes(s), binary: false);

    /// <summary><c>String#dump</c> of an ASCII-8BIT string (a YAML <c>!binary</c> value): bytes outside
    /// printable ASCII as <c>\xHH</c>.</summary>
    public static string DumpBinary(byte[] bytes) => Dump(bytes, binary: true);

    private static string Dump(byte[] b, bool binary)
    {
        var sb = new StringBuilder(b.Length + 2);
        sb.Append('"');
        for (var i = 0; i < b.Length; i++)
        {
            var c = b[i];
            switch (c)
            {
                case (byte)'"' or (byte)'\\':
                    sb.Append('\\').Append((char)c);
                    continue;
                case (byte)'#':
                    sb.Append(i + 1 < b.Length && b[i + 1] is (byte)'$' or (byte)'@' or (byte)'{' ? "\\#" : "#");
                    continue;
                case (byte)'\n': sb.Append("\\n"); continue;
                case (byte)'\r': sb.Append("\\r"); continue;
                case (byte)'\t': sb.Append("\\t"); continue;
                case 0x0c: sb.Append("\\f"); continue;
                case 0x0b: sb.Append("\\v"); continue;
                case 0x08: sb.Append("\\b"); continue;
                case 0x07: sb.Append("\\a"); continue;
                case 0x1b: sb.Append("\\e"); continue;
                case >= 0x20 and < 0x7f:
                    sb.Append((char)c);
                    continue;
            }

            if (!binary && c >= 0x80 && TryDecode(b, i, out var codePoint, out var length))
            {
                sb.Append(codePoint > 0xFFFF ? $"\\u{{{codePoint:X}}}" : $"\\u{codePoint:X4}");
                i += length - 1;
                continue;
            }

            sb.Append($"\\x{c:X2}");
        }

        return sb.Append('"').ToString();
    }

    /// <summary>One well-formed UTF-8 sequence at <paramref name="i"/>.</summary>
    private static bool TryDecode(byte[] b, int i, out int codePoint, out int length)
    {
        codePoint = 0;
        length = b[i] switch
        {
            >= 0xC2 and <= 0xDF => 2,
            >= 0xE0 and <= 0xEF => 3,
            >= 0xF0 and <= 0xF4 => 4,
            _ => 0,
        };
        if (length == 0 || i + length > b.Length)
        {
            return false;
        }

        return System.Text.Rune.DecodeFromUtf8(b.AsSpan(i, length), out var rune, out var consumed) == System.Buffers.OperationStatus.Done
               && consumed == length && (codePoint = rune.Value) >= 0;
    }

    /// <summary><c>String#inspect</c> of an ASCII string (requirement lists: operators and versions).</summary>
    public static string Inspect(string s)
    {
        var sb = new StringBuilder(s.Length + 2).Append('"');
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            switch (c)
            {
                case '"' or '\\': sb.Append('\\').Append(c); break;
                case '#': sb.Append(i + 1 < s.Length && s[i + 1] is '$' or '@' or '{' ? "\\#" : "#"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\f': sb.Append("\\f"); break;
                case '\v': sb.Append("\\v"); break;
                case '\b': sb.Append("\\b"); break;
                case '\a': sb.Append("\\a"); break;
                case '\u001b': sb.Append("\\e"); break;
                case < ' ' or '\u007f': sb.Append($"\\u{(int)c:X4}"); break;
                case > '\u007f': throw new ArgumentException("only ASCII is written through String#inspect here", nameof(s));
                default: sb.Append(c); break;
            }
        }

        return sb.Append('"').ToString();
    }
}
