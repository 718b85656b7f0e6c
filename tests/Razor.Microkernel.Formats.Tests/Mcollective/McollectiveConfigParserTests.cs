using System.Text;
using Razor.Microkernel.Formats.Mcollective;
using Razor.Microkernel.TestSupport;
using static Razor.Microkernel.Formats.Tests.Mcollective.McollectiveTestSupport;

namespace Razor.Microkernel.Formats.Tests.Mcollective;

public class McollectiveConfigParserTests
{
    [Fact]
    public void Parse_ProcedureFile()
    {
        var c = McollectiveConfigParser.Parse(ProcedureServerCfg);
        Assert.Equal("/topic/", c.Values["topicprefix"]);
        Assert.Equal(["/usr/local/mcollective/plugins"], c.LibDirs);
        Assert.Equal("ubuntu-server", c.PluginConf["stomp.host"]);
        Assert.Equal(ExamplePsk, c.PluginConf["psk"]);
        Assert.True(c.GetBoolean("daemonize"));
        Assert.Equal(["mcollective"], c.Collectives);
    }

    [Fact]
    public void Parse_NoInlineComments()
        => Assert.Equal("b # c", McollectiveConfigParser.Parse("loglevel = b # c\n").Values["loglevel"]);

    [Fact]
    public void Parse_HashOnlyInFirstColumnIsAComment()
    {
        Assert.Empty(McollectiveConfigParser.Parse("# loglevel = debug\n#nonsense\n").Values);
        var e = Assert.Throws<McollectiveConfigParseException>(() => McollectiveConfigParser.Parse("loglevel = info\n  # loglevel = debug\n"));
        Assert.Equal(2, e.Line);
        Assert.Equal("  # loglevel", e.Key);
    }

    [Fact]
    public void Parse_KeyWithLeadingWhiteSpace_IsFatal()
    {
        var e = Assert.Throws<McollectiveConfigParseException>(() => McollectiveConfigParser.Parse("\tloglevel = debug\n"));
        Assert.Equal("\tloglevel", e.Key);
        Assert.Contains("U+0009loglevel", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_UnknownKey_IsFatalAndTheMessageDoesNotQuoteTheValue()
    {
        var e = Assert.Throws<McollectiveConfigParseException>(() => McollectiveConfigParser.Parse("topicprefix = /t/\nlog_level = secret-ish\n"));
        Assert.Equal(2, e.Line);
        Assert.DoesNotContain("secret-ish", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_LastDuplicateWins_ExceptLibdirWhichAccumulatesSplitAtColons()
    {
        var c = McollectiveConfigParser.Parse("loglevel = debug\nlibdir = /a\nloglevel = warn\nlibdir = /b:/c:\nlibdir = :/d\n");
        Assert.Equal("warn", c.Values["loglevel"]);
        Assert.Equal(["/a", "/b", "/c", "", "/d"], c.LibDirs);
        Assert.False(c.Values.ContainsKey("libdir"));
    }

    [Theory]
    [InlineData("1", true)]
    [InlineData("10", true)]
    [InlineData("y", true)]
    [InlineData("Yes", true)]
    [InlineData("YES", true)]
    [InlineData("okay", true)] // /^1|y/i: a 'y' anywhere counts
    [InlineData("true", false)]
    [InlineData("TRUE", false)]
    [InlineData("on", false)]
    [InlineData("0", false)]
    [InlineData("01", false)]
    [InlineData("no", false)]
    public void IsTrue_FollowsMcollective121(string value, bool expected)
    {
        Assert.Equal(expected, McollectiveConfigParser.IsTrue(value));
        Assert.Equal(expected, McollectiveConfigParser.Parse($"daemonize = {value}\n").GetBoolean("daemonize"));
    }

    [Fact]
    public void Parse_LinesWithoutAValueOrWithoutEquals_AreSilentlyIgnored()
    {
        var c = McollectiveConfigParser.Parse("loglevel = info\nloglevel =\nloglevel =   \ndaemonize\n=\n= x\n");
        Assert.Equal("info", c.Values["loglevel"]);
        Assert.Single(c.Values);
    }

    [Fact]
    public void Parse_WhiteSpaceAroundEqualsAndAtLineEnd_IsDropped_CrLfToo()
    {
        var c = McollectiveConfigParser.Parse("loglevel\t=\t debug \t\r\nlogfile=/x y\r\n   \r\n");
        Assert.Equal("debug", c.Values["loglevel"]);
        Assert.Equal("/x y", c.Values["logfile"]);
    }

    [Fact]
    public void Parse_KeyEndsAtTheFirstEquals()
    {
        var c = McollectiveConfigParser.Parse("topicprefix = a = b\nplugin.x== y\n");
        Assert.Equal("a = b", c.Values["topicprefix"]);
        Assert.Equal("= y", c.PluginConf["x"]);
    }

    [Fact]
    public void Parse_PluginKeys_AnyCharacterAfterPluginCounts()
    {
        var c = McollectiveConfigParser.Parse("plugin.stomp.host = a\npluginsXfoo = b\nplugin_y = c\n");
        Assert.Equal("a", c.PluginConf["stomp.host"]);
        Assert.Equal("b", c.PluginConf["Xfoo"]);
        Assert.Equal("c", c.PluginConf["y"]);
        Assert.Throws<McollectiveConfigParseException>(() => McollectiveConfigParser.Parse("plugin. = x\n"));
        Assert.Throws<McollectiveConfigParseException>(() => McollectiveConfigParser.Parse("plugin = x\n"));
    }

    [Fact]
    public void Parse_CollectivesAreSplitAtCommasAndStripped()
        => Assert.Equal(["a", "b", "c"], McollectiveConfigParser.Parse("collectives = a , b,c,\n").Collectives);

    /// <summary>The parser against MCollective 1.2.1's loop run by Ruby, on lines built from the characters that
    /// matter to its regular expressions.</summary>
    [Fact]
    public void Parse_AgreesWithRubyOnGeneratedLines()
    {
        string[] tokens =
        [
            "loglevel", "libdir", "daemonize", "collectives", "plugin.", "plugin", "stomp.host", "x", "é", "/a", ":", ",",
            "=", "=", " = ", " ", "  ", "\t", "#", "\r", "\f", "y", "1", "0", "true", "\u00A0",
        ];
        var random = new Random(121);
        using var tmp = new TempFolder();
        var files = new List<string>();
        var texts = new List<string>();
        for (var f = 0; f < 300; f++)
        {
            var sb = new StringBuilder();
            var lines = random.Next(1, 6);
            for (var l = 0; l < lines; l++)
            {
                // Mostly start with a known key, so that lines get past the unknown-key check.
                if (random.Next(3) > 0)
                {
                    sb.Append(random.Next(4) switch { 0 => "loglevel", 1 => "libdir", 2 => "daemonize", _ => "plugin.p" });
                }

                for (var t = random.Next(0, 7); t > 0; t--)
                {
                    sb.Append(tokens[random.Next(tokens.Length)]);
                }

                if (l < lines - 1 || random.Next(2) == 0)
                {
                    sb.Append('\n');
                }
            }

            texts.Add(sb.ToString());
            files.Add(tmp.Write($"{f}.cfg", sb.ToString()));
        }

        var ruby = ReadWithRuby(files);
        var agreedErrors = 0;
        for (var i = 0; i < texts.Count; i++)
        {
            var context = $"file {i}: {System.Text.Json.JsonSerializer.Serialize(texts[i])}";
            McollectiveConfig parsed;
            try
            {
                parsed = McollectiveConfigParser.Parse(texts[i]);
            }
            catch (McollectiveConfigParseException e)
            {
                Assert.True(e.Key == ruby[i].Error, $"{context}: we refuse key {e.Key}, Ruby {ruby[i].Error}");
                agreedErrors++;
                continue;
            }

            Assert.True(ruby[i].Error is null, $"{context}: Ruby refuses key {ruby[i].Error}");
            Assert.Equal(ruby[i].Values.OrderBy(kv => kv.Key, StringComparer.Ordinal), parsed.Values.OrderBy(kv => kv.Key, StringComparer.Ordinal));
            Assert.Equal(ruby[i].LibDir, parsed.LibDirs);
            Assert.Equal(ruby[i].Plugin.OrderBy(kv => kv.Key, StringComparer.Ordinal), parsed.PluginConf.OrderBy(kv => kv.Key, StringComparer.Ordinal));
            Assert.Equal(ruby[i].Collectives, parsed.Collectives);
            foreach (var (key, value) in ruby[i].Bools)
            {
                Assert.True(value == parsed.GetBoolean(key), $"{context}: {key}");
            }
        }

        Assert.InRange(agreedErrors, 10, texts.Count - 100); // both outcomes are exercised
    }
}
