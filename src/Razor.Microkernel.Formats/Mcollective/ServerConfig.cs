namespace Razor.Microkernel.Formats.Mcollective;

/// <summary>One <c>key = value</c> line of server.cfg. <see cref="ToString"/> never shows a secret.</summary>
public readonly record struct ServerSetting(string Key, string Value)
{
    public bool IsSecret => ServerConfigKeys.IsSecret(Key);

    public override string ToString() => IsSecret ? $"{Key} = (secret, not shown)" : $"{Key} = {Value}";
}

/// <summary>
/// A validated server.cfg: its settings in the order <see cref="ServerConfigWriter"/> writes them (a fixed
/// order by key, never the order the inputs came in). Every key appears once except <c>libdir</c>, which
/// MCollective accumulates. Values are normalised (booleans <c>1</c>/<c>0</c>, integers without leading
/// zeros, enumerations in lower case, collectives joined by <c>,</c>). Made by <see cref="ServerConfigBuilder"/>.
/// </summary>
public sealed class ServerConfig
{
    internal ServerConfig(IReadOnlyList<ServerSetting> settings, IReadOnlyList<ServerConfigProblem> warnings)
    {
        Settings = settings;
        Warnings = warnings;
    }

    public IReadOnlyList<ServerSetting> Settings { get; }

    /// <summary>Problems that do not stop the build (<see cref="ServerConfigProblemKind.SuspiciousPluginKey"/>).</summary>
    public IReadOnlyList<ServerConfigProblem> Warnings { get; }

    /// <summary>The value of a single-valued key, or null when it is not set. For <c>libdir</c> use <see cref="LibDirs"/>.</summary>
    public string? this[string key]
    {
        get
        {
            foreach (var s in Settings)
            {
                if (s.Key == key)
                {
                    return s.Value;
                }
            }

            return null;
        }
    }

    /// <summary>Every libdir path, in order, split at <c>:</c> as MCollective splits them.</summary>
    public IReadOnlyList<string> LibDirs =>
        Settings.Where(s => s.Key == ServerConfigKeys.LibDir).SelectMany(s => s.Value.Split(':')).ToArray();

    public IReadOnlyList<string> Collectives => (this[ServerConfigKeys.Collectives] ?? "mcollective").Split(',');

    /// <summary>The image path of the facts file (<c>plugin.yaml</c>) when <c>factsource</c> is yaml; otherwise null.</summary>
    public string? FactsPath =>
        string.Equals(this[ServerConfigKeys.FactSource], "yaml", StringComparison.OrdinalIgnoreCase) ? this[ServerConfigKeys.Yaml] : null;

    /// <summary>True when the config holds a secret (<c>plugin.psk</c> or <c>plugin.stomp.password</c>).</summary>
    public bool HasSecrets => Settings.Any(s => s.IsSecret);

    public override string ToString() => string.Join("; ", Settings);
}
