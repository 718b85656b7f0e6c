namespace Razor.Microkernel.Formats.Fetch;

/// <summary>Where bytes come from: an http(s):// URL, a file:// URL or a plain path (files and mirror roots).</summary>
public static class FetchLocation
{
    /// <summary>True for http:// and https:// locations.</summary>
    public static bool IsHttp(string location)
        => location.StartsWith("http://", StringComparison.OrdinalIgnoreCase)
            || location.StartsWith("https://", StringComparison.OrdinalIgnoreCase);

    /// <summary>True for file:// URLs and plain paths.</summary>
    public static bool IsLocal(string location) => !IsHttp(location);

    /// <summary>The file system path of a file:// URL or plain path.</summary>
    public static string ToLocalPath(string location)
    {
        if (location.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
        {
            if (!Uri.TryCreate(location, UriKind.Absolute, out var uri) || !uri.IsFile)
            {
                throw new InvalidFetchInputException(location, "not a valid file:// URL");
            }

            return uri.LocalPath;
        }

        if (location.Contains("://", StringComparison.Ordinal))
        {
            throw new InvalidFetchInputException(location, "only http://, https:// and file:// URLs or folder paths are supported");
        }

        return Path.GetFullPath(location);
    }

    /// <summary>Validates a location and returns it in canonical form (absolute path for local ones, no trailing slash).</summary>
    public static string Normalize(string location)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(location);
        var trimmed = location.Trim();
        if (IsHttp(trimmed))
        {
            if (!Uri.TryCreate(trimmed, UriKind.Absolute, out _))
            {
                throw new InvalidFetchInputException(location, "not a valid URL");
            }

            return trimmed.TrimEnd('/');
        }

        return Path.TrimEndingDirectorySeparator(ToLocalPath(trimmed));
    }

    /// <summary>Appends '/'-separated <paramref name="relative"/> segments to a mirror root (URL or folder).
    /// URL segments are escaped.</summary>
    public static string Combine(string root, string relative)
    {
        var segments = relative.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (IsHttp(root))
        {
            return root.TrimEnd('/') + "/" + string.Join('/', segments.Select(Uri.EscapeDataString));
        }

        return Path.Combine([ToLocalPath(root), .. segments]);
    }
}
