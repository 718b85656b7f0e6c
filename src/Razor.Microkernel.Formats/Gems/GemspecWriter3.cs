using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Razor.Microkernel.Formats.Gems;

/// <summary>
/// Writes <c>specifications/FULLNAME.gemspec</c> exactly as RubyGems 3.3's <c>Gem::Installer#write_spec</c> does:
/// <c>to_ruby_for_cache</c> of the specification <c>Gem::Specification.from_yaml</c> loaded (nil attributes reset to
/// their defaults), with its <c># stub:</c> lines, <c>.freeze</c>d strings in Ruby 2+ <c>String#dump</c> form, the
/// <c>files</c> list rebuilt from executables, extra RDoc files and extensions (sorted), and
/// <c>installed_by_version</c>.
/// </summary>
public static partial class GemspecWriter3
{
    // Gem::Specification @@attributes (sorted) minus those to_ruby handles itself.
    private static readonly string[] Attributes =
    [
        "authors", "autorequire", "bindir", "cert_chain", "date", "description", "email", "executables", "extensions",
        "extra_rdoc_files", "files", "homepage", "licenses", "post_install_message", "rdoc_options", "required_ruby_version",
        "requirements", "rubygems_version", "summary", "test_files",
    ];

    // @@required_attributes among them: written even when they hold their default.
    private static readonly HashSet<string> Required = new(StringComparer.Ordinal) { "date", "rubygems_version", "summary" };

    // Attributes whose default is [] (reset_nil_attributes_to_default and the `@x ||= []` readers).
    private static readonly HashSet<string> ListDefaults = new(StringComparer.Ordinal)
    {
        "authors", "cert_chain", "executables", "extensions", "extra_rdoc_files", "files", "licenses", "rdoc_options",
        "requirements", "test_files",
    };

    /// <summary>The gemspec text.</summary>
    /// <param name="spec">The specification read from the gem.</param>
    /// <param name="metadataYaml">The metadata's YAML, for the date as it is written there (Psych keeps a time's own
    /// offset, so the day is the one written, not the UTC one).</param>
    /// <param name="rubyGemsVersion">The target's RubyGems version (<c>mark_version</c>, <c>installed_by_version</c>).</param>
    /// <param name="today">The day written for a gem without a date (RubyGems uses SOURCE_DATE_EPOCH's, else today).</param>
    public static string ToRubyForCache(GemSpecification spec, string? metadataYaml, string rubyGemsVersion, DateOnly today)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var gem = spec.FullName;
        var requirePaths = spec.Get("require_paths") ?? new List<object?> { "lib" };
        var lines = new List<string>
        {
            "# -*- encoding: utf-8 -*-",
            $"# stub: {spec.Name} {spec.Version.Text} {spec.Platform} {string.Join('\0', Flatten(requirePaths).Select(ToS))}",
        };
        var extensions = Value(spec, "extensions", metadataYaml, rubyGemsVersion, today);
        if (extensions is IReadOnlyList<object?> { Count: > 0 } ext)
        {
            lines.Add($"# stub: {string.Join('\0', ext.Select(ToS))}");
        }

        lines.Add("");
        lines.Add("Gem::Specification.new do |s|");
        lines.Add($"  s.name = {Code(gem, "name", spec.Name)}");
        lines.Add($"  s.version = {Code(gem, "version", spec.Version)}");
        if (spec.Platform != GemPlatform.Ruby)
        {
            lines.Add($"  s.platform = {Code(gem, "platform", spec.Get("original_platform") ?? spec.OriginalPlatform)}");
        }

        lines.Add("");
        lines.Add($"  s.required_rubygems_version = {Code(gem, "required_rubygems_version", spec.Get("required_rubygems_version") ?? GemRequirement.Default)} if s.respond_to? :required_rubygems_version=");
        if (spec.Get("metadata") is RubyHash { Pairs.Count: > 0 } metadata)
        {
            lines.Add($"  s.metadata = {MetadataCode(gem, metadata)} if s.respond_to? :metadata=");
        }

        lines.Add($"  s.require_paths = {Code(gem, "require_paths", requirePaths)}");
        foreach (var name in Attributes)
        {
            var value = Value(spec, name, metadataYaml, rubyGemsVersion, today);
            if (Required.Contains(name) || !IsDefault(name, value))
            {
                lines.Add($"  s.{name} = {Code(gem, name, value)}");
            }
        }

        switch (spec.Get("signing_key"))
        {
            case string key:
                lines.Add($"  s.signing_key = {RubyString.Dump(key)}.freeze");
                break;
            case RubyBytes key:
                lines.Add($"  s.signing_key = {RubyString.DumpBinary(key.Bytes)}.freeze");
                break;
        }

        lines.Add("");
        lines.Add($"  s.installed_by_version = \"{rubyGemsVersion}\" if s.respond_to? :installed_by_version");
        if (spec.Dependencies.Count > 0)
        {
            lines.Add("");
            lines.Add("  if s.respond_to? :specification_version then");
            lines.Add($"    s.specification_version = {Code(gem, "specification_version", spec.Get("specification_version"))}");
            lines.Add("  end");
            lines.Add("");
            lines.Add("  if s.respond_to? :add_runtime_dependency then");
            foreach (var d in spec.Dependencies)
            {
                lines.Add($"    s.add_{d.Type}_dependency(%q<{d.Name}>.freeze, {InspectList(d.Requirement.AsList())})");
            }

            lines.Add("  else");
            foreach (var d in spec.Dependencies)
            {
                lines.Add($"    s.add_dependency(%q<{d.Name}>.freeze, {InspectList(d.Requirement.AsList())})");
            }

            lines.Add("  end");
        }

        lines.Add("end");
        return string.Join('\n', lines) + "\n";
    }

    /// <summary>What the 3.3 reader of <paramref name="name"/> returns on the <c>for_cache</c> copy.</summary>
    private static object? Value(GemSpecification spec, string name, string? yaml, string rubyGemsVersion, DateOnly today)
    {
        switch (name)
        {
            case "rubygems_version":
                return rubyGemsVersion;
            case "date":
                return WrittenDate(yaml) ?? spec.Get("date") ?? today;
            case "bindir":
                return spec.Get("bindir") ?? "bin";
            case "required_ruby_version":
                return spec.Get("required_ruby_version") ?? GemRequirement.Default;
            case "test_files":
                // for_cache empties test_files; an old gem's test_suite_file comes back through the reader.
                return spec.Attributes.ContainsKey("test_suite_file") ? Flatten(new List<object?> { spec.Get("test_suite_file") }).ToList() : new List<object?>();
            case "files":
                // for_cache empties files; #files then rebuilds it: [add_bindir(executables), extra_rdoc_files,
                // extensions].flatten.compact.uniq.sort.
                var bindir = spec.Get("bindir") ?? "bin";
                var all = new List<object?>();
                foreach (var e in Flatten(ListOrEmpty(spec.Get("executables"))))
                {
                    all.Add(bindir is string b && e is string es ? Join(b, es) : e);
                }

                all.AddRange(Flatten(ListOrEmpty(spec.Get("extra_rdoc_files"))));
                all.AddRange(Flatten(ListOrEmpty(spec.Get("extensions"))));
                return all.Where(f => f is not null).Distinct().OrderBy(f => f is string s ? Encoding.UTF8.GetBytes(s) : [], ByteOrder.Instance).ToList();
        }

        var v = spec.Get(name);
        return v is null && ListDefaults.Contains(name) ? new List<object?>() : v;
    }

    private static object ListOrEmpty(object? v) => v ?? new List<object?>();

    /// <summary>The day of the metadata's top-level <c>date:</c> as written (Psych reads a time with its own offset,
    /// and one without in the installing process's zone, UTC here; <c>date=</c> keeps that day).</summary>
    private static DateOnly? WrittenDate(string? yaml)
    {
        if (yaml is null || DateLineRegex().Match(yaml) is not { Success: true } m)
        {
            return null;
        }

        int G(int i) => int.Parse(m.Groups[i].Value, CultureInfo.InvariantCulture);
        try
        {
            return new DateOnly(G(1), G(2), G(3));
        }
        catch (ArgumentOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>Ruby's <c>File.join</c> of two parts.</summary>
    private static string Join(string a, string b)
    {
        if (a.EndsWith('/') && b.StartsWith('/'))
        {
            return a.TrimEnd('/') + b;
        }

        return a.EndsWith('/') || b.StartsWith('/') ? a + b : a + "/" + b;
    }

    private static bool IsDefault(string name, object? value) => name switch
    {
        "bindir" => value is "bin",
        "required_ruby_version" => value is GemRequirement r && r.IsDefault,
        _ when ListDefaults.Contains(name) => value is IReadOnlyList<object?> { Count: 0 },
        _ => value is null,
    };

    private static IEnumerable<object?> Flatten(object? v)
    {
        if (v is IReadOnlyList<object?> l)
        {
            foreach (var x in l)
            {
                foreach (var y in Flatten(x))
                {
                    yield return y;
                }
            }
        }
        else
        {
            yield return v;
        }
    }

    /// <summary><c>to_s</c> of a value in a <c># stub:</c> line.</summary>
    private static string ToS(object? v) => v switch
    {
        null => "",
        RubyBytes b => Encoding.UTF8.GetString(b.Bytes),
        long l => l.ToString(CultureInfo.InvariantCulture),
        bool t => t ? "true" : "false",
        _ => v.ToString() ?? "",
    };

    /// <summary><c>Gem::Specification#ruby_code</c> of RubyGems 3.3.</summary>
    private static string Code(string gem, string attribute, object? value) => value switch
    {
        null => "nil",
        true => "true",
        false => "false",
        string s => RubyString.Dump(s) + ".freeze",
        RubyBytes b => RubyString.DumpBinary(b.Bytes) + ".freeze",
        long l => l.ToString(CultureInfo.InvariantCulture),
        int i => i.ToString(CultureInfo.InvariantCulture),
        GemVersion v => RubyString.Dump(v.Text),
        DateOnly d => RubyString.Dump(d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)),
        GemRequirement r => "Gem::Requirement.new(" + (r.Constraints.Count == 1
            ? RubyString.Dump(r.ToString()) + ".freeze"
            : "[" + string.Join(", ", r.AsList().Select(x => RubyString.Dump(x) + ".freeze")) + "]") + ")",
        IReadOnlyList<object?> list => "[" + string.Join(", ", list.Select(x => Code(gem, attribute, x))) + "]",
        RubyHash h => MetadataCode(gem, h),
        _ => throw new GemUnsupportedException(gem, "metadata.gz",
            $"attribute '{attribute}' holds a {(value is RubySymbol ? "Symbol" : value.GetType().Name)}, which RubyGems 3 cannot write into a gemspec (ruby_code case not handled)"),
    };

    /// <summary>A Hash in <c>ruby_code</c>: keys sorted, keys and values by <c>to_s.dump</c>.</summary>
    private static string MetadataCode(string gem, RubyHash hash)
    {
        var pairs = hash.Pairs
            .GroupBy(p => p.Key).Select(g => g.Last()) // a YAML mapping's later duplicate key wins
            .Select(p => (Key: ToSForHash(gem, p.Key), Value: ToSForHash(gem, p.Value)))
            .OrderBy(p => Encoding.UTF8.GetBytes(p.Key), ByteOrder.Instance);
        return "{ " + string.Join(", ", pairs.Select(p => $"{RubyString.Dump(p.Key)} => {RubyString.Dump(p.Value)}")) + " }";
    }

    private static string ToSForHash(string gem, object? v) => v switch
    {
        null => "",
        string s => s,
        RubyBytes b => Encoding.UTF8.GetString(b.Bytes),
        long l => l.ToString(CultureInfo.InvariantCulture),
        bool t => t ? "true" : "false",
        RubySymbol s => s.Name,
        _ => throw new GemUnsupportedException(gem, "metadata.gz", "the metadata hash holds a value this SDK cannot write as RubyGems 3 would"),
    };

    private static string InspectList(IEnumerable<string> list) => "[" + string.Join(", ", list.Select(RubyString.Inspect)) + "]";

    /// <summary>Ruby's String order: bytewise.</summary>
    private sealed class ByteOrder : IComparer<byte[]>
    {
        public static ByteOrder Instance { get; } = new();

        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }

    [GeneratedRegex(@"^date:[ \t]+[""']?(\d{4})-(\d{1,2})-(\d{1,2})", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex DateLineRegex();
}
