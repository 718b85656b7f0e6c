namespace Razor.Microkernel.Formats.Mcollective;

/// <summary>A line MCollective 1.2.1 would refuse at daemon start (an unknown key, including a key with
/// leading white space). The message quotes the key, never the value.</summary>
public sealed class McollectiveConfigParseException(int line, string key)
    : MicrokernelFormatException($"server.cfg line {line}: unknown config parameter '{ServerConfigBuilder.Printable(key)}'")
{
    public int Line { get; } = line;
    public string Key { get; } = key;
}

/// <summary>What MCollective 1.2.1's daemon would read from a server.cfg.</summary>
public sealed class McollectiveConfig
{
    internal McollectiveConfig(Dictionary<string, string> values, List<string> libDirs, Dictionary<string, string> pluginConf)
    {
        Values = values;
        LibDirs = libDirs;
        PluginConf = pluginConf;
    }

    /// <summary>Every key read (core and plugin keys, by their full name), last value wins; <c>libdir</c> is in
    /// <see cref="LibDirs"/> instead.</summary>
    public IReadOnlyDictionary<string, string> Values { get; }

    /// <summary>Every libdir line's value split at <c>:</c> (Ruby <c>split</c>: trailing empty items dropped), in order.</summary>
    public IReadOnlyList<string> LibDirs { get; }

    /// <summary>MCollective's <c>pluginconf</c>: for a key matching <c>/^plugin.(.+)$/</c> (any character after
    /// "plugin"), the rest of the key.</summary>
    public IReadOnlyDictionary<string, string> PluginConf { get; }

    /// <summary>The collectives list (<c>split(",")</c>, each item stripped), default <c>mcollective</c>.</summary>
    public IReadOnlyList<string> Collectives => Values.TryGetValue(ServerConfigKeys.Collectives, out var v)
        ? McollectiveConfigParser.RubySplit(v, ',').Select(c => c.Trim(McollectiveConfigParser.RubySpace)).ToArray()
        : ["mcollective"];

    /// <summary>A boolean key as MCollective 1.2.1 reads it, or <paramref name="defaultValue"/> when absent.</summary>
    public bool GetBoolean(string key, bool defaultValue = false)
        => Values.TryGetValue(key, out var v) ? McollectiveConfigParser.IsTrue(v) : defaultValue;
}

/// <summary>
/// MCollective 1.2.1's server.cfg reading, rule for rule (<c>MCollective::Config#loadconfig</c>):
/// <list type="bullet">
/// <item>each line loses its trailing white space (<c>gsub(/\s*$/, "")</c>; Ruby 1.8's <c>\s</c> is space, tab, CR, LF, FF);</item>
/// <item>lines starting with <c>#</c> (in the first column only) and empty lines are skipped;</item>
/// <item>the rest must match <c>/(.+?)\s*=\s*(.+)/</c>: the key is everything before the first <c>=</c> that has a
/// value after it, less trailing white space; the value is the rest less leading white space. Lines that do not
/// match (no <c>=</c>, nothing after it) are silently ignored; there are no inline comments;</item>
/// <item>the key is compared as is: leading white space or an unknown key is fatal; any key matching
/// <c>/^plugin.(.+)$/</c> is a plugin key;</item>
/// <item>the last duplicate wins, except <c>libdir</c>, whose values (split at <c>:</c>) accumulate;</item>
/// <item>a boolean is true when the value matches <c>/^1|y/i</c>: it starts with <c>1</c> or contains a
/// <c>y</c> anywhere (so <c>true</c> is false and <c>yes</c> true).</item>
/// </list>
/// </summary>
public static class McollectiveConfigParser
{
    internal static readonly char[] RubySpace = [' ', '\t', '\r', '\n', '\f'];

    /// <exception cref="McollectiveConfigParseException">A line MCollective would refuse.</exception>
    public static McollectiveConfig Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var libDirs = new List<string>();
        var pluginConf = new Dictionary<string, string>(StringComparer.Ordinal);
        var lines = text.Split('\n');
        var count = text.EndsWith('\n') ? lines.Length - 1 : lines.Length;
        for (var n = 0; n < count; n++)
        {
            var line = lines[n].TrimEnd(RubySpace);
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            if (!TryMatch(line, out var key, out var value))
            {
                continue;
            }

            if (key == ServerConfigKeys.LibDir)
            {
                libDirs.AddRange(RubySplit(value, ':'));
            }
            else if (ServerConfigKeys.CoreKeys.Contains(key, StringComparer.Ordinal))
            {
                values[key] = value;
            }
            else if (key.Length >= 8 && key.StartsWith("plugin", StringComparison.Ordinal))
            {
                values[key] = value;
                pluginConf[key[7..]] = value;
            }
            else
            {
                throw new McollectiveConfigParseException(n + 1, key);
            }
        }

        return new McollectiveConfig(values, libDirs, pluginConf);
    }

    /// <summary>MCollective 1.2.1's boolean: <c>/^1|y/i</c>.</summary>
    public static bool IsTrue(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return value.StartsWith('1') || value.Contains('y', StringComparison.OrdinalIgnoreCase);
    }

    // /(.+?)\s*=\s*(.+)/ on a line without trailing white space. The lazy key takes the first '=' at index >= 1
    // that has at least one character after it; the key loses trailing white space but keeps at least one
    // character (".+?" cannot be empty); the value loses leading white space.
    private static bool TryMatch(string line, out string key, out string value)
    {
        // Only the first '=' can end the key: the line has no trailing white space, so either something
        // follows that '=' or nothing (and then no later '=' exists either).
        var eq = line.IndexOf('=', 1);
        if (eq < 0 || eq == line.Length - 1)
        {
            key = value = string.Empty;
            return false;
        }

        var end = eq;
        while (end > 1 && Array.IndexOf(RubySpace, line[end - 1]) >= 0)
        {
            end--;
        }

        key = line[..end];
        value = line[(eq + 1)..].TrimStart(RubySpace);
        return true;
    }

    /// <summary>Ruby's <c>String#split</c> with a one-character separator: trailing empty items dropped.</summary>
    internal static IReadOnlyList<string> RubySplit(string value, char separator)
    {
        var parts = value.Split(separator).ToList();
        while (parts.Count > 0 && parts[^1].Length == 0)
        {
            parts.RemoveAt(parts.Count - 1);
        }

        return parts;
    }
}
