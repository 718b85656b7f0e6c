using System.Globalization;
using Razor.Microkernel.Formats.Fetch;

namespace Razor.Microkernel.Tasks;

/// <summary>
/// The project's network settings (MicrokernelDownloadTimeout, MicrokernelDownloadAttempts,
/// MicrokernelMaxParallelDownloads), shared by FetchTcz and FetchUrls. Empty means the default; anything
/// else must be a whole number in range, or it is RMK1040 at the property.
/// </summary>
internal static class DownloadSettings
{
    /// <summary>The options for these settings, or null with the errors logged.</summary>
    public static DownloadOptions? Read(RmkTask task, string? timeoutSeconds, string? attempts, string? maxParallel)
    {
        var defaults = new DownloadOptions();
        var ok = true;
        int Parse(string property, string? value, int fallback, int min, int max)
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                return fallback;
            }

            if (int.TryParse(value.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max)
            {
                return n;
            }

            task.LogPropertyError(property, "InvalidDownloadSetting", property, value, min, max);
            ok = false;
            return fallback;
        }

        var timeout = Parse("MicrokernelDownloadTimeout", timeoutSeconds, (int)defaults.InactivityTimeout.TotalSeconds, 1, 3600);
        var tries = Parse("MicrokernelDownloadAttempts", attempts, defaults.MaxAttempts, 1, 100);
        var parallel = Parse("MicrokernelMaxParallelDownloads", maxParallel, defaults.MaxParallelDownloads, 1, 64);
        return ok
            ? defaults with { InactivityTimeout = TimeSpan.FromSeconds(timeout), MaxAttempts = tries, MaxParallelDownloads = parallel }
            : null;
    }
}
