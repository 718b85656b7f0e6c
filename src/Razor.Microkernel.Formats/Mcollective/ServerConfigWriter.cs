using System.Text;

namespace Razor.Microkernel.Formats.Mcollective;

/// <summary>
/// Writes server.cfg in the manual procedure's shape: the core keys; a blank line and <c># Plugins</c>
/// (securityprovider, plugin.psk, connector); a blank line and the <c>plugin.stomp.*</c> keys (host, port,
/// user, password, then the others by name); the other <c>plugin.*</c> keys by name; a blank line and
/// <c># Facts</c> (factsource, plugin.yaml). Lines end with <c>\n</c>; the order depends on the keys only.
/// </summary>
public static class ServerConfigWriter
{
    private enum Section
    {
        Core,
        Plugins,
        Stomp,
        OtherPlugins,
        Facts,
    }

    /// <summary>Where MCollective looks for server.cfg in the image (the default of <c>McollectiveConfigPath</c>).</summary>
    public const string DefaultPath = "/usr/local/etc/mcollective/server.cfg";

    /// <summary>Mode of server.cfg: 0640, root-owned (it holds the secrets).</summary>
    public const int FileMode = 0b110_100_000;

    private static readonly string[] StompOrder =
        [ServerConfigKeys.StompHost, ServerConfigKeys.StompPort, ServerConfigKeys.StompUser, ServerConfigKeys.StompPassword];

    public static string Write(ServerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var sb = new StringBuilder();
        Section? current = null;
        foreach (var s in config.Settings.OrderBy(s => Position(s.Key)).ThenBy(s => s.Key, StringComparer.Ordinal))
        {
            var section = SectionOf(s.Key);
            if (section != current)
            {
                if (current is not null)
                {
                    sb.Append('\n');
                }

                if (section == Section.Plugins)
                {
                    sb.Append("# Plugins\n");
                }
                else if (section == Section.Facts)
                {
                    sb.Append("# Facts\n");
                }

                current = section;
            }

            sb.Append(s.Key).Append(" = ").Append(s.Value).Append('\n');
        }

        return sb.ToString();
    }

    /// <summary><see cref="Write"/> as UTF-8 without a byte order mark.</summary>
    public static byte[] WriteUtf8(ServerConfig config) => new UTF8Encoding(false).GetBytes(Write(config));

    /// <summary>Sort key of a setting in the written file (ties broken by key name).</summary>
    internal static int Position(string key)
    {
        var section = SectionOf(key);
        var within = section switch
        {
            Section.Core => IndexOr(ServerConfigKeys.CoreKeys, key),
            Section.Plugins => key switch { ServerConfigKeys.SecurityProvider => 0, ServerConfigKeys.Psk => 1, _ => 2 },
            Section.Stomp => IndexOr(StompOrder, key),
            Section.Facts => key == ServerConfigKeys.FactSource ? 0 : 1,
            _ => 0,
        };
        return ((int)section * 1000) + within;
    }

    private static int IndexOr(IReadOnlyList<string> list, string key)
    {
        for (var i = 0; i < list.Count; i++)
        {
            if (list[i] == key)
            {
                return i;
            }
        }

        return list.Count;
    }

    private static Section SectionOf(string key) => key switch
    {
        ServerConfigKeys.SecurityProvider or ServerConfigKeys.Psk or ServerConfigKeys.Connector => Section.Plugins,
        ServerConfigKeys.FactSource or ServerConfigKeys.Yaml => Section.Facts,
        _ when key.StartsWith("plugin.stomp.", StringComparison.Ordinal) => Section.Stomp,
        _ when key.StartsWith(ServerConfigKeys.PluginPrefix, StringComparison.Ordinal) => Section.OtherPlugins,
        _ => Section.Core,
    };
}
