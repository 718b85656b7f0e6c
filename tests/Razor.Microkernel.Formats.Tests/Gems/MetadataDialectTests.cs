using Razor.Microkernel.Formats.Gems;
using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Formats.Tests.Gems;

public class MetadataDialectTests
{
    // Fixtures are copied next to the test assembly: source paths are mapped to /_/ in CI builds.
    internal static string FixturePath(string name)
        => Path.Combine(AppContext.BaseDirectory, "Gems", "Fixtures", name);

    private static GemSpecification Load(string name) => GemMetadataReader.Parse(File.ReadAllText(FixturePath(name)), name);

    [Fact]
    public void Psych_TagsAnchorsAliasesAndVersionObjects()
    {
        var s = Load("psych.yaml");
        Assert.Equal("daemons-1.1.8", s.FullName);
        Assert.Equal(3, s.SpecificationVersion);
        Assert.Collection(s.Dependencies,
            d => Assert.Equal(("json_pure", ">= 1.5, < 2", true), (d.Name, d.Requirement.ToString(), d.IsRuntime)),
            d => Assert.Equal(("rake", "~> 0.9", false), (d.Name, d.Requirement.ToString(), d.IsRuntime)));
        Assert.Equal(">= 1.8.6", s.RequiredRubyVersion!.ToString());
        Assert.True(s.RequiredRubyGemsVersion!.IsDefault);
    }

    [Fact]
    public void Syck_SegmentsQuotedOperatorsBareEqualsOffsetDatesAndVersionRequirements()
    {
        var s = Load("syck.yaml");
        Assert.Equal("stomp-1.1.10", s.FullName);
        Assert.Equal(["catstomp", "stompcat"], s.Executables);
        var json = s.Dependencies.Single(d => d.Name == "json_pure");
        Assert.True(json.IsRuntime); // no type: RubyGems treats it as runtime
        Assert.Equal("= 1.4.6", json.Requirement.ToString());
        Assert.Equal(">= 2.3", s.Dependencies.Single(d => d.Name == "rspec").Requirement.ToString());
        var ruby = GemspecWriter.ToRubyForCache(s, "1.8.15", new DateOnly(2000, 1, 1));
        Assert.Contains("  s.date = \"2011-07-16\"\n", ruby); // 2011-07-17 00:00 +01:00 is the 16th in UTC
        Assert.Contains("  s.files = [\"bin/catstomp\", \"bin/stompcat\", \"README.rdoc\"]\n", ruby);
        Assert.DoesNotContain("spec/client_spec.rb", ruby);
    }

    [Fact]
    public void Syck_DefaultKeyReadsAsEquals()
    {
        var s = Load("defaultkey.yaml");
        var d = Assert.Single(s.Dependencies);
        Assert.Equal("= 0.1.7", d.Requirement.ToString());
        Assert.True(d.Requirement.IsSatisfiedBy(GemVersion.Parse("0.1.7")));
        Assert.False(d.Requirement.IsSatisfiedBy(GemVersion.Parse("0.1.8")));
    }

    [Fact]
    public void Binary_Base64ValuesAreDecoded()
    {
        var s = Load("binary.yaml");
        Assert.Equal("facter-1.6.0", s.FullName);
        Assert.Equal(["facter"], s.Executables);
        Assert.Equal("Facter, a system inventory tool é #{x}", s.Summary);
        var ruby = GemspecWriter.ToRubyForCache(s, "1.8.15", new DateOnly(2000, 1, 1));
        Assert.Contains("  s.summary = \"Facter, a system inventory tool \\303\\251 \\#{x}\"\n", ruby);
        Assert.Contains("  s.authors = [\"Puppet Labs\", \"Ren\\351\"]\n", ruby); // Latin-1 bytes kept as bytes
        Assert.DoesNotContain("\\u", ruby);
    }

    [Fact]
    public void RubyGems094_VersionRequirementAutorequireAndBinaryKey()
    {
        var s = Load("rubygems094.yaml");
        Assert.Equal("daemons-1.0.7", s.FullName);
        Assert.Equal(1, s.SpecificationVersion);
        Assert.Empty(s.Dependencies);
        Assert.Equal("> 0.0.0", s.RequiredRubyVersion!.ToString());
        var ruby = GemspecWriter.ToRubyForCache(s, "1.8.15", new DateOnly(2000, 1, 1));
        Assert.Contains("  s.autorequire = \"daemons\"\n", ruby);
        Assert.Contains("  s.cert_chain = nil\n", ruby); // 1.8's reader does not default a null cert_chain
        Assert.Contains("  s.required_ruby_version = Gem::Requirement.new(\"> 0.0.0\")\n", ruby);
        Assert.Contains("  s.files = [\"README\"]\n", ruby);
        Assert.Contains("    s.specification_version = 1\n", ruby);
    }

    [Fact]
    public void Modern_PlatformPrereleaseAndSeveralConstraints()
    {
        var s = Load("modern.yaml");
        Assert.Equal("tiny-2.0.0.pre.1-x86-linux", s.FullName);
        Assert.True(s.Version.IsPrerelease);
        Assert.Equal("exe", s.BinDir);
        Assert.Equal("~> 1.2, >= 1.2.4", Assert.Single(s.Dependencies).Requirement.ToString());
        Assert.Equal(4, s.SpecificationVersion);
    }

    [Fact]
    public void Psych_GemspecIsExactlyWhatRubyGems18Writes()
    {
        const string expected = """
            # -*- encoding: utf-8 -*-

            Gem::Specification.new do |s|
              s.name = "daemons"
              s.version = "1.1.8"

              s.required_rubygems_version = Gem::Requirement.new(">= 0") if s.respond_to? :required_rubygems_version=
              s.authors = ["Thomas Uehlinger"]
              s.date = "2012-02-07"
              s.description = "Daemons provides an easy way to wrap existing ruby scripts\n(for example a self-written server) to be run as a daemon."
              s.email = "thomas.uehlinger@gmx.ch"
              s.homepage = "http://daemons.rubyforge.org"
              s.require_paths = ["lib"]
              s.required_ruby_version = Gem::Requirement.new(">= 1.8.6")
              s.rubyforge_project = "daemons"
              s.rubygems_version = "1.8.15"
              s.summary = "A toolkit to create and control daemons in different ways"

              if s.respond_to? :specification_version then
                s.specification_version = 3

                if Gem::Version.new(Gem::VERSION) >= Gem::Version.new('1.2.0') then
                  s.add_runtime_dependency(%q<json_pure>, [">= 1.5", "< 2"])
                  s.add_development_dependency(%q<rake>, ["~> 0.9"])
                else
                  s.add_dependency(%q<json_pure>, [">= 1.5", "< 2"])
                  s.add_dependency(%q<rake>, ["~> 0.9"])
                end
              else
                s.add_dependency(%q<json_pure>, [">= 1.5", "< 2"])
                s.add_dependency(%q<rake>, ["~> 0.9"])
              end
            end

            """;
        Assert.Equal(expected, GemspecWriter.ToRubyForCache(Load("psych.yaml"), "1.8.15", new DateOnly(2000, 1, 1)));
    }

    [Fact]
    public void EveryDialect_GemspecLoadsInDebianRuby()
    {
        using var tmp = new TempFolder();
        string[] fixtures = ["psych.yaml", "syck.yaml", "defaultkey.yaml", "binary.yaml", "rubygems094.yaml", "modern.yaml"];
        var specs = fixtures.Select(Load).ToList();
        foreach (var s in specs)
        {
            tmp.Write(s.FullName + ".gemspec", GemspecWriter.ToRubyForCache(s, "1.8.15", new DateOnly(2000, 1, 1)));
        }

        const string script = """
            ARGV.each do |f|
              s = Gem::Specification.load(f) or abort "cannot load #{f}"
              deps = s.dependencies.map { |d| "#{d.name}:#{d.type}:#{d.requirement}" }.join(';')
              puts [s.full_name, s.summary, s.executables.join(','), deps].join('|')
            end
            """;
        var output = Tool.Run("ruby", ["-e", script, .. specs.Select(s => tmp[s.FullName + ".gemspec"])])
            .EnsureSuccess("ruby").StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(specs.Count, output.Length);
        for (var i = 0; i < specs.Count; i++)
        {
            var s = specs[i];
            var deps = string.Join(';', s.Dependencies.Select(d => $"{d.Name}:{d.Type}:{d.Requirement}"));
            Assert.Equal($"{s.FullName}|{s.Summary}|{string.Join(',', s.Executables)}|{deps}", output[i]);
        }
    }

    [Theory]
    [InlineData("--- !ruby/object:Gem::Specification\nname: [unclosed\n")]
    [InlineData("--- just a string\n")]
    [InlineData("--- !ruby/object:Gem::Specification\nname: x\n")]
    [InlineData("--- !ruby/object:Gem::Specification\nname: x\nversion: not-a-version\n")]
    [InlineData("--- !ruby/object:Gem::Specification\nname: ../x\nversion: '1'\n")]
    [InlineData("--- !ruby/object:Gem::Specification\nname: x\nversion: '1'\ndependencies:\n- name: y\n  requirement:\n    requirements:\n    - - '=>'\n      - '1'\n")]
    [InlineData("--- !ruby/object:Gem::Specification\nname: x\nversion: *nowhere\n")]
    public void BadYaml_IsGemFormatException(string yaml)
        => Assert.Throws<GemFormatException>(() => GemMetadataReader.Parse(yaml, "bad.gem"));
}
