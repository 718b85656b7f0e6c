using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using YamlDotNet.Core;

namespace Razor.Microkernel.Formats.Gems;

/// <summary>
/// Reads the YAML of a <c>Gem::Specification</c> in every dialect found in the wild (Psych, Syck, modern,
/// <c>!binary</c> values, anchors and aliases) that Ruby's loaders read (<see cref="RubyYaml"/>). Tags are never
/// trusted for types: each field is read by its name and shape, as RubyGems' own loaders effectively do. Aliases
/// are shared in the tree; every visit of one counts against <see cref="GemReadOptions.MaxMetadataNodes"/> and
/// <see cref="GemReadOptions.MaxMetadataChars"/>, so nested aliases cannot expand into more than that.
/// </summary>
public static partial class GemMetadataReader
{
    private static readonly HashSet<string> ListAttributes = new(StringComparer.Ordinal)
    {
        "authors", "cert_chain", "executables", "extensions", "extra_rdoc_files", "files", "licenses",
        "rdoc_options", "require_paths", "requirements", "test_files",
    };

    /// <summary>Parses the YAML of a specification. <paramref name="gem"/> names the gem in errors,
    /// <paramref name="entry"/> the part it came from (<c>metadata.gz</c>, or <c>metadata</c> in early gems).</summary>
    public static GemSpecification Parse(string yaml, string gem = "metadata", GemReadOptions? limits = null, string entry = "metadata.gz")
    {
        ArgumentNullException.ThrowIfNull(yaml);
        limits ??= GemReadOptions.Default;
        RubyYamlMapping root;
        try
        {
            root = RubyYaml.Load(NormalizeInput(yaml)) as RubyYamlMapping
                   ?? throw new GemFormatException(gem, entry, "the YAML is not a Gem::Specification mapping");
        }
        catch (YamlException e)
        {
            throw new GemFormatException(gem, entry, $"the YAML cannot be read: {e.Message}", e);
        }

        var budget = new RubyYamlBudget(limits.MaxMetadataNodes, limits.MaxMetadataChars);
        var attributes = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (keyNode, valueNode) in root.Pairs)
        {
            if (keyNode is not RubyYamlScalar { Value: var rawKey } keyScalar)
            {
                continue;
            }

            var key = rawKey;
            try
            {
                key = IsBinary(keyScalar) ? DecodeBinary(rawKey) as string ?? rawKey : rawKey;
                Spend(budget, valueNode, gem, entry);
                attributes[key] = key switch
                {
                    "name" => ScalarText(valueNode),
                    "version" => ReadVersion(valueNode),
                    "platform" or "original_platform" => ReadPlatform(valueNode),
                    "dependencies" => ReadDependencies(valueNode),
                    "required_ruby_version" or "required_rubygems_version" => ReadRequirement(valueNode),
                    "date" => ReadDate(valueNode),
                    "specification_version" => ReadValue(valueNode) is long l ? l : (object?)null,
                    _ => ReadValue(valueNode),
                };
            }
            catch (Exception e) when (e is FormatException or InvalidOperationException or ArgumentException or OverflowException)
            {
                throw new GemFormatException(gem, entry, $"'{key}': {e.Message}", e);
            }
        }

        if (attributes.TryGetValue("platform", out var pl) && pl is null && attributes.TryGetValue("original_platform", out var op))
        {
            attributes["platform"] = op;
        }

        foreach (var list in ListAttributes)
        {
            if (attributes.TryGetValue(list, out var v) && v is string s)
            {
                attributes[list] = new List<object?> { s }; // a lone string where a list belongs
            }
        }

        if (!attributes.TryGetValue("name", out var name) || name is not string { Length: > 0 } n)
        {
            throw new GemFormatException(gem, "metadata.gz", "the specification has no name");
        }

        if (!attributes.TryGetValue("version", out var version) || version is not GemVersion)
        {
            throw new GemFormatException(gem, "metadata.gz", $"the specification of '{n}' has no version");
        }

        if (!IsSafeName(n))
        {
            throw new GemFormatException(gem, "metadata.gz", $"'{n}' is not a usable gem name");
        }

        if (!attributes.ContainsKey("specification_version") || attributes["specification_version"] is null)
        {
            attributes["specification_version"] = -1L; // NONEXISTENT_SPECIFICATION_VERSION
        }

        var spec = new GemSpecification(attributes);
        if (!IsSafeName(spec.Platform) || spec.Platform.Contains('/', StringComparison.Ordinal))
        {
            throw new GemFormatException(gem, "metadata.gz", $"platform '{spec.OriginalPlatform}' is not usable in a file name");
        }

        return spec;
    }

    /// <summary>As <c>Gem::Specification.normalize_yaml_input</c>: a missing document start, <c>!!null</c>, and a
    /// <c>Z</c> glued to fractional seconds.</summary>
    private static string NormalizeInput(string yaml)
    {
        if (!yaml.StartsWith("--- ", StringComparison.Ordinal) && !yaml.StartsWith("---\n", StringComparison.Ordinal))
        {
            yaml = "--- " + yaml;
        }

        yaml = yaml.Replace(" !!null \n", " \n", StringComparison.Ordinal);
        return GluedZoneRegex().Replace(yaml, "$1 Z");
    }

    private static bool IsSafeName(string n)
        => n.Length > 0 && n != "." && n != ".." && !n.Contains('/', StringComparison.Ordinal) && !n.Contains('\\', StringComparison.Ordinal)
           && !n.Any(char.IsControl);

    internal static bool IsBinary(RubyYamlNode node) => node.Tag is "!binary" or "tag:yaml.org,2002:binary";

    /// <summary>Counts a value's nodes (an aliased node once per place it is used, as the readers below visit it)
    /// against the budget before it is read.</summary>
    private static void Spend(RubyYamlBudget budget, RubyYamlNode node, string gem, string entry)
    {
        if (!budget.TryVisit(node))
        {
            var (limit, value, max) = budget.Nodes > budget.MaxNodes
                ? ("YAML nodes (aliases counted each time they are used)", budget.Nodes, budget.MaxNodes)
                : ("YAML text (aliases counted each time they are used)", budget.ScalarChars, budget.MaxScalarChars);
            throw new GemLimitException(gem, entry, limit, value, max);
        }

        switch (node)
        {
            case RubyYamlSequence q:
                foreach (var item in q.Items)
                {
                    Spend(budget, item, gem, entry);
                }

                break;
            case RubyYamlMapping m:
                foreach (var (k, v) in m.Pairs)
                {
                    Spend(budget, k, gem, entry);
                    Spend(budget, v, gem, entry);
                }

                break;
        }
    }

    private static string? ScalarText(RubyYamlNode node)
    {
        switch (node)
        {
            case RubyYamlScalar s when IsBinary(s):
                return DecodeBinary(s.Value) as string
                       ?? throw new FormatException("a !binary value is not UTF-8 text");
            case RubyYamlScalar s when s.Style is ScalarStyle.Plain && IsNull(s.Value):
                return null;
            case RubyYamlScalar s:
                return s.Value;
            default:
                throw new FormatException("a text value was expected");
        }
    }

    /// <summary>A <c>!binary</c> value: text when its bytes are UTF-8, else the bytes (Ruby 1.8 strings are bytes).</summary>
    private static object DecodeBinary(string base64)
    {
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(WhitespaceRegex().Replace(base64, string.Empty));
        }
        catch (FormatException e)
        {
            throw new FormatException("a !binary value is not base64", e);
        }

        try
        {
            return new UTF8Encoding(false, true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            return new RubyBytes(bytes);
        }
    }

    private static bool IsNull(string? v) => v is null or "" or "~" or "null" or "Null" or "NULL";

    /// <summary>A generic value: string, long, bool, null, list, symbol, or a hash.</summary>
    private static object? ReadValue(RubyYamlNode node)
    {
        switch (node)
        {
            case RubyYamlScalar s when IsBinary(s):
                // Psych loads !binary as an ASCII-8BIT string, which RubyGems 3 dumps byte by byte even when the
                // bytes are UTF-8; only pure ASCII reads the same either way.
                var value = DecodeBinary(s.Value);
                return value is string text && !Ascii.IsValid(text) ? new RubyBytes(Encoding.UTF8.GetBytes(text)) : value;
            case RubyYamlScalar { IsPlain: true } s:
                return ResolvePlain(s.Value);
            case RubyYamlScalar s when s.Tag is "!ruby/sym" or "!ruby/symbol":
                return new RubySymbol(s.Value);
            case RubyYamlScalar s:
                return s.Value;
            case RubyYamlSequence q:
                return q.Items.Select(ReadValue).ToList();
            case RubyYamlMapping m:
                return new RubyHash(m.Pairs.Select(p => new KeyValuePair<object?, object?>(ReadValue(p.Key), ReadValue(p.Value))).ToList());
            default:
                return null;
        }
    }

    private static object? ResolvePlain(string v)
    {
        if (IsNull(v))
        {
            return null;
        }

        switch (v)
        {
            case "true" or "True" or "TRUE" or "yes" or "Yes" or "YES" or "on" or "On" or "ON":
                return true;
            case "false" or "False" or "FALSE" or "no" or "No" or "NO" or "off" or "Off" or "OFF":
                return false;
        }

        if (v.Length > 1 && v[0] == ':' && SymbolRegex().IsMatch(v))
        {
            return new RubySymbol(v[1..]);
        }

        if (IntegerRegex().IsMatch(v) && long.TryParse(v.Replace("_", "", StringComparison.Ordinal), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l))
        {
            return l;
        }

        return v;
    }

    private static GemVersion ReadVersion(RubyYamlNode node)
    {
        string? text = node switch
        {
            RubyYamlScalar => ScalarText(node),
            RubyYamlMapping m => VersionTextOf(m),
            _ => null,
        };
        if (text is null || !GemVersion.TryParse(text, out var v))
        {
            throw new FormatException($"'{text}' is not a version");
        }

        return v;
    }

    private static string? VersionTextOf(RubyYamlMapping m)
    {
        if (Child(m, "version") is { } vn && ScalarTextOrNull(vn) is { } t)
        {
            return t;
        }

        // Syck-era objects may carry only their segments (or ints).
        var seg = Child(m, "segments") ?? Child(m, "ints");
        if (seg is RubyYamlSequence q)
        {
            return string.Join('.', q.Items.Select(c => ScalarText(c)));
        }

        return null;
    }

    private static string? ScalarTextOrNull(RubyYamlNode n) => n is RubyYamlScalar ? ScalarText(n) : null;

    private static RubyYamlNode? Child(RubyYamlMapping m, string key) => m[key];

    private static string? ReadPlatform(RubyYamlNode node)
    {
        switch (node)
        {
            case RubyYamlScalar:
                return ScalarText(node);
            case RubyYamlMapping m:
                // A Gem::Platform object: cpu, os, version.
                var parts = new[] { "cpu", "os", "version" }.Select(k => Child(m, k) is { } n ? ScalarTextOrNull(n) : null).Where(s => !string.IsNullOrEmpty(s));
                return string.Join('-', parts);
            default:
                return null;
        }
    }

    private static GemRequirement? ReadRequirement(RubyYamlNode node)
    {
        switch (node)
        {
            case RubyYamlScalar:
                var t = ScalarText(node);
                return t is null ? null : GemRequirement.Create(t.Split(',').Select(x => x.Trim()));
            case RubyYamlSequence q:
                return GemRequirement.Create(q.Items.Select(c => ScalarText(c) ?? ">= 0"));
            case RubyYamlMapping m:
                if (Child(m, "requirements") is not RubyYamlSequence reqs)
                {
                    return GemRequirement.Default;
                }

                var constraints = new List<GemConstraint>();
                foreach (var r in reqs.Items)
                {
                    if (r is RubyYamlSequence { Items.Count: 2 } pair)
                    {
                        constraints.Add(new GemConstraint(ReadOperator(pair.Items[0]), ReadVersion(pair.Items[1])));
                    }
                    else if (r is RubyYamlScalar)
                    {
                        constraints.Add(GemRequirement.ParseConstraint(ScalarText(r) ?? ">= 0"));
                    }
                    else
                    {
                        throw new FormatException("a requirement is not an [operator, version] pair");
                    }
                }

                return GemRequirement.FromConstraints(constraints.Distinct());
            default:
                return null;
        }
    }

    private static string ReadOperator(RubyYamlNode node)
    {
        // Syck loads an unquoted '=' as YAML::DefaultKey; dumped again it becomes an object or a mapping.
        if (node is not RubyYamlScalar)
        {
            return "=";
        }

        var op = ScalarText(node) ?? "=";
        if (op.Contains("DefaultKey", StringComparison.Ordinal))
        {
            return "=";
        }

        return GemRequirement.IsOperator(op) ? op : throw new FormatException($"'{op}' is not a requirement operator");
    }

    private static List<object?> ReadDependencies(RubyYamlNode node)
    {
        var result = new List<object?>();
        if (node is not RubyYamlSequence q)
        {
            return node is RubyYamlScalar s && IsNull(s.Value) ? result : throw new FormatException("dependencies are not a list");
        }

        foreach (var d in q.Items)
        {
            if (d is not RubyYamlMapping m)
            {
                throw new FormatException("a dependency is not a mapping");
            }

            var name = Child(m, "name") is { } nn ? ScalarText(nn) : null;
            if (string.IsNullOrEmpty(name))
            {
                throw new FormatException("a dependency has no name");
            }

            var reqNode = Child(m, "requirement") ?? Child(m, "version_requirements");
            var req = reqNode is null ? GemRequirement.Default : ReadRequirement(reqNode) ?? GemRequirement.Default;
            var type = Child(m, "type") is { } tn ? ScalarText(tn) : null;
            type = string.IsNullOrEmpty(type) ? "runtime" : type.TrimStart(':');
            result.Add(new GemDependency(name, req, type));
        }

        return result;
    }

    /// <summary>A date as Ruby would hold it: a UTC calendar day (times with an offset are moved to UTC first).</summary>
    private static object? ReadDate(RubyYamlNode node)
    {
        var text = ScalarTextOrNull(node);
        if (text is null)
        {
            return null;
        }

        var m = DateRegex().Match(text.Trim());
        if (!m.Success)
        {
            return node is RubyYamlScalar { Style: ScalarStyle.Plain } ? text : (object)text;
        }

        int G(int i) => int.Parse(m.Groups[i].Value, CultureInfo.InvariantCulture);
        var date = new DateTime(G(1), G(2), G(3), 0, 0, 0, DateTimeKind.Utc);
        if (!m.Groups[4].Success)
        {
            return DateOnly.FromDateTime(date);
        }

        var time = date.AddHours(G(4)).AddMinutes(G(5)).AddSeconds(G(6));
        if (m.Groups[8].Success && m.Groups[8].Value != "Z")
        {
            var z = m.Groups[8].Value;
            var sign = z[0] == '-' ? -1 : 1;
            var digits = z[1..].Replace(":", "", StringComparison.Ordinal);
            var hours = int.Parse(digits.Length <= 2 ? digits : digits[..^2], CultureInfo.InvariantCulture);
            var minutes = digits.Length > 2 ? int.Parse(digits[^2..], CultureInfo.InvariantCulture) : 0;
            time = time.AddMinutes(-sign * (hours * 60 + minutes));
        }

        return DateOnly.FromDateTime(time);
    }

    [GeneratedRegex(@"^(date: \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d+?)Z", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex GluedZoneRegex();

    [GeneratedRegex(@"^(\d{4})-(\d{1,2})-(\d{1,2})(?:(?:[Tt]|[ \t]+)(\d{1,2}):(\d{2}):(\d{2})(\.\d*)?[ \t]*(Z|[-+]\d{1,2}(?::?\d{2})?)?)?$", RegexOptions.CultureInvariant)]
    private static partial Regex DateRegex();

    [GeneratedRegex(@"\s+")]
    private static partial Regex WhitespaceRegex();

    [GeneratedRegex(@"^[-+]?(0|[1-9][0-9_]*)$", RegexOptions.CultureInvariant)]
    private static partial Regex IntegerRegex();

    [GeneratedRegex(@"^:[A-Za-z_][A-Za-z_0-9]*[?!=]?$", RegexOptions.CultureInvariant)]
    private static partial Regex SymbolRegex();
}
