using System.Text.RegularExpressions;

namespace Razor.Microkernel.Formats.Gems;

/// <summary>One constraint of a requirement: an operator and a version.</summary>
public sealed record GemConstraint(string Operator, GemVersion Version)
{
    public override string ToString() => $"{Operator} {Version}";
}

/// <summary>
/// A RubyGems requirement (<c>Gem::Requirement</c>): one or more constraints with <c>=</c>, <c>!=</c>,
/// <c>&gt;</c>, <c>&lt;</c>, <c>&gt;=</c>, <c>&lt;=</c>, <c>~&gt;</c>, all of which must hold. No constraint means
/// <c>&gt;= 0</c>. A bare version means <c>=</c>.
/// </summary>
public sealed partial class GemRequirement
{
    private GemRequirement(IReadOnlyList<GemConstraint> constraints) => Constraints = constraints;

    public IReadOnlyList<GemConstraint> Constraints { get; }

    /// <summary><c>&gt;= 0</c>.</summary>
    public static GemRequirement Default { get; } = new([new GemConstraint(">=", GemVersion.Zero)]);

    /// <summary>True when this is the default requirement (one constraint, <c>&gt;= 0</c>).</summary>
    public bool IsDefault => Constraints.Count == 1 && Constraints[0].Operator == ">=" && Constraints[0].Version == GemVersion.Zero;

    /// <summary>Builds a requirement from strings such as <c>"&gt;= 1.2"</c>, <c>"~&gt; 2.0"</c> or <c>"1.0"</c>; duplicates
    /// are dropped, none gives <see cref="Default"/>. Throws <see cref="FormatException"/> for an ill-formed one.</summary>
    public static GemRequirement Create(params IEnumerable<string> requirements)
    {
        var list = requirements.Distinct(StringComparer.Ordinal).Select(ParseConstraint).ToList();
        return list.Count == 0 ? Default : new GemRequirement(list);
    }

    /// <summary>Builds a requirement from already parsed constraints (as read from gem metadata).</summary>
    public static GemRequirement FromConstraints(IEnumerable<GemConstraint> constraints)
    {
        var list = constraints.ToList();
        return list.Count == 0 ? Default : new GemRequirement(list);
    }

    public static GemConstraint ParseConstraint(string text)
    {
        var m = ConstraintRegex().Match(text);
        if (!m.Success)
        {
            throw new FormatException($"Illformed requirement [\"{text}\"]");
        }

        var op = m.Groups[1].Success ? m.Groups[1].Value : "=";
        return new GemConstraint(op, GemVersion.Parse(m.Groups[2].Value));
    }

    public static bool IsOperator(string op) => op is "=" or "!=" or ">" or "<" or ">=" or "<=" or "~>";

    public bool IsSatisfiedBy(GemVersion version) => Constraints.All(c => Satisfies(version, c));

    /// <summary>The constraints as RubyGems lists them (<c>requirements_list</c>): <c>["&gt;= 1.0", "&lt; 2"]</c>.</summary>
    public IReadOnlyList<string> AsList() => Constraints.Select(c => c.ToString()).ToList();

    public override string ToString() => string.Join(", ", AsList());

    private static bool Satisfies(GemVersion v, GemConstraint c) => c.Operator switch
    {
        "!=" => v != c.Version,
        ">" => v > c.Version,
        "<" => v < c.Version,
        ">=" => v >= c.Version,
        "<=" => v <= c.Version,
        "~>" => v >= c.Version && v.Release < c.Version.Bump,
        _ => v == c.Version, // "=", and Syck's DefaultKey read as "="
    };

    [GeneratedRegex(@"\A\s*(=|!=|>|<|>=|<=|~>)?\s*(" + GemVersion.Pattern + @")\s*\z", RegexOptions.CultureInvariant)]
    private static partial Regex ConstraintRegex();
}
