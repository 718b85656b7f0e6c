namespace Razor.Microkernel.Formats.Layers;

/// <summary>
/// Paths inside the image: relative to <c>/</c>, separated by <c>/</c>, without <c>.</c> components,
/// duplicate or trailing slashes. The root itself is the empty string and never names an entry.
/// </summary>
public static class ImagePath
{
    /// <summary>Normalises <paramref name="path"/> (leading <c>/</c> or <c>./</c>, duplicate slashes, <c>.</c>
    /// components, a trailing slash) and refuses empty paths, <c>..</c> components and NUL.</summary>
    public static string Normalize(string path)
    {
        if (!TryNormalize(path, out var normalized, out var reason))
        {
            throw new InvalidImagePathException(path, reason);
        }

        return normalized;
    }

    public static bool TryNormalize(string path, out string normalized, out string reason)
    {
        normalized = string.Empty;
        ArgumentNullException.ThrowIfNull(path);
        if (path.Contains('\0', StringComparison.Ordinal))
        {
            reason = "it contains a NUL character";
            return false;
        }

        var parts = new List<string>();
        foreach (var part in path.Split('/'))
        {
            if (part.Length == 0 || part == ".")
            {
                continue;
            }

            if (part == "..")
            {
                reason = "it contains a '..' component";
                return false;
            }

            parts.Add(part);
        }

        if (parts.Count == 0)
        {
            reason = "it is empty or names the root";
            return false;
        }

        normalized = string.Join('/', parts);
        reason = string.Empty;
        return true;
    }

    /// <summary>Joins a normalised folder (possibly the root, "") with a relative path and normalises the result.</summary>
    public static string Combine(string folder, string relative)
        => folder.Length == 0 ? Normalize(relative) : Normalize(folder + "/" + relative);

    /// <summary>The parent of a normalised path; the root ("") for a top-level entry.</summary>
    public static string Parent(string path)
    {
        var slash = path.LastIndexOf('/');
        return slash < 0 ? string.Empty : path[..slash];
    }

    public static string FileName(string path)
    {
        var slash = path.LastIndexOf('/');
        return slash < 0 ? path : path[(slash + 1)..];
    }

    /// <summary>Every ancestor of a normalised path, outermost first, excluding the root and the path itself.</summary>
    public static IEnumerable<string> Ancestors(string path)
    {
        for (var i = path.IndexOf('/'); i >= 0; i = path.IndexOf('/', i + 1))
        {
            yield return path[..i];
        }
    }

    public static int Depth(string path) => path.Length == 0 ? 0 : path.Count(c => c == '/') + 1;

    /// <summary>Orders paths so that parents come before children and siblings sort bytewise (ordinal).
    /// This is the order of every layer listing and of the overlay.</summary>
    public static IComparer<string> TreeOrder { get; } = new TreeOrderComparer();

    private sealed class TreeOrderComparer : IComparer<string>
    {
        public int Compare(string? x, string? y)
        {
            if (ReferenceEquals(x, y))
            {
                return 0;
            }

            if (x is null)
            {
                return -1;
            }

            if (y is null)
            {
                return 1;
            }

            var n = Math.Min(x.Length, y.Length);
            for (var i = 0; i < n; i++)
            {
                var a = x[i];
                var b = y[i];
                if (a == b)
                {
                    continue;
                }

                // A separator sorts before every other character, so "a/b" < "a-b" and a folder's
                // children follow it directly.
                if (a == '/')
                {
                    return -1;
                }

                if (b == '/')
                {
                    return 1;
                }

                return a.CompareTo(b);
            }

            return x.Length.CompareTo(y.Length);
        }
    }
}
