using System.Globalization;
using System.Text;

namespace Razor.Microkernel.Formats.Gems;

/// <summary>
/// Writes <c>specifications/FULLNAME.gemspec</c> exactly as RubyGems 1.8's <c>Gem::Installer#write_spec</c> does:
/// <c>to_ruby_for_cache</c> (no <c>files</c> beyond executables, extra RDoc files and extensions; no
/// <c>test_files</c>), with Ruby 1.8 <c>String#dump</c> escapes (octal, never <c>\u</c>).
/// </summary>
public static class GemspecWriter
{
    // Gem::Specification @@attributes (sorted), minus those to_ruby handles itself.
    private static readonly string[] Attributes =
    [
        "authors", "autorequire", "bindir", "cert_chain", "date", "description", "email", "executables",
        "extensions", "extra_rdoc_files", "files", "homepage", "licenses", "post_install_message",
        "rdoc_options", "require_paths", "required_ruby_version", "requirements", "rubyforge_project",
        "rubygems_version", "signing_key", "summary", "test_files",
    ];

    private static readonly HashSet<string> Required = new(StringComparer.Ordinal)
    {
        "rubygems_version", "date", "summary", "require_paths",
    };

    // Attributes whose 1.8 reader turns a missing value into [] (`@x ||= []`).
    private static readonly HashSet<string> ListReaders = new(StringComparer.Ordinal)
    {
        "authors", "executables", "extensions", "extra_rdoc_files", "licenses", "rdoc_options", "requirements", "test_files",
    };

    /// <summary>The gemspec text (ends with a newline, as <c>file.puts</c> writes it).</summary>
    /// <param name="spec">The specification read from the gem.</param>
    /// <param name="rubyGemsVersion">The target's RubyGems version (<c>mark_version</c> writes it into the spec).</param>
    /// <param name="today">The day used when the metadata has no date (RubyGems uses the install day).</param>
    public static string ToRubyForCache(GemSpecification spec, string rubyGemsVersion, DateOnly today)
    {
        var gem = spec.FullName;
        var lines = new List<string>
        {
            "# -*- encoding: utf-8 -*-",
            "",
            "Gem::Specification.new do |s|",
            $"  s.name = {Dump(spec.Name)}",
            $"  s.version = {Dump(spec.Version.Text)}",
        };
        if (spec.Platform != GemPlatform.Ruby)
        {
            lines.Add($"  s.platform = {Dump(spec.OriginalPlatform)}");
        }

        lines.Add("");
        lines.Add($"  s.required_rubygems_version = {Code(gem, "required_rubygems_version", spec.Get("required_rubygems_version"))} if s.respond_to? :required_rubygems_version=");

        foreach (var name in Attributes)
        {
            var value = Value(spec, name, rubyGemsVersion, today);
            if (Required.Contains(name) || !IsDefault(name, value))
            {
                lines.Add($"  s.{name} = {Code(gem, name, value)}");
            }
        }

        lines.Add("");
        lines.Add("  if s.respond_to? :specification_version then");
        lines.Add($"    s.specification_version = {Code(gem, "specification_version", spec.Get("specification_version"))}");
        lines.Add("");
        lines.Add("    if Gem::Version.new(Gem::VERSION) >= Gem::Version.new('1.2.0') then");
        foreach (var d in spec.Dependencies)
        {
            lines.Add($"      s.add_{d.Type}_dependency(%q<{d.Name}>, {Inspect(d.Requirement.AsList())})");
        }

        lines.Add("    else");
        foreach (var d in spec.Dependencies)
        {
            lines.Add($"      s.add_dependency(%q<{d.Name}>, {Inspect(d.Requirement.AsList())})");
        }

        lines.Add("    end");
        lines.Add("  else");
        foreach (var d in spec.Dependencies)
        {
            lines.Add($"    s.add_dependency(%q<{d.Name}>, {Inspect(d.Requirement.AsList())})");
        }

        lines.Add("  end");
        lines.Add("end");
        return string.Join('\n', lines) + "\n";
    }

    /// <summary>What the 1.8 reader of <paramref name="name"/> returns on the for_cache copy of the spec.</summary>
    private static object? Value(GemSpecification spec, string name, string rubyGemsVersion, DateOnly today)
    {
        switch (name)
        {
            case "rubygems_version":
                return rubyGemsVersion;
            case "test_files":
                return new List<object?>();
            case "date":
                return spec.Get("date") ?? today;
            case "files":
                // for_cache sets files and test_files to nil; #files then rebuilds the list from the rest.
                var files = new List<object?>();
                var bindir = spec.Get("bindir");
                foreach (var e in Flatten(spec.Get("executables")))
                {
                    files.Add(bindir is string b && e is string es ? JoinPath(b, es) : e);
                }

                files.AddRange(Flatten(spec.Get("extra_rdoc_files")));
                files.AddRange(Flatten(spec.Get("extensions")));
                return files.Where(f => f is not null).Distinct().ToList();
        }

        var v = spec.Get(name);
        if (v is null && ListReaders.Contains(name))
        {
            return new List<object?>();
        }

        return v;
    }

    private static IEnumerable<object?> Flatten(object? v)
    {
        switch (v)
        {
            case null:
                yield break;
            case IReadOnlyList<object?> l:
                foreach (var x in l)
                {
                    foreach (var y in Flatten(x))
                    {
                        yield return y;
                    }
                }

                break;
            default:
                yield return v;
                break;
        }
    }

    /// <summary>Ruby's File.join for two relative parts.</summary>
    private static string JoinPath(string a, string b)
        => a.Length == 0 ? b : a.TrimEnd('/') + "/" + b.TrimStart('/');

    private static bool IsDefault(string name, object? value) => name switch
    {
        "bindir" => value is "bin",
        "required_ruby_version" => value is GemRequirement r && r.IsDefault,
        "require_paths" => value is IReadOnlyList<object?> { Count: 1 } l && l[0] is "lib",
        "authors" or "cert_chain" or "executables" or "extensions" or "extra_rdoc_files" or "files" or "licenses"
            or "rdoc_options" or "requirements" or "test_files" => value is IReadOnlyList<object?> { Count: 0 },
        _ => value is null,
    };

    /// <summary><c>Gem::Specification#ruby_code</c> of RubyGems 1.8.</summary>
    private static string Code(string gem, string attribute, object? value) => value switch
    {
        null => "nil",
        true => "true",
        false => "false",
        string s => Dump(s),
        RubyBytes b => Dump(b.Bytes),
        long l => l.ToString(CultureInfo.InvariantCulture),
        int i => i.ToString(CultureInfo.InvariantCulture),
        GemVersion v => Dump(v.Text),
        DateOnly d => Dump(d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)),
        // 1.8 writes to_s, which it cannot read back for several constraints; write the list it can read.
        GemRequirement r => r.Constraints.Count == 1
            ? $"Gem::Requirement.new({Dump(r.ToString())})"
            : $"Gem::Requirement.new({Inspect(r.AsList())})",
        IReadOnlyList<object?> list => "[" + string.Join(", ", list.Select(x => Code(gem, attribute, x))) + "]",
        _ => throw new GemUnsupportedException(gem, "metadata.gz",
            $"attribute '{attribute}' holds a {Describe(value)}, which RubyGems 1.8 cannot write into a gemspec"),
    };

    private static string Describe(object value) => value switch
    {
        RubySymbol => "Symbol",
        RubyHash => "Hash",
        _ => value.GetType().Name,
    };

    private static string Inspect(IEnumerable<string> list) => "[" + string.Join(", ", list.Select(Dump)) + "]";

    /// <summary>Ruby 1.8 <c>String#dump</c> of the UTF-8 bytes: octal escapes for non-printable and non-ASCII bytes.</summary>
    public static string Dump(string s) => Dump(Encoding.UTF8.GetBytes(s));

    private static string Dump(byte[] bytes)
    {
        var sb = new StringBuilder(bytes.Length + 2);
        sb.Append('"');
        for (var i = 0; i < bytes.Length; i++)
        {
            var c = bytes[i];
            switch (c)
            {
                case (byte)'"' or (byte)'\\':
                    sb.Append('\\').Append((char)c);
                    break;
                case (byte)'#':
                    var next = i + 1 < bytes.Length ? bytes[i + 1] : (byte)0;
                    sb.Append(next is (byte)'$' or (byte)'@' or (byte)'{' ? "\\#" : "#");
                    break;
                case (byte)'\n':
                    sb.Append("\\n");
                    break;
                case (byte)'\r':
                    sb.Append("\\r");
                    break;
                case (byte)'\t':
                    sb.Append("\\t");
                    break;
                case 0x0c:
                    sb.Append("\\f");
                    break;
                case 0x0b:
                    sb.Append("\\v");
                    break;
                case 0x08:
                    sb.Append("\\b");
                    break;
                case 0x07:
                    sb.Append("\\a");
                    break;
                case 0x1b:
                    sb.Append("\\e");
                    break;
                case >= 0x20 and < 0x7f:
                    sb.Append((char)c);
                    break;
                default:
                    sb.Append('\\').Append(Convert.ToString(c, 8).PadLeft(3, '0'));
                    break;
            }
        }

        return sb.Append('"').ToString();
    }
}
