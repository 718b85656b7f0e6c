namespace Razor.Microkernel.Formats.Tcz;

/// <summary>Tiny Core extension names: <c>NAME.tcz</c>, with an optional <c>KERNEL</c> placeholder
/// (<c>scsi-KERNEL.tcz</c> becomes <c>scsi-VERSION.tcz</c> for the kernel's version, as tce-load does).</summary>
public static class ExtensionName
{
    public const string Suffix = ".tcz";
    public const string KernelPlaceholder = "KERNEL";

    /// <summary>True when the name ends in <c>.tcz</c> (ordinal, case-sensitive, as the mirror is).</summary>
    public static bool HasSuffix(string name) => name.EndsWith(Suffix, StringComparison.Ordinal);

    /// <summary><c>ruby</c> and <c>ruby.tcz</c> both give <c>ruby.tcz</c>.</summary>
    public static string WithSuffix(string name) => HasSuffix(name) ? name : name + Suffix;

    /// <summary><c>ruby.tcz</c> and <c>ruby</c> both give <c>ruby</c>.</summary>
    public static string WithoutSuffix(string name) => HasSuffix(name) ? name[..^Suffix.Length] : name;

    /// <summary>True when the name carries the <c>-KERNEL</c> placeholder (before <c>.tcz</c> or at the end).</summary>
    public static bool HasKernelPlaceholder(string name)
        => WithoutSuffix(name).EndsWith("-" + KernelPlaceholder, StringComparison.Ordinal);

    /// <summary>Replaces a trailing <c>-KERNEL</c> (before <c>.tcz</c>, or at the end) with <c>-<paramref name="kernel"/></c>.
    /// Other occurrences of the word are left alone, like tce-load's <c>s/-KERNEL.tcz/-$KERNELVER.tcz/</c>.</summary>
    /// <exception cref="KernelVersionRequiredException">The name has the placeholder and <paramref name="kernel"/> is empty.</exception>
    public static string SubstituteKernel(string name, string? kernel)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!HasKernelPlaceholder(name))
        {
            return name;
        }

        if (string.IsNullOrWhiteSpace(kernel))
        {
            throw new KernelVersionRequiredException(name);
        }

        var bare = WithoutSuffix(name);
        var replaced = bare[..^KernelPlaceholder.Length] + kernel;
        return HasSuffix(name) ? replaced + Suffix : replaced;
    }

    /// <summary>Trims, substitutes <c>KERNEL</c>, adds <c>.tcz</c> and validates: the canonical name used
    /// everywhere (mirror paths, cache keys, lock file, layer names).</summary>
    public static string Normalize(string name, string? kernel)
    {
        ArgumentNullException.ThrowIfNull(name);
        var trimmed = name.Trim();
        var result = WithSuffix(SubstituteKernel(trimmed, kernel));
        Validate(result, name);
        return result;
    }

    private static void Validate(string normalized, string original)
    {
        if (normalized.Length <= Suffix.Length)
        {
            throw new InvalidExtensionNameException(original, "the name is empty");
        }

        foreach (var c in normalized)
        {
            if (c is '/' or '\\' or '\0' or '?' or '#' or '%' || char.IsWhiteSpace(c) || char.IsControl(c))
            {
                throw new InvalidExtensionNameException(original, $"it contains '{(char.IsControl(c) ? "\\u" + ((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture) : c.ToString())}'");
            }
        }

        if (normalized.StartsWith('.'))
        {
            throw new InvalidExtensionNameException(original, "it starts with '.'");
        }
    }
}
