using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Razor.Microkernel.Formats.Gems;
using Razor.Microkernel.Formats.Layers;
using Razor.Microkernel.TestSupport;
using YamlDotNet.Core;

namespace Razor.Microkernel.Formats.Tests.Gems;

/// <summary>The YAML layer of the gem reader against Ruby's own (Psych over libyaml), and bounded against alias bombs.</summary>
public class RubyYamlTests
{
    /// <summary>YAML as RubyGems' writers produced it, or as libyaml reads it where YamlDotNet alone would not. Each
    /// is read by Ruby (<c>Psych.parse</c>, aliases resolved) and by the reader; the trees must be the same.</summary>
    public static TheoryData<string, string> Dialects => new()
    {
        { "syck literal keep, first line of spaces", "post_install_message: |+\n  \n  (::) U P G R A D I N G\n  \n    indented\n  \n\nnext: 1\n" },
        { "syck literal in a list", "requirements:\n- |\n    \n    first\n- second\n" },
        { "syck literal of blank lines only, ended by a key", "a: |-\n   \n   \nb: c\n" },
        { "syck literal of blank lines only, at the end", "a: |\n    \n" },
        { "syck literal, CRLF", "a: |+\r\n  \r\n  x\r\n  \r\nb: 1\r\n" },
        { "two literals to repair", "a: |\n  \n  x\nb: |-\n    \n    y\n    z\n" },
        { "literal with explicit indentation", "a: |2\n  \n  x\n" },
        { "folded, first line of spaces", "a: >\n  \n  x\n  y\n" },
        { "blank line shorter than the text", "a: |\n \n  x\n" },
        { "psych non-specific tag", "requirements:\n- - ! '>='\n  - !ruby/object:Gem::Version\n    version: '0'\n" },
        { "syck trailing spaces after tags", "version: !ruby/object:Gem::Version \n  version: 1.0.7\nrequirements: \n- - \">\"\n  - !ruby/object:Gem::Version \n    version: 0.0.0\n" },
        { "psych anchors and aliases", "requirement: &id001 !ruby/object:Gem::Requirement\n  requirements:\n  - - ~>\n    - '1.0'\nversion_requirements: *id001\n" },
        { "an anchor defined again", "a: &x 1\nb: *x\nc: &x 2\nd: *x\n" },
        { "a key given twice", "name: first\nname: second\n" },
        { "binary", "summary: !binary |-\n  RmFjdGVyLCBhIHN5c3RlbSBpbnZlbnRvcnkgdG9vbCDDqQ==\n" },
        { "only the first document", "--- a\n--- [b\n" },
        { "what follows the first document is never read", "[a, b]\ninvalid item\n" },
        { "complex key", "? - a\n  - b\n: c\n" },
    };

    [Theory]
    [MemberData(nameof(Dialects))]
    public void Dialect_ReadsAsRubyReadsIt(string what, string yaml)
    {
        using var tmp = new TempFolder();
        var file = tmp.Write("in.yaml", yaml);
        const string script = """
            require 'psych'; require 'json'
            anchors = {}
            walk = lambda do |n|
              r = case n
                  when Psych::Nodes::Scalar then n.value
                  when Psych::Nodes::Sequence then n.children.map { |c| walk.(c) }
                  when Psych::Nodes::Mapping then n.children.each_slice(2).map { |k, v| [walk.(k), walk.(v)] }
                  when Psych::Nodes::Alias then anchors.fetch(n.anchor)
                  end
              anchors[n.anchor] = r if n.respond_to?(:anchor) && n.anchor && !n.is_a?(Psych::Nodes::Alias)
              r
            end
            doc = Psych.parse(File.binread(ARGV[0]).force_encoding('UTF-8'))
            print JSON.generate([walk.(doc.root)])
            """;
        var ruby = Tool.Run("ruby", ["-e", script, file]).EnsureSuccess("Psych.parse of " + what).StdOut;
        var expected = JsonNode.Parse(ruby)!.AsArray()[0]!.ToJsonString();
        var actual = Json(RubyYaml.Load(yaml))!.ToJsonString();
        Assert.Equal(expected, actual);
    }

    private static JsonNode? Json(RubyYamlNode? node) => node switch
    {
        RubyYamlScalar s => JsonValue.Create(s.Value),
        RubyYamlSequence q => new JsonArray(q.Items.Select(Json).ToArray()),
        RubyYamlMapping m => new JsonArray(m.Pairs.Select(p => (JsonNode)new JsonArray(Json(p.Key), Json(p.Value))).ToArray()),
        _ => null,
    };

    /// <summary>YAML that Ruby refuses too: a first line deeper than the text (libyaml ends the scalar there).</summary>
    [Theory]
    [InlineData("a: |\n    \n  x\nb: 1\n")]
    [InlineData("- |\n    \n  x\n")]
    [InlineData("a: >\n    \n  x\nb: 1\n")]
    public void Dialect_WhatRubyRefuses_IsRefused(string yaml)
    {
        using var tmp = new TempFolder();
        var ruby = Tool.Run("ruby", ["-rpsych", "-e", "Psych.parse(File.read(ARGV[0]))", tmp.Write("in.yaml", yaml)]);
        Assert.NotEqual(0, ruby.ExitCode);
        Assert.ThrowsAny<YamlException>(() => RubyYaml.Load(yaml));
    }

    [Fact]
    public void Aliases_StaySharedReferences()
    {
        var root = (RubyYamlMapping)RubyYaml.Load("a: &x [1, 2]\nb: *x\n")!;
        Assert.Same(root["a"], root["b"]);
    }

    [Theory]
    [InlineData("a: &a [*a]\n", "contains it")]
    [InlineData("a: &m {k: *m}\n", "contains it")]
    [InlineData("a: *nowhere\n", "names no anchor")]
    public void Aliases_ThatCannotResolve_AreRefused(string yaml, string reason)
        => Assert.Contains(reason, Assert.ThrowsAny<YamlException>(() => RubyYaml.Load(yaml)).Message);

    [Fact]
    public void Nesting_IsBounded()
    {
        var deep = new string('[', 100_000) + new string(']', 100_000);
        Assert.Contains("nests deeper", Assert.ThrowsAny<YamlException>(() => RubyYaml.Load(deep)).Message);
        Assert.NotNull(RubyYaml.Load(new string('[', RubyYaml.MaxDepth) + new string(']', RubyYaml.MaxDepth)));
    }

    /// <summary>The "billion laughs" shapes: ten levels of ten aliases, as values, as mapping keys (which YamlDotNet's
    /// own representation model hashes), as text, and where RubyGems does not look. Each is a few hundred bytes.</summary>
    public static TheoryData<string> Bombs => new()
    {
        "files: *a9\n",
        "bomb: *a9\n",
        "metadata: {? *a9 : x}\n",
        "dependencies:\n- name: x\n  requirement:\n    requirements: *a9\n",
        "description: &t0 \"" + new string('x', 1000) + "\"\n"
            + string.Concat(Enumerable.Range(1, 5).Select(i => $"t{i}: &t{i} [" + string.Join(", ", Enumerable.Repeat($"*t{i - 1}", 10)) + "]\n"))
            + "summary: *t5\n",
    };

    internal static string Bomb(string tail, int levels = 10)
    {
        var sb = new StringBuilder("--- !ruby/object:Gem::Specification\nname: bomb\nversion: !ruby/object:Gem::Version\n  version: '1.0'\n");
        sb.Append("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for (var i = 1; i < levels; i++)
        {
            sb.Append($"a{i}: &a{i} [").AppendJoin(", ", Enumerable.Repeat($"*a{i - 1}", 10)).Append("]\n");
        }

        return sb.Append(tail).ToString();
    }

    [Theory]
    [MemberData(nameof(Bombs))]
    public void AliasBomb_IsRefusedWithinBoundedMemory(string tail)
    {
        var yaml = Bomb(tail);
        Assert.True(yaml.Length < 2000, $"{yaml.Length} bytes");
        var before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<GemLimitException>(() => GemMetadataReader.Parse(yaml, "bomb.gem"));
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 32L << 20, $"reading the bomb allocated {allocated:N0} bytes");
        Assert.Equal("metadata.gz", e.Entry);
        Assert.Contains("aliases counted each time they are used", e.Message);

        // Through the installer: the same coded refusal, nothing written.
        var gem = GemBuilder.Handmade(yaml, w => GemBuilder.AddFile(w, "lib/bomb.rb", "x"));
        using var layer = new LayerWriter(new MemoryStream());
        Assert.Throws<GemLimitException>(() => GemInstaller.Install([new GemSource("bomb-1.0.gem", () => new MemoryStream(gem))], layer));
        Assert.Equal(0, layer.EntryCount);
    }

    [Fact]
    public void AliasBomb_BelowTheBound_StillReads()
    {
        // Five levels (100,000 values through aliases) is far more than real metadata holds, and still reads.
        var yaml = Bomb("files: *a4\n", levels: 5);
        var spec = GemMetadataReader.Parse(yaml, "five.gem");
        static int Leaves(object? v) => v is IReadOnlyList<object?> l ? l.Sum(Leaves) : 1;
        Assert.Equal(100_000, Leaves(spec.Get("files")));
    }

    [Fact]
    public void AliasUse_JustBelowTheBounds_InstallsWithinBoundedAllocation()
    {
        // 3 KB of gem that uses its aliases up to the bounds (about 4 Mi characters and a quarter million values):
        // what the installer then writes (the gemspec lists every author) stays small.
        var text = new string('x', 1500);
        var yaml = "--- !ruby/object:Gem::Specification\nname: near\nversion: !ruby/object:Gem::Version\n  version: '1.0'\ndescription: &t0 \"" + text + "\"\n"
            + "t1: &t1 [" + string.Join(", ", Enumerable.Repeat("*t0", 100)) + "]\n"
            + "authors: [" + string.Join(", ", Enumerable.Repeat("*t1", 25)) + "]\n"
            + "t2: &t2 [" + string.Join(", ", Enumerable.Repeat("y", 1000)) + "]\n"
            + "files: [" + string.Join(", ", Enumerable.Repeat("*t2", 250)) + "]\n";
        var gem = GemBuilder.Handmade(yaml, w => GemBuilder.AddFile(w, "lib/near.rb", "x"));
        Assert.True(gem.Length < 4096, $"{gem.Length} bytes");
        var before = GC.GetAllocatedBytesForCurrentThread();
        using (var layer = new LayerWriter(Stream.Null))
        {
            GemInstaller.Install([new GemSource("near-1.0.gem", () => new MemoryStream(gem))], layer);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 256L << 20, $"installing it allocated {allocated:N0} bytes");

        // One more use of the text passes the bound.
        Assert.Throws<GemLimitException>(() => GemMetadataReader.Parse(yaml + "summary: [*t1, *t1]\n", "over.gem"));
    }
}
