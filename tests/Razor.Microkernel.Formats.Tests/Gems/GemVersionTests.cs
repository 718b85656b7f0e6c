using System.Text;
using Razor.Microkernel.Formats.Gems;
using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Formats.Tests.Gems;

public class GemVersionTests
{
    private static readonly string[][] RequirementCases =
    [
        ["= 1.0", "1.0"], ["= 1.0", "1"], ["= 1.0", "1.0.0"], ["= 1.0", "1.0.1"], ["1.0", "1.0"],
        ["!= 1.0", "1.0"], ["!= 1.0", "1.1"],
        ["> 1.0", "1.0"], ["> 1.0", "1.0.1"], ["> 1.0", "1.0.a"], ["> 1.0.a", "1.0"],
        ["< 1.0", "0.9"], ["< 1.0", "1.0.a"], ["< 1.0", "1.0"],
        [">= 1.0", "1.0"], [">= 1.0", "0.99"], [">= 1.0", "1.0.rc1"], [">= 0", "0.0.1.a"],
        ["<= 1.0", "1.0"], ["<= 1.0", "1.0.1"],
        ["~> 1.2", "1.2"], ["~> 1.2", "1.9.9"], ["~> 1.2", "2.0"], ["~> 1.2", "2.0.a"], ["~> 1.2", "1.1"],
        ["~> 1.2.3", "1.2.3"], ["~> 1.2.3", "1.2.99"], ["~> 1.2.3", "1.3"], ["~> 1.2.3", "1.3.0.a"],
        ["~> 1", "1.9"], ["~> 1", "2"], ["~> 1.0.a", "1.0"], ["~> 1.0.a", "1.0.b"], ["~> 1.0.a", "1.1"],
        ["~> 0", "0.5"], ["~> 0", "1.0"], ["~> 2.0.0.pre", "2.0.0"], ["~> 2.0.0.pre", "2.1"],
        ["= 1.0.0-rc1", "1.0.0.pre.rc1"], ["> 1.0.0-rc1", "1.0.0"],
        ["= 1.a", "1.A"], [">= 1.a", "1.B"], ["> 1.10", "1.9"], ["> 1.10", "1.10.0.1"],
        ["= 01.0", "1.0"], ["> 1.0.b1", "1.0.a2"], ["< 1.0.b1", "1.0.b10"], ["= 1.0.0.0", "1"],
        ["> 1.0.a", "1.0.a.0"], ["< 1.0.a.1", "1.0.a.2"], ["= 2", "2.0.0.0.0"],
    ];

    private static readonly string[][] MultiCases =
    [
        ["~> 1.1|>= 1.1.4", "1.1.3"], ["~> 1.1|>= 1.1.4", "1.1.4"], ["~> 1.1|>= 1.1.4", "1.9"], ["~> 1.1|>= 1.1.4", "2.0"],
        [">= 1.0|< 2|!= 1.5", "1.5"], [">= 1.0|< 2|!= 1.5", "1.6"], [">= 1.0|< 2|!= 1.5", "2.0.a"],
    ];

    [Fact]
    public void SatisfiedBy_MatchesDebianRubyGemsOnEveryCase()
    {
        var cases = RequirementCases.Select(c => (Reqs: new[] { c[0] }, Version: c[1]))
            .Concat(MultiCases.Select(c => (Reqs: c[0].Split('|'), Version: c[1])))
            .ToList();
        var script = new StringBuilder("require 'rubygems'\n");
        foreach (var (reqs, version) in cases)
        {
            script.Append("puts Gem::Requirement.new(").Append(string.Join(", ", reqs.Select(r => $"'{r}'")))
                .Append(").satisfied_by?(Gem::Version.new('").Append(version).Append("'))\n");
        }

        var ruby = Tool.Run("ruby", ["-e", script.ToString()]).EnsureSuccess("ruby").StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(cases.Count, ruby.Length);
        for (var i = 0; i < cases.Count; i++)
        {
            var ours = GemRequirement.Create(cases[i].Reqs).IsSatisfiedBy(GemVersion.Parse(cases[i].Version));
            Assert.True(ruby[i] == (ours ? "true" : "false"),
                $"{string.Join(", ", cases[i].Reqs)} vs {cases[i].Version}: ruby says {ruby[i]}, we say {ours}");
        }
    }

    [Fact]
    public void CompareReleaseBump_MatchDebianRubyGems()
    {
        string[] versions = ["1", "1.0", "1.0.0", "1.0.a", "1.0.A", "1.0.b1", "1.0.b10", "1.0.a.2", "1.0-rc1", "1.0.0.pre.rc1",
            "0.9.99", "1.10", "1.9", "2.0.0.0", "01", "1.a.0", "1.a", "3.0.0.beta.1", "3.0.0.beta.11", "12345678901234567890.1"];
        var script = new StringBuilder("require 'rubygems'\nv = %w[" + string.Join(' ', versions) + "].map { |s| Gem::Version.new(s) }\n");
        script.Append("v.each { |a| puts [a.to_s, a.prerelease?, a.release.to_s, a.bump.to_s].join(' ') }\n");
        script.Append("v.each { |a| puts v.map { |b| a <=> b }.join(',') }\n");
        var lines = Tool.Run("ruby", ["-e", script.ToString()]).EnsureSuccess("ruby").StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var parsed = versions.Select(GemVersion.Parse).ToList();
        for (var i = 0; i < versions.Length; i++)
        {
            var v = parsed[i];
            Assert.Equal(lines[i], $"{v.Text} {(v.IsPrerelease ? "true" : "false")} {v.Release.Text} {v.Bump.Text}");
        }

        for (var i = 0; i < versions.Length; i++)
        {
            Assert.Equal(lines[versions.Length + i], string.Join(',', parsed.Select(b => parsed[i].CompareTo(b))));
        }
    }

    [Theory]
    [InlineData("1.0", true)]
    [InlineData(" 1.0 ", true)]
    [InlineData("", true)]
    [InlineData("1.0-rc.1", true)]
    [InlineData("junk", false)]
    [InlineData("1..0", false)]
    [InlineData("1.0 beta", false)]
    public void IsCorrect_FollowsTheRubyGemsPattern(string text, bool expected)
        => Assert.Equal(expected, GemVersion.IsCorrect(text));

    [Fact]
    public void Create_RefusesIllFormedRequirement()
        => Assert.Throws<FormatException>(() => GemRequirement.Create(">> 1"));
}
