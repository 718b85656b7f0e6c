using System.Diagnostics;
using System.Globalization;

namespace Razor.Microkernel.Sdk.Tests;

/// <summary>
/// The peak memory of a process and all its descendants (Linux): every 20 ms it finds the tree through
/// <c>/proc/*/stat</c> and reads each process's <c>VmHWM</c> (the kernel's own high-water mark of its resident set);
/// <see cref="PeakBytes"/> is the sum of the highest mark seen for each process, an upper bound of the tree's peak.
/// </summary>
public sealed class ProcessTreePeak : IDisposable
{
    private readonly int _root;
    private readonly CancellationTokenSource _stop = new();
    private readonly Dictionary<int, long> _peaks = [];
    private readonly Task _sampler;

    private ProcessTreePeak(int root)
    {
        _root = root;
        _sampler = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                Sample();
                try
                {
                    await Task.Delay(20, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                }
            }
        });
    }

    /// <summary>Starts watching <paramref name="process"/>'s tree (pass as <c>onStarted</c> of a build).</summary>
    public static ProcessTreePeak Watch(Process process) => new(process.Id);

    /// <summary>Processes seen in the tree.</summary>
    public int Processes
    {
        get
        {
            lock (_peaks)
            {
                return _peaks.Count;
            }
        }
    }

    public long PeakBytes
    {
        get
        {
            lock (_peaks)
            {
                return _peaks.Values.Sum();
            }
        }
    }

    private void Sample()
    {
        var parents = new Dictionary<int, int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                // "pid (comm) state ppid …": the name may hold spaces and parentheses, so parse after the last ')'.
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                parents[pid] = int.Parse(rest[1], CultureInfo.InvariantCulture);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        var tree = new HashSet<int> { _root };
        for (var grew = true; grew;)
        {
            grew = false;
            foreach (var (pid, parent) in parents)
            {
                if (tree.Contains(parent) && tree.Add(pid))
                {
                    grew = true;
                }
            }
        }

        foreach (var pid in tree)
        {
            try
            {
                foreach (var line in File.ReadLines($"/proc/{pid}/status"))
                {
                    if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    {
                        var kb = long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                        lock (_peaks)
                        {
                            _peaks[pid] = Math.Max(_peaks.GetValueOrDefault(pid), kb * 1024);
                        }
                    }
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _sampler.Wait();
        _stop.Dispose();
    }
}
