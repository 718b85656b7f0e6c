namespace Razor.Microkernel.Formats.Mcollective;

/// <summary>
/// The typed inputs (the <c>Mcollective*</c> properties). Null or empty means "not given": the default
/// applies. <see cref="Collectives"/> is a list separated by <c>,</c> or <c>;</c>; <see cref="LibDir"/> a list
/// separated by <c>;</c> (one <c>libdir</c> line each). List items are trimmed, empty items dropped, as MSBuild
/// does for item lists; every other value is checked exactly as given.
/// </summary>
public sealed record ServerConfigInputs
{
    public string? StompHost { get; init; }
    public string? StompPort { get; init; }
    public string? StompUser { get; init; }
    public string? Identity { get; init; }
    public string? Collectives { get; init; }

    /// <summary>When not given (here or as an override) and <see cref="Collectives"/> is, the first collective.</summary>
    public string? MainCollective { get; init; }

    public string? LogLevel { get; init; }
    public string? LibDir { get; init; }
    public string? FactsPath { get; init; }
}

/// <summary>Builds and validates a <see cref="ServerConfig"/>: defaults (the manual procedure's file), then typed
/// inputs, then overrides, then secrets. Every problem is collected into one <see cref="ServerConfigException"/>.</summary>
public static class ServerConfigBuilder
{
    /// <summary>The manual procedure's server.cfg, less <c>plugin.stomp.host</c> (required) and the secrets.</summary>
    public static IReadOnlyList<(string Key, string Value)> Defaults { get; } =
    [
        ("topicprefix", "/topic/"),
        (ServerConfigKeys.MainCollective, "mcollective"),
        (ServerConfigKeys.Collectives, "mcollective"),
        (ServerConfigKeys.LibDir, "/usr/local/mcollective/plugins"),
        ("logfile", "/var/log/mcollective.log"),
        (ServerConfigKeys.LogLevel, "info"),
        ("daemonize", "1"),
        (ServerConfigKeys.SecurityProvider, "psk"),
        (ServerConfigKeys.Connector, "stomp"),
        (ServerConfigKeys.StompPort, "6163"),
        (ServerConfigKeys.StompUser, "mcollective"),
        (ServerConfigKeys.FactSource, "yaml"),
        (ServerConfigKeys.Yaml, "/usr/local/etc/mcollective/facts.yaml"),
    ];

    // Names a user might give a secret under in a McollectiveSetting; all are refused with SecretInProject.
    private static readonly HashSet<string> SecretLikeKeys = new(StringComparer.OrdinalIgnoreCase)
    {
        ServerConfigKeys.Psk, ServerConfigKeys.StompPassword, "psk", "stomp_password", "stomp.password", "password",
        McollectiveSecrets.PskVariable, McollectiveSecrets.StompPasswordVariable,
    };

    /// <summary>Builds the config.</summary>
    /// <param name="inputs">Typed inputs; null for none.</param>
    /// <param name="overrides">(key, value) pairs applied in order after the typed inputs: any core key or
    /// <c>plugin.*</c> key; the last one for a key wins, except <c>libdir</c>: the first libdir override replaces
    /// the default and later ones add to it (as MCollective accumulates libdir lines).</param>
    /// <param name="secrets">The secrets to write (after <see cref="McollectiveSecretPolicy"/>); null for none.</param>
    /// <exception cref="ServerConfigException">Every problem found.</exception>
    public static ServerConfig Build(ServerConfigInputs? inputs, IEnumerable<(string Key, string Value)>? overrides, McollectiveSecrets? secrets)
    {
        inputs ??= new ServerConfigInputs();
        var problems = new List<ServerConfigProblem>();
        var warnings = new List<ServerConfigProblem>();
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var origins = new Dictionary<string, string>(StringComparer.Ordinal); // key -> input named in messages
        var libdirs = new List<string>();
        string? libdirOrigin = null;
        foreach (var (key, value) in Defaults)
        {
            if (key == ServerConfigKeys.LibDir)
            {
                libdirs.Add(value);
            }
            else
            {
                values[key] = value;
            }
        }

        // Typed inputs.
        var mainCollectiveGiven = false;
        void SetTyped(string key, string? value, string origin)
        {
            if (!string.IsNullOrEmpty(value))
            {
                values[key] = value;
                origins[key] = origin;
            }
        }

        SetTyped(ServerConfigKeys.StompHost, inputs.StompHost, "McollectiveStompHost");
        SetTyped(ServerConfigKeys.StompPort, inputs.StompPort, "McollectiveStompPort");
        SetTyped(ServerConfigKeys.StompUser, inputs.StompUser, "McollectiveStompUser");
        SetTyped(ServerConfigKeys.Identity, inputs.Identity, "McollectiveIdentity");
        SetTyped(ServerConfigKeys.LogLevel, inputs.LogLevel, "McollectiveLogLevel");
        SetTyped(ServerConfigKeys.Yaml, inputs.FactsPath, "McollectiveFactsPath");
        var typedCollectives = SplitList(inputs.Collectives, ',', ';');
        var collectivesGiven = typedCollectives.Length > 0;
        if (collectivesGiven)
        {
            values[ServerConfigKeys.Collectives] = string.Join(',', typedCollectives);
            origins[ServerConfigKeys.Collectives] = "McollectiveCollectives";
        }

        if (!string.IsNullOrEmpty(inputs.MainCollective))
        {
            values[ServerConfigKeys.MainCollective] = inputs.MainCollective;
            origins[ServerConfigKeys.MainCollective] = "McollectiveMainCollective";
            mainCollectiveGiven = true;
        }

        var typedLibDirs = SplitList(inputs.LibDir, ';');
        if (typedLibDirs.Length > 0)
        {
            libdirs.Clear();
            libdirs.AddRange(typedLibDirs);
            libdirOrigin = "McollectiveLibDir";
        }

        // Overrides.
        var libdirOverridden = false;
        foreach (var (rawKey, rawValue) in overrides ?? [])
        {
            var key = rawKey ?? string.Empty;
            var value = rawValue ?? string.Empty;
            if (SecretLikeKeys.Contains(key))
            {
                problems.Add(new(key, ServerConfigProblemKind.SecretInProject,
                    $"'{key}' is a secret and cannot be a project setting (it would end up in logs and in the repository). " +
                    $"Set the {McollectiveSecrets.PskVariable} or {McollectiveSecrets.StompPasswordVariable} environment variable, " +
                    "or put it in the file named by McollectiveSecretsFile (plugin.psk = … / plugin.stomp.password = …)."));
                continue;
            }

            if (key == ServerConfigKeys.LibDir)
            {
                if (!libdirOverridden)
                {
                    libdirs.Clear();
                    libdirOverridden = true;
                    libdirOrigin = "McollectiveSetting";
                }

                libdirs.Add(value);
                continue;
            }

            if (ServerConfigKeys.IsCore(key) || ServerConfigKeys.IsValidPluginKey(key))
            {
                values[key] = value;
                origins[key] = "McollectiveSetting";
                mainCollectiveGiven |= key == ServerConfigKeys.MainCollective;
                collectivesGiven |= key == ServerConfigKeys.Collectives;
                if (ServerConfigKeys.IsValidPluginKey(key) && !ServerConfigKeys.WellKnownPluginKeys.Contains(key))
                {
                    var near = ServerConfigKeys.WellKnownPluginKeys.FirstOrDefault(k => EditDistance.Between(k, key) <= 2);
                    if (near is not null)
                    {
                        warnings.Add(new(key, ServerConfigProblemKind.SuspiciousPluginKey,
                            $"'{key}' is not a plugin setting this SDK knows; did you mean '{near}'? It is written as given.", near));
                    }
                }

                continue;
            }

            if (key.StartsWith(ServerConfigKeys.PluginPrefix, StringComparison.Ordinal))
            {
                problems.Add(new(key, ServerConfigProblemKind.InvalidKey,
                    $"'{Printable(key)}' is not a valid plugin key: after 'plugin.' use only letters, digits, '_', '.' and '-'."));
                continue;
            }

            var suggestion = ServerConfigKeys.Nearest(key);
            problems.Add(new(key, ServerConfigProblemKind.UnknownKey,
                $"'{Printable(key)}' is not a server.cfg key MCollective 1.2 knows (it would refuse to start)" +
                (suggestion is null ? "." : $"; did you mean '{suggestion}'?"), suggestion));
        }

        if (collectivesGiven && !mainCollectiveGiven)
        {
            var first = values[ServerConfigKeys.Collectives].Split(',')[0].Trim();
            if (first.Length > 0)
            {
                values[ServerConfigKeys.MainCollective] = first;
            }
        }

        // Values.
        var normalized = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in values)
        {
            var n = ServerConfigValidation.Normalize(key, value, problems, origins.GetValueOrDefault(key));
            if (n is not null)
            {
                normalized[key] = n;
            }
        }

        var normalizedLibDirs = new List<string>();
        foreach (var dir in libdirs)
        {
            var n = ServerConfigValidation.Normalize(ServerConfigKeys.LibDir, dir, problems, libdirOrigin);
            if (n is not null)
            {
                normalizedLibDirs.Add(n);
            }
        }

        // Cross-checks.
        if (!values.ContainsKey(ServerConfigKeys.StompHost)
            && string.Equals(values[ServerConfigKeys.Connector], "stomp", StringComparison.OrdinalIgnoreCase))
        {
            problems.Add(new(ServerConfigKeys.StompHost, ServerConfigProblemKind.MissingStompHost,
                "No STOMP host is given: set McollectiveStompHost (plugin.stomp.host) to the Razor server's message broker."));
        }

        if (normalized.TryGetValue(ServerConfigKeys.MainCollective, out var main)
            && normalized.TryGetValue(ServerConfigKeys.Collectives, out var collectives)
            && !collectives.Split(',').Contains(main, StringComparer.Ordinal))
        {
            problems.Add(new(ServerConfigKeys.MainCollective, ServerConfigProblemKind.MainCollectiveNotInCollectives,
                $"main_collective '{main}' is not one of the collectives ({collectives}).",
                collectives.Split(',')[0]));
        }

        // Secrets.
        if (secrets is not null)
        {
            ServerConfigValidation.CheckSecret(ServerConfigKeys.Psk, secrets.Psk, problems);
            ServerConfigValidation.CheckSecret(ServerConfigKeys.StompPassword, secrets.StompPassword, problems);
            if (!string.IsNullOrEmpty(secrets.Psk))
            {
                normalized[ServerConfigKeys.Psk] = secrets.Psk;
            }

            if (!string.IsNullOrEmpty(secrets.StompPassword))
            {
                normalized[ServerConfigKeys.StompPassword] = secrets.StompPassword;
            }
        }

        if (problems.Count > 0)
        {
            throw new ServerConfigException(problems);
        }

        var settings = normalized.Select(kv => new ServerSetting(kv.Key, kv.Value))
            .Concat(normalizedLibDirs.Select(d => new ServerSetting(ServerConfigKeys.LibDir, d)))
            .OrderBy(s => ServerConfigWriter.Position(s.Key))
            .ThenBy(s => s.Key, StringComparer.Ordinal)
            .ToArray(); // OrderBy is stable: libdir lines keep their order
        return new ServerConfig(settings, warnings);
    }

    private static string[] SplitList(string? text, params char[] separators)
        => string.IsNullOrEmpty(text)
            ? []
            : text.Split(separators, StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    // Keys in messages: control characters shown as U+XXXX so a message stays one readable line.
    internal static string Printable(string text)
        => string.Concat(text.Select(c => char.IsControl(c) ? $"U+{(int)c:X4}" : c.ToString()));
}
