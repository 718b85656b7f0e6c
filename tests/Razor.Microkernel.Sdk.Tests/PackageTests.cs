using System.IO.Compression;
using System.Reflection.PortableExecutable;

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
            .. ExpectedTaskFiles.Select(f => "tasks/net10.0/linux-x64/" + f),
        ];
        Assert.Equal(expected.Order(StringComparer.Ordinal), files);

        // The .deps.json names every dependency that ships beside the task assembly.
        using var deps = new StreamReader(zip.GetEntry("tasks/net10.0/Razor.Microkernel.Tasks.deps.json")!.Open());
        var depsText = deps.ReadToEnd();
        foreach (var dll in ExpectedTaskFiles.Where(f => f.EndsWith(".dll", StringComparison.Ordinal)))
        {
            Assert.Contains(dll, depsText);
        }

        // tasks/net10.0/ is IL that runs anywhere; tasks/net10.0/linux-x64/ holds the same assemblies with ReadyToRun code
        // for Linux x64 (a managed native header), every method of the tasks included (so the compiler found MSBuild's
        // assemblies they derive from: without them it leaves the task classes to the JIT, and the image barely grows).
        foreach (var dll in ExpectedTaskFiles.Where(f => f.EndsWith(".dll", StringComparison.Ordinal)))
        {
            var (il, ilSize) = ReadyToRun(zip, "tasks/net10.0/" + dll);
            var (r2r, r2rSize) = ReadyToRun(zip, "tasks/net10.0/linux-x64/" + dll);
            Assert.False(il, $"{dll}: the portable copy has ReadyToRun code");
            Assert.True(r2r, $"{dll}: the linux-x64 copy has no ReadyToRun code");
            if (dll == "Razor.Microkernel.Tasks.dll")
            {
                Assert.True(r2rSize > 2 * ilSize, $"{dll}: {r2rSize} bytes compiled from {ilSize}: the task classes were not compiled");
            }
        }

        // MSBuild itself is never shipped.
        Assert.DoesNotContain(files, f => f.Contains("Microsoft.Build", StringComparison.Ordinal));
        using var nuspec = new StreamReader(zip.GetEntry("Razor.Microkernel.Sdk.nuspec")!.Open());
        var spec = nuspec.ReadToEnd();
        Assert.Contains("<packageType name=\"MSBuildSdk\" />", spec);
        Assert.DoesNotContain("<dependency ", spec);
    }

    private static (bool ReadyToRun, long Size) ReadyToRun(ZipArchive zip, string entry)
    {
        using var copy = new MemoryStream();
        using (var s = zip.GetEntry(entry)!.Open())
        {
            s.CopyTo(copy);
        }

        copy.Position = 0;
        using var pe = new PEReader(copy);
        return (pe.PEHeaders.CorHeader!.ManagedNativeHeaderDirectory.Size > 0, copy.Length);
    }

    [Fact]
    public void Build_OnLinuxX64_LoadsTheReadyToRunTasks_AndTheILCopyBuildsTheSameOverlay()
    {
        var p = SdkHarness.CreateProject("r2r");
        p.Write("motd", "hello\n");
        p.WithProject("""<ItemGroup><OverlayFile Include="motd" Destination="/etc/motd" /></ItemGroup>""");
        var r2r = p.Build().AssertSuccess();
        Assert.Matches(@"task from assembly "".*/tasks/net10\.0/linux-x64/Razor\.Microkernel\.Tasks\.dll""", r2r.Output);
        Assert.DoesNotMatch(@"task from assembly "".*/tasks/net10\.0/Razor\.Microkernel\.Tasks\.dll""", r2r.Output);
        var first = File.ReadAllBytes(p.Overlay);

        // The IL copy, which every other OS and architecture loads: the same overlay from a clean build.
        p.Run("clean").AssertSuccess();
        var il = p.Build("-p:RmkTasksAssembly=" + Path.Combine(p.PackagesFolder, "razor.microkernel.sdk", SdkHarness.Sdk.Version, "tasks", "net10.0",
            "Razor.Microkernel.Tasks.dll")).AssertSuccess();
        Assert.Matches(@"task from assembly "".*/tasks/net10\.0/Razor\.Microkernel\.Tasks\.dll""", il.Output);
        Assert.Equal(first, File.ReadAllBytes(p.Overlay));
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
