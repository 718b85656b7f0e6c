using System.Diagnostics;
using System.Globalization;

namespace Razor.Microkernel.Bench;

/// <summary>Wall time and CPU time of one run.</summary>
internal readonly record struct Sample(double Seconds, double CpuSeconds);

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
                foreach (var a in new[] { "-f", "%U %S", "-o", timeFile, file })
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
            if (useTime)
            {
                var parts = File.ReadAllText(timeFile).Trim().Split(' ');
                cpu = double.Parse(parts[^2], CultureInfo.InvariantCulture) + double.Parse(parts[^1], CultureInfo.InvariantCulture);
            }

            return new Sample(sw.Elapsed.TotalSeconds, cpu);
        }
        finally
        {
            File.Delete(timeFile);
        }
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
