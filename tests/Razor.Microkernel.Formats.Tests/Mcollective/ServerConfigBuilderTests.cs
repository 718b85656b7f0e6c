using Razor.Microkernel.Formats.Mcollective;
using static Razor.Microkernel.Formats.Tests.Mcollective.McollectiveTestSupport;

namespace Razor.Microkernel.Formats.Tests.Mcollective;

public class ServerConfigBuilderTests
{
    [Fact]
    public void Build_DefaultsWithProcedureHostAndSecrets_WritesTheProcedureFileByteForByte()
    {
        var secrets = new McollectiveSecrets(ExamplePsk, SecretSource.File, ExamplePassword, SecretSource.File);
        var config = ServerConfigBuilder.Build(Host("ubuntu-server"), null, secrets);
        Assert.Equal(ProcedureServerCfg, ServerConfigWriter.Write(config));
        Assert.Equal("/usr/local/etc/mcollective/facts.yaml", config.FactsPath);
        Assert.Empty(config.Warnings);
    }

    [Fact]
    public void Build_TypedInputs_SetTheirKeys()
    {
        var config = ServerConfigBuilder.Build(new ServerConfigInputs
        {
            StompHost = "broker.example",
            StompPort = "61613",
            StompUser = "mk",
            Identity = "mk-01.lab",
            Collectives = "mcollective; razor",
            MainCollective = "razor",
            LogLevel = "DEBUG",
            LibDir = "/usr/local/mcollective/plugins;/opt/razor/plugins",
            FactsPath = "/etc/facts.yaml",
        }, null, null);

        Assert.Equal("broker.example", config[ServerConfigKeys.StompHost]);
        Assert.Equal("61613", config[ServerConfigKeys.StompPort]);
        Assert.Equal("mk", config[ServerConfigKeys.StompUser]);
        Assert.Equal("mk-01.lab", config["identity"]);
        Assert.Equal("mcollective,razor", config["collectives"]);
        Assert.Equal("razor", config["main_collective"]);
        Assert.Equal("debug", config["loglevel"]);
        Assert.Equal(["/usr/local/mcollective/plugins", "/opt/razor/plugins"], config.LibDirs);
        Assert.Equal("/etc/facts.yaml", config.FactsPath);
        Assert.False(config.HasSecrets);
    }

    [Fact]
    public void Build_CollectivesWithoutMainCollective_MainIsTheFirstCollective()
    {
        var config = ServerConfigBuilder.Build(Host() with { Collectives = "razor,lab" }, null, null);
        Assert.Equal("razor", config["main_collective"]);
    }

    [Fact]
    public void Build_OverridesComeAfterTypedInputs_LastOneWins()
    {
        var config = ServerConfigBuilder.Build(Host() with { LogLevel = "warn" },
            [("loglevel", "error"), ("plugin.stomp.host", "other"), ("loglevel", "fatal"), ("plugin.stomp.base64", "yes")], null);
        Assert.Equal("fatal", config["loglevel"]);
        Assert.Equal("other", config[ServerConfigKeys.StompHost]);
        Assert.Equal("yes", config["plugin.stomp.base64"]); // plugin values are text: not normalised
    }

    [Fact]
    public void Build_LibDirOverrides_FirstReplacesDefaultLaterOnesAccumulate()
    {
        var config = ServerConfigBuilder.Build(Host(), [("libdir", "/a"), ("libdir", "/b:/c")], null);
        Assert.Equal(["/a", "/b", "/c"], config.LibDirs);
        Assert.Equal(["libdir = /a", "libdir = /b:/c"], config.Settings.Where(s => s.Key == "libdir").Select(s => s.ToString()));
    }

    [Fact]
    public void Build_OrderDependsOnKeysOnly()
    {
        (string, string)[] overrides = [("plugin.z", "1"), ("keeplogs", "3"), ("plugin.a", "2"), ("color", "no"), ("plugin.stomp.pool.size", "2")];
        var a = ServerConfigWriter.Write(ServerConfigBuilder.Build(Host(), overrides, Secrets()));
        var b = ServerConfigWriter.Write(ServerConfigBuilder.Build(Host(), overrides.Reverse(), Secrets()));
        Assert.Equal(a, b);
        Assert.True(a.IndexOf("plugin.a = 2", StringComparison.Ordinal) < a.IndexOf("plugin.z = 1", StringComparison.Ordinal));
        Assert.Contains("daemonize = 1\ncolor = 0\n\n# Plugins\n", a, StringComparison.Ordinal);
        Assert.Contains("plugin.stomp.password = 0123456789abcdefPASS\nplugin.stomp.pool.size = 2\n\nplugin.a = 2\nplugin.z = 1\n\n# Facts\n", a, StringComparison.Ordinal);
        Assert.DoesNotContain("\r", a, StringComparison.Ordinal);
        Assert.EndsWith("\n", a, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("log_level", "loglevel")]
    [InlineData("daemonise", "daemonize")]
    [InlineData("mainCollective", "main_collective")]
    [InlineData("Collectives", "collectives")]
    [InlineData("plugins.stomp.host", "plugin.stomp.host")]
    [InlineData("factssource", "factsource")]
    public void Build_UnknownKey_SuggestsTheNearestKnownKey(string key, string suggestion)
    {
        var p = Single(BuildFails(null, (key, "x")), ServerConfigProblemKind.UnknownKey);
        Assert.Equal(key, p.Key);
        Assert.Equal(suggestion, p.Suggestion);
        Assert.Contains($"did you mean '{suggestion}'", p.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_UnknownKeyFarFromAnyKnownKey_HasNoSuggestion()
    {
        var p = Single(BuildFails(null, ("frobnicate_everything", "x")), ServerConfigProblemKind.UnknownKey);
        Assert.Null(p.Suggestion);
    }

    [Theory]
    [InlineData("plugin.")]
    [InlineData("plugin.stomp host")]
    [InlineData("plugin.a=b")]
    [InlineData("plugin.psk\t")]
    public void Build_MalformedPluginKey_IsInvalidKey(string key)
        => Single(BuildFails(null, (key, "x")), ServerConfigProblemKind.InvalidKey);

    [Theory]
    [InlineData("keeplogs", "five")]
    [InlineData("max_log_size", "-1")]
    [InlineData("registerinterval", "1.5")]
    [InlineData("fact_cache_time", "99999999999")]
    [InlineData("plugin.stomp.port", "61 63")]
    [InlineData("plugin.stomp.pool.port1", "0x10")]
    public void Build_NotAWholeNumber_IsInvalidInteger(string key, string value)
        => Single(BuildFails(null, (key, value)), ServerConfigProblemKind.InvalidInteger);

    [Fact]
    public void Build_Integer_IsWrittenWithoutLeadingZeros()
        => Assert.Equal("7", ServerConfigBuilder.Build(Host(), [("keeplogs", "007")], null)["keeplogs"]);

    [Theory]
    [InlineData("0")]
    [InlineData("65536")]
    [InlineData("100000")]
    public void Build_PortOutsideRange_IsPortOutOfRange(string port)
    {
        Single(BuildFails(Host() with { StompPort = port }), ServerConfigProblemKind.PortOutOfRange);
        Single(BuildFails(null, ("plugin.stomp.pool.port2", port)), ServerConfigProblemKind.PortOutOfRange);
    }

    [Theory]
    [InlineData("1")]
    [InlineData("65535")]
    public void Build_PortAtTheLimits_IsAccepted(string port)
        => Assert.Equal(port, ServerConfigBuilder.Build(Host() with { StompPort = port }, null, null)[ServerConfigKeys.StompPort]);

    [Theory]
    [InlineData("loglevel", "verbose", null)]
    [InlineData("loglevel", "warning", "warn")]
    [InlineData("logger_type", "syslogd", "syslog")]
    [InlineData("rpclimitmethod", "randum", "random")]
    public void Build_ValueOutsideEnumeration_IsInvalidEnum(string key, string value, string? suggestion)
    {
        var p = Single(BuildFails(null, (key, value)), ServerConfigProblemKind.InvalidEnum);
        Assert.Equal(suggestion, p.Suggestion);
        Assert.Contains(value, p.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("logger_type", "Console", "console")]
    [InlineData("rpclimitmethod", "FIRST", "first")]
    public void Build_EnumerationInAnyCase_IsWrittenLowerCase(string key, string value, string written)
        => Assert.Equal(written, ServerConfigBuilder.Build(Host(), [(key, value)], null)[key]);

    [Theory]
    [InlineData("true", "1")]
    [InlineData("TRUE", "1")]
    [InlineData("Yes", "1")]
    [InlineData("1", "1")]
    [InlineData("false", "0")]
    [InlineData("No", "0")]
    [InlineData("0", "0")]
    public void Build_Boolean_IsWrittenOneOrZero(string value, string written)
    {
        foreach (var key in new[] { "daemonize", "color", "rpcaudit", "rpcauthorization" })
        {
            Assert.Equal(written, ServerConfigBuilder.Build(Host(), [(key, value)], null)[key]);
        }
    }

    [Theory]
    [InlineData("on")]
    [InlineData("y")]
    [InlineData("2")]
    [InlineData("enabled")]
    public void Build_NotABoolean_IsInvalidBoolean(string value)
        => Single(BuildFails(null, ("daemonize", value)), ServerConfigProblemKind.InvalidBoolean);

    [Theory]
    [InlineData("a\rb", "carriage return")]
    [InlineData("a\nb", "line feed")]
    [InlineData("a\0b", "NUL")]
    public void Build_ControlCharacters_AreRefusedAndTheValueIsNotQuoted(string value, string named)
    {
        foreach (var key in new[] { "topicprefix", "plugin.stomp.host", "registration", "loglevel", "plugin.anything" })
        {
            var p = Single(BuildFails(null, (key, value)), ServerConfigProblemKind.ControlCharacters);
            Assert.Contains(named, p.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(value, p.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(" razor")]
    [InlineData("razor ")]
    [InlineData("\trazor")]
    [InlineData("razor\u00A0")]
    public void Build_LeadingOrTrailingSpace_IsRefused(string value)
    {
        Single(BuildFails(new ServerConfigInputs { StompHost = value }), ServerConfigProblemKind.LeadingOrTrailingSpace);
        Single(BuildFails(null, ("plugin.stomp.user", value)), ServerConfigProblemKind.LeadingOrTrailingSpace);
    }

    [Fact]
    public void Build_EmptyOverride_IsEmptyValue()
        => Single(BuildFails(null, ("logfile", "")), ServerConfigProblemKind.EmptyValue);

    [Fact]
    public void Build_EmptyCollectiveInList_IsEmptyValue()
        => Single(BuildFails(null, ("collectives", "mcollective,,razor")), ServerConfigProblemKind.EmptyValue);

    [Fact]
    public void Build_EmptyTypedInput_MeansNotGiven()
        => Assert.Equal("info", ServerConfigBuilder.Build(Host() with { LogLevel = "", Identity = null }, null, null)["loglevel"]);

    [Fact]
    public void Build_MainCollectiveNotInCollectives_IsRefused()
    {
        var p = Single(BuildFails(Host() with { Collectives = "razor,lab", MainCollective = "mcollective" }),
            ServerConfigProblemKind.MainCollectiveNotInCollectives);
        Assert.Equal("razor", p.Suggestion);
        Single(BuildFails(null, ("main_collective", "razor")), ServerConfigProblemKind.MainCollectiveNotInCollectives);
    }

    [Theory]
    [InlineData("mk 01")]
    [InlineData("mk/01")]
    [InlineData("mk:01")]
    [InlineData("mké")]
    public void Build_IdentityOutsideCharacterSet_IsInvalidIdentity(string identity)
        => Single(BuildFails(Host() with { Identity = identity }), ServerConfigProblemKind.InvalidIdentity);

    [Fact]
    public void Build_IdentityWithAllowedCharacters_IsAccepted()
        => Assert.Equal("Mk-01_a.b", ServerConfigBuilder.Build(Host() with { Identity = "Mk-01_a.b" }, null, null)["identity"]);

    [Theory]
    [InlineData("libdir", "plugins")]
    [InlineData("libdir", "/a::/b")]
    [InlineData("logfile", "mcollective.log")]
    [InlineData("plugin.yaml", "facts.yaml")]
    [InlineData("plugin.yaml", "/a.yaml:/b.yaml")]
    public void Build_RelativeOrSplitPath_IsInvalidPath(string key, string value)
        => Single(BuildFails(null, (key, value)), ServerConfigProblemKind.InvalidPath);

    [Theory]
    [InlineData("plugin.psk")]
    [InlineData("plugin.stomp.password")]
    [InlineData("PLUGIN.PSK")]
    [InlineData("psk")]
    [InlineData("stomp_password")]
    [InlineData("MCOLLECTIVE_PSK")]
    public void Build_SecretAsProjectSetting_IsSecretInProjectAndPointsToEnvironmentAndFile(string key)
    {
        const string secret = "s3cr3t-value-from-a-project-file";
        var p = Single(BuildFails(null, (key, secret)), ServerConfigProblemKind.SecretInProject);
        Assert.Contains("MCOLLECTIVE_PSK", p.Message, StringComparison.Ordinal);
        Assert.Contains("MCOLLECTIVE_STOMP_PASSWORD", p.Message, StringComparison.Ordinal);
        Assert.Contains("McollectiveSecretsFile", p.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, p.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_NoStompHost_IsMissingStompHost()
    {
        var p = Single(Assert.Throws<ServerConfigException>(() => ServerConfigBuilder.Build(null, null, null)),
            ServerConfigProblemKind.MissingStompHost);
        Assert.Equal(ServerConfigKeys.StompHost, p.Key);
    }

    [Fact]
    public void Build_OtherConnector_NeedsNoStompHost()
        => Assert.Null(ServerConfigBuilder.Build(null, [("connector", "activemq")], null)[ServerConfigKeys.StompHost]);

    [Fact]
    public void Build_ManyProblems_AreAllReportedInOneException()
    {
        var e = Assert.Throws<ServerConfigException>(() => ServerConfigBuilder.Build(
            new ServerConfigInputs { StompPort = "0", Identity = "a b", LogLevel = "loud" },
            [("daemonize", "maybe"), ("loglvl", "x"), ("plugin.psk", "p"), ("keeplogs", "many"), ("logfile", " /x"),
             ("topicprefix", "a\nb"), ("registration", ""), ("collectives", "a,b"), ("libdir", "rel")],
            null));
        var kinds = e.Problems.Select(p => p.Kind).ToHashSet();
        ServerConfigProblemKind[] expected =
        [
            ServerConfigProblemKind.PortOutOfRange, ServerConfigProblemKind.InvalidIdentity, ServerConfigProblemKind.InvalidEnum,
            ServerConfigProblemKind.InvalidBoolean, ServerConfigProblemKind.UnknownKey, ServerConfigProblemKind.SecretInProject,
            ServerConfigProblemKind.InvalidInteger, ServerConfigProblemKind.LeadingOrTrailingSpace,
            ServerConfigProblemKind.ControlCharacters, ServerConfigProblemKind.EmptyValue, ServerConfigProblemKind.InvalidPath,
            ServerConfigProblemKind.MissingStompHost,
        ];
        Assert.All(expected, k => Assert.Contains(k, kinds));
        Assert.Equal(e.Problems.Count, e.Message.Split('\n').Length - 1);
        Assert.Equal(12, e.Problems.Count); // a,b with the default main_collective 'a' is fine: main defaults to the first
    }

    [Fact]
    public void Build_TypoOfWellKnownPluginKey_IsWrittenWithAWarning()
    {
        var config = ServerConfigBuilder.Build(Host(), [("plugin.stomp.hots", "x")], null);
        var w = Assert.Single(config.Warnings);
        Assert.Equal(ServerConfigProblemKind.SuspiciousPluginKey, w.Kind);
        Assert.Equal("plugin.stomp.host", w.Suggestion);
        Assert.Equal("x", config["plugin.stomp.hots"]);
    }

    [Fact]
    public void Build_BadSecretText_IsRefusedWithoutQuotingIt()
    {
        const string psk = "abcdefghijklmnop\nqrs";
        var e = Assert.Throws<ServerConfigException>(() => ServerConfigBuilder.Build(Host(), null, Secrets(psk, " padded-password-xyz")));
        Assert.Equal([ServerConfigProblemKind.ControlCharacters, ServerConfigProblemKind.LeadingOrTrailingSpace], e.Problems.Select(p => p.Kind));
        Assert.DoesNotContain("abcdefghijklmnop", e.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("padded-password", e.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void ServerConfig_ToString_NeverShowsSecrets()
    {
        var config = ServerConfigBuilder.Build(Host(), null, Secrets("psk-psk-psk-psk-psk", "pw-pw-pw-pw-pw-pw-pw"));
        Assert.True(config.HasSecrets);
        Assert.DoesNotContain("psk-psk", config.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("pw-pw", config.ToString(), StringComparison.Ordinal);
        Assert.All(config.Settings, s => Assert.DoesNotContain(s.IsSecret ? s.Value : "\0", s.ToString(), StringComparison.Ordinal));
    }
}

public class ServerConfigPathTests
{
    [Theory]
    [InlineData("/usr/../etc/facts.yaml")]
    [InlineData("/")]
    public void Build_FactsPathThatIsNoImagePath_IsInvalidPath(string path)
        => McollectiveTestSupport.Single(McollectiveTestSupport.BuildFails(McollectiveTestSupport.Host() with { FactsPath = path }),
            ServerConfigProblemKind.InvalidPath);

    [Fact]
    public void Writer_PathAndModeConstants()
    {
        Assert.Equal("/usr/local/etc/mcollective/server.cfg", ServerConfigWriter.DefaultPath);
        Assert.Equal("640", Convert.ToString(ServerConfigWriter.FileMode, 8));
    }
}

public class ServerConfigOriginTests
{
    [Fact]
    public void Problems_NameTheInputTheValueCameFrom()
    {
        var e = McollectiveTestSupport.BuildFails(new ServerConfigInputs { StompHost = "h", StompPort = "0", LibDir = "rel" },
            ("keeplogs", "x"));
        Assert.Contains(e.Problems, p => p.Message.StartsWith("plugin.stomp.port (from McollectiveStompPort) 0", StringComparison.Ordinal));
        Assert.Contains(e.Problems, p => p.Message.StartsWith("libdir (from McollectiveLibDir)", StringComparison.Ordinal));
        Assert.Contains(e.Problems, p => p.Message.StartsWith("keeplogs (from McollectiveSetting) 'x'", StringComparison.Ordinal));
    }
}
