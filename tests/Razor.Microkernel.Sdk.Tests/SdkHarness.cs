using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Sdk.Tests;

/// <summary>
/// Packs the SDK once per test run under a unique version into a private feed, and builds project
/// files with it in temp folders that each have their own NuGet.config (cleared, local feed only),
/// global.json and a private packages folder (NUGET_PACKAGES); child builds see no inherited MSBuild variables and
/// reuse no nodes. A failing test keeps its folder and binlog and names them in its message (until the next run).
/// </summary>
public static partial class SdkHarness
{
    private static readonly Lazy<PackedSdk> Packed = new(Pack, LazyThreadSafetyMode.ExecutionAndPublication);

    public static string RepoRoot { get; } = FindRepoRoot();

    public static PackedSdk Sdk => Packed.Value;

    public sealed record PackedSdk(string Version, string Feed, string PackagesFolder, string Nupkg, string RunFolder);

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Razor.Microkernel.Sdk.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("cannot find the repository root (Razor.Microkernel.Sdk.sln) above " + AppContext.BaseDirectory);
    }

    private static PackedSdk Pack()
    {
        var stamp = DateTime.UtcNow.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture);
        var version = $"1.0.0-test.{stamp}.{Environment.ProcessId}";
        RemoveFinishedRuns();
        var run = Path.Combine(Path.GetTempPath(), $"rmk-e2e-{stamp}-{Environment.ProcessId}");
        var feed = Path.Combine(run, "feed");
        Directory.CreateDirectory(feed);
        // Test projects run in parallel processes, and each packs the SDK: one pack at a time builds src/.
        using var packLock = AcquirePackLock();
        var result = RunDotnet(RepoRoot, ["pack", Path.Combine(RepoRoot, "src", "Razor.Microkernel.Sdk", "Razor.Microkernel.Sdk.csproj"),
            "-c", "Release", "-o", feed, $"-p:RmkSdkVersion={version}", "-nr:false", "-tl:off", "-v:m"], null, TimeSpan.FromMinutes(10));
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"dotnet pack of the SDK failed:\n{result.Output}");
        }

        return new PackedSdk(version, feed, Path.Combine(run, "packages"), Path.Combine(feed, $"Razor.Microkernel.Sdk.{version}.nupkg"), run);
    }

    /// <summary>An exclusive lock on a file in the temp folder, held while one test process packs the SDK (the operating
    /// system releases it when the process dies).</summary>
    private static FileStream AcquirePackLock()
    {
        var path = Path.Combine(Path.GetTempPath(), "rmk-e2e-pack.lock");
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(15);
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(500);
            }
        }
    }

    /// <summary>Deletes the run folders (projects, binlogs, packages) of earlier test runs whose process has ended, so
    /// they do not pile up in the temp folder; a failed test's folder stays until the next run starts. Folders of
    /// runs still going (their process is alive) are left alone.</summary>
    private static void RemoveFinishedRuns()
    {
        foreach (var dir in Directory.EnumerateDirectories(Path.GetTempPath(), "rmk-e2e-*"))
        {
            var dash = dir.LastIndexOf('-');
            if (!int.TryParse(dir[(dash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }

            bool alive;
            try
            {
                using var p = Process.GetProcessById(pid);
                alive = !p.HasExited;
            }
            catch (ArgumentException)
            {
                alive = false;
            }

            if (!alive)
            {
                try
                {
                    Directory.Delete(dir, recursive: true);
                }
                catch (IOException)
                {
                }
                catch (UnauthorizedAccessException)
                {
                }
            }
        }
    }

    /// <summary>A fresh project folder wired to the packed SDK.</summary>
    public static TestProject CreateProject(string name = "Test")
    {
        var sdk = Sdk;
        var dir = Path.Combine(sdk.RunFolder, "projects", $"{name}-{Guid.NewGuid():N}"[..(name.Length + 9)]);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "NuGet.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="rmk-test-feed" value="{sdk.Feed}" />
              </packageSources>
            </configuration>
            """);
        File.WriteAllText(Path.Combine(dir, "global.json"), """
            { "sdk": { "version": "10.0.100", "rollForward": "latestMajor" } }
            """);
        return new TestProject(dir, sdk);
    }

    public sealed record RunResult(int ExitCode, string Output, string? BinLog)
    {
        public bool Succeeded => ExitCode == 0;
    }

    /// <summary>Runs the dotnet CLI with a clean environment (no inherited MSBuild variables).</summary>
    public static RunResult RunDotnet(string workingDirectory, IReadOnlyList<string> args, IDictionary<string, string?>? environment,
        TimeSpan timeout, string? packagesFolder = null, Action<Process>? onStarted = null)
    {
        // Through GNU env, which resets SIGINT to its default and then execs dotnet (same process): a test host started in
        // the background of a non-interactive shell inherits SIGINT as ignored, and so would every build it starts, so
        // the Ctrl+C tests would signal a build that cannot hear it.
        var psi = new ProcessStartInfo("env")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("--default-signal=INT");
        psi.ArgumentList.Add("dotnet");
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var key in psi.Environment.Keys.ToList())
        {
            if (key.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase) || key.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase)
                || key.StartsWith("TESTINGPLATFORM", StringComparison.OrdinalIgnoreCase) || key.Equals("DOTNET_HOST_PATH", StringComparison.OrdinalIgnoreCase)
                || key.StartsWith("NUGET_", StringComparison.OrdinalIgnoreCase) || key.Equals("SOURCE_DATE_EPOCH", StringComparison.Ordinal)
                || key.StartsWith("MCOLLECTIVE_", StringComparison.Ordinal))
            {
                psi.Environment.Remove(key);
            }
        }

        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        psi.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        psi.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        psi.Environment["DOTNET_CLI_DO_NOT_USE_MSBUILD_SERVER"] = "1";
        if (packagesFolder is not null)
        {
            psi.Environment["NUGET_PACKAGES"] = packagesFolder;
        }

        if (environment is not null)
        {
            foreach (var (k, v) in environment)
            {
                if (v is null)
                {
                    psi.Environment.Remove(k);
                }
                else
                {
                    psi.Environment[k] = v;
                }
            }
        }

        using var p = new Process { StartInfo = psi };
        var output = new System.Text.StringBuilder();
        var gate = new object();
        p.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (gate)
                {
                    output.AppendLine(e.Data);
                }
            }
        };
        p.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (gate)
                {
                    output.AppendLine(e.Data);
                }
            }
        };
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        onStarted?.Invoke(p);
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            lock (gate)
            {
                return new RunResult(-1, output + "\n[timed out]", null);
            }
        }

        p.WaitForExit();
        lock (gate)
        {
            return new RunResult(p.ExitCode, output.ToString(), null);
        }
    }

    [GeneratedRegex("""Building target "(?<t>[^"]+)" (completely|partially)""")]
    internal static partial Regex BuildingTarget();

    [GeneratedRegex("""Skipping target "(?<t>[^"]+)" because all output files are up-to-date""")]
    internal static partial Regex SkippingTarget();

    [GeneratedRegex(@"(?<code>RMK\d{4})")]
    internal static partial Regex RmkCode();
}

/// <summary>A project folder with the packed SDK available.</summary>
public sealed class TestProject(string directory, SdkHarness.PackedSdk sdk)
{
    private int _runs;

    public string Directory { get; } = directory;

    public SdkHarness.PackedSdk Sdk { get; } = sdk;

    public string ProjectFile => Path.Combine(Directory, "Microkernel.proj");

    /// <summary>This test's own NUGET_PACKAGES (beside its folder, so clean checks of the folder do not see it).</summary>
    public string PackagesFolder => Path.Combine(Sdk.PackagesFolder, Path.GetFileName(Directory));

    /// <summary>XDG_CONFIG_HOME of this test's builds (beside its folder): the generated Development PSK goes below it.</summary>
    public string ConfigFolder => Path.Combine(Sdk.RunFolder, "config", Path.GetFileName(Directory));

    public string OutDir => Path.Combine(Directory, "bin", "Debug");

    public string Overlay => Path.Combine(OutDir, "mc-linux-fs-snap.tar.gz");

    public string this[string relative] => Path.Combine(Directory, relative);

    /// <summary>Writes the project file: the body goes inside &lt;Project Sdk="Razor.Microkernel.Sdk/VERSION"&gt;.</summary>
    public TestProject WithProject(string body)
    {
        File.WriteAllText(ProjectFile, $"<Project Sdk=\"Razor.Microkernel.Sdk/{Sdk.Version}\">\n{body}\n</Project>\n");
        return this;
    }

    public string Write(string relative, string content)
    {
        var full = this[relative];
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllText(full, content);
        return full;
    }

    public string Write(string relative, byte[] content)
    {
        var full = this[relative];
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllBytes(full, content);
        return full;
    }

    /// <summary>Runs `dotnet VERB` (build by default) on the project at detailed verbosity, with a binlog.</summary>
    public BuildResult Run(string verb = "build", IEnumerable<string>? extraArgs = null, IDictionary<string, string?>? environment = null,
        TimeSpan? timeout = null, Action<Process>? onStarted = null)
    {
        var n = Interlocked.Increment(ref _runs);
        var binlog = Path.Combine(Sdk.RunFolder, "binlogs", $"{Path.GetFileName(Directory)}-{n}-{verb}.binlog");
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(binlog)!);
        var args = new List<string> { verb, ProjectFile, "-nr:false", "-tl:off", "-v:d", $"-bl:{binlog}" };
        args.AddRange(extraArgs ?? []);
        // The user's configuration folder (where a generated Development PSK is kept) is the test run's own.
        var env = new Dictionary<string, string?>(StringComparer.Ordinal) { ["XDG_CONFIG_HOME"] = ConfigFolder };
        foreach (var (k, v) in environment ?? new Dictionary<string, string?>())
        {
            env[k] = v;
        }

        var r = SdkHarness.RunDotnet(Directory, args, env, timeout ?? TimeSpan.FromMinutes(5), PackagesFolder, onStarted);
        return new BuildResult(r.ExitCode, r.Output, binlog, Directory);
    }

    public BuildResult Build(params string[] extraArgs) => Run("build", extraArgs);

    /// <summary>Every file under the project folder (relative, '/'-separated), for clean checks.</summary>
    public SortedSet<string> Files()
        => new(System.IO.Directory.EnumerateFiles(Directory, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(Directory, f).Replace('\\', '/')), StringComparer.Ordinal);
}

public sealed record BuildResult(int ExitCode, string Output, string BinLog, string ProjectDirectory)
{
    public bool Succeeded => ExitCode == 0;

    public IReadOnlySet<string> TargetsRun
        => SdkHarness.BuildingTarget().Matches(Output).Select(m => m.Groups["t"].Value).ToHashSet(StringComparer.Ordinal);

    public IReadOnlySet<string> TargetsSkipped
        => SdkHarness.SkippingTarget().Matches(Output).Select(m => m.Groups["t"].Value).ToHashSet(StringComparer.Ordinal);

    /// <summary>The error and warning codes in the output.</summary>
    public IReadOnlySet<string> Codes => SdkHarness.RmkCode().Matches(Output).Select(m => m.Value).ToHashSet(StringComparer.Ordinal);

    /// <summary>Asserts success; the failure message names the folder and binlog kept for inspection.</summary>
    public BuildResult AssertSuccess()
    {
        Assert.True(Succeeded, $"build failed (exit {ExitCode}); folder {ProjectDirectory}, binlog {BinLog}\n{Tail(Output)}");
        return this;
    }

    public BuildResult AssertFailureWith(string code)
    {
        Assert.False(Succeeded, $"build succeeded but {code} was expected; binlog {BinLog}\n{Tail(Output)}");
        Assert.True(Codes.Contains(code), $"expected {code}; got {string.Join(", ", Codes)}; binlog {BinLog}\n{Tail(Output)}");
        return this;
    }

    private static string Tail(string s) => s.Length > 6000 ? s[^6000..] : s;
}
