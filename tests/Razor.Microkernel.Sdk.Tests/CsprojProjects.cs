using System.Text.Json;

namespace Razor.Microkernel.Sdk.Tests;

/// <summary>Microkernel projects named as users name them (Microkernel.csproj), and MSBuild runs of chosen targets.</summary>
internal static class CsprojProjects
{
    /// <summary>Writes Microkernel.csproj: the body goes inside &lt;Project Sdk="Razor.Microkernel.Sdk/VERSION"&gt;.</summary>
    public static string WriteCsproj(this TestProject p, string body, string name = "Microkernel.csproj")
        => p.Write(name, $"<Project Sdk=\"Razor.Microkernel.Sdk/{p.Sdk.Version}\">\n{body}\n</Project>\n");

    /// <summary>`dotnet msbuild PROJECT -t:T1;T2 …` with the given global properties; returns each target's result
    /// (Success/Failure and its items' specs and metadata) as MSBuild's -getTargetResult reports it.</summary>
    public static (SdkHarness.RunResult Run, Dictionary<string, (string Result, List<Dictionary<string, string>> Items)> Targets) RunTargets(
        this TestProject p, string project, IReadOnlyList<string> targets, IReadOnlyDictionary<string, string> properties)
    {
        var args = new List<string> { "msbuild", p[project], "-nr:false", "-tl:off", $"-t:{string.Join(';', targets)}" };
        args.AddRange(properties.Select(kv => $"-p:{kv.Key}={kv.Value}"));
        args.AddRange(targets.Select(t => $"-getTargetResult:{t}"));
        var r = SdkHarness.RunDotnet(p.Directory, args, null, TimeSpan.FromMinutes(3), p.PackagesFolder);
        var results = new Dictionary<string, (string, List<Dictionary<string, string>>)>(StringComparer.Ordinal);
        var json = r.Output.IndexOf('{', StringComparison.Ordinal);
        if (r.Succeeded && json >= 0)
        {
            using var doc = JsonDocument.Parse(r.Output[json..]);
            foreach (var t in doc.RootElement.GetProperty("TargetResults").EnumerateObject())
            {
                var items = t.Value.GetProperty("Items").EnumerateArray()
                    .Select(i => i.EnumerateObject().ToDictionary(m => m.Name, m => m.Value.GetString() ?? "", StringComparer.Ordinal)).ToList();
                results[t.Name] = (t.Value.GetProperty("Result").GetString() ?? "", items);
            }
        }

        return (r, results);
    }

    /// <summary>The global properties Visual Studio's project system sets for a design-time build.</summary>
    public static readonly IReadOnlyDictionary<string, string> VisualStudioDesignTime = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["DesignTimeBuild"] = "true",
        ["BuildingInsideVisualStudio"] = "true",
        ["BuildingProject"] = "false",
        ["SkipCompilerExecution"] = "true",
        ["ProvideCommandLineArgs"] = "true",
    };
}
