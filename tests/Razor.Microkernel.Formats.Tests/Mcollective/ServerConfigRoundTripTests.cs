using Razor.Microkernel.Formats.Mcollective;
using Razor.Microkernel.TestSupport;
using static Razor.Microkernel.Formats.Tests.Mcollective.McollectiveTestSupport;

namespace Razor.Microkernel.Formats.Tests.Mcollective;

/// <summary>What the writer writes, MCollective reads back as the same settings: checked with our parser and with
/// MCollective 1.2.1's loop run by Ruby, for many generated configs, valid and invalid inputs alike (an input the
/// builder accepts must round-trip; one it refuses must be refused for a reason).</summary>
public class ServerConfigRoundTripTests
{
    private static readonly string[] TextKeys =
    [
        "topicprefix", "topicsep", "registration", "securityprovider", "rpcauditprovider", "rpcauthprovider", "ssl_cipher",
        "plugin.stomp.host", "plugin.stomp.user", "plugin.custom", "plugin.a.b-c_d", "plugin.stomp.pool.host1",
    ];

    private static readonly string[] AnyValues =
    [
        "x", "a b", "a = b", "=x", "x=", "==", "# not a comment", "a # b", "#", "1", "0", "yes", "true", "false", "no", "on",
        "y", "Y", "okay", "debug", "INFO", "warning", "first", "random", "console", "65535", "65536", "0", "007", "-1", "1.5",
        "/abs/path", "rel/path", "/a:/b", "/a::/b", ":", "mcollective", "mcollective,razor", "razor, mcollective", "a,,b",
        "é ü ✓", "tab\tinside", " lead", "trail ", "\ttab", "cr\rcr", "lf\nlf", "nul\0nul", "", "\u00A0nbsp", "emoji😀",
        "back\\slash", "\"quoted\"", "'single'", "{a: 1}", "- item", "plugin.psk = hijack", "\f",
    ];

    private static readonly string[] TameValues = AnyValues
        .Where(v => v.Length > 0 && !char.IsWhiteSpace(v[0]) && !char.IsWhiteSpace(v[^1]) && v.IndexOfAny(['\r', '\n', '\0']) < 0)
        .ToArray();

    private static readonly string[] AnyKeys =
    [
        .. ServerConfigKeys.CoreKeys, .. TextKeys, "plugin.stomp.port", "plugin.stomp.pool.port1", "plugin.yaml",
        "daemonize", "color", "rpcaudit", "rpcauthorization", "keeplogs", "loglvl", "plugin.", "plugin.x y", "Plugin.x",
        "plugin.psk", "plugin.stomp.password",
    ];

    [Fact]
    public void WrittenConfig_ParsesBackToTheSameSettings_ForManyGeneratedConfigs()
    {
        var random = new Random(20261125);
        using var tmp = new TempFolder();
        var accepted = new List<(ServerConfig Config, string File)>();
        var refused = 0;
        for (var n = 0; n < 1500; n++)
        {
            // Half the configs are drawn from inputs that pass the value checks (so that many are accepted and
            // written), half from anything at all (so that refusals are exercised too).
            var wild = random.Next(2) == 0;
            var inputs = wild
                ? new ServerConfigInputs
                {
                    StompHost = Pick(random, ["razor", "broker.example", "10.0.0.1", "", null, " razor"]),
                    StompPort = Pick(random, [null, "61613", "6163", "0", "x"]),
                    StompUser = Pick(random, [null, "mk", "user name"]),
                    Identity = Pick(random, [null, "mk-01", "mk 01", "a.b_c"]),
                    Collectives = Pick(random, [null, "mcollective", "razor;lab", "a, b"]),
                    MainCollective = Pick(random, [null, "razor", "mcollective", "lab"]),
                    LogLevel = Pick(random, [null, "debug", "WARN", "loud"]),
                    LibDir = Pick(random, [null, "/opt/p", "/a;/b:/c", "rel"]),
                    FactsPath = Pick(random, [null, "/etc/facts.yaml", "facts.yaml"]),
                }
                : new ServerConfigInputs
                {
                    StompHost = Pick(random, ["razor", "broker.example", "10.0.0.1", "a = b # c"]),
                    StompPort = Pick(random, [null, "61613", "1", "65535"]),
                    StompUser = Pick(random, [null, "mk", "user name"]),
                    Identity = Pick(random, [null, "mk-01", "a.b_c"]),
                    LogLevel = Pick(random, [null, "debug", "WARN", "Fatal"]),
                    LibDir = Pick(random, [null, "/opt/p", "/a;/b:/c", " /x ; /y "]),
                    FactsPath = Pick(random, [null, "/etc/facts.yaml", "/a b/#c.yaml"]),
                };
            var overrides = new List<(string, string)>();
            for (var i = random.Next(0, 8); i > 0; i--)
            {
                overrides.Add(wild
                    ? (AnyKeys[random.Next(AnyKeys.Length)], AnyValues[random.Next(AnyValues.Length)])
                    : (TextKeys[random.Next(TextKeys.Length)], TameValues[random.Next(TameValues.Length)]));
            }

            var secrets = random.Next(3) switch
            {
                0 => null,
                1 => Secrets(),
                _ => Secrets("p=s k # not a comment " + n, "pass word = " + n),
            };

            ServerConfig config;
            try
            {
                config = ServerConfigBuilder.Build(inputs, overrides, secrets);
            }
            catch (ServerConfigException e)
            {
                Assert.NotEmpty(e.Problems);
                refused++;
                continue;
            }

            var text = ServerConfigWriter.Write(config);
            AssertSameSettings(config, McollectiveConfigParser.Parse(text), text);
            accepted.Add((config, tmp.Write($"{n}.cfg", text)));
        }

        Assert.InRange(accepted.Count, 100, 1400);
        Assert.InRange(refused, 100, 1400);

        // The same files through MCollective 1.2.1's own loop in Ruby.
        var ruby = ReadWithRuby(accepted.Select(a => a.File).ToList());
        for (var i = 0; i < accepted.Count; i++)
        {
            var (config, file) = accepted[i];
            var text = File.ReadAllText(file);
            Assert.True(ruby[i].Error is null, $"Ruby refuses {ruby[i].Error} in\n{text}");
            var expected = config.Settings.Where(s => s.Key != "libdir").OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => (s.Key, s.Value));
            Assert.Equal(expected, ruby[i].Values.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => (kv.Key, kv.Value)));
            Assert.Equal(config.LibDirs, ruby[i].LibDir);
            Assert.Equal(config.Collectives, ruby[i].Collectives);
            foreach (var (key, value) in ruby[i].Bools)
            {
                Assert.Equal(config[key] == "1", value);
            }
        }
    }

    [Fact]
    public void WrittenBooleans_ReadBackAsMeant_EvenWhereMcollectiveWouldMisreadTheInput()
    {
        // 'true' read by MCollective 1.2.1 is false; the writer writes 1, which it reads as true.
        var config = ServerConfigBuilder.Build(Host(), [("daemonize", "true"), ("color", "false"), ("rpcaudit", "yes"), ("rpcauthorization", "no")], null);
        var parsed = McollectiveConfigParser.Parse(ServerConfigWriter.Write(config));
        Assert.True(parsed.GetBoolean("daemonize"));
        Assert.False(parsed.GetBoolean("color", true));
        Assert.True(parsed.GetBoolean("rpcaudit"));
        Assert.False(parsed.GetBoolean("rpcauthorization", true));
        Assert.False(McollectiveConfigParser.Parse("daemonize = true\n").GetBoolean("daemonize"));
    }

    [Fact]
    public void ValuesWithHashesAndEquals_RoundTripBecauseThereAreNoInlineComments()
    {
        var config = ServerConfigBuilder.Build(Host(), [("registration", "a # b"), ("plugin.x", "= y ="), ("topicprefix", "#")], null);
        var parsed = McollectiveConfigParser.Parse(ServerConfigWriter.Write(config));
        Assert.Equal("a # b", parsed.Values["registration"]);
        Assert.Equal("= y =", parsed.PluginConf["x"]);
        Assert.Equal("#", parsed.Values["topicprefix"]);
    }

    private static void AssertSameSettings(ServerConfig config, McollectiveConfig parsed, string text)
    {
        var singles = config.Settings.Where(s => s.Key != "libdir").ToList();
        Assert.True(singles.Count == parsed.Values.Count, text);
        foreach (var s in singles)
        {
            Assert.True(parsed.Values.TryGetValue(s.Key, out var v) && v == s.Value, $"{s.Key} in\n{text}");
            if (s.Key.StartsWith("plugin.", StringComparison.Ordinal))
            {
                Assert.Equal(s.Value, parsed.PluginConf[s.Key["plugin.".Length..]]);
            }

            if (ServerConfigKeys.TypeOf(s.Key) == ServerConfigValueType.Boolean)
            {
                Assert.Equal(s.Value == "1", parsed.GetBoolean(s.Key));
            }
        }

        Assert.Equal(config.LibDirs, parsed.LibDirs);
        Assert.Equal(config.Collectives, parsed.Collectives);
        Assert.Contains(config["main_collective"], parsed.Collectives);
    }

    private static string? Pick(Random random, string?[] options) => options[random.Next(options.Length)];
}
