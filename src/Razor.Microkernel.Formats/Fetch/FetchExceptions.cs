namespace Razor.Microkernel.Formats.Fetch;

/// <summary>Base of the download and cache errors.</summary>
public class FetchException(string message, Exception? inner = null) : MicrokernelFormatException(message, -1, inner);

/// <summary>The file exists at none of the locations tried (HTTP 404/410, or no such local file).</summary>
public sealed class DownloadNotFoundException(IReadOnlyList<string> locationsTried)
    : FetchException($"Not found at {string.Join(", ", locationsTried)}.")
{
    public IReadOnlyList<string> LocationsTried { get; } = locationsTried;
}

/// <summary>A download failed after its retries (and every mirror fallback): server errors, resets,
/// timeouts, truncated bodies, or a client error other than not-found.</summary>
public sealed class DownloadFailedException(string location, int attempts, string reason, Exception? inner = null)
    : FetchException($"Download of {location} failed after {attempts} attempt(s): {reason}", inner)
{
    public string Location { get; } = location;
    public int Attempts { get; } = attempts;
    public string Reason { get; } = reason;
}

/// <summary>Downloaded or cached bytes do not match the expected MD5 (<c>.md5.txt</c>) or SHA-256 (pin, lock file).</summary>
public sealed class ChecksumMismatchException(string what, string algorithm, string expected, string actual)
    : FetchException($"{what}: {algorithm} is {actual}, expected {expected}.")
{
    public string What { get; } = what;
    public string Algorithm { get; } = algorithm;
    public string Expected { get; } = expected;
    public string Actual { get; } = actual;
}

/// <summary>Offline mode needs a file the cache does not hold. <see cref="What"/> says which (an extension,
/// its <c>.dep</c>, a URL), <see cref="Key"/> the cache key looked up.</summary>
public sealed class OfflineCacheMissException(string what, string key, string cacheRoot, IReadOnlyList<string>? chain = null)
    : FetchException($"Offline mode: {what} is not in the download cache '{cacheRoot}' (key '{key}')"
        + (chain is { Count: > 1 } ? $", needed by {string.Join(" → ", chain)}" : "")
        + ". Build once online to fill the cache.")
{
    public string What { get; } = what;
    public string Key { get; } = key;
    public string CacheRoot { get; } = cacheRoot;
    public IReadOnlyList<string> Chain { get; } = chain ?? [];
}

/// <summary>Another process held a cache entry's lock for longer than the configured wait.</summary>
public sealed class CacheLockTimeoutException(string key, string lockPath, TimeSpan waited)
    : FetchException(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"Timed out after {waited.TotalSeconds:0.#} s waiting for the cache lock '{lockPath}' (key '{key}')."))
{
    public string Key { get; } = key;
    public string LockPath { get; } = lockPath;
}

/// <summary>A mirror or source location is not an http(s):// URL, a file:// URL or a folder path; or an
/// <c>.md5.txt</c> file cannot be read.</summary>
public sealed class InvalidFetchInputException(string input, string reason)
    : FetchException($"'{input}': {reason}")
{
    public string Input { get; } = input;
    public string Reason { get; } = reason;
}

/// <summary>The lock file cannot be read.</summary>
public sealed class InvalidLockFileException(string path, string reason, Exception? inner = null)
    : FetchException($"Lock file '{path}' cannot be read: {reason}", inner)
{
    public string Path { get; } = path;
    public string Reason { get; } = reason;
}
