using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Sdk.Tests;

/// <summary>
/// RubyVersion 3.x and RubyGemsVersion 3.x through `dotnet build`: the whole gem home against Debian's `gem install`
/// (Ruby 3.1, RubyGems 3.3) byte for byte, and loaded by Debian's ruby — wrappers, plugin loaders, prebuilt extensions.
/// </summary>
public class RubyGems3BuildTests
{
    private const string Epoch = "1326000000";

    private static string Ruby(string code) => Tool.Run("ruby", ["-e", code]).EnsureSuccess("ruby -e").StdOut;

    private static Dictionary<string, string?> Clean(string home) => new()
    {
        ["HOME"] = home, ["GEM_HOME"] = null, ["GEM_PATH"] = null, ["RUBYOPT"] = null, ["SOURCE_DATE_EPOCH"] = Epoch,
    };

    /// <summary>The properties that make the build write what Debian's ruby and gem would: its versions, its ruby, one
    /// day for undated specifications, the gem home and bindir as `--install-dir /gemhome --bindir /gemhome/bin`.</summary>
    private static string Properties(string extra = "") => $"""
        <PropertyGroup>
          <RubyVersion>{Ruby("print RUBY_VERSION")}</RubyVersion>
          <RubyGemsVersion>{Ruby("print Gem::VERSION")}</RubyGemsVersion>
          <RubyPath>{Ruby("print Gem.ruby")}</RubyPath>
          <GemHome>/gemhome</GemHome>
          <GemBinDir>/gemhome/bin</GemBinDir>
          <SOURCE_DATE_EPOCH>{Epoch}</SOURCE_DATE_EPOCH>
          {extra}
        </PropertyGroup>
        """;

    [Fact]
    public void RubyGems3Layout_WholeGemHomeIsDebiansGemInstall_AndDebiansRubyRunsIt()
    {
        var p = SdkHarness.CreateProject("rg3");
        // A plugin (RubyGems 3 writes a loader for it into plugins/), an executable, a dependency, a x86-linux gem.
        Directory.CreateDirectory(p["gemsrc/rmkplug-1.0.0/lib"]);
        p.Write("gemsrc/rmkplug-1.0.0/lib/rubygems_plugin.rb", "puts 'rmkplug plugin loaded' if ENV['RMK_PLUGIN_CHECK']\n");
        var gems = new[]
        {
            GemTests.BuildGem(p, "daemons", "1.1.4", executable: true),
            GemTests.BuildGem(p, "stomp", "1.2.0", "s.add_runtime_dependency 'daemons', '>= 1.0'\n  s.metadata = { 'changelog_uri' => 'https://example.com/changes' }", executable: true),
            GemTests.BuildGem(p, "rmkplug", "1.0.0"),
            GemTests.BuildGem(p, "facter", "1.6.8", "s.platform = 'x86-linux'\n  s.description = \"Facter: é, \\\"quoted\\\"\""),
        };
        p.WithProject(Properties() + "<ItemGroup><Gem Include=\"gems/daemons-1.1.4.gem;gems/stomp-1.2.0.gem;gems/rmkplug-1.0.0.gem;gems/facter-1.6.8-x86-linux.gem\" /></ItemGroup>");
        p.Build().AssertSuccess();
        using var root = new TempFolder("rmk-rg3");
        Tool.Run("tar", "-xpzf", p.Overlay, "-C", root.Path).EnsureSuccess("tar -x");
        var ours = root["gemhome"];

        // Debian's gem, the same gems one after the other into a gem home on its gem path (as the target's is).
        var debian = root["debian"];
        var env = Clean(root.Path);
        env["GEM_PATH"] = debian;
        foreach (var gem in gems)
        {
            Tool.Run("gem", ["install", "--local", "--install-dir", debian, "--bindir", debian + "/bin", "--ignore-dependencies", "--no-document", gem],
                root.Path, env).EnsureSuccess("gem install " + Path.GetFileName(gem));
        }

        Assert.Equal(GemParts.Tree(debian), GemParts.Tree(ours));
        Assert.Equal(["bin", "build_info", "cache", "doc", "extensions", "gems", "plugins", "specifications"],
            Directory.GetDirectories(ours).Select(Path.GetFileName).Order(StringComparer.Ordinal));

        // Debian's ruby uses it: the wrappers run, the plugin loader is loaded by gem, the specifications load.
        var use = Clean(root.Path);
        use["GEM_HOME"] = ours;
        use["GEM_PATH"] = ours;
        Assert.Equal("ran stomp 1.2.0", Tool.Run(Path.Combine(ours, "bin/stomp"), [], root.Path, use).EnsureSuccess("stomp wrapper").StdOut.Trim());
        Assert.Equal("ran daemons 1.1.4", Tool.Run("ruby", [Path.Combine(ours, "bin/daemons"), "_1.1.4_"], root.Path, use).EnsureSuccess("daemons wrapper").StdOut.Trim());
        use["RMK_PLUGIN_CHECK"] = "1";
        var list = Tool.Run("gem", ["list", "--local"], root.Path, use).EnsureSuccess("gem list").StdOut;
        Assert.Contains("rmkplug plugin loaded", list);
        Assert.Contains("stomp (1.2.0)", list);
        Assert.Contains("facter (1.6.8 x86-linux)", list);

        // A gem with a native extension, given PrebuiltExtensions for the platform of the ruby that loads it: RubyGems 3
        // activates it only with its extension folder and gem.build_complete.
        Directory.CreateDirectory(p["gemsrc/native-1.0/ext"]);
        p.Write("gemsrc/native-1.0/ext/extconf.rb", "require 'mkmf'\ncreate_makefile('native_ext')\n");
        GemTests.BuildGem(p, "native", "1.0", "s.extensions = ['ext/extconf.rb']\n  s.files += ['ext/extconf.rb']");
        p.Write("prebuilt/native_ext.rb", "module NativeExt\n  OK = 'prebuilt extension loaded'\nend\n");
        var platform = Ruby("print Gem::Platform.local");
        p.WithProject(Properties($"<RubyPlatform>{platform}</RubyPlatform>") +
                      "<ItemGroup><Gem Include=\"gems/daemons-1.1.4.gem\" /><Gem Include=\"gems/native-1.0.gem\" PrebuiltExtensions=\"prebuilt\" /></ItemGroup>");
        p.Build().AssertSuccess();
        using var again = new TempFolder("rmk-rg3-ext");
        Tool.Run("tar", "-xpzf", p.Overlay, "-C", again.Path).EnsureSuccess("tar -x");
        var home = again["gemhome"];
        Assert.True(File.Exists(Path.Combine(home, $"extensions/{platform}/{Ruby("print Gem.extension_api_version")}/native-1.0/gem.build_complete")));
        var load = Clean(again.Path);
        load["GEM_HOME"] = home;
        load["GEM_PATH"] = home;
        var loaded = Tool.Run("ruby", ["-e", "gem 'native'; require 'native_ext'; puts NativeExt::OK"], again.Path, load).EnsureSuccess("require native_ext");
        Assert.Equal("prebuilt extension loaded", loaded.StdOut.Trim());
        Assert.DoesNotContain("extensions are not built", loaded.StdErr);
    }

    [Fact]
    public void RubyGems3Layout_BootTime_TheHookInstallsWithRubyGems3sOptions()
    {
        var p = SdkHarness.CreateProject("rg3boot");
        GemTests.BuildGem(p, "daemons", "1.1.4", executable: true);
        p.WithProject("""
            <PropertyGroup><RubyVersion>3.1.2</RubyVersion><RubyGemsVersion>3.3.15</RubyGemsVersion><GemInstallMode>BootTime</GemInstallMode></PropertyGroup>
            <ItemGroup><Gem Include="gems/*.gem" /></ItemGroup>
            """);
        p.Build().AssertSuccess();
        using var root = new TempFolder("rmk-rg3boot");
        Tool.Run("tar", "-xzf", p.Overlay, "-C", root.Path).EnsureSuccess("tar -x");
        var hook = File.ReadAllText(root["usr/local/etc/init.d/microkernel-setup"]);
        const string command = "(cd /usr/local/share/microkernel/gems && /usr/local/bin/gem install --local --no-document --install-dir /usr/local/lib/ruby/gems/3.1.0 --bindir /usr/local/bin *.gem)";
        Assert.Contains(command, hook);

        // The hook's command, with the image's paths mapped into the unpacked overlay, is one Debian's RubyGems 3 runs.
        var mapped = command.Replace("/usr/local/share/", root.Path + "/usr/local/share/", StringComparison.Ordinal)
            .Replace("/usr/local/bin/gem ", "gem ", StringComparison.Ordinal)
            .Replace("/usr/local/lib/ruby/gems/3.1.0", root["installed"], StringComparison.Ordinal)
            .Replace("--bindir /usr/local/bin", "--bindir " + root["installed/bin"], StringComparison.Ordinal);
        Tool.Run("sh", ["-c", mapped], root.Path, Clean(root.Path)).EnsureSuccess("the hook's gem install");
        Assert.True(File.Exists(root["installed/bin/daemons"]));
    }

    [Fact]
    public void RubyGemsVersionWithoutALayout_AndABadRubyPlatform_AreCodedErrors()
    {
        var p = SdkHarness.CreateProject("rg3bad");
        GemTests.BuildGem(p, "daemons", "1.1.4");
        p.WithProject("<PropertyGroup><RubyGemsVersion>2.7.8</RubyGemsVersion></PropertyGroup><ItemGroup><Gem Include=\"gems/*.gem\" /></ItemGroup>");
        Assert.Contains("RubyGemsVersion '2.7.8'", p.Build().AssertFailureWith("RMK2030").Output);
        p.WithProject("<PropertyGroup><RubyGemsVersion>3.3.15</RubyGemsVersion><RubyVersion>3.1.2</RubyVersion><RubyPlatform>../x86-linux</RubyPlatform></PropertyGroup><ItemGroup><Gem Include=\"gems/*.gem\" /></ItemGroup>");
        Assert.Contains("RubyPlatform '../x86-linux'", p.Build().AssertFailureWith("RMK2031").Output);
        Assert.False(File.Exists(p.Overlay));
    }
}
