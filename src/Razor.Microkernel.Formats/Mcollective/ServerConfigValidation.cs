using System.Globalization;
using Razor.Microkernel.Formats.Layers;

namespace Razor.Microkernel.Formats.Mcollective;

/// <summary>Value checks. Messages quote a value only for integer, port, boolean and enumerated keys; free-form
/// values (which may hold anything a user pasted) and secrets are never quoted.</summary>
internal static class ServerConfigValidation
{
    private static readonly string[] TrueWords = ["true", "yes", "1"];
    private static readonly string[] FalseWords = ["false", "no", "0"];

    /// <summary>The normalised value, or null after adding the problems to <paramref name="problems"/>.</summary>
    /// <param name="origin">The input the value came from (e.g. <c>McollectiveStompPort</c>), named in messages.</param>
    public static string? Normalize(string key, string value, List<ServerConfigProblem> problems, string? origin = null)
    {
        var label = origin is null ? key : $"{key} (from {origin})";
        if (!CheckCommon(key, value, problems, "the value", label))
        {
            return null;
        }

        switch (ServerConfigKeys.TypeOf(key))
        {
            case ServerConfigValueType.Boolean:
                if (TrueWords.Contains(value, StringComparer.OrdinalIgnoreCase))
                {
                    return "1";
                }

                if (FalseWords.Contains(value, StringComparer.OrdinalIgnoreCase))
                {
                    return "0";
                }

                problems.Add(new(key, ServerConfigProblemKind.InvalidBoolean,
                    $"{label} '{value}' is not a boolean: use true/false, yes/no or 1/0 (written as 1 or 0, because MCollective reads 'true' as false)."));
                return null;

            case ServerConfigValueType.Integer:
                return ParseInteger(key, value, problems, label)?.ToString(CultureInfo.InvariantCulture);

            case ServerConfigValueType.Port:
                var port = ParseInteger(key, value, problems, label);
                if (port is null)
                {
                    return null;
                }

                if (port is < 1 or > 65535)
                {
                    problems.Add(new(key, ServerConfigProblemKind.PortOutOfRange, $"{label} {port} is not a port: use 1–65535."));
                    return null;
                }

                return port.Value.ToString(CultureInfo.InvariantCulture);

            case ServerConfigValueType.Enum:
                var allowed = ServerConfigKeys.AllowedValues[key];
                var match = allowed.FirstOrDefault(a => string.Equals(a, value, StringComparison.OrdinalIgnoreCase));
                if (match is not null)
                {
                    return match;
                }

                var nearest = EditDistance.Nearest(value, allowed, minimumLimit: 3);
                problems.Add(new(key, ServerConfigProblemKind.InvalidEnum,
                    $"{label} '{value}' is not one of {string.Join(", ", allowed)}" + (nearest is null ? "." : $"; did you mean '{nearest}'?"),
                    nearest));
                return null;

            case ServerConfigValueType.CollectiveList:
                var items = value.Split(',').Select(i => i.Trim()).ToArray();
                if (items.Any(i => i.Length == 0))
                {
                    problems.Add(new(key, ServerConfigProblemKind.EmptyValue,
                        $"{label} has an empty item: give a comma-separated list of collective names."));
                    return null;
                }

                return string.Join(',', items);

            case ServerConfigValueType.Identity:
                var bad = value.FirstOrDefault(c => !(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'));
                if (bad != default)
                {
                    problems.Add(new(key, ServerConfigProblemKind.InvalidIdentity,
                        $"identity may only hold letters, digits, '.', '_' and '-' (MCollective refuses others); it holds U+{(int)bad:X4}."));
                    return null;
                }

                return value;

            case ServerConfigValueType.AbsolutePath:
                if (!value.StartsWith('/')
                    || (key == ServerConfigKeys.Yaml && (value.Contains(':', StringComparison.Ordinal) || !ImagePath.TryNormalize(value, out _, out _))))
                {
                    problems.Add(new(key, ServerConfigProblemKind.InvalidPath,
                        key == ServerConfigKeys.Yaml
                            ? $"{label} must be one absolute image path (starting with '/', without ':' or '..'): the facts file is written there."
                            : $"{label} must be an absolute image path (starting with '/')."));
                    return null;
                }

                return value;

            case ServerConfigValueType.AbsolutePathList:
                if (value.Split(':').Any(p => !p.StartsWith('/')))
                {
                    problems.Add(new(key, ServerConfigProblemKind.InvalidPath,
                        $"{label} must be absolute image paths (each starting with '/'), separated by ':' or given as separate libdir settings."));
                    return null;
                }

                return value;

            default:
                return value;
        }
    }

    /// <summary>The checks every value gets. <paramref name="what"/> names the value in messages without quoting it.</summary>
    public static bool CheckCommon(string key, string value, List<ServerConfigProblem> problems, string what, string? label = null)
    {
        label ??= key;
        if (value.Length == 0)
        {
            problems.Add(new(key, ServerConfigProblemKind.EmptyValue,
                $"{label}: {what} is empty (MCollective silently ignores 'key =' lines): give a value or leave the setting out."));
            return false;
        }

        var control = value.IndexOfAny(['\r', '\n', '\0']);
        if (control >= 0)
        {
            var name = value[control] switch { '\r' => "a carriage return", '\n' => "a line feed", _ => "a NUL character" };
            problems.Add(new(key, ServerConfigProblemKind.ControlCharacters,
                $"{label}: {what} contains {name}, which server.cfg (one setting per line) cannot hold."));
            return false;
        }

        if (char.IsWhiteSpace(value[0]) || char.IsWhiteSpace(value[^1]))
        {
            problems.Add(new(key, ServerConfigProblemKind.LeadingOrTrailingSpace,
                $"{label}: {what} starts or ends with white space, which MCollective strips: remove it."));
            return false;
        }

        return true;
    }

    /// <summary>A secret gets the common checks only, and its messages never quote it.</summary>
    public static void CheckSecret(string key, string? value, List<ServerConfigProblem> problems)
    {
        if (!string.IsNullOrEmpty(value))
        {
            CheckCommon(key, value, problems, "the secret");
        }
    }

    private static int? ParseInteger(string key, string value, List<ServerConfigProblem> problems, string label)
    {
        if (value.All(char.IsAsciiDigit)
            && int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n))
        {
            return n;
        }

        problems.Add(new(key, ServerConfigProblemKind.InvalidInteger,
            $"{label} '{value}' is not a whole number (digits only, at most {int.MaxValue})."));
        return null;
    }
}
