using System.IO.Compression;
using System.Text;
using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Sdk.Tests;

/// <summary>server.cfg, the facts file and MCollective secrets through `dotnet build`.</summary>
public class SettingsTests
{
    private const string Psk = "q7c2v9x4m1n8b5z3k6j0h2g4";
    private const string Password = "correct-horse-battery-staple-42";

    private static Dictionary<string, string?> Secrets(string? psk = Psk, string? password = Password) => new()
    {
        ["MCOLLECTIVE_PSK"] = psk,
        ["MCOLLECTIVE_STOMP_PASSWORD"] = password,
    };

    private static string ReadFromOverlay(TestProject p, string path)
        => Tool.Run("tar", "-xzOf", p.Overlay, path).EnsureSuccess("tar -xzOf " + path).StdOut;

    [Fact]
    public void Settings_DefaultsWriteTheProceduresServerCfg_WithMode0640()
    {
        var p = SdkHarness.CreateProject("cfg");
        p.WithProject("<PropertyGroup><McollectiveStompHost>ubuntu-server</McollectiveStompHost></PropertyGroup>");
        p.Run("build", environment: Secrets()).AssertSuccess();
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
        p.Run("build", environment: Secrets()).AssertSuccess();
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
        var r = p.Run("build", environment: Secrets()).AssertFailureWith(code);
        Assert.Contains(hint, r.Output);
        Assert.False(File.Exists(p.Overlay));
    }

    [Theory]
    [InlineData(null, null, "RMK4115")]
    [InlineData("klot2oj2ked2tayn3hu5on7l", Password, "RMK4116")]
    [InlineData(Psk, "iwillchangethispassword", "RMK4116")]
    [InlineData("short", Password, "RMK4117")]
    public void Production_RefusesMissingExampleAndShortSecrets(string? psk, string? password, string code)
    {
        var p = SdkHarness.CreateProject("prod");
        p.WithProject("<PropertyGroup><MicrokernelFlavor>Production</MicrokernelFlavor><McollectiveStompHost>h</McollectiveStompHost></PropertyGroup>");
        p.Run("build", environment: Secrets(psk, password)).AssertFailureWith(code);
        Assert.False(File.Exists(p.Overlay));
    }

    [Fact]
    public void Development_WithoutPsk_GeneratesOne_Warns_AndKeepsItOnTheNextBuild()
    {
        var p = SdkHarness.CreateProject("dev");
        p.WithProject("<PropertyGroup><McollectiveStompHost>h</McollectiveStompHost></PropertyGroup>");
        var first = p.Run("build", environment: Secrets(psk: null)).AssertSuccess();
        Assert.Contains("RMK4118", first.Codes);
        var cfg = ReadFromOverlay(p, "usr/local/etc/mcollective/server.cfg");
        var generated = cfg.Split('\n').Single(l => l.StartsWith("plugin.psk = ", StringComparison.Ordinal))["plugin.psk = ".Length..];
        Assert.True(generated.Length >= 24);
        Assert.DoesNotContain(generated, first.Output);
        var bytes = File.ReadAllBytes(p.Overlay);
        var second = p.Run("build", environment: Secrets(psk: null)).AssertSuccess();
        Assert.Empty(second.TargetsRun);
        Assert.Equal(bytes, File.ReadAllBytes(p.Overlay));
    }

    [Fact]
    public void Settings_Incremental_OnlyTheSettingsLayerAndPackRerun_WhenASettingOrSecretChanges()
    {
        var p = SdkHarness.CreateProject("cfginc");
        p.Write("motd", "x\n");
        p.WithProject("<PropertyGroup><McollectiveStompHost>h1</McollectiveStompHost></PropertyGroup><ItemGroup><OverlayFile Include=\"motd\" Destination=\"/etc/motd\" /></ItemGroup>");
        p.Run("build", environment: Secrets()).AssertSuccess();
        Assert.Empty(p.Run("build", environment: Secrets()).AssertSuccess().TargetsRun);
        var changed = p.Run("build", ["-p:McollectiveStompHost=h2"], Secrets()).AssertSuccess();
        Assert.Equal(new[] { "RmkMcollectiveSettingsLayer", "RmkPackOverlay" }.ToHashSet(), changed.TargetsRun.ToHashSet());
        var secret = p.Run("build", ["-p:McollectiveStompHost=h2"], Secrets(psk: "another-psk-of-24-chars-x")).AssertSuccess();
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
        p.Run("build", environment: Secrets()).AssertSuccess();
        var production = p.Run("build", ["-p:MicrokernelFlavor=Production"], Secrets()).AssertSuccess();
        Assert.Equal(new[] { "RmkMcollectiveSettingsLayer", "RmkPackOverlay" }.ToHashSet(), production.TargetsRun.ToHashSet());
    }

    [Fact]
    public void Secrets_NeverAppearInLogsBinlogObjFilesOrTheListing()
    {
        var p = SdkHarness.CreateProject("leak");
        p.Write("secrets.txt", $"# kept out of the repository\nplugin.stomp.password = {Password}\n");
        p.WithProject("""
            <PropertyGroup>
              <McollectiveStompHost>h</McollectiveStompHost>
              <McollectiveSecretsFile>secrets.txt</McollectiveSecretsFile>
              <MicrokernelFlavor>Production</MicrokernelFlavor>
            </PropertyGroup>
            """);
        var r = p.Run("build", ["-v:diag"], Secrets(password: null)).AssertSuccess();
        var cfg = ReadFromOverlay(p, "usr/local/etc/mcollective/server.cfg");
        Assert.Contains(Psk, cfg);
        Assert.Contains(Password, cfg);

        foreach (var secret in new[] { Psk, Password })
        {
            Assert.DoesNotContain(secret, r.Output);
            Assert.DoesNotContain(secret, BinlogText(r.BinLog));
            Assert.DoesNotContain(secret, File.ReadAllText(p.Overlay + ".txt"));
            Assert.DoesNotContain(secret, File.ReadAllText(Path.Combine(p.OutDir, "mc-linux-fs-snap.html")));
            foreach (var file in Directory.EnumerateFiles(p["obj"], "*", SearchOption.AllDirectories).Where(f => !f.EndsWith("settings.tar", StringComparison.Ordinal)))
            {
                Assert.DoesNotContain(secret, Encoding.Latin1.GetString(File.ReadAllBytes(file)));
            }
        }
    }

    /// <summary>A binlog is a gzip stream of records; strings are stored as UTF-8 in it.</summary>
    private static string BinlogText(string path)
    {
        using var gz = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        var ms = new MemoryStream();
        gz.CopyTo(ms);
        return Encoding.UTF8.GetString(ms.ToArray());
    }
}
