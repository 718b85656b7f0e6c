using System.Diagnostics;
using System.Globalization;

namespace Razor.Microkernel.Bench;

/// <summary>One timed command: wall and CPU seconds (the command and every child it waited for), the largest
/// peak resident set of any single process in it (<c>ru_maxrss</c> through <c>/usr/bin/time</c>), and, when
/// sampled, the peak of the summed resident sets of the whole process tree.</summary>
internal sealed record TimedRun(double Seconds, double CpuSeconds, long MaxRssKb, long TreePeakKb, long TreeHwmSumKb, int Processes, string Output);

internal static class ProcessTree
{
    /// <summary>Runs <paramref name="file"/> under <c>/usr/bin/time</c>. With <paramref name="sampleTree"/>, polls
    /// <c>/proc</c> every 10 ms for the command's descendants and sums their <c>VmRSS</c>.</summary>
    public static TimedRun Run(string file, IReadOnlyList<string> args, string workingDirectory, IReadOnlyDictionary<string, string?> environment,
        bool sampleTree = false)
    {
        var timeFile = Path.GetTempFileName();
        try
        {
            var psi = new ProcessStartInfo("/usr/bin/time")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = workingDirectory,
            };
            foreach (var a in new[] { "-f", "%e %U %S %M", "-o", timeFile, file }.Concat(args))
            {
                psi.ArgumentList.Add(a);
            }

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

            var sw = Stopwatch.StartNew();
            using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {file}");
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            long treePeak = 0;
            var hwm = new Dictionary<int, long>();
            if (sampleTree)
            {
                while (!p.WaitForExit(10))
                {
                    long sum = 0;
                    foreach (var pid in Descendants(p.Id))
                    {
                        var (rss, peak) = Status(pid);
                        sum += rss;
                        if (peak > hwm.GetValueOrDefault(pid))
                        {
                            hwm[pid] = peak;
                        }
                    }

                    treePeak = Math.Max(treePeak, sum);
                }
            }

            p.WaitForExit();
            sw.Stop();
            var output = stdout.Result + stderr.Result;
            if (p.ExitCode != 0)
            {
                throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited with {p.ExitCode}:\n{output}");
            }

            var parts = File.ReadAllText(timeFile).Trim().Split('\n')[^1].Split(' ');
            double D(int i) => double.Parse(parts[i], CultureInfo.InvariantCulture);
            return new TimedRun(sw.Elapsed.TotalSeconds, D(1) + D(2), long.Parse(parts[3], CultureInfo.InvariantCulture), treePeak, hwm.Values.Sum(), hwm.Count,
                output);
        }
        finally
        {
            File.Delete(timeFile);
        }
    }

    /// <summary>Every live process below <paramref name="root"/> (not the root itself: that is /usr/bin/time).</summary>
    private static List<int> Descendants(int root)
    {
        var children = new Dictionary<int, List<int>>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(dir, "stat"));
            }
            catch (IOException)
            {
                continue; // exited meanwhile
            }

            // pid (comm) state ppid …; comm may hold spaces and parentheses.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var ppid = int.Parse(fields[1], CultureInfo.InvariantCulture);
            if (!children.TryGetValue(ppid, out var list))
            {
                children[ppid] = list = [];
            }

            list.Add(pid);
        }

        var result = new List<int>();
        var queue = new Queue<int>([root]);
        while (queue.TryDequeue(out var pid))
        {
            foreach (var child in children.GetValueOrDefault(pid) ?? [])
            {
                result.Add(child);
                queue.Enqueue(child);
            }
        }

        return result;
    }

    /// <summary>VmRSS and VmHWM of a process in KiB (0 when it has exited).</summary>
    private static (long Rss, long Hwm) Status(int pid)
    {
        long rss = 0, hwm = 0;
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    rss = Kb(line);
                }
                else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    hwm = Kb(line);
                }
            }
        }
        catch (IOException)
        {
        }

        return (rss, hwm);
    }

    private static long Kb(string line) => long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
}
