namespace Razor.Microkernel.Sdk.Tests;

/// <summary>
/// The design-time contract: every target Visual Studio's project system, Rider and Roslyn's MSBuildWorkspace run when
/// they load a project exists and succeeds with the properties those clients set, without downloading (the project's
/// extension and gem come from a loopback server that counts requests), building the image or writing any file.
/// </summary>
public sealed class DesignTimeTests() : MirroredTests("rmk-dt")
{
    /// <summary>What Visual Studio's .NET project system runs in one design-time build (dotnet/project-system's
    /// docs/design-time-builds.md), and what older project systems and Rider run besides.</summary>
    public static readonly string[] VisualStudioTargets =
    [
        "BuiltProjectOutputGroup", "CollectAnalyzersDesignTime", "CollectCentralPackageVersions", "CollectCopyToOutputDirectoryItemDesignTime",
        "CollectFrameworkReferences", "CollectNuGetAuditSuppressions", "CollectPackageDownloads", "CollectPackageReferences",
        "CollectPrunePackageReferences", "CollectResolvedCompilationReferencesDesignTime", "CollectResolvedSDKReferencesDesignTime",
        "CollectSuggestedVisualStudioComponentIds", "CollectUpToDateCheckBuiltDesignTime", "CollectUpToDateCheckInputDesignTime",
        "CollectUpToDateCheckOutputDesignTime", "CompileDesignTime", "GenerateSupportedTargetFrameworkAlias", "ResolveAssemblyReferencesDesignTime",
        "ResolveComReferencesDesignTime", "ResolveFrameworkReferencesDesignTime", "ResolvePackageDependenciesDesignTime",
        "ResolveProjectReferencesDesignTime2", "ResolveProjectReferencesDesignTime", "CollectSDKReferencesDesignTime",
        "CollectBuildAccelerationIncompatiblePackageDesignTime", "GetTargetPath",
    ];

    /// <summary>Roslyn's MSBuildWorkspace (BuildHost's ProjectBuildManager): these properties, then Compile and CoreCompile.</summary>
    public static readonly IReadOnlyDictionary<string, string> RoslynWorkspace = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["DesignTimeBuild"] = "true",
        ["NonExistentFile"] = "__NonExistentSubDir__/__NonExistentFile__",
        ["BuildProjectReferences"] = "false",
        ["BuildingProject"] = "false",
        ["ProvideCommandLineArgs"] = "true",
        ["SkipCompilerExecution"] = "true",
        ["ContinueOnError"] = "ErrorAndContinue",
        ["ShouldUnsetParentConfigurationAndPlatform"] = "false",
    };

    protected override void Populate()
    {
        Builder.Add("hello.tcz");
        Root.Write("gems/daemons-1.1.4.gem", "never fetched at design time");
    }

    private TestProject RemoteProject()
    {
        var p = SdkHarness.CreateProject("dt");
        p.Write("files/motd", "hello\n");
        p.WriteCsproj($"""
            <PropertyGroup>
              <TczMirror>{Mirror.BaseUrl}</TczMirror>
              <MicrokernelCacheDirectory>cache</MicrokernelCacheDirectory>
            </PropertyGroup>
            <ItemGroup>
              <TczExtension Include="hello" />
              <Gem Include="{Mirror.BaseUrl}/gems/daemons-1.1.4.gem" />
              <OverlayFile Include="files/motd" Destination="/etc/motd" />
            </ItemGroup>
            """);
        return p;
    }

    [Fact]
    public void DesignTimeBuild_AsVisualStudioRunsIt_EveryTargetSucceeds_OfflineAndWritingNothing()
    {
        var p = RemoteProject();
        var before = p.Files();

        var (run, results) = p.RunTargets("Microkernel.csproj", VisualStudioTargets, CsprojProjects.VisualStudioDesignTime);

        Assert.True(run.Succeeded, run.Output);
        foreach (var t in VisualStudioTargets)
        {
            Assert.True(results.TryGetValue(t, out var r) && r.Result == "Success", $"{t}: {(results.TryGetValue(t, out var x) ? x.Result : "not run")}\n{run.Output}");
        }

        // The project's own output, as Visual Studio shows it; never an assembly to compile against.
        var target = Assert.Single(results["GetTargetPath"].Items);
        Assert.Equal(p["bin/Debug/mc-linux-fs-snap.tar.gz"], target["FullPath"]);
        Assert.Equal("false", target["ResolveableAssembly"]);
        Assert.Equal(0, Mirror.TotalRequests);
        Assert.Equal(before, p.Files());
    }

    [Fact]
    public void DesignTimeBuild_AsRoslynsWorkspaceRunsIt_CompileAndCoreCompileSucceed_OfflineAndWritingNothing()
    {
        var p = RemoteProject();
        var before = p.Files();

        var (run, results) = p.RunTargets("Microkernel.csproj", ["Compile", "CoreCompile"], RoslynWorkspace);

        Assert.True(run.Succeeded, run.Output);
        Assert.Equal("Success", results["Compile"].Result);
        Assert.Equal("Success", results["CoreCompile"].Result);
        Assert.Equal(0, Mirror.TotalRequests);
        Assert.Equal(before, p.Files());
    }

    [Fact]
    public void ProjectReferenceProtocol_TargetsAnswerWithoutBuilding()
    {
        var p = RemoteProject();
        var before = p.Files();

        var (run, results) = p.RunTargets("Microkernel.csproj",
            ["GetTargetFrameworks", "GetTargetPath", "GetNativeManifest", "GetCopyToOutputDirectoryItems", "GetCopyToPublishDirectoryItems",
             "_IsProjectRestoreSupported", "_GenerateRestoreProjectPathWalk", "_GenerateRestoreGraphProjectEntry", "_GenerateProjectRestoreGraph"],
            new Dictionary<string, string>(StringComparer.Ordinal) { ["ExcludeRestorePackageImports"] = "true" });

        Assert.True(run.Succeeded, run.Output);
        Assert.All(results.Values, r => Assert.Equal("Success", r.Result));
        var frameworks = Assert.Single(results["GetTargetFrameworks"].Items);
        Assert.Equal("", frameworks["TargetFrameworks"]); // like a native project: built as it is, whatever the referrer targets
        Assert.Equal("true", frameworks["HasSingleTargetFramework"]);
        Assert.Empty(results["GetCopyToOutputDirectoryItems"].Items);
        var spec = Assert.Single(results["_GenerateProjectRestoreGraph"].Items);
        Assert.Equal("Unknown", spec["ProjectStyle"]); // NuGet's style for a project without packages
        Assert.Equal(0, Mirror.TotalRequests);
        Assert.Equal(before, p.Files());
    }
}
