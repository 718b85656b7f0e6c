namespace Razor.Microkernel.Formats.Gems;

/// <summary>Base of every gem error: names the gem (its file or full name) and, where it is about one, the entry.</summary>
public abstract class GemException(string gem, string? entry, string reason, Exception? inner = null)
    : MicrokernelFormatException(entry is null ? $"gem '{gem}': {reason}" : $"gem '{gem}', entry '{entry}': {reason}", -1, inner)
{
    public string Gem { get; } = gem;

    public string? Entry { get; } = entry;

    public string Reason { get; } = reason;
}

/// <summary>The .gem is malformed: not a tar, bad gzip, unreadable YAML, missing parts, a pre-0.9 gem.</summary>
public sealed class GemFormatException(string gem, string? entry, string reason, Exception? inner = null)
    : GemException(gem, entry, reason, inner);

/// <summary>A digest in <c>checksums.yaml.gz</c> does not match the entry it names.</summary>
public sealed class GemChecksumException(string gem, string entry, string algorithm, string expected, string actual)
    : GemException(gem, entry, $"{algorithm} is {actual}, checksums.yaml.gz says {expected}")
{
    public string Algorithm { get; } = algorithm;

    public string Expected { get; } = expected;

    public string Actual { get; } = actual;
}

/// <summary><c>checksums.yaml.gz</c> is there but cannot verify the gem: unreadable, an algorithm that cannot be
/// checked, a part the gem does not have, or no digest at all. Nothing is ever skipped silently.</summary>
public sealed class GemChecksumsUnusableException(string gem, string reason, Exception? inner = null)
    : GemException(gem, "checksums.yaml.gz", reason, inner);

/// <summary>A data entry would land outside the gem's folder, is duplicated, or is of a refused kind.</summary>
public sealed class GemUnsafeEntryException(string gem, string entry, string reason)
    : GemException(gem, entry, reason);

/// <summary>The gem cannot be installed correctly without Ruby: native extensions, a foreign platform,
/// a Ruby or RubyGems version the target does not satisfy.</summary>
public sealed class GemUnsupportedException(string gem, string? entry, string reason)
    : GemException(gem, entry, reason);

/// <summary>An input is larger than the configured limit (a gem, an entry, the entry count).</summary>
public sealed class GemLimitException(string gem, string? entry, string limit, long value, long maximum)
    : GemException(gem, entry, $"{limit} {value} exceeds the limit of {maximum}")
{
    public string Limit { get; } = limit;

    public long ValueFound { get; } = value;

    public long Maximum { get; } = maximum;
}

/// <summary>One runtime dependency that none of the gems given satisfies.</summary>
public sealed record UnmetGemDependency(string Gem, string Dependency, GemRequirement Requirement)
{
    public override string ToString() => $"{Gem} requires {Dependency} ({Requirement})";
}

/// <summary>Runtime dependencies the set of gems does not satisfy: all of them, in one error.</summary>
public sealed class GemDependencyException(IReadOnlyList<UnmetGemDependency> unmet)
    : MicrokernelFormatException("unmet gem dependencies: " + string.Join("; ", unmet))
{
    public IReadOnlyList<UnmetGemDependency> Unmet { get; } = unmet;
}
