using System.Text;
using System.Text.RegularExpressions;

namespace Razor.Microkernel.Formats.SquashFs;

/// <summary>Matches image paths against a list of paths and globs (<c>*</c>, <c>?</c> within a component,
/// <c>**</c> across components). A path is kept when it or one of its ancestors matches.</summary>
internal sealed class PathMatcher
{
    private readonly Regex? _regex;

    public PathMatcher(IReadOnlyList<string> patterns)
    {
        var parts = new List<string>();
        foreach (var raw in patterns)
        {
            var p = raw.Trim().Trim('/');
            while (p.StartsWith("./", StringComparison.Ordinal))
            {
                p = p[2..];
            }

            if (p.Length == 0)
            {
                continue;
            }

            parts.Add(ToRegex(p));
        }

        if (parts.Count > 0)
        {
            _regex = new Regex("^(?:" + string.Join('|', parts) + ")(?:/.*)?$", RegexOptions.CultureInvariant | RegexOptions.Singleline, TimeSpan.FromSeconds(1));
        }
    }

    public bool KeepsAll => _regex is null;

    public bool Keep(string path) => _regex is null || _regex.IsMatch(path);

    private static string ToRegex(string glob)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < glob.Length; i++)
        {
            var c = glob[i];
            if (c == '*' && i + 1 < glob.Length && glob[i + 1] == '*')
            {
                var slashAfter = i + 2 < glob.Length && glob[i + 2] == '/';
                sb.Append(slashAfter ? "(?:.*/)?" : ".*");
                i += slashAfter ? 2 : 1;
            }
            else if (c == '*')
            {
                sb.Append("[^/]*");
            }
            else if (c == '?')
            {
                sb.Append("[^/]");
            }
            else
            {
                sb.Append(Regex.Escape(c.ToString()));
            }
        }

        return sb.ToString();
    }
}
