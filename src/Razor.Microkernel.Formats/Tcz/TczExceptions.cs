namespace Razor.Microkernel.Formats.Tcz;

/// <summary>An extension name is empty or contains characters no mirror path can hold.</summary>
public sealed class InvalidExtensionNameException(string name, string reason)
    : MicrokernelFormatException($"'{name}' is not a valid Tiny Core extension name: {reason}")
{
    public string Name { get; } = name;
    public string Reason { get; } = reason;
}

/// <summary>An extension name has the <c>KERNEL</c> placeholder, and no kernel version is known to replace it with.
/// <see cref="ListedIn"/> is the extension whose <c>.dep</c> names it, or null for a name the project gave.</summary>
public sealed class KernelVersionRequiredException(string name, string? listedIn = null)
    : MicrokernelFormatException($"'{name}' names the kernel (KERNEL){(listedIn is null ? "" : $" in {listedIn}.dep")}, but no kernel version is set")
{
    public string Name { get; } = name;

    public string? ListedIn { get; } = listedIn;
}

/// <summary>An extension (a root, or a dependency of one) exists on no mirror (or, offline, not in the cache).
/// <see cref="Chain"/> is the path from the root that needs it, e.g. <c>ruby.tcz → gdbm.tcz → missing.tcz</c>.</summary>
public sealed class MissingExtensionException : MicrokernelFormatException
{
    public MissingExtensionException(IReadOnlyList<string> chain, IReadOnlyList<string> locationsTried, Exception? inner = null)
        : base(BuildMessage(chain, locationsTried), -1, inner)
    {
        Chain = chain;
        LocationsTried = locationsTried;
    }

    /// <summary>Root first, the missing extension last.</summary>
    public IReadOnlyList<string> Chain { get; }

    public string Missing => Chain[^1];

    /// <summary>URLs (or cache keys, offline) that were looked at for the missing extension.</summary>
    public IReadOnlyList<string> LocationsTried { get; }

    public string ChainText => string.Join(" → ", Chain);

    private static string BuildMessage(IReadOnlyList<string> chain, IReadOnlyList<string> tried)
    {
        var what = chain.Count == 1
            ? $"Extension '{chain[0]}' was not found"
            : $"Extension '{chain[^2]}' depends on '{chain[^1]}', which was not found ({string.Join(" → ", chain)})";
        return tried.Count == 0 ? what + "." : $"{what}; tried {string.Join(", ", tried)}.";
    }
}
