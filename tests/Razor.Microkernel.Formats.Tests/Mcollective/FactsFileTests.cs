using System.Text;
using System.Text.Json;
using Razor.Microkernel.Formats.Mcollective;
using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Formats.Tests.Mcollective;

public class FactsFileTests
{
    [Fact]
    public void Write_NoFacts_IsTheNonEmptyDefaultHash()
    {
        Assert.Equal("mcollective: 1\n", FactsFile.Write([]));
        var read = ReadWithRuby([FactsFile.Write([])]);
        Assert.Equal(1, read[0].GetProperty("mcollective").GetInt32());
    }

    [Fact]
    public void Write_Facts_KeepOrderAndQuoteEveryValue()
        => Assert.Equal("role: \"microkernel\"\nrack: \"12\"\n\"yes\": \"no\"\n", FactsFile.Write([("role", "microkernel"), ("rack", "12"), ("yes", "no")]));

    [Theory]
    [InlineData("")]
    [InlineData("1rack")]
    [InlineData("has space")]
    [InlineData("a:b")]
    [InlineData("#x")]
    [InlineData("-x")]
    [InlineData("é")]
    [InlineData("a\nb")]
    public void Write_NameThatCannotBeAPlainKey_IsRefused(string name)
    {
        var e = Assert.Throws<FactsFileException>(() => FactsFile.Write([(name, "v")]));
        Assert.DoesNotContain("\n", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Write_DuplicateName_IsRefused()
        => Assert.Throws<FactsFileException>(() => FactsFile.Write([("a", "1"), ("a", "2")]));

    [Fact]
    public void Write_UnpairedSurrogate_IsRefused()
        => Assert.Throws<FactsFileException>(() => FactsFile.Write([("a", "x\uD800y")]));

    /// <summary>Every value reads back exactly with Ruby's YAML (Psych), names included, for tricky and random strings.</summary>
    [Fact]
    public void Write_AnyString_RoundTripsThroughRubyYaml()
    {
        var values = new List<string>
        {
            "", " ", "  lead and trail  ", "true", "no", "~", "null", "1", "0x10", "1e3", "012", ".inf", "2012-02-07",
            "- item", "? q", ": c", "a: b", "a #b", "#", "&anchor", "*alias", "!tag", "%dir", "@", "`", "|", ">", "'", "\"",
            "\\", "\\n", "{a: 1}", "[1, 2]", "---", "...", "line\nbreak", "cr\rlf\r\n", "\t", "\0nul", "\u0007\u001B\u007F",
            "\u0085nel", "\u2028\u2029", "\uFEFFbom", "\uFFFE\uFFFF", "é ü ✓ 中文", "😀 emoji", "\u0080\u009F", "trailing\n",
        };
        var random = new Random(42);
        for (var i = 0; i < 200; i++)
        {
            var sb = new StringBuilder();
            for (var n = random.Next(0, 12); n > 0; n--)
            {
                var c = random.Next(6) switch
                {
                    0 => (char)random.Next(0, 0x20),
                    1 => (char)random.Next(0x20, 0x7F),
                    2 => (char)random.Next(0x7F, 0x100),
                    3 => "\"\\:#'- \n"[random.Next(8)],
                    4 => (char)random.Next(0x100, 0xD800),
                    _ => (char)random.Next(0xE000, 0x10000),
                };
                sb.Append(c);
            }

            values.Add(sb.ToString());
        }

        var facts = values.Select((v, i) => ($"f{i}", v)).ToList();
        facts.Add(("Yes", "reserved word name"));
        facts.Add(("OFF", "reserved word name"));
        facts.Add(("a.b-c_d", "dotted"));
        facts.Add(("_x", "underscore"));
        var read = ReadWithRuby([FactsFile.Write(facts)])[0];
        var names = read.EnumerateObject().Select(p => p.Name).ToList();
        Assert.Equal(facts.Select(f => f.Item1), names);
        foreach (var (name, value) in facts)
        {
            Assert.True(value == read.GetProperty(name).GetString(), $"{name}: {JsonSerializer.Serialize(value)}");
        }
    }

    private static List<JsonElement> ReadWithRuby(IEnumerable<string> yamlTexts)
    {
        using var tmp = new TempFolder();
        var files = yamlTexts.Select((t, i) => tmp.Write($"{i}.yaml", new UTF8Encoding(false).GetBytes(t))).ToList();
        var script = tmp.Write("read.rb", """
            require 'yaml'
            require 'json'
            print JSON.generate(ARGV.map { |f| h = YAML.load(File.read(f, encoding: 'UTF-8')); raise "not a hash" unless h.is_a?(Hash) && !h.empty?; h })
            """);
        var result = Tool.Run("ruby", new[] { script }.Concat(files)).EnsureSuccess("ruby read.rb");
        return JsonSerializer.Deserialize<List<JsonElement>>(result.StdOut)!;
    }
}
