using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Sdk.Tests;

/// <summary>Gems and RubyGems through `dotnet build`, checked by loading them with Debian's ruby.</summary>
public class GemTests
{
    /// <summary>Builds a pure-Ruby gem with Debian's `gem build` and returns its path.</summary>
    internal static string BuildGem(TestProject p, string name, string version, string deps = "", bool executable = false)
    {
        var dir = p[$"gemsrc/{name}"];
        Directory.CreateDirectory(Path.Combine(dir, "lib"));
        File.WriteAllText(Path.Combine(dir, "lib", name + ".rb"), $"module {char.ToUpperInvariant(name[0])}{name[1..].Replace("_", "")}\n  VERSION = '{version}'\nend\n");
        if (executable)
        {
            Directory.CreateDirectory(Path.Combine(dir, "bin"));
            File.WriteAllText(Path.Combine(dir, "bin", name), $"#!/usr/bin/env ruby\nrequire '{name}'\nputs 'ran {name}'\n");
        }

        File.WriteAllText(Path.Combine(dir, name + ".gemspec"), $$"""
            Gem::Specification.new do |s|
              s.name = "{{name}}"
              s.version = "{{version}}"
              s.summary = "test gem {{name}}"
              s.authors = ["Test"]
              s.files = Dir["lib/**/*.rb"] + Dir["bin/*"]
              s.require_paths = ["lib"]
              {{(executable ? $"s.executables = [\"{name}\"]" : "")}}
              {{deps}}
            end
            """);
        Tool.Run("gem", ["build", name + ".gemspec"], dir).EnsureSuccess("gem build");
        var gem = Path.Combine(dir, $"{name}-{version}.gem");
        var target = p[$"gems/{name}-{version}.gem"];
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        File.Copy(gem, target, overwrite: true);
        return target;
    }

    [Fact]
    public void Gems_InstalledLayout_LoadsWithDebiansRuby_AndWrappersRun()
    {
        var p = SdkHarness.CreateProject("gems");
        BuildGem(p, "daemons", "1.1.4", executable: true);
        BuildGem(p, "stomp", "1.1.10", "s.add_runtime_dependency 'daemons', '>= 1.0'");
        p.WithProject("<ItemGroup><Gem Include=\"gems/*.gem\" /></ItemGroup>");
        p.Build().AssertSuccess();
        using var root = new TempFolder("rmk-gems");
        Tool.Run("tar", "-xzf", p.Overlay, "-C", root.Path).EnsureSuccess("tar -xzf");
        var gemHome = root["usr/local/lib/ruby/gems/1.8"];
        Assert.True(File.Exists(Path.Combine(gemHome, "specifications", "stomp-1.1.10.gemspec")));
        Assert.True(File.Exists(Path.Combine(gemHome, "cache", "daemons-1.1.4.gem")));
        Assert.True(Directory.Exists(Path.Combine(gemHome, "doc")));
        var env = new Dictionary<string, string?> { ["GEM_HOME"] = gemHome, ["GEM_PATH"] = gemHome };
        var load = Tool.Run("ruby", ["-e", "require 'rubygems'; require 'stomp'; require 'daemons'; puts Stomp::VERSION; puts Gem::Specification.find_by_name('stomp').dependencies.map(&:to_s).join(',')"], environment: env);
        load.EnsureSuccess("ruby require");
        Assert.Contains("1.1.10", load.StdOut);
        Assert.Contains("daemons (>= 1.0", load.StdOut);
        var wrapper = Tool.Run("ruby", [root["usr/local/bin/daemons"]], environment: env).EnsureSuccess("ruby wrapper");
        Assert.Contains("ran daemons", wrapper.StdOut);
        Assert.Matches(@"-rwxr-xr-x root/root .* usr/local/bin/daemons", Tool.Run("tar", "-tvzf", p.Overlay).StdOut);
        Assert.StartsWith("#!/usr/local/bin/ruby", File.ReadAllText(root["usr/local/bin/daemons"]));
    }

    [Fact]
    public void Gems_UnmetDependency_IsOneCodedErrorListingIt()
    {
        var p = SdkHarness.CreateProject("gemdeps");
        BuildGem(p, "stomp", "1.1.10", "s.add_runtime_dependency 'daemons', '~> 1.1'\n  s.add_runtime_dependency 'json_pure', '>= 1.5'");
        p.WithProject("<ItemGroup><Gem Include=\"gems/*.gem\" /></ItemGroup>");
        var r = p.Build().AssertFailureWith("RMK2014");
        Assert.Contains("daemons", r.Output);
        Assert.Contains("json_pure", r.Output);
        Assert.False(File.Exists(p.Overlay));
    }

    [Fact]
    public void Gems_Incremental_AddingAGemRerunsOnlyTheGemLayerAndThePack()
    {
        var p = SdkHarness.CreateProject("gemsinc");
        p.Write("motd", "x\n");
        BuildGem(p, "daemons", "1.1.4");
        p.WithProject("<ItemGroup><OverlayFile Include=\"motd\" Destination=\"/etc/motd\" /><Gem Include=\"gems/*.gem\" /></ItemGroup>");
        p.Build().AssertSuccess();
        Assert.Empty(p.Build().AssertSuccess().TargetsRun);
        BuildGem(p, "json_pure", "1.6.1");
        var third = p.Build().AssertSuccess();
        Assert.Equal(new[] { "RmkGemsLayer", "RmkPackOverlay" }.ToHashSet(), third.TargetsRun.ToHashSet());
    }

    [Fact]
    public void Gems_BootTime_StagesTheGemsAndTheBootHookInstallsThem()
    {
        var p = SdkHarness.CreateProject("gemsboot");
        BuildGem(p, "daemons", "1.1.4");
        BuildGem(p, "stomp", "1.1.10", "s.add_runtime_dependency 'daemons', '>= 1.0'");
        p.WithProject("<PropertyGroup><GemInstallMode>BootTime</GemInstallMode></PropertyGroup><ItemGroup><Gem Include=\"gems/*.gem\" /></ItemGroup>");
        p.Build().AssertSuccess();
        using var root = new TempFolder("rmk-gemsboot");
        Tool.Run("tar", "-xzf", p.Overlay, "-C", root.Path).EnsureSuccess("tar -xzf");
        var staged = root["usr/local/share/microkernel/gems"];
        Assert.Equal(["daemons-1.1.4.gem", "stomp-1.1.10.gem"], Directory.GetFiles(staged).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.False(Directory.Exists(root["usr/local/lib/ruby/gems/1.8/gems"]), "BootTime must not preinstall");
        var hook = File.ReadAllText(root["usr/local/etc/init.d/microkernel-setup"]);
        Assert.Contains("(cd /usr/local/share/microkernel/gems && /usr/local/bin/gem install --local --no-ri --no-rdoc --install-dir /usr/local/lib/ruby/gems/1.8 --bindir /usr/local/bin *.gem)", hook);

        // The staged files install with a real RubyGems (Debian's; its option for "no docs" is --no-document).
        var target = root["installed"];
        Tool.Run("sh", ["-c", $"cd {staged} && gem install --local --no-document --install-dir {target} --bindir {target}/bin *.gem"])
            .EnsureSuccess("gem install of the staged gems");
        Assert.True(Directory.Exists(Path.Combine(target, "gems", "stomp-1.1.10")));
    }

    [Fact]
    public void Gems_UnknownInstallMode_IsACodedError()
    {
        var p = SdkHarness.CreateProject("gemsmode");
        BuildGem(p, "daemons", "1.1.4");
        p.WithProject("<PropertyGroup><GemInstallMode>Later</GemInstallMode></PropertyGroup><ItemGroup><Gem Include=\"gems/*.gem\" /></ItemGroup>");
        p.Build().AssertFailureWith("RMK4006");
    }

    [Fact]
    public void Gems_Corrupt_IsACodedErrorNamingTheGem()
    {
        var p = SdkHarness.CreateProject("gembad");
        var gem = BuildGem(p, "daemons", "1.1.4");
        var bytes = File.ReadAllBytes(gem);
        p.WithProject("<ItemGroup><Gem Include=\"gems/*.gem\" /></ItemGroup>");
        foreach (var cut in new[] { bytes.Length / 3, bytes.Length / 2, bytes.Length - 600, bytes.Length - 1024 })
        {
            File.WriteAllBytes(gem, bytes[..cut]);
            var r = p.Build();
            Assert.False(r.Succeeded, $"a gem cut at {cut} of {bytes.Length} was accepted");
            Assert.True(r.Codes.Overlaps(["RMK3201", "RMK3202"]), r.Output[^3000..]);
            Assert.Contains("daemons-1.1.4.gem", r.Output);
            Assert.False(File.Exists(p.Overlay));
        }
    }
}
