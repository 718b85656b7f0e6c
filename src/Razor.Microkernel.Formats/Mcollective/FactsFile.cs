using System.Globalization;
using System.Text;

namespace Razor.Microkernel.Formats.Mcollective;

/// <summary>A fact name that cannot be a key of the facts file, or a value that cannot be encoded.</summary>
public sealed class FactsFileException(string name, string reason)
    : MicrokernelFormatException($"Fact '{name}': {reason}")
{
    public string FactName { get; } = name;
    public string Reason { get; } = reason;
}

/// <summary>
/// Writes the facts file <c>plugin.yaml</c> names: a YAML hash that is never empty (<c>mcollective: 1</c> when no
/// facts are given). Facts keep their order. Names must match <c>[A-Za-z_][A-Za-z0-9_.-]*</c> and be unique; they
/// are written plain, or double-quoted when YAML 1.1 would read them as a boolean or null (<c>yes</c>, <c>off</c>,
/// <c>null</c> …). Values are always double-quoted with escapes for <c>\</c>, <c>"</c>, control characters, line and
/// paragraph separators and non-characters, so every string reads back exactly; only a string with an unpaired
/// surrogate (which UTF-8 cannot hold) is refused.
/// </summary>
public static class FactsFile
{
    public const string DefaultContent = "mcollective: 1\n";

    private static readonly HashSet<string> Yaml11Words = new(StringComparer.OrdinalIgnoreCase)
    {
        "y", "n", "yes", "no", "true", "false", "on", "off", "null",
    };

    public static string Write(IReadOnlyList<(string Name, string Value)> facts)
    {
        ArgumentNullException.ThrowIfNull(facts);
        if (facts.Count == 0)
        {
            return DefaultContent;
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        var sb = new StringBuilder();
        foreach (var (name, value) in facts)
        {
            CheckName(name);
            if (!seen.Add(name))
            {
                throw new FactsFileException(name, "the fact is given twice.");
            }

            sb.Append(Yaml11Words.Contains(name) ? $"\"{name}\"" : name).Append(": ");
            AppendQuoted(sb, name, value ?? string.Empty);
            sb.Append('\n');
        }

        return sb.ToString();
    }

    /// <summary><see cref="Write"/> as UTF-8 without a byte order mark.</summary>
    public static byte[] WriteUtf8(IReadOnlyList<(string Name, string Value)> facts) => new UTF8Encoding(false).GetBytes(Write(facts));

    private static void CheckName(string name)
    {
        if (string.IsNullOrEmpty(name))
        {
            throw new FactsFileException(name ?? string.Empty, "a fact needs a name.");
        }

        var ok = (char.IsAsciiLetter(name[0]) || name[0] == '_')
            && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-');
        if (!ok)
        {
            throw new FactsFileException(ServerConfigBuilder.Printable(name),
                "a fact name must start with a letter or '_' and hold only letters, digits, '_', '.' and '-'.");
        }
    }

    private static void AppendQuoted(StringBuilder sb, string name, string value)
    {
        sb.Append('"');
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                sb.Append(c).Append(value[i + 1]);
                i++;
                continue;
            }

            if (char.IsSurrogate(c))
            {
                throw new FactsFileException(name, "the value holds an unpaired surrogate, which UTF-8 cannot encode.");
            }

            switch (c)
            {
                case '\\': sb.Append(@"\\"); break;
                case '"': sb.Append("\\\""); break;
                case '\0': sb.Append(@"\0"); break;
                case '\a': sb.Append(@"\a"); break;
                case '\b': sb.Append(@"\b"); break;
                case '\t': sb.Append(@"\t"); break;
                case '\n': sb.Append(@"\n"); break;
                case '\v': sb.Append(@"\v"); break;
                case '\f': sb.Append(@"\f"); break;
                case '\r': sb.Append(@"\r"); break;
                case '\u001B': sb.Append(@"\e"); break;
                default:
                    if (c < 0x20 || c == 0x7F)
                    {
                        sb.Append(@"\x").Append(((int)c).ToString("X2", CultureInfo.InvariantCulture));
                    }
                    else if (c is (>= '\u0080' and <= '\u009F') or '\u2028' or '\u2029' or '\uFEFF' or '\uFFFE' or '\uFFFF')
                    {
                        sb.Append(@"\u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        sb.Append(c);
                    }

                    break;
            }
        }

        sb.Append('"');
    }
}
