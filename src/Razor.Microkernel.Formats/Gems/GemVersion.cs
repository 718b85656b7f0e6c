using System.Globalization;
using System.Numerics;
using System.Text.RegularExpressions;

namespace Razor.Microkernel.Formats.Gems;

/// <summary>
/// A RubyGems version (<c>Gem::Version</c>): dot-separated segments, numeric or alphabetic; any letter makes
/// it a prerelease; <c>-</c> reads as <c>.pre.</c>. Ordering, equality, <see cref="Release"/> and
/// <see cref="Bump"/> follow RubyGems exactly (trailing zero segments do not count: 1.0 == 1).
/// </summary>
public sealed partial class GemVersion : IComparable<GemVersion>, IEquatable<GemVersion>
{
    /// <summary>The version pattern of RubyGems (<c>Gem::Version::VERSION_PATTERN</c>).</summary>
    internal const string Pattern = @"[0-9]+(?>\.[0-9a-zA-Z]+)*(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?";

    private readonly object[] _segments; // BigInteger or string
    private readonly object[] _canonical;

    private GemVersion(string text)
    {
        Text = text;
        _segments = SegmentRegex().Matches(text)
            .Select(m => char.IsAsciiDigit(m.Value[0]) ? (object)BigInteger.Parse(m.Value, CultureInfo.InvariantCulture) : m.Value)
            .ToArray();
        var firstString = Array.FindIndex(_segments, s => s is string);
        var numeric = firstString < 0 ? _segments : _segments[..firstString];
        var strings = firstString < 0 ? [] : _segments[firstString..];
        _canonical = [.. TrimZeros(numeric), .. TrimZeros(strings)];
    }

    /// <summary>The version as RubyGems prints it (stripped, <c>-</c> replaced by <c>.pre.</c>).</summary>
    public string Text { get; }

    public IReadOnlyList<object> Segments => _segments;

    public bool IsPrerelease => Text.Any(char.IsAsciiLetter);

    public static GemVersion Zero { get; } = new("0");

    /// <summary>True when <paramref name="text"/> is a version RubyGems accepts (<c>Gem::Version.correct?</c>).</summary>
    public static bool IsCorrect(string? text) => text is not null && AnchoredRegex().IsMatch(text);

    public static GemVersion Parse(string text)
    {
        if (!TryParse(text, out var v))
        {
            throw new FormatException($"Malformed version number string {text}");
        }

        return v;
    }

    public static bool TryParse(string? text, out GemVersion version)
    {
        version = Zero;
        if (text is null)
        {
            return false;
        }

        var t = text.Trim(' ', '\t', '\n', '\v', '\f', '\r', '\0');
        if (t.Length == 0)
        {
            t = "0";
        }

        if (!AnchoredRegex().IsMatch(t))
        {
            return false;
        }

        version = new GemVersion(t.Replace("-", ".pre.", StringComparison.Ordinal));
        return true;
    }

    /// <summary>The version without its prerelease part (<c>1.2.a</c> → <c>1.2</c>).</summary>
    public GemVersion Release
    {
        get
        {
            if (!IsPrerelease)
            {
                return this;
            }

            var firstString = Array.FindIndex(_segments, s => s is string);
            var numeric = _segments[..firstString];
            return new GemVersion(numeric.Length == 0 ? "0" : string.Join('.', numeric));
        }
    }

    /// <summary>The next significant release (<c>~&gt;</c> upper bound): <c>1.2.3</c> → <c>1.3</c>, <c>1</c> → <c>2</c>.</summary>
    public GemVersion Bump
    {
        get
        {
            var segs = _segments.ToList();
            while (segs.Any(s => s is string))
            {
                segs.RemoveAt(segs.Count - 1);
            }

            if (segs.Count > 1)
            {
                segs.RemoveAt(segs.Count - 1);
            }

            if (segs.Count == 0)
            {
                segs.Add(BigInteger.Zero);
            }

            segs[^1] = (BigInteger)segs[^1] + 1;
            return new GemVersion(string.Join('.', segs));
        }
    }

    public int CompareTo(GemVersion? other)
    {
        if (other is null)
        {
            return 1;
        }

        if (Text == other.Text)
        {
            return 0;
        }

        var l = _canonical;
        var r = other._canonical;
        var limit = Math.Max(l.Length, r.Length);
        for (var i = 0; i < limit; i++)
        {
            var a = i < l.Length ? l[i] : BigInteger.Zero;
            var b = i < r.Length ? r[i] : BigInteger.Zero;
            switch (a, b)
            {
                case (BigInteger x, BigInteger y):
                    if (x != y)
                    {
                        return x.CompareTo(y);
                    }

                    break;
                case (string x, string y):
                    var c = string.CompareOrdinal(x, y);
                    if (c != 0)
                    {
                        return Math.Sign(c);
                    }

                    break;
                case (string, BigInteger):
                    return -1;
                default:
                    return 1;
            }
        }

        return 0;
    }

    public bool Equals(GemVersion? other) => other is not null && CompareTo(other) == 0;

    public override bool Equals(object? obj) => obj is GemVersion v && Equals(v);

    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var s in _canonical)
        {
            h.Add(s);
        }

        return h.ToHashCode();
    }

    public override string ToString() => Text;

    public static bool operator ==(GemVersion? a, GemVersion? b) => a is null ? b is null : a.Equals(b);

    public static bool operator !=(GemVersion? a, GemVersion? b) => !(a == b);

    public static bool operator <(GemVersion a, GemVersion b) => a.CompareTo(b) < 0;

    public static bool operator >(GemVersion a, GemVersion b) => a.CompareTo(b) > 0;

    public static bool operator <=(GemVersion a, GemVersion b) => a.CompareTo(b) <= 0;

    public static bool operator >=(GemVersion a, GemVersion b) => a.CompareTo(b) >= 0;

    private static IEnumerable<object> TrimZeros(object[] segments)
    {
        var end = segments.Length;
        while (end > 0 && segments[end - 1] is BigInteger b && b.IsZero)
        {
            end--;
        }

        return segments[..end];
    }

    [GeneratedRegex("[0-9]+|[a-z]+", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SegmentRegex();

    [GeneratedRegex(@"\A\s*(?:" + Pattern + @")?\s*\z", RegexOptions.CultureInvariant)]
    private static partial Regex AnchoredRegex();
}
