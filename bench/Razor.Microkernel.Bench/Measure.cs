using System.Diagnostics;
using System.Globalization;

namespace Razor.Microkernel.Bench;

/// <summary>Wall time and CPU time of one run; for commands also the largest resident set among the
/// processes it waited for (kB, from <c>/usr/bin/time</c>; 0 when unknown).</summary>
internal readonly record struct Sample(double Seconds, double CpuSeconds, long MaxRssKb = 0);

internal static class Measure
{
    /// <summary>Times an action in this process; CPU time is this process's (all threads).</summary>
    public static Sample InProcess(Action action)
    {
        var self = Process.GetCurrentProcess();
        var cpu0 = self.TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        action();
        sw.Stop();
        self.Refresh();
        return new Sample(sw.Elapsed.TotalSeconds, (self.TotalProcessorTime - cpu0).TotalSeconds);
    }

    /// <summary>Runs a command (through /usr/bin/time when present, for the CPU time of it and of the
    /// children it waits for, e.g. the gzip that <c>tar -z</c> starts) and times it.</summary>
    public static Sample Command(string file, IReadOnlyList<string> args, string? workingDirectory = null)
    {
        var timeFile = Path.GetTempFileName();
        try
        {
            var useTime = File.Exists("/usr/bin/time");
            var psi = new ProcessStartInfo(useTime ? "/usr/bin/time" : file)
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
                UseShellExecute = false,
                WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
            };
            if (useTime)
            {
                foreach (var a in new[] { "-f", "%U %S %M", "-o", timeFile, file })
                {
                    psi.ArgumentList.Add(a);
                }
            }

            foreach (var a in args)
            {
                psi.ArgumentList.Add(a);
            }

            var sw = Stopwatch.StartNew();
            using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {file}");
            var stderr = p.StandardError.ReadToEndAsync();
            var stdout = p.StandardOutput.ReadToEndAsync();
            p.WaitForExit();
            sw.Stop();
            if (p.ExitCode != 0)
            {
                throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited with {p.ExitCode}: {stderr.Result}{stdout.Result}");
            }

            var cpu = double.NaN;
            long maxRss = 0;
            if (useTime)
            {
                var parts = File.ReadAllText(timeFile).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                cpu = double.Parse(parts[^3], CultureInfo.InvariantCulture) + double.Parse(parts[^2], CultureInfo.InvariantCulture);
                maxRss = long.Parse(parts[^1], CultureInfo.InvariantCulture);
            }

            return new Sample(sw.Elapsed.TotalSeconds, cpu, maxRss);
        }
        finally
        {
            File.Delete(timeFile);
        }
    }

    /// <summary>Runs this benchmark program again as a child with the given arguments, polling its peak
    /// resident set (<c>VmHWM</c>) from here, and parses the <c>key=value</c> words it prints.</summary>
    public static (Dictionary<string, string> Values, long PolledKb) Self(IReadOnlyList<string> args)
    {
        var self = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
        var psi = new ProcessStartInfo(self) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            psi.ArgumentList.Add(System.Reflection.Assembly.GetEntryAssembly()!.Location);
        }

        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi) ?? throw new InvalidOperationException("cannot start the child");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        long polled = 0;
        while (!p.WaitForExit(10))
        {
            polled = Math.Max(polled, StatusKb(p.Id.ToString(CultureInfo.InvariantCulture), "VmHWM"));
        }

        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{args[0]} exited with {p.ExitCode}: {stderr.Result}");
        }

        var values = stdout.Result.Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries)
            .Select(kv => kv.Split('=')).Where(kv => kv.Length == 2).ToDictionary(kv => kv[0], kv => kv[1]);
        return (values, polled);
    }

    /// <summary>A kB field of /proc/PID/status (0 when the process is gone).</summary>
    public static long StatusKb(string pid, string field)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith(field + ":", StringComparison.Ordinal))
                {
                    return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException)
        {
        }

        return 0;
    }

    /// <summary>Full path of a tool on PATH, or null.</summary>
    public static string? Which(string tool)
        => (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, tool)).FirstOrDefault(File.Exists);

    public static double Median(IEnumerable<double> values)
    {
        var v = values.OrderBy(x => x).ToArray();
        return v.Length == 0 ? double.NaN : v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }

    /// <summary>The load averages and core count, as `uptime` shows them.</summary>
    public static string Load()
    {
        var load = File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";
        return $"{Environment.ProcessorCount} cores, load average {load}";
    }

    /// <summary>Reads every file below a folder once, so the page cache holds the tree.</summary>
    public static long Warm(string path)
    {
        long total = 0;
        var buffer = new byte[1 << 20];
        foreach (var f in Directory.EnumerateFiles(path, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
        {
            if (new FileInfo(f).LinkTarget is not null)
            {
                continue;
            }

            using var s = File.OpenRead(f);
            int n;
            while ((n = s.Read(buffer)) > 0)
            {
                total += n;
            }
        }

        return total;
    }

    public static string F(double v, string format = "0.000") => v.ToString(format, CultureInfo.InvariantCulture);
}
