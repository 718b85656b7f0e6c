using System.IO.Compression;

namespace Razor.Microkernel.Sdk.Tests;

public class PackageTests
{
    [Fact]
    public void Package_HoldsExactlyTheSdkTargetsTasksAndTheirDependencies()
    {
        using var zip = ZipFile.OpenRead(SdkHarness.Sdk.Nupkg);
        var files = zip.Entries.Select(e => e.FullName).Order(StringComparer.Ordinal).ToArray();
        string[] expected =
        [
            "README.md",
            "Razor.Microkernel.Sdk.nuspec",
            "Sdk/Sdk.props",
            "Sdk/Sdk.targets",
            "[Content_Types].xml",
            "_rels/.rels",
            "build/Razor.Microkernel.Sdk.DesignTime.targets",
            "build/Razor.Microkernel.Sdk.Project.targets",
            "build/Razor.Microkernel.Sdk.Pxe.targets",
            "build/Razor.Microkernel.Sdk.UpToDateCheck.targets",
            "build/Razor.Microkernel.Sdk.props",
            "build/Razor.Microkernel.Sdk.targets",
            "package/services/metadata/core-properties/nuget.psmdcp",
            .. ExpectedTaskFiles.Select(f => "tasks/net10.0/" + f),
        ];
        Assert.Equal(expected.Order(StringComparer.Ordinal), files);

        // The .deps.json names every dependency that ships beside the task assembly.
        using var deps = new StreamReader(zip.GetEntry("tasks/net10.0/Razor.Microkernel.Tasks.deps.json")!.Open());
        var depsText = deps.ReadToEnd();
        foreach (var dll in ExpectedTaskFiles.Where(f => f.EndsWith(".dll", StringComparison.Ordinal)))
        {
            Assert.Contains(dll, depsText);
        }

        // MSBuild itself is never shipped.
        Assert.DoesNotContain(files, f => f.Contains("Microsoft.Build", StringComparison.Ordinal));
        using var nuspec = new StreamReader(zip.GetEntry("Razor.Microkernel.Sdk.nuspec")!.Open());
        var spec = nuspec.ReadToEnd();
        Assert.Contains("<packageType name=\"MSBuildSdk\" />", spec);
        Assert.DoesNotContain("<dependency ", spec);
    }

    /// <summary>The task assembly, the format library and the libraries they use at run time.</summary>
    internal static readonly string[] ExpectedTaskFiles =
    [
        "K4os.Compression.LZ4.dll",
        "Razor.Microkernel.Formats.dll",
        "Razor.Microkernel.Tasks.deps.json",
        "Razor.Microkernel.Tasks.dll",
        "SharpCompress.dll",
        "System.IO.Hashing.dll",
        "YamlDotNet.dll",
    ];
}
