namespace Razor.Microkernel.Formats.Mcollective;

/// <summary>How a server.cfg value is checked and normalised.</summary>
public enum ServerConfigValueType
{
    /// <summary>Free text: only the checks every value gets (not empty, no CR/LF/NUL, no surrounding space).</summary>
    Text,

    /// <summary>Written <c>1</c> or <c>0</c>; accepted as true/false/yes/no/1/0 in any case.</summary>
    Boolean,

    /// <summary>A non-negative decimal integer (written without leading zeros).</summary>
    Integer,

    /// <summary>An integer 1–65535.</summary>
    Port,

    /// <summary>One of <see cref="ServerConfigKeys.AllowedValues"/> (any case, written lower case).</summary>
    Enum,

    /// <summary>A comma list of collective names (written joined by <c>,</c>).</summary>
    CollectiveList,

    /// <summary>A single collective name.</summary>
    Collective,

    /// <summary><c>[A-Za-z0-9._-]+</c>.</summary>
    Identity,

    /// <summary>One absolute path (starts with <c>/</c>, no <c>:</c>).</summary>
    AbsolutePath,

    /// <summary>One or more absolute paths separated by <c>:</c> (as MCollective splits libdir).</summary>
    AbsolutePathList,
}

/// <summary>The keys MCollective 1.2.x's server.cfg parser accepts, and their types.</summary>
public static class ServerConfigKeys
{
    public const string PluginPrefix = "plugin.";
    public const string Psk = "plugin.psk";
    public const string StompPassword = "plugin.stomp.password";
    public const string StompHost = "plugin.stomp.host";
    public const string StompPort = "plugin.stomp.port";
    public const string StompUser = "plugin.stomp.user";
    public const string Yaml = "plugin.yaml";
    public const string LibDir = "libdir";
    public const string Collectives = "collectives";
    public const string MainCollective = "main_collective";
    public const string Identity = "identity";
    public const string LogLevel = "loglevel";
    public const string Connector = "connector";
    public const string FactSource = "factsource";
    public const string SecurityProvider = "securityprovider";

    /// <summary>Core (non-plugin) keys, in the order the writer puts them.</summary>
    public static IReadOnlyList<string> CoreKeys { get; } =
    [
        "topicprefix", "topicsep", MainCollective, Collectives, LibDir, "logfile", LogLevel, "logger_type",
        "keeplogs", "max_log_size", Identity, "daemonize", "registerinterval", "registration", "classesfile",
        "rpcaudit", "rpcauditprovider", "rpcauthorization", "rpcauthprovider", "rpchelptemplate",
        "rpclimitmethod", "fact_cache_time", "color", "ssl_cipher", SecurityProvider, Connector, FactSource,
    ];

    /// <summary>Plugin keys this SDK knows by name (any other <c>plugin.*</c> key is accepted as text).</summary>
    public static IReadOnlyList<string> WellKnownPluginKeys { get; } =
    [
        Psk, StompHost, StompPort, StompUser, StompPassword, Yaml, "plugin.stomp.base64", "plugin.stomp.pool.size",
    ];

    /// <summary>Values allowed for the enumerated keys.</summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<string>> AllowedValues { get; } =
        new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal)
        {
            [LogLevel] = ["debug", "info", "warn", "error", "fatal"],
            ["logger_type"] = ["file", "syslog", "console"],
            ["rpclimitmethod"] = ["first", "random"],
        };

    private static readonly Dictionary<string, ServerConfigValueType> CoreTypes = new(StringComparer.Ordinal)
    {
        ["daemonize"] = ServerConfigValueType.Boolean,
        ["color"] = ServerConfigValueType.Boolean,
        ["rpcaudit"] = ServerConfigValueType.Boolean,
        ["rpcauthorization"] = ServerConfigValueType.Boolean,
        ["keeplogs"] = ServerConfigValueType.Integer,
        ["max_log_size"] = ServerConfigValueType.Integer,
        ["registerinterval"] = ServerConfigValueType.Integer,
        ["fact_cache_time"] = ServerConfigValueType.Integer,
        [LogLevel] = ServerConfigValueType.Enum,
        ["logger_type"] = ServerConfigValueType.Enum,
        ["rpclimitmethod"] = ServerConfigValueType.Enum,
        [Collectives] = ServerConfigValueType.CollectiveList,
        [MainCollective] = ServerConfigValueType.Collective,
        [Identity] = ServerConfigValueType.Identity,
        [LibDir] = ServerConfigValueType.AbsolutePathList,
        ["logfile"] = ServerConfigValueType.AbsolutePath,
        ["classesfile"] = ServerConfigValueType.AbsolutePath,
        ["rpchelptemplate"] = ServerConfigValueType.AbsolutePath,
    };

    /// <summary>True for a core key or a syntactically valid <c>plugin.*</c> key.</summary>
    public static bool IsKnown(string key) => IsCore(key) || IsValidPluginKey(key);

    public static bool IsCore(string key) => CoreTypes.ContainsKey(key) || CoreKeys.Contains(key, StringComparer.Ordinal);

    /// <summary><c>plugin.</c> followed by one or more of <c>[A-Za-z0-9_.-]</c>: what the writer can write and
    /// MCollective's parser reads back as the same key.</summary>
    public static bool IsValidPluginKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (!key.StartsWith(PluginPrefix, StringComparison.Ordinal) || key.Length == PluginPrefix.Length)
        {
            return false;
        }

        foreach (var c in key.AsSpan(PluginPrefix.Length))
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>True for the keys that hold secrets and never come from project settings.</summary>
    public static bool IsSecret(string key) => key is Psk or StompPassword;

    public static ServerConfigValueType TypeOf(string key)
    {
        if (CoreTypes.TryGetValue(key, out var t))
        {
            return t;
        }

        if (key == StompPort || IsPoolPort(key))
        {
            return ServerConfigValueType.Port;
        }

        return key == Yaml ? ServerConfigValueType.AbsolutePath : ServerConfigValueType.Text;
    }

    // plugin.stomp.pool.port1 … portN: the stomp connector's failover pool.
    private static bool IsPoolPort(string key)
    {
        const string prefix = "plugin.stomp.pool.port";
        if (!key.StartsWith(prefix, StringComparison.Ordinal) || key.Length == prefix.Length)
        {
            return false;
        }

        foreach (var c in key.AsSpan(prefix.Length))
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The known key nearest to <paramref name="key"/> by edit distance, when it is near enough to be a
    /// plausible typo; otherwise null.</summary>
    public static string? Nearest(string key) => EditDistance.Nearest(key, CoreKeys.Concat(WellKnownPluginKeys));
}

internal static class EditDistance
{
    public static int Between(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }

    /// <summary>Nearest candidate (compared case-insensitively), if within max(<paramref name="minimumLimit"/>,
    /// length/3) edits; ties go to the earlier candidate.</summary>
    public static string? Nearest(string text, IEnumerable<string> candidates, int minimumLimit = 2)
    {
        var lowered = text.ToLowerInvariant();
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in candidates)
        {
            var d = Between(lowered, candidate.ToLowerInvariant());
            if (d < bestDistance)
            {
                best = candidate;
                bestDistance = d;
            }
        }

        var limit = Math.Max(minimumLimit, text.Length / 3);
        return bestDistance <= limit ? best : null;
    }
}
