using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.MSBuild;
using Razor.Microkernel.Sdk.Tests;
using Razor.Microkernel.TestSupport;
using Razor.Microkernel.TestSupport.Mirror;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Razor.Microkernel.Ide.Tests;

/// <summary>
/// Roslyn's MSBuildWorkspace (Microsoft.CodeAnalysis.Workspaces.MSBuild, the loader behind the C# language server)
/// opens microkernel projects of the packed SDK, alone and in a solution with a C# project: no workspace failure, the
/// project is listed, and opening it neither downloads (the mirror and the URL are a loopback server that counts
/// requests) nor writes anything in the project's folder. Before the SDK had the design-time contract, this failed with
/// "Project does not contain 'Compile' target".
/// </summary>
public sealed class WorkspaceTests : IAsyncLifetime
{
    private TempFolder _mirrorRoot = null!;
    private LoopbackMirror _mirror = null!;

    public async Task InitializeAsync()
    {
        _mirrorRoot = new TempFolder("rmk-ide-mirror");
        var builder = new TinyCoreMirrorBuilder(_mirrorRoot.Path);
        builder.Add("hello.tcz");
        _mirrorRoot.Write("gems/daemons-1.1.4.gem", "not fetched: the workspace must not download it");
        _mirror = await LoopbackMirror.StartAsync(_mirrorRoot.Path);
    }

    public async Task DisposeAsync()
    {
        await _mirror.DisposeAsync();
        _mirrorRoot.Dispose();
    }

    [Fact]
    public async Task OpenProject_ListsTheMicrokernelProject_WithoutDownloadingOrBuilding()
    {
        var p = MicrokernelProject("ws");
        var before = p.Files();

        var (project, failures) = await OpenAsync(p, w => w.OpenProjectAsync(Path.Combine(p.Directory, "Microkernel.csproj")));

        Assert.Empty(failures);
        Assert.Equal("Microkernel", project.Name);
        Assert.Equal(LanguageNames.CSharp, project.Language);
        Assert.Empty(project.Documents);
        Assert.Equal(Path.Combine(p.OutDir, "mc-linux-fs-snap.tar.gz"), project.OutputFilePath);
        Assert.Equal(0, _mirror.TotalRequests);
        Assert.Equal(before, p.Files());
    }

    [Fact]
    public async Task OpenSolution_WithACSharpProjectAndAMicrokernelProject_ListsBoth()
    {
        var p = MicrokernelProject("wssln");
        Directory.CreateDirectory(p["App"]);
        p.Write("App/App.csproj", """
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <OutputType>Exe</OutputType>
              </PropertyGroup>
              <ItemGroup>
                <ProjectReference Include="../Microkernel.csproj" ReferenceOutputAssembly="false" OutputItemType="MicrokernelImage" />
              </ItemGroup>
            </Project>
            """);
        p.Write("App/Program.cs", "System.Console.WriteLine(\"app\");\n");
        Dotnet(p, "new", "sln", "-n", "Both");
        Dotnet(p, "sln", "Both.slnx", "add", "Microkernel.csproj", "App/App.csproj");
        Dotnet(p, "restore", "Both.slnx"); // the C# project's assets file, as an IDE's restore would write it
        // (The C# project's own design-time build writes below App/obj; the microkernel project's writes nothing.)
        static SortedSet<string> MicrokernelFiles(TestProject p) => new(p.Files().Where(f => !f.StartsWith("App/", StringComparison.Ordinal)), StringComparer.Ordinal);
        var before = MicrokernelFiles(p);

        var (solution, failures) = await OpenAsync(p, w => w.OpenSolutionAsync(Path.Combine(p.Directory, "Both.slnx")));

        Assert.Empty(failures);
        var names = solution.Projects.Select(x => x.Name).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["App", "Microkernel"], names);
        var app = solution.Projects.Single(x => x.Name == "App");
        Assert.Contains(app.Documents, d => d.Name == "Program.cs");
        var microkernel = solution.Projects.Single(x => x.Name == "Microkernel");
        Assert.Empty(microkernel.Documents);
        Assert.Equal(0, _mirror.TotalRequests);
        Assert.Equal(before, MicrokernelFiles(p));
        Assert.False(Directory.Exists(p["cache"]), "the download cache was created: something was fetched");
    }

    /// <summary>A microkernel project (Microkernel.csproj) whose build would download an extension from the loopback
    /// mirror and a gem from a loopback URL, into the cache/ folder beside it, and pack a local file.</summary>
    private TestProject MicrokernelProject(string name)
    {
        var p = SdkHarness.CreateProject(name);
        p.Write("files/motd", "hello\n");
        p.Write("Microkernel.csproj", $"""
            <Project Sdk="Razor.Microkernel.Sdk/{p.Sdk.Version}">
              <PropertyGroup>
                <TczMirror>{_mirror.BaseUrl}</TczMirror>
                <MicrokernelCacheDirectory>cache</MicrokernelCacheDirectory>
              </PropertyGroup>
              <ItemGroup>
                <TczExtension Include="hello" />
                <Gem Include="{_mirror.BaseUrl}/gems/daemons-1.1.4.gem" />
                <OverlayFile Include="files/motd" Destination="/etc/motd" />
              </ItemGroup>
            </Project>
            """);
        return p;
    }

    private static void Dotnet(TestProject p, params string[] args)
    {
        var r = SdkHarness.RunDotnet(p.Directory, [.. args], null, TimeSpan.FromMinutes(3), p.PackagesFolder);
        Assert.True(r.Succeeded, $"dotnet {string.Join(' ', args)} failed:\n{r.Output}");
    }

    /// <summary>Opens with a fresh MSBuildWorkspace, in an environment like a user's: none of the MSBuild variables the
    /// test host inherited from `dotnet test`, and the test's own packages folder for the SDK.</summary>
    private static async Task<(T Result, List<string> Failures)> OpenAsync<T>(TestProject p, Func<MSBuildWorkspace, Task<T>> open)
    {
        foreach (var key in Environment.GetEnvironmentVariables().Keys.Cast<string>().ToList())
        {
            if (key.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase) || key.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase)
                || key.Equals("DOTNET_HOST_PATH", StringComparison.OrdinalIgnoreCase) || key.StartsWith("NUGET_", StringComparison.OrdinalIgnoreCase))
            {
                Environment.SetEnvironmentVariable(key, null);
            }
        }

        Environment.SetEnvironmentVariable("NUGET_PACKAGES", p.PackagesFolder);
        Environment.SetEnvironmentVariable("MSBUILDDISABLENODEREUSE", "1");
        var failures = new List<string>();
        using var workspace = MSBuildWorkspace.Create();
        workspace.RegisterWorkspaceFailedHandler(e => failures.Add($"{e.Diagnostic.Kind}: {e.Diagnostic.Message}"));
        var result = await open(workspace);
        failures.AddRange(workspace.Diagnostics.Select(d => $"{d.Kind}: {d.Message}").Except(failures));
        return (result, failures);
    }
}
