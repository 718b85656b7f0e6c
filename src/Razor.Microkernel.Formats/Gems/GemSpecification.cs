using System.Text;

namespace Razor.Microkernel.Formats.Gems;

/// <summary>A dependency of a gem: a name, a requirement and a type (<c>runtime</c> or <c>development</c>).</summary>
public sealed record GemDependency(string Name, GemRequirement Requirement, string Type)
{
    public bool IsRuntime => Type == "runtime";

    public override string ToString() => $"{Name} ({Requirement}, {Type})";
}

/// <summary>A Ruby symbol read from gem metadata (<c>:runtime</c>).</summary>
internal sealed record RubySymbol(string Name);

/// <summary>A Ruby string whose bytes are not UTF-8 (from a <c>!binary</c> value).</summary>
internal sealed record RubyBytes(byte[] Bytes);

/// <summary>A Ruby Hash read from gem metadata; RubyGems 1.8 cannot write one into a gemspec.</summary>
internal sealed record RubyHash(IReadOnlyList<KeyValuePair<object?, object?>> Pairs);

/// <summary>
/// A gem's specification as read from its <c>metadata.gz</c>. The typed properties serve installation; the
/// raw attribute values (as RubyGems 1.8 would hold them after loading the YAML) serve the gemspec writer.
/// </summary>
public sealed class GemSpecification
{
    internal GemSpecification(IReadOnlyDictionary<string, object?> attributes)
    {
        Attributes = attributes;
        Name = attributes.TryGetValue("name", out var n) && n is string s ? s : string.Empty;
        Version = attributes.TryGetValue("version", out var v) && v is GemVersion gv ? gv : GemVersion.Zero;
        OriginalPlatform = attributes.TryGetValue("platform", out var p) && p is string ps && ps.Length > 0 ? ps : "ruby";
        Platform = GemPlatform.Normalize(OriginalPlatform);
        Dependencies = attributes.TryGetValue("dependencies", out var d) && d is IReadOnlyList<object?> dl
            ? dl.OfType<GemDependency>().ToList()
            : [];
        RequiredRubyVersion = Get("required_ruby_version") as GemRequirement;
        RequiredRubyGemsVersion = Get("required_rubygems_version") as GemRequirement;
        BinDir = Get("bindir") as string;
        Executables = Strings("executables");
        Extensions = Strings("extensions");
        RequirePaths = Get("require_paths") is IReadOnlyList<object?> rp ? rp.OfType<string>().ToList() : ["lib"];
        Summary = Get("summary") switch { string t => t, RubyBytes b => Encoding.UTF8.GetString(b.Bytes), _ => null };
        SpecificationVersion = Get("specification_version") is long sv ? (int)sv : -1;
    }

    public string Name { get; }

    public GemVersion Version { get; }

    /// <summary>The platform as the metadata spells it (<c>ruby</c>, <c>x86-linux</c>, <c>i686-linux</c> …).</summary>
    public string OriginalPlatform { get; }

    /// <summary>The platform as RubyGems normalises it (<c>Gem::Platform#to_s</c>), <c>ruby</c> for pure-Ruby gems.</summary>
    public string Platform { get; }

    /// <summary><c>NAME-VERSION</c>, with <c>-PLATFORM</c> when the platform is not <c>ruby</c>.</summary>
    public string FullName => Platform == "ruby" ? $"{Name}-{Version}" : $"{Name}-{Version}-{Platform}";

    public IReadOnlyList<GemDependency> Dependencies { get; }

    public IEnumerable<GemDependency> RuntimeDependencies => Dependencies.Where(d => d.IsRuntime);

    public GemRequirement? RequiredRubyVersion { get; }

    public GemRequirement? RequiredRubyGemsVersion { get; }

    /// <summary>The folder in the gem that holds executables; null when the metadata has none (RubyGems then
    /// uses the executable names as they are).</summary>
    public string? BinDir { get; }

    public IReadOnlyList<string> Executables { get; }

    public IReadOnlyList<string> Extensions { get; }

    public IReadOnlyList<string> RequirePaths { get; }

    public string? Summary { get; }

    public int SpecificationVersion { get; }

    /// <summary>Attribute values keyed by their YAML names, as RubyGems 1.8 would hold them.</summary>
    internal IReadOnlyDictionary<string, object?> Attributes { get; }

    internal object? Get(string name) => Attributes.TryGetValue(name, out var v) ? v : null;

    private IReadOnlyList<string> Strings(string name)
        => Get(name) switch
        {
            IReadOnlyList<object?> l => l.Select(x => x switch { string s => s, RubyBytes b => Encoding.UTF8.GetString(b.Bytes), null => null, _ => x.ToString() })
                .OfType<string>().ToList(),
            string s => [s],
            RubyBytes b => [Encoding.UTF8.GetString(b.Bytes)],
            _ => [],
        };

    public override string ToString() => FullName;
}

/// <summary><c>Gem::Platform</c> normalisation, enough to name gems and to tell whether a platform fits the target.</summary>
public static class GemPlatform
{
    public const string Ruby = "ruby";

    /// <summary>Normalises a platform string as <c>Gem::Platform.new(s).to_s</c> does for the common cases.</summary>
    public static string Normalize(string platform)
    {
        if (platform is "" or "ruby")
        {
            return Ruby;
        }

        // Legacy constants (Gem::Specification#platform=).
        platform = platform switch
        {
            "mswin32" => "x86-mswin32",
            "i586-linux" => "x86-linux",
            "powerpc-darwin" => "ppc-darwin",
            _ => platform,
        };
        var parts = platform.Split('-').ToList();
        var cpu = parts.Count > 0 ? parts[0] : "";
        if (System.Text.RegularExpressions.Regex.IsMatch(cpu, "^i\\d86$"))
        {
            cpu = "x86";
        }

        var rest = string.Join('-', parts.Skip(1));
        var os = rest;
        string? version = null;
        if (rest.StartsWith("linux", StringComparison.Ordinal))
        {
            os = "linux";
            var v = rest["linux".Length..].TrimStart('-');
            version = v.Length == 0 || v == "gnu" ? null : v;
        }

        if (parts.Count == 1)
        {
            return cpu;
        }

        return version is null ? $"{cpu}-{os}" : $"{cpu}-{os}-{version}";
    }

    /// <summary>True when a gem of <paramref name="platform"/> installs on x86 Linux (<c>ruby</c>, <c>x86-linux</c>,
    /// <c>universal-linux</c>).</summary>
    public static bool FitsX86Linux(string platform)
    {
        var p = Normalize(platform);
        return p is Ruby or "x86-linux" or "universal-linux";
    }
}
