namespace Razor.Microkernel.Sdk.Tests;

/// <summary>
/// Solutions and project references through `dotnet` as a user runs it: `dotnet new sln`, `dotnet sln add`, build,
/// pack, test and clean of a solution that holds a microkernel project alone or with C# projects, and a C# project that
/// references a microkernel project and receives its outputs.
/// </summary>
public sealed class SolutionTests
{
    private static SdkHarness.RunResult Dotnet(TestProject p, params string[] args)
    {
        var r = SdkHarness.RunDotnet(p.Directory, [.. args, .. args[0] is "new" or "sln" ? Array.Empty<string>() : ["-nr:false", "-tl:off"]], null,
            TimeSpan.FromMinutes(5), p.PackagesFolder);
        Assert.True(r.Succeeded, $"dotnet {string.Join(' ', args)} failed (folder {p.Directory}):\n{r.Output}");
        return r;
    }

    [Fact]
    public void Solution_OfAMicrokernelProject_BuildsWithoutWarnings_AndCleansToWhatWasThere()
    {
        var p = SdkHarness.CreateProject("sln");
        p.Write("files/motd", "hello\n");
        p.WriteCsproj("<ItemGroup><OverlayFile Include=\"files/motd\" Destination=\"/etc/motd\" /></ItemGroup>");
        Dotnet(p, "new", "sln", "-n", "Images");
        Dotnet(p, "sln", "Images.slnx", "add", "Microkernel.csproj");
        var sources = p.Files();

        var build = Dotnet(p, "build", "Images.slnx");
        Assert.Contains("    0 Warning(s)", build.Output); // no NU1503, no "unable to find a project to restore"
        Assert.Contains($"Microkernel -> {p["bin/Debug/mc-linux-fs-snap.tar.gz"]} (2 entries", build.Output);
        Assert.True(File.Exists(p["bin/Debug/mc-linux-fs-snap.tar.gz"]));

        Dotnet(p, "clean", "Images.slnx");
        Assert.Equal(sources, p.Files());
    }

    [Fact]
    public void Solution_TakesAProjectNamedDotProj_Too()
    {
        var p = SdkHarness.CreateProject("slnproj");
        p.Write("files/motd", "hello\n");
        p.WithProject("<ItemGroup><OverlayFile Include=\"files/motd\" Destination=\"/etc/motd\" /></ItemGroup>"); // Microkernel.proj
        Dotnet(p, "new", "sln", "-n", "Images");
        Dotnet(p, "sln", "Images.slnx", "add", "Microkernel.proj"); // typed by the SDK's DefaultProjectTypeGuid
        Assert.Contains("Microkernel.proj", File.ReadAllText(p["Images.slnx"]));
        Dotnet(p, "build", "Images.slnx");
        Assert.True(File.Exists(p.Overlay));
    }

    [Fact]
    public void Solution_WithCSharpProjects_BuildsPacksTestsAndCleans_AndAReferenceReceivesTheOverlayAndTheIso()
    {
        var p = SdkHarness.CreateProject("mixed");
        IsoTests.MakeCoreIso(p);
        p.Write("files/motd", "hello\n");
        p.WriteCsproj("""
            <ItemGroup>
              <OverlayFile Include="files/motd" Destination="/etc/motd" />
              <CoreIso Include="Core-4.5.2.iso" />
            </ItemGroup>
            """);
        // An app that collects the microkernel's outputs (the documented way), and a library with a plain reference.
        p.Write("App/App.csproj", """
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <OutputType>Exe</OutputType>
              </PropertyGroup>
              <ItemGroup>
                <ProjectReference Include="../Microkernel.csproj" ReferenceOutputAssembly="false" OutputItemType="MicrokernelImage" />
              </ItemGroup>
              <Target Name="ShowImages" AfterTargets="Build">
                <Message Importance="high" Text="IMAGE %(MicrokernelImage.Filename)%(MicrokernelImage.Extension) FROM %(MicrokernelImage.MicrokernelProject)" />
              </Target>
            </Project>
            """);
        p.Write("App/Program.cs", "System.Console.WriteLine(\"app\");\n");
        p.Write("Lib/Lib.csproj", """
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
              </PropertyGroup>
              <ItemGroup>
                <ProjectReference Include="../Microkernel.csproj" />
              </ItemGroup>
            </Project>
            """);
        p.Write("Lib/Class.cs", "namespace Lib; public static class Class { public static int One => 1; }\n");
        Dotnet(p, "new", "sln", "-n", "Mixed");
        Dotnet(p, "sln", "Mixed.slnx", "add", "Microkernel.csproj", "App/App.csproj", "Lib/Lib.csproj");
        var sources = p.Files();

        var build = Dotnet(p, "build", "Mixed.slnx");
        Assert.Contains("    0 Warning(s)", build.Output);
        Assert.Contains($"IMAGE mc-linux-fs-snap.tar.gz FROM {p["Microkernel.csproj"]}", build.Output);
        Assert.Contains($"IMAGE rz_mk_dev-image.1.0.0.iso FROM {p["Microkernel.csproj"]}", build.Output);
        Assert.True(File.Exists(p["App/bin/Debug/net10.0/App.dll"]));
        Assert.True(File.Exists(p["Lib/bin/Debug/net10.0/Lib.dll"]));
        Assert.True(File.Exists(p["bin/Debug/rz_mk_dev-image.1.0.0.iso"]));
        // The overlay is never handed to a compiler as a reference, nor copied next to the assemblies.
        Assert.DoesNotContain(Directory.EnumerateFiles(p["Lib/bin"], "*", SearchOption.AllDirectories), f => f.EndsWith(".tar.gz", StringComparison.Ordinal));
        Assert.DoesNotContain(Directory.EnumerateFiles(p["App/bin"], "*", SearchOption.AllDirectories), f => f.EndsWith(".iso", StringComparison.Ordinal));

        var pack = Dotnet(p, "pack", "Mixed.slnx");
        Assert.Contains("Microkernel: not packed", pack.Output);
        Assert.True(File.Exists(p["Lib/bin/Release/Lib.1.0.0.nupkg"]) || File.Exists(p["Lib/bin/Debug/Lib.1.0.0.nupkg"]), pack.Output);

        Dotnet(p, "test", "Mixed.slnx");

        Dotnet(p, "clean", "Mixed.slnx");
        Dotnet(p, "clean", "Mixed.slnx", "-c", "Release"); // dotnet pack built Release
        Assert.DoesNotContain(p.Files(), f => f.StartsWith("bin/", StringComparison.Ordinal) || f.StartsWith("obj/", StringComparison.Ordinal));
        Assert.Empty(p.Files().Where(f => !f.StartsWith("App/", StringComparison.Ordinal) && !f.StartsWith("Lib/", StringComparison.Ordinal)).Except(sources));
    }
}
