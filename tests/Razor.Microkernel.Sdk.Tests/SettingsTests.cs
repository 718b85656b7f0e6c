using System.IO.Compression;
using System.Text;
using Razor.Microkernel.Formats.Mcollective;
using Razor.Microkernel.TestSupport;
using static Razor.Microkernel.Sdk.Tests.TestSecrets;

namespace Razor.Microkernel.Sdk.Tests;

/// <summary>server.cfg, the facts file and MCollective secrets through `dotnet build`.</summary>
public class SettingsTests
{
    private static string ReadFromOverlay(TestProject p, string path)
        => Tool.Run("tar", "-xzOf", p.Overlay, path).EnsureSuccess("tar -xzOf " + path).StdOut;

    [Fact]
    public void Settings_DefaultsWriteTheProceduresServerCfg_WithMode0640()
    {
        var p = SdkHarness.CreateProject("cfg");
        p.WithProject("<PropertyGroup><McollectiveStompHost>ubuntu-server</McollectiveStompHost></PropertyGroup>");
        p.Run("build", environment: TestSecrets.Variables()).AssertSuccess();
        var cfg = ReadFromOverlay(p, "usr/local/etc/mcollective/server.cfg");
        Assert.Equal($"""
            topicprefix = /topic/
            main_collective = mcollective
            collectives = mcollective
            libdir = /usr/local/mcollective/plugins
            logfile = /var/log/mcollective.log
            loglevel = info
            daemonize = 1

            # Plugins
            securityprovider = psk
            plugin.psk = {Psk}
            connector = stomp

            plugin.stomp.host = ubuntu-server
            plugin.stomp.port = 6163
            plugin.stomp.user = mcollective
            plugin.stomp.password = {Password}

            # Facts
            factsource = yaml
            plugin.yaml = /usr/local/etc/mcollective/facts.yaml

            """.Replace("\r\n", "\n", StringComparison.Ordinal), cfg);
        Assert.Equal("mcollective: 1\n", ReadFromOverlay(p, "usr/local/etc/mcollective/facts.yaml"));
        Assert.Matches(@"-rw-r----- root/root .* usr/local/etc/mcollective/server\.cfg", Tool.Run("tar", "-tvzf", p.Overlay).StdOut);
    }

    [Fact]
    public void Settings_PropertiesItemsAndFacts_AreWrittenAndValidated()
    {
        var p = SdkHarness.CreateProject("cfg2");
        p.WithProject("""
            <PropertyGroup>
              <McollectiveStompHost>razor-server</McollectiveStompHost>
              <McollectiveStompPort>61613</McollectiveStompPort>
              <McollectiveLogLevel>debug</McollectiveLogLevel>
              <McollectiveCollectives>mcollective,razor</McollectiveCollectives>
            </PropertyGroup>
            <ItemGroup>
              <McollectiveSetting Include="registerinterval" Value="300" />
              <McollectiveSetting Include="daemonize" Value="no" />
              <McollectiveFact Include="razor_mk" Value="1.0.0" />
            </ItemGroup>
            """);
        p.Run("build", environment: TestSecrets.Variables()).AssertSuccess();
        var cfg = ReadFromOverlay(p, "usr/local/etc/mcollective/server.cfg");
        Assert.Contains("plugin.stomp.port = 61613\n", cfg);
        Assert.Contains("loglevel = debug\n", cfg);
        Assert.Contains("collectives = mcollective,razor\n", cfg);
        Assert.Contains("registerinterval = 300\n", cfg);
        Assert.Contains("daemonize = 0\n", cfg);
        Assert.Contains("razor_mk", ReadFromOverlay(p, "usr/local/etc/mcollective/facts.yaml"));
    }

    [Theory]
    [InlineData("<McollectiveSetting Include=\"loglevl\" Value=\"info\" />", "RMK4101", "loglevel")]
    [InlineData("<McollectiveSetting Include=\"plugin.stomp.port\" Value=\"70000\" />", "RMK4104", "")]
    [InlineData("<McollectiveSetting Include=\"loglevel\" Value=\"chatty\" />", "RMK4105", "")]
    [InlineData("<McollectiveSetting Include=\"plugin.psk\" Value=\"inproject1234567890\" />", "RMK4113", "MCOLLECTIVE_PSK")]
    [InlineData("<McollectiveSetting Include=\"main_collective\" Value=\"other\" />", "RMK4110", "")]
    public void Settings_BadValues_GiveCodedErrorsNamingTheKey(string item, string code, string hint)
    {
        var p = SdkHarness.CreateProject("cfgbad");
        p.WithProject($"<PropertyGroup><McollectiveStompHost>h</McollectiveStompHost></PropertyGroup><ItemGroup>{item}</ItemGroup>");
        var r = p.Run("build", environment: TestSecrets.Variables()).AssertFailureWith(code);
        Assert.Contains(hint, r.Output);
        Assert.False(File.Exists(p.Overlay));
    }

    /// <summary>Missing, published-example and short secrets, each with the code Production refuses it with
    /// (and Development warns with).</summary>
    public static TheoryData<string?, string?, string> WeakSecrets => new()
    {
        { null, null, "RMK4115" },
        { "klot2oj2ked2tayn3hu5on7l", Password, "RMK4116" },
        { Psk, "iwillchangethispassword", "RMK4116" },
        { "short", Password, "RMK4117" },
        { Psk, "short", "RMK4117" },
    };

    [Theory]
    [MemberData(nameof(WeakSecrets))]
    public void Production_RefusesMissingExampleAndShortSecrets(string? psk, string? password, string code)
    {
        var p = SdkHarness.CreateProject("prod");
        p.WithProject("<PropertyGroup><MicrokernelFlavor>Production</MicrokernelFlavor><McollectiveStompHost>h</McollectiveStompHost></PropertyGroup>");
        p.Run("build", environment: TestSecrets.Variables(psk, password)).AssertFailureWith(code);
        Assert.False(File.Exists(p.Overlay));
    }

    [Fact]
    public void Development_WithoutPsk_GeneratesOne_Warns_AndKeepsItOnTheNextBuild()
    {
        var p = SdkHarness.CreateProject("dev");
        p.WithProject("<PropertyGroup><McollectiveStompHost>h</McollectiveStompHost></PropertyGroup>");
        var first = p.Run("build", environment: TestSecrets.Variables(psk: null)).AssertSuccess();
        Assert.Contains("RMK4118", first.Codes);
        var cfg = ReadFromOverlay(p, "usr/local/etc/mcollective/server.cfg");
        var generated = cfg.Split('\n').Single(l => l.StartsWith("plugin.psk = ", StringComparison.Ordinal))["plugin.psk = ".Length..];
        Assert.True(generated.Length >= 24);
        Assert.DoesNotContain(generated, first.Output);
        var bytes = File.ReadAllBytes(p.Overlay);
        var second = p.Run("build", environment: TestSecrets.Variables(psk: null)).AssertSuccess();
        Assert.Empty(second.TargetsRun);
        Assert.Equal(bytes, File.ReadAllBytes(p.Overlay));
    }

    [Fact]
    public void Settings_Incremental_OnlyTheSettingsLayerAndPackRerun_WhenASettingOrSecretChanges()
    {
        var p = SdkHarness.CreateProject("cfginc");
        p.Write("motd", "x\n");
        p.WithProject("<PropertyGroup><McollectiveStompHost>h1</McollectiveStompHost></PropertyGroup><ItemGroup><OverlayFile Include=\"motd\" Destination=\"/etc/motd\" /></ItemGroup>");
        p.Run("build", environment: TestSecrets.Variables()).AssertSuccess();
        Assert.Empty(p.Run("build", environment: TestSecrets.Variables()).AssertSuccess().TargetsRun);
        var changed = p.Run("build", ["-p:McollectiveStompHost=h2"], TestSecrets.Variables()).AssertSuccess();
        Assert.Equal(new[] { "RmkMcollectiveSettingsLayer", "RmkPackOverlay" }.ToHashSet(), changed.TargetsRun.ToHashSet());
        var secret = p.Run("build", ["-p:McollectiveStompHost=h2"], TestSecrets.Variables(psk: "another-psk-of-24-chars-x")).AssertSuccess();
        Assert.Equal(new[] { "RmkMcollectiveSettingsLayer", "RmkPackOverlay" }.ToHashSet(), secret.TargetsRun.ToHashSet());
        Assert.Contains("plugin.psk = another-psk-of-24-chars-x", ReadFromOverlay(p, "usr/local/etc/mcollective/server.cfg"));
    }

    [Fact]
    public void Flavor_Change_RerunsOnlyTheSettingsLayerAndThePack()
    {
        var p = SdkHarness.CreateProject("flavor");
        p.Write("motd", "x\n");
        p.Write("a.tgz", TestArchives.Tgz(TestArchives.File("opt/a", "a")));
        p.WithProject("<PropertyGroup><McollectiveStompHost>h</McollectiveStompHost></PropertyGroup>"
            + "<ItemGroup><OverlayFile Include=\"motd\" Destination=\"/etc/motd\" /><OverlayArchive Include=\"a.tgz\" /></ItemGroup>");
        p.Run("build", environment: TestSecrets.Variables()).AssertSuccess();
        var production = p.Run("build", ["-p:MicrokernelFlavor=Production"], TestSecrets.Variables()).AssertSuccess();
        Assert.Equal(new[] { "RmkMcollectiveSettingsLayer", "RmkPackOverlay" }.ToHashSet(), production.TargetsRun.ToHashSet());
    }

    /// <summary>Every property reaches server.cfg (checked by reading the file back under MCollective's rules),
    /// McollectiveConfigPath moves server.cfg, and the facts file goes where plugin.yaml points: the property's
    /// path, then an McollectiveSetting's.</summary>
    [Fact]
    public void Settings_EveryPropertyReachesServerCfg_AndTheFactsFileFollowsPluginYaml()
    {
        var p = SdkHarness.CreateProject("cfgprops");
        const string properties = """
            <PropertyGroup>
              <McollectiveStompHost>broker.example</McollectiveStompHost>
              <McollectiveStompPort>61614</McollectiveStompPort>
              <McollectiveStompUser>mk</McollectiveStompUser>
              <McollectiveIdentity>mk-01</McollectiveIdentity>
              <McollectiveCollectives>razor;mcollective</McollectiveCollectives>
              <McollectiveMainCollective>mcollective</McollectiveMainCollective>
              <McollectiveLogLevel>warn</McollectiveLogLevel>
              <McollectiveLibDir>/opt/a;/opt/b</McollectiveLibDir>
              <McollectiveConfigPath>/etc/mco/server.cfg</McollectiveConfigPath>
              <McollectiveFactsPath>/etc/mco/facts-prop.yaml</McollectiveFactsPath>
            </PropertyGroup>
            """;
        p.WithProject(properties + "<ItemGroup><McollectiveFact Include=\"rack\" Value=\"r1\" /></ItemGroup>");
        p.Run("build", environment: TestSecrets.Variables()).AssertSuccess();
        var listing = Tool.Run("tar", "-tvzf", p.Overlay).EnsureSuccess("tar -tvzf").StdOut;
        Assert.Matches(@"-rw-r----- root/root .* etc/mco/server\.cfg\n", listing);
        Assert.DoesNotContain("usr/local/etc/mcollective/", listing);
        var cfg = McollectiveConfigParser.Parse(ReadFromOverlay(p, "etc/mco/server.cfg"));
        Assert.Equal("broker.example", cfg.Values["plugin.stomp.host"]);
        Assert.Equal("61614", cfg.Values["plugin.stomp.port"]);
        Assert.Equal("mk", cfg.Values["plugin.stomp.user"]);
        Assert.Equal("mk-01", cfg.Values["identity"]);
        Assert.Equal(["razor", "mcollective"], cfg.Collectives);
        Assert.Equal("mcollective", cfg.Values["main_collective"]);
        Assert.Equal("warn", cfg.Values["loglevel"]);
        Assert.Equal(["/opt/a", "/opt/b"], cfg.LibDirs);
        Assert.Equal("/etc/mco/facts-prop.yaml", cfg.PluginConf["yaml"]);
        Assert.Equal(Psk, cfg.PluginConf["psk"]);
        Assert.Equal(Password, cfg.PluginConf["stomp.password"]);
        Assert.True(cfg.GetBoolean("daemonize"));
        Assert.Contains("rack", ReadFromOverlay(p, "etc/mco/facts-prop.yaml"));

        p.WithProject(properties + "<ItemGroup><McollectiveFact Include=\"rack\" Value=\"r1\" /><McollectiveSetting Include=\"plugin.yaml\" Value=\"/srv/facts-item.yaml\" /></ItemGroup>");
        p.Run("build", environment: TestSecrets.Variables()).AssertSuccess();
        Assert.Equal("/srv/facts-item.yaml", McollectiveConfigParser.Parse(ReadFromOverlay(p, "etc/mco/server.cfg")).PluginConf["yaml"]);
        Assert.Contains("rack", ReadFromOverlay(p, "srv/facts-item.yaml"));
        Assert.DoesNotContain("facts-prop.yaml", Tool.Run("tar", "-tvzf", p.Overlay).EnsureSuccess("tar -tvzf").StdOut);
    }

    /// <summary>One build with one bad value per rule: every rule reports its own code, at the item or property that
    /// caused it, naming the key; nothing is written.</summary>
    [Fact]
    public void Settings_EveryValidationRule_IsItsOwnCodeNamingTheKey()
    {
        var p = SdkHarness.CreateProject("cfgrules");
        p.WithProject("""
            <PropertyGroup>
              <McollectiveIdentity>mk 01</McollectiveIdentity>
            </PropertyGroup>
            <ItemGroup>
              <McollectiveSetting Include="loglevl" Value="info" />
              <McollectiveSetting Include="plugin.stomp host" Value="x" />
              <McollectiveSetting Include="keeplogs" Value="five" />
              <McollectiveSetting Include="plugin.stomp.port" Value="70000" />
              <McollectiveSetting Include="logger_type" Value="chatty" />
              <McollectiveSetting Include="daemonize" Value="on" />
              <McollectiveSetting Include="topicsep" Value="a&#10;b" />
              <McollectiveSetting Include="registration" Value=" agentlist" />
              <McollectiveSetting Include="classesfile" Value="" />
              <McollectiveSetting Include="main_collective" Value="other" />
              <McollectiveSetting Include="logfile" Value="mcollective.log" />
              <McollectiveSetting Include="plugin.psk" Value="inproject1234567890" />
            </ItemGroup>
            """);
        var r = p.Run("build", environment: TestSecrets.Variables()).AssertFailureWith("RMK4101");
        (string Code, string Key)[] expected =
        [
            ("RMK4101", "loglevl"), ("RMK4102", "plugin.stomp host"), ("RMK4103", "keeplogs"), ("RMK4104", "plugin.stomp.port"),
            ("RMK4105", "logger_type"), ("RMK4106", "daemonize"), ("RMK4107", "topicsep"), ("RMK4108", "registration"),
            ("RMK4109", "classesfile"), ("RMK4110", "main_collective"), ("RMK4111", "identity"), ("RMK4112", "logfile"),
            ("RMK4113", "plugin.psk"), ("RMK4114", "McollectiveStompHost"),
        ];
        var errors = r.Output.Split('\n').Where(l => l.Contains(": error RMK", StringComparison.Ordinal)).ToArray();
        foreach (var (code, key) in expected)
        {
            Assert.True(errors.Any(l => l.Contains($"error {code}:", StringComparison.Ordinal) && l.Contains(key, StringComparison.Ordinal)),
                $"no {code} error naming '{key}' in:\n{string.Join('\n', errors)}");
        }

        Assert.True(errors.Where(l => l.Contains("error RMK4111", StringComparison.Ordinal)).All(l => l.Contains("McollectiveIdentity", StringComparison.Ordinal)));
        Assert.False(File.Exists(p.Overlay));
    }

    [Theory]
    [MemberData(nameof(WeakSecrets))]
    public void Development_WarnsOnMissingExampleAndShortSecrets_AndBuilds(string? psk, string? password, string code)
    {
        var p = SdkHarness.CreateProject("devwarn");
        p.WithProject("<PropertyGroup><McollectiveStompHost>h</McollectiveStompHost></PropertyGroup>");
        var r = p.Run("build", environment: TestSecrets.Variables(psk, password)).AssertSuccess();
        Assert.Contains(r.Output.Split('\n'), l => l.Contains($"warning {code}:", StringComparison.Ordinal));
        Assert.True(File.Exists(p.Overlay));
    }

    [Fact]
    public void Secrets_AsProjectProperties_AreRMK4113_WithoutEchoingThem()
    {
        var p = SdkHarness.CreateProject("propsecret");
        p.WithProject("""
            <PropertyGroup>
              <McollectiveStompHost>h</McollectiveStompHost>
              <McollectivePsk>psk-in-the-project-file-1234</McollectivePsk>
              <McollectiveStompPassword>password-in-the-project-5678</McollectiveStompPassword>
            </PropertyGroup>
            """);
        var r = p.Run("build", environment: TestSecrets.Variables()).AssertFailureWith("RMK4113");
        var errors = r.Output.Split('\n').Where(l => l.Contains("error RMK4113:", StringComparison.Ordinal)).ToArray();
        foreach (var (property, variable) in new[] { ("McollectivePsk", "MCOLLECTIVE_PSK"), ("McollectiveStompPassword", "MCOLLECTIVE_STOMP_PASSWORD") })
        {
            // At the property's element in the project file, naming where the secret belongs.
            Assert.Contains(errors, l => l.Contains("Microkernel.proj(", StringComparison.Ordinal) && l.Contains($"error RMK4113: {property} ", StringComparison.Ordinal)
                && l.Contains(variable, StringComparison.Ordinal) && l.Contains("McollectiveSecretsFile", StringComparison.Ordinal));
        }

        Assert.All(errors, l => Assert.DoesNotContain("in-the-project", l));
        Assert.False(File.Exists(p.Overlay));
    }

    [Fact]
    public void Flavor_Invalid_IsRMK4124_EvenWithoutMcollective()
    {
        var p = SdkHarness.CreateProject("badflavor");
        p.Write("motd", "x\n");
        p.WithProject("<ItemGroup><OverlayFile Include=\"motd\" Destination=\"/etc/motd\" /></ItemGroup>");
        var r = p.Build("-p:MicrokernelFlavor=Prod").AssertFailureWith("RMK4124");
        Assert.Contains("'Prod'", r.Output);
        Assert.False(File.Exists(p.Overlay));
    }

    /// <summary>Built with `-v:diag -bl` (the harness always writes a binlog): no secret in the console output, in
    /// the binlog (its records and the files it embeds), or in any file under the project folder except the
    /// overlay itself, the settings layer and the secrets file. Production takes the PSK from the environment
    /// and the password from the secrets file; Development generates the PSK and takes the password from the
    /// environment.</summary>
    [Theory]
    [InlineData("Production")]
    [InlineData("Development")]
    public void Secrets_NeverAppearInLogsBinlogObjFilesOrTheListing(string flavor)
    {
        var production = flavor == "Production";
        var p = SdkHarness.CreateProject("leak");
        p.Write("secrets.txt", $"# kept out of the repository\nplugin.stomp.password = {Password}\n");
        p.WithProject($"""
            <PropertyGroup>
              <McollectiveStompHost>leak-test-broker</McollectiveStompHost>
              {(production ? "<McollectiveSecretsFile>secrets.txt</McollectiveSecretsFile>" : "")}
              <MicrokernelFlavor>{flavor}</MicrokernelFlavor>
            </PropertyGroup>
            """);
        var r = p.Run("build", ["-v:diag"], production ? TestSecrets.Variables(password: null) : TestSecrets.Variables(psk: null)).AssertSuccess();
        var cfg = McollectiveConfigParser.Parse(ReadFromOverlay(p, "usr/local/etc/mcollective/server.cfg"));
        var psk = cfg.PluginConf["psk"];
        Assert.Equal(production, psk == Psk);
        Assert.Equal(Password, cfg.PluginConf["stomp.password"]);

        // The searches can find what they look for: the binlog holds the host and embeds the project file.
        var (records, embedded) = BinlogText(r.BinLog);
        Assert.Contains("leak-test-broker", records);
        Assert.Contains("leak-test-broker", embedded);
        Assert.Contains("Environment at start of build", r.Output);

        var skipped = new[] { p.Overlay, Path.Combine(p["obj"], "Debug", "layers", "settings.tar"), p["secrets.txt"] };
        var files = Directory.EnumerateFiles(p.Directory, "*", SearchOption.AllDirectories).Where(f => !skipped.Contains(f)).ToArray();
        Assert.Contains(p.Overlay + ".txt", files);
        Assert.Contains(files, f => f.EndsWith(".html", StringComparison.Ordinal));
        Assert.Contains(files, f => f.StartsWith(p["obj"], StringComparison.Ordinal));
        foreach (var secret in new[] { psk, Password })
        {
            Assert.DoesNotContain(secret, r.Output);
            Assert.DoesNotContain(secret, records);
            Assert.DoesNotContain(secret, embedded);
            foreach (var file in files)
            {
                Assert.False(Encoding.Latin1.GetString(File.ReadAllBytes(file)).Contains(secret, StringComparison.Ordinal), $"a secret is in {file}");
            }
        }
    }

    /// <summary>A binlog is a gzip stream of records; strings are stored as UTF-8 in it, and the project files it
    /// embeds are a zip archive (deflated) inside one record. Returns the records' text and the embedded files' text.</summary>
    private static (string Records, string Embedded) BinlogText(string path)
    {
        using var gz = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        var ms = new MemoryStream();
        gz.CopyTo(ms);
        var bytes = ms.ToArray();
        var embedded = new StringBuilder();
        var start = bytes.AsSpan().IndexOf("PK\u0003\u0004"u8);
        var end = bytes.AsSpan().LastIndexOf("PK\u0005\u0006"u8);
        Assert.True(start >= 0 && end > start, "the binlog embeds no zip archive");
        var length = end + 22 + BitConverter.ToUInt16(bytes, end + 20) - start;
        using (var zip = new ZipArchive(new MemoryStream(bytes, start, length), ZipArchiveMode.Read))
        {
            foreach (var entry in zip.Entries)
            {
                using var reader = new StreamReader(entry.Open(), Encoding.UTF8);
                embedded.Append(entry.FullName).Append('\n').Append(reader.ReadToEnd()).Append('\n');
            }
        }

        return (Encoding.UTF8.GetString(bytes), embedded.ToString());
    }
}
