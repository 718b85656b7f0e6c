using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Sdk.Tests;

/// <summary>
/// Using the SDK from outside this repository, as docs/howto.md says: build/pack.sh packs it into artifacts/packages
/// under a version no earlier pack had and pins a project (--pin DIR: its global.json's msbuild-sdks) and the samples
/// (samples/global.json) to it. After a change to the SDK and a new pack, the project gets the new SDK, although the
/// user's packages folder still holds the old one (which, with a re-used version, NuGet would go on serving).
/// </summary>
public sealed class LocalPackTests
{
    /// <summary>The working tree's files a pack needs (no bin/, obj/), so the test packs what is being tested.</summary>
    private static void CopyRepository(string to)
    {
        foreach (var file in new[] { "Directory.Build.props", "Directory.Packages.props", "global.json", "build/pack.sh", "build/pin-sdk.cs" })
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(to, file))!);
            File.Copy(Path.Combine(SdkHarness.RepoRoot, file), Path.Combine(to, file));
        }

        foreach (var folder in new[] { "src/Razor.Microkernel.Formats", "src/Razor.Microkernel.Tasks", "src/Razor.Microkernel.Sdk", "samples/HelloOverlay" })
        {
            var source = Path.Combine(SdkHarness.RepoRoot, folder);
            foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
            {
                var relative = Path.GetRelativePath(source, file);
                if (relative.StartsWith("bin", StringComparison.Ordinal) || relative.StartsWith("obj", StringComparison.Ordinal))
                {
                    continue;
                }

                var target = Path.Combine(to, folder, relative);
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(file, target);
            }
        }

        foreach (var file in new[] { "NuGet.config", "Directory.Build.props", "Directory.Build.targets" })
        {
            File.Copy(Path.Combine(SdkHarness.RepoRoot, "samples", file), Path.Combine(to, "samples", file));
        }

        // Packages come from the packages folder this machine already has (the repository's own restore): no network.
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p ? p
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        File.WriteAllText(Path.Combine(to, "NuGet.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <config><add key="globalPackagesFolder" value="{packages}" /></config>
              <packageSources><clear /></packageSources>
            </configuration>
            """);
    }

    private static string Pack(string repo, string pin)
    {
        // As a user's shell runs it: none of the MSBuild variables the test host inherited from `dotnet test`.
        var env = Environment.GetEnvironmentVariables().Keys.Cast<string>()
            .Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase) || k.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase)
                || k.StartsWith("TESTINGPLATFORM", StringComparison.OrdinalIgnoreCase) || k.StartsWith("NUGET_", StringComparison.OrdinalIgnoreCase)
                || k.Equals("DOTNET_HOST_PATH", StringComparison.OrdinalIgnoreCase))
            .ToDictionary(k => k, _ => (string?)null, StringComparer.Ordinal);
        env["MSBUILDDISABLENODEREUSE"] = "1";
        env["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        var r = Tool.Run("bash", [Path.Combine(repo, "build", "pack.sh"), "--pin", pin, "-tl:off", "-v:m"], repo, env, TimeSpan.FromMinutes(10));
        r.EnsureSuccess("build/pack.sh");
        var line = r.StdOut.Split('\n').Last(l => l.StartsWith("Razor.Microkernel.Sdk ", StringComparison.Ordinal));
        return line.Split(' ')[1];
    }

    [Fact]
    public void ProjectOutsideTheRepository_AndTheSamples_GetTheNewSdk_AfterAChangeAndANewPack()
    {
        using var t = new TempFolder("rmk-localpack");
        var repo = t["repo"];
        CopyRepository(repo);
        var outside = t["outside"];
        var userPackages = t["user-packages"]; // the user's ~/.nuget/packages, for both builds
        Directory.CreateDirectory(outside);
        File.WriteAllText(Path.Combine(outside, "global.json"), """{ "sdk": { "version": "10.0.100", "rollForward": "latestMajor" } }""");
        File.WriteAllText(Path.Combine(outside, "NuGet.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="razor-microkernel-sdk" value="{Path.Combine(repo, "artifacts", "packages")}" />
              </packageSources>
            </configuration>
            """);
        File.WriteAllText(Path.Combine(outside, "Microkernel.csproj"), """
            <Project Sdk="Razor.Microkernel.Sdk">
              <ItemGroup>
                <OverlayFile Include="motd" Destination="/etc/motd" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(outside, "motd"), "hello\n");
        SdkHarness.RunResult Build(string dir, string? packages)
        {
            var r = SdkHarness.RunDotnet(dir, ["build", "-nr:false", "-tl:off", "-v:m"], null, TimeSpan.FromMinutes(5), packages);
            Assert.True(r.Succeeded, r.Output);
            return r;
        }

        var first = Pack(repo, outside);
        Assert.Matches(@"^1\.0\.0-dev\.\d{14}(\.g[0-9a-f]{7})?$", first);
        Assert.Contains($"\"Razor.Microkernel.Sdk\": \"{first}\"", File.ReadAllText(Path.Combine(outside, "global.json")));
        Assert.Contains("\"version\": \"10.0.100\"", File.ReadAllText(Path.Combine(outside, "global.json"))); // the rest kept
        Assert.Contains("mc-linux-fs-snap.tar.gz (2 entries", Build(outside, userPackages).Output);
        Build(Path.Combine(repo, "samples", "HelloOverlay"), null);
        Assert.True(Directory.Exists(Path.Combine(repo, "artifacts", "sample-packages", "razor.microkernel.sdk", first)));

        // A change to the SDK (its default overlay name), and a new pack: a new version, which the pins now name.
        Thread.Sleep(1100); // the version's time has whole seconds
        var targets = Path.Combine(repo, "src", "Razor.Microkernel.Sdk", "build", "Razor.Microkernel.Sdk.targets");
        var text = File.ReadAllText(targets);
        Assert.Contains(">mc-linux-fs-snap.tar.gz</OverlayFileName>", text);
        File.WriteAllText(targets, text.Replace(">mc-linux-fs-snap.tar.gz</OverlayFileName>", ">changed-snap.tar.gz</OverlayFileName>", StringComparison.Ordinal));
        var second = Pack(repo, outside);
        Assert.NotEqual(first, second);
        Assert.True(string.CompareOrdinal(second, first) > 0, $"{second} should sort after {first}");
        Assert.True(File.Exists(Path.Combine(repo, "artifacts", "packages", $"Razor.Microkernel.Sdk.{first}.nupkg")), "the earlier pack stays available");

        Assert.True(Directory.Exists(Path.Combine(userPackages, "razor.microkernel.sdk", first)), "the old SDK is still in the user's packages folder");
        var rebuilt = Build(outside, userPackages);
        Assert.Contains("changed-snap.tar.gz (2 entries", rebuilt.Output);
        Assert.True(File.Exists(Path.Combine(outside, "bin", "Debug", "changed-snap.tar.gz")));
        Assert.Contains($"\"Razor.Microkernel.Sdk\": \"{second}\"", File.ReadAllText(Path.Combine(repo, "samples", "global.json")));
        Build(Path.Combine(repo, "samples", "HelloOverlay"), null);
        Assert.True(Directory.Exists(Path.Combine(repo, "artifacts", "sample-packages", "razor.microkernel.sdk", second)));
    }
}
