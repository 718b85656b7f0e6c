using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Razor.Microkernel.TestSupport.Mirror;
using static Razor.Microkernel.Bench.Measure;

namespace Razor.Microkernel.Bench;

/// <summary>
/// Cold build of samples/RazorMicrokernel (Development flavor) from a loopback HTTP mirror, against
/// bench/Build/manual-build.sh doing the same work with wget, md5sum, unsquashfs, gem and tar/gzip on the same
/// inputs from the same server, in the same run. Every <c>dotnet build</c> pays a fixed start-up cost (the CLI,
/// MSBuild, restore, evaluation), so a cold build of an empty project of this SDK is measured too and the figure is
/// (sample − empty) ÷ script. Each repetition starts cold: no download cache, no obj/, no bin/, no lock file
/// (the SDK package itself is already in the NuGet packages folder, as on any machine that built before).
/// Then separate, untimed cold builds sample the build's whole process tree in /proc for its peak memory.
/// </summary>
internal static class ColdBuildBenchmark
{
    public const double TargetRatio = 0.7;

    public const long TargetPeakBytes = 400_000_000;

    private const string Psk = "bench-psk-of-24-chars!!!";

    private const string StompPassword = "bench-stomp-password";

    public static void Run(string work, string repo, int reps, ulong seed, double scale, int memoryRuns, bool profile)
    {
        Console.WriteLine($"# cold-build: samples/RazorMicrokernel vs bench/Build/manual-build.sh, {reps} repetitions, seed {seed}, scale {F(scale, "0.##")}, work folder {work}");
        Console.WriteLine($"# machine: {Load()} (at start)");
        foreach (var tool in new[] { "dotnet", "mksquashfs", "unsquashfs", "wget", "md5sum", "gem", "tar", "gzip", "bash" })
        {
            _ = Which(tool) ?? throw new InvalidOperationException($"'{tool}' is not on PATH (Debian: apt-get install wget squashfs-tools ruby)");
        }

        if (!File.Exists("/usr/bin/time"))
        {
            throw new InvalidOperationException("/usr/bin/time is missing (Debian: apt-get install time)");
        }

        // 1. Inputs, served by a real HTTP server on 127.0.0.1.
        var sw = Stopwatch.StartNew();
        var www = Path.Combine(work, "www");
        var inputs = SampleInputs.Generate(www, Path.Combine(work, "src"), seed, scale);
        Console.WriteLine($"# inputs generated in {F(sw.Elapsed.TotalSeconds, "0.0")} s:");
        Console.WriteLine("#   | input | files | content bytes | served bytes |");
        foreach (var i in inputs)
        {
            Console.WriteLine($"#   | {i.Name} | {i.Files} | {i.ContentBytes:N0} | {i.ServedBytes:N0} |");
        }

        Console.WriteLine($"#   | total | {inputs.Sum(i => i.Files)} | {inputs.Sum(i => i.ContentBytes):N0} | {inputs.Sum(i => i.ServedBytes):N0} |");
        var server = LoopbackMirror.StartAsync(www).GetAwaiter().GetResult();
        try
        {
            Run(work, repo, reps, memoryRuns, profile, server);
        }
        finally
        {
            server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private static void Run(string work, string repo, int reps, int memoryRuns, bool profile, LoopbackMirror server)
    {
        var tczUrl = server.Url("4.x/x86/tcz");
        var downloadsUrl = server.Url(SampleInputs.Downloads);
        Console.WriteLine($"# mirror: {server.BaseUrl} (Kestrel in this process)");

        // 2. The SDK, packed into a private feed; the sample and an empty project that use it.
        var version = $"1.0.0-bench.{DateTime.UtcNow.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture)}";
        var feed = Path.Combine(work, "feed");
        var env = DotnetEnvironment(Path.Combine(work, "packages"));
        var sw = Stopwatch.StartNew();
        ProcessTree.Run("dotnet", ["pack", Path.Combine(repo, "src", "Razor.Microkernel.Sdk", "Razor.Microkernel.Sdk.csproj"), "-c", "Release", "-o", feed,
            $"-p:RmkSdkVersion={version}", "-nr:false", "-tl:off", "-v:q"], repo, env);
        Console.WriteLine($"# SDK {version} packed in {F(sw.Elapsed.TotalSeconds, "0.0")} s");
        File.WriteAllText(Path.Combine(work, "NuGet.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="bench" value="{feed}" />
              </packageSources>
            </configuration>
            """);
        File.Copy(Path.Combine(repo, "global.json"), Path.Combine(work, "global.json"));
        var ours = Path.Combine(work, "sample");
        var empty = Path.Combine(work, "empty");
        Directory.CreateDirectory(ours);
        Directory.CreateDirectory(empty);
        var sample = File.ReadAllText(Path.Combine(repo, "samples", "RazorMicrokernel", "RazorMicrokernel.csproj"));
        if (!sample.Contains("Sdk=\"Razor.Microkernel.Sdk\"", StringComparison.Ordinal))
        {
            throw new InvalidOperationException("samples/RazorMicrokernel/RazorMicrokernel.csproj does not name Razor.Microkernel.Sdk");
        }

        File.WriteAllText(Path.Combine(ours, "RazorMicrokernel.csproj"), sample.Replace("Sdk=\"Razor.Microkernel.Sdk\"", $"Sdk=\"Razor.Microkernel.Sdk/{version}\"", StringComparison.Ordinal));
        File.WriteAllText(Path.Combine(empty, "Empty.proj"), $"<Project Sdk=\"Razor.Microkernel.Sdk/{version}\" />\n");

        var cache = Path.Combine(work, "cache");
        string[] buildArgs = ["build", "-nr:false", "-tl:off", "-v:q"];
        string[] sampleArgs = [.. buildArgs, $"-p:TczMirror={server.BaseUrl}", $"-p:RazorDownloadsFolder={downloadsUrl}", $"-p:MicrokernelCacheDirectory={cache}",
            "-p:MicrokernelIso=false"]; // the overlay only: the script makes no ISO
        var script = Path.Combine(repo, "bench", "Build", "manual-build.sh");
        var scriptWork = Path.Combine(work, "script");
        var scriptOut = Path.Combine(work, "script-out", "mc-linux-fs-snap.tar.gz");
        Directory.CreateDirectory(Path.GetDirectoryName(scriptOut)!);
        var overlay = Path.Combine(ours, "bin", "Debug", "mc-linux-fs-snap.tar.gz");

        void CleanSample()
        {
            foreach (var d in new[] { Path.Combine(ours, "obj"), Path.Combine(ours, "bin"), cache })
            {
                if (Directory.Exists(d))
                {
                    Directory.Delete(d, recursive: true);
                }
            }

            File.Delete(Path.Combine(ours, "microkernel.lock.json"));
        }

        void CleanEmpty()
        {
            foreach (var d in new[] { Path.Combine(empty, "obj"), Path.Combine(empty, "bin") })
            {
                if (Directory.Exists(d))
                {
                    Directory.Delete(d, recursive: true);
                }
            }
        }

        void CleanScript()
        {
            if (Directory.Exists(scriptWork))
            {
                Directory.Delete(scriptWork, recursive: true);
            }

            File.Delete(scriptOut);
        }

        var contenders = new List<Contender>
        {
            new("cold build, samples/RazorMicrokernel (this SDK)", CleanSample, () => ProcessTree.Run("dotnet", sampleArgs, ours, env)),
            new("cold build, empty project (this SDK)", CleanEmpty, () => ProcessTree.Run("dotnet", buildArgs, empty, env)),
            new("manual-build.sh (wget, md5sum, unsquashfs, gem, tar czf)", CleanScript,
                () => ProcessTree.Run("bash", [script, tczUrl, downloadsUrl, scriptWork, scriptOut], work, env)),
        };

        // 3. Warm-up (restores the SDK package into the packages folder, fills the page cache), then the repetitions.
        foreach (var c in contenders)
        {
            c.Clean();
            c.Run();
        }

        CheckOutputs(overlay, scriptOut);
        for (var r = 0; r < reps; r++)
        {
            var order = new List<string>();
            for (var k = 0; k < contenders.Count; k++)
            {
                var c = contenders[(k + r) % contenders.Count];
                c.Clean();
                c.Samples.Add(c.Run());
                order.Add($"{c.Short} {F(c.Samples[^1].Seconds, "0.00")} s");
            }

            if (!File.Exists(overlay) || !File.Exists(scriptOut))
            {
                throw new InvalidOperationException("a contender left no overlay");
            }

            Console.WriteLine($"# repetition {r + 1}/{reps}: {string.Join(", ", order)}; {Load()}");
        }

        // 4. Peak memory: cold builds of the sample, untimed, with the process tree sampled in /proc.
        var memory = new List<TimedRun>();
        for (var i = 0; i < memoryRuns; i++)
        {
            CleanSample();
            memory.Add(ProcessTree.Run("dotnet", sampleArgs, ours, env, sampleTree: true));
        }

        var emptyMemory = new List<TimedRun>();
        for (var i = 0; i < Math.Min(memoryRuns, 1); i++)
        {
            CleanEmpty();
            emptyMemory.Add(ProcessTree.Run("dotnet", buildArgs, empty, env, sampleTree: true));
        }

        // 5. Report.
        var (oursC, emptyC, scriptC) = (contenders[0], contenders[1], contenders[2]);
        double Med(Contender c) => Median(c.Samples.Select(s => s.Seconds));
        double Min(Contender c) => c.Samples.Min(s => s.Seconds);
        var ratio = (Med(oursC) - Med(emptyC)) / Med(scriptC);
        var ratioMin = (Min(oursC) - Min(emptyC)) / Min(scriptC);
        var rawRatio = Med(oursC) / Med(scriptC);
        double Cpu(Contender c) => Median(c.Samples.Select(s => s.CpuSeconds));
        var cpuRatio = (Cpu(oursC) - Cpu(emptyC)) / Cpu(scriptC);
        Console.WriteLine();
        Console.WriteLine($"Machine: {Load()} (at end).");
        Console.WriteLine();
        Console.WriteLine("| run | median s | min s | max s | CPU s (median) | largest process peak RSS (median) |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        foreach (var c in contenders)
        {
            var t = c.Samples.Select(s => s.Seconds).ToArray();
            Console.WriteLine($"| {c.Name} | {F(Median(t))} | {F(t.Min())} | {F(t.Max())} | {F(Median(c.Samples.Select(s => s.CpuSeconds)))} | " +
                $"{Mib(Median(c.Samples.Select(s => (double)s.MaxRssKb)))} MiB |");
        }

        Console.WriteLine();
        Console.WriteLine($"(sample − empty) ÷ script: {F(ratio)}× on medians ({F(Med(oursC) - Med(emptyC))} s ÷ {F(Med(scriptC))} s), {F(ratioMin)}× on minimums " +
            $"(target ≤ {F(TargetRatio, "0.0")}: {(ratio <= TargetRatio ? "met" : "MISSED")}). Without subtracting the start-up: {F(rawRatio)}×. " +
            $"The same on CPU seconds (steadier under load): {F(cpuRatio)}× ({F(Cpu(oursC) - Cpu(emptyC))} s ÷ {F(Cpu(scriptC))} s).");
        Console.WriteLine();
        Console.WriteLine("| peak memory, cold build (sampled every 10 ms) | wall s | processes | peak of summed RSS of the tree | largest process VmHWM |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        foreach (var (name, runs) in new[] { ("samples/RazorMicrokernel", memory), ("empty project", emptyMemory) })
        {
            foreach (var m in runs)
            {
                Console.WriteLine($"| {name} | {F(m.Seconds, "0.00")} | {m.Processes} | {Mib(m.TreePeakKb)} MiB | {Mib(m.MaxRssKb)} MiB |");
            }
        }

        // The peak over every cold build of the sample: the sampled tree, and each timed run's largest process.
        var peak = memory.Select(m => Math.Max(m.TreePeakKb, m.MaxRssKb)).Concat(oursC.Samples.Select(s => s.MaxRssKb)).Max() * 1024;
        Console.WriteLine();
        Console.WriteLine($"Peak memory of the sample's cold build: {Mib(peak / 1024)} MiB = {peak / 1_000_000} MB, the highest of the sampled trees and of the " +
            $"timed runs' largest process (target ≤ {TargetPeakBytes / 1_000_000} MB: {(peak <= TargetPeakBytes ? "met" : "MISSED")}).");

        Console.WriteLine();
        foreach (var c in contenders)
        {
            Console.WriteLine($"bench.cold name=\"{c.Short}\" median_s={F(Med(c))} min_s={F(Min(c))} cpu_s={F(Median(c.Samples.Select(s => s.CpuSeconds)))} " +
                $"max_rss_kb={c.Samples.Max(s => s.MaxRssKb)}");
        }

        Console.WriteLine($"bench.cold.result ratio={F(ratio)} ratio_min={F(ratioMin)} raw_ratio={F(rawRatio)} cpu_ratio={F(cpuRatio)} ratio_target_met={(ratio <= TargetRatio ? "yes" : "no")} " +
            $"peak_bytes={peak} peak_target_met={(peak <= TargetPeakBytes ? "yes" : "no")} cores={Environment.ProcessorCount}");

        if (profile)
        {
            // One more cold build with MSBuild's performance summary: where the time goes.
            CleanSample();
            var summary = ProcessTree.Run("dotnet", [.. sampleArgs.Where(a => a != "-v:q"), "-v:m", "-clp:PerformanceSummary"], ours, env);
            Console.WriteLine();
            Console.WriteLine($"Profile: one more cold build ({F(summary.Seconds, "0.00")} s) with -clp:PerformanceSummary (entries of 10 ms or more):");
            PrintSummary(summary.Output);
        }
    }

    /// <summary>Lines of MSBuild's performance summary that took at least 10 ms, by section.</summary>
    private static void PrintSummary(string output)
    {
        var inSummary = false;
        foreach (var line in output.Split('\n'))
        {
            if (line.Contains("Performance Summary:", StringComparison.Ordinal))
            {
                inSummary = true;
                Console.WriteLine(line.TrimEnd());
                continue;
            }

            var m = Regex.Match(line, @"^\s*(\d+) ms\s+(.*?)\s+(\d+) calls");
            if (inSummary && m.Success && int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) >= 10)
            {
                Console.WriteLine(line.TrimEnd());
            }
        }
    }

    /// <summary>Entry counts of both overlays and the paths only one of them has (a check that they did the same work).</summary>
    private static void CheckOutputs(string ours, string script)
    {
        static HashSet<string> Entries(string tarball)
        {
            var tar = Which("tar")!;
            var psi = new ProcessStartInfo(tar) { RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var a in new[] { "-tzf", tarball })
            {
                psi.ArgumentList.Add(a);
            }

            using var p = Process.Start(psi)!;
            var text = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => l.StartsWith("./", StringComparison.Ordinal) ? l[2..] : l)
                .Select(l => l.TrimEnd('/'))
                .Where(l => l.Length > 0 && l != ".")
                .ToHashSet(StringComparer.Ordinal);
        }

        var a = Entries(ours);
        var b = Entries(script);
        var onlyOurs = a.Except(b).Order(StringComparer.Ordinal).ToList();
        var onlyScript = b.Except(a).Order(StringComparer.Ordinal).ToList();
        Console.WriteLine($"# outputs: ours {a.Count} entries, {new FileInfo(ours).Length:N0} bytes; script {b.Count} entries, {new FileInfo(script).Length:N0} bytes; " +
            $"only in ours: {onlyOurs.Count}{(onlyOurs.Count > 0 ? " (" + string.Join(", ", onlyOurs.Take(8)) + (onlyOurs.Count > 8 ? ", …" : "") + ")" : "")}; " +
            $"only in the script's: {onlyScript.Count}{(onlyScript.Count > 0 ? " (" + string.Join(", ", onlyScript.Take(8)) + (onlyScript.Count > 8 ? ", …" : "") + ")" : "")}");
    }

    /// <summary>The environment of a child dotnet: no inherited MSBuild or NuGet variables, no node reuse, no build
    /// server, a private packages folder, and the MCollective secrets the sample's Development image reads.</summary>
    private static Dictionary<string, string?> DotnetEnvironment(string packages)
    {
        var env = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var key in Environment.GetEnvironmentVariables().Keys.Cast<string>())
        {
            if (key.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase) || key.StartsWith("NUGET_", StringComparison.OrdinalIgnoreCase)
                || key.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase) || key.Equals("DOTNET_HOST_PATH", StringComparison.OrdinalIgnoreCase)
                || key.Equals("SOURCE_DATE_EPOCH", StringComparison.Ordinal) || key.StartsWith("MCOLLECTIVE_", StringComparison.Ordinal))
            {
                env[key] = null;
            }
        }

        env["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        env["DOTNET_NOLOGO"] = "1";
        env["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        env["MSBUILDDISABLENODEREUSE"] = "1";
        env["DOTNET_CLI_DO_NOT_USE_MSBUILD_SERVER"] = "1";
        env["NUGET_PACKAGES"] = packages;
        env["MCOLLECTIVE_PSK"] = Psk;
        env["MCOLLECTIVE_STOMP_PASSWORD"] = StompPassword;
        return env;
    }

    private static string Mib(double kb) => F(kb / 1024, "0.0");

    private sealed record Contender(string Name, Action Clean, Func<TimedRun> Run)
    {
        public List<TimedRun> Samples { get; } = [];

        public string Short => Name.StartsWith("cold build, samples", StringComparison.Ordinal) ? "sample" : Name.StartsWith("cold build, empty", StringComparison.Ordinal) ? "empty" : "script";
    }
}
