using System.Text.RegularExpressions;

namespace Razor.Microkernel.Sdk.Tests;

public partial class ErrorCodeTests
{
    [GeneratedRegex(@"RMK\d{4}")]
    private static partial Regex Code();

    private static string Repo(string relative) => Path.Combine(SdkHarness.RepoRoot, relative);

    /// <summary>Every code, from the message list and from the targets files, with where it is defined.</summary>
    private static List<(string Code, string Where)> DefinedCodes()
    {
        var codes = new List<(string, string)>();
        foreach (var line in File.ReadAllLines(Repo("build/messages.txt")))
        {
            if (line.StartsWith('#') || !line.Contains('\t', StringComparison.Ordinal))
            {
                continue;
            }

            var (key, message) = (line[..line.IndexOf('\t', StringComparison.Ordinal)], line[(line.IndexOf('\t', StringComparison.Ordinal) + 1)..]);
            var m = Regex.Match(message, @"^(RMK\d{4}): ");
            if (m.Success)
            {
                codes.Add((m.Groups[1].Value, "messages.txt " + key));
            }
        }

        foreach (var targets in Directory.EnumerateFiles(Repo("src/Razor.Microkernel.Sdk"), "*.targets", SearchOption.AllDirectories))
        {
            foreach (Match m in Regex.Matches(File.ReadAllText(targets), "Code=\"(RMK\\d{4})\""))
            {
                codes.Add((m.Groups[1].Value, Path.GetFileName(targets)));
            }
        }

        return codes;
    }

    [Fact]
    public void Codes_AreUnique_AndEveryOneIsDocumented()
    {
        var codes = DefinedCodes();
        Assert.NotEmpty(codes);
        var duplicates = codes.GroupBy(c => c.Code).Where(g => g.Count() > 1).Select(g => $"{g.Key}: {string.Join(", ", g.Select(c => c.Where))}").ToList();
        Assert.True(duplicates.Count == 0, "codes defined twice: " + string.Join("; ", duplicates));
        var docs = File.ReadAllText(Repo("docs/errors.md"));
        var undocumented = codes.Where(c => !Regex.IsMatch(docs, $@"^## {c.Code}\b", RegexOptions.Multiline)).Select(c => c.Code).ToList();
        Assert.True(undocumented.Count == 0, "not in docs/errors.md: " + string.Join(", ", undocumented));
    }

    [Fact]
    public void Codes_UsedInSourceAreAllDefined_AndTheResxMatchesTheMessageList()
    {
        var defined = DefinedCodes().Select(c => c.Code).ToHashSet();
        var used = Directory.EnumerateFiles(Repo("src"), "*.*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".cs", StringComparison.Ordinal) || f.EndsWith(".targets", StringComparison.Ordinal) || f.EndsWith(".resx", StringComparison.Ordinal))
            .Where(f => !f.Contains("/obj/", StringComparison.Ordinal) && !f.Contains("/bin/", StringComparison.Ordinal))
            .SelectMany(f => Code().Matches(File.ReadAllText(f)).Select(m => m.Value)).ToHashSet();
        Assert.Empty(used.Except(defined));

        // Strings.resx is generated from build/messages.txt by build/resx.py: they must agree.
        var resx = File.ReadAllText(Repo("src/Razor.Microkernel.Tasks/Strings.resx"));
        foreach (var line in File.ReadAllLines(Repo("build/messages.txt")).Where(l => !l.StartsWith('#') && l.Contains('\t', StringComparison.Ordinal)))
        {
            var key = line[..line.IndexOf('\t', StringComparison.Ordinal)];
            Assert.Contains($"<data name=\"{key}\"", resx);
        }
    }
}
