using System.Diagnostics;
using Razor.Microkernel.Formats.Fetch;
using Razor.Microkernel.Formats.Tcz;
using Razor.Microkernel.TestSupport;
using Razor.Microkernel.TestSupport.Mirror;

// TczBench run [extensions=40] [totalMiB=30] [rounds=3]   the comparison (see README.md)
// TczBench fetch MIRROR CACHE NAME...                     one cold/warm fetch (used for the two-process check)
// TczBench mirror DIR [extensions=40] [totalMiB=30]        writes the same mirror into a folder and prints its roots (warm-build.sh)
if (args.Length > 0 && args[0] == "fetch")
{
    var r = await TczFetcher.FetchAsync(new TczFetchRequest
    {
        Extensions = [.. args.Skip(3).Select(n => new TczExtensionRequest(n))],
        Mirror = args[1],
        CacheDirectory = args[2],
    });
    Console.WriteLine(string.Join(' ', r.Extensions.Select(e => $"{e.Name}:{e.Sha256[..12]}")));
    return 0;
}

var writeOnly = args.Length > 1 && args[0] == "mirror";
if (writeOnly)
{
    args = [.. args.Skip(1)]; // DIR takes the place of "run"
}

var count = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 40;
var totalMiB = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 30;
var rounds = args.Length > 3 ? int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 3;
using var tmp = new TempFolder("rmk-bench");
var layout = new TinyCoreMirrorBuilder(writeOnly ? args[0] : tmp["mirror"]);
var random = new Random(42);
var names = Enumerable.Range(0, count).Select(i => $"ext{i:00}.tcz").ToList();
var weights = names.Select(_ => random.NextDouble() + 0.1).ToList();
long totalBytes = 0;
for (var i = 0; i < count; i++)
{
    // Groups of five chained (i depends on i-1), plus up to two random earlier ones: every extension is reachable.
    var deps = new List<string>();
    if (i % 5 != 0)
    {
        deps.Add(names[i - 1]);
    }

    for (var k = 0; k < 2 && i > 1; k++)
    {
        deps.Add(names[random.Next(i)]);
    }

    var size = (int)(totalMiB * 1024.0 * 1024 * weights[i] / weights.Sum());
    totalBytes += size;
    var depText = string.Join("\r\n", deps.Distinct()) + "\n";
    if (writeOnly)
    {
        // Real SquashFS images (mksquashfs), so a project can build from this mirror: one library of random bytes each.
        var content = new byte[size];
        random.NextBytes(content);
        layout.AddLibrary(names[i][..^4], depText, content);
    }
    else
    {
        layout.Add(names[i], depText, size: size);
    }
}

var roots = names.Where((_, i) => i % 5 == 4).ToArray();
if (writeOnly)
{
    Console.WriteLine(string.Join(';', roots));
    return 0;
}

await using var server = await LoopbackMirror.StartAsync(layout.Root);
var tczUrl = server.Url("4.x/x86/tcz");
Console.WriteLine($"Mirror: {count} extensions, {totalBytes / 1048576.0:0.0} MiB, roots {string.Join(' ', roots)}");

var script = Path.Combine(AppContext.BaseDirectory, "tce-fetch.sh");
var sdkTimes = new List<double>();
var scriptTimes = new List<double>();
var warmTimes = new List<double>();
for (var round = 0; round < rounds; round++)
{
    var cache = tmp[$"cache{round}"];
    var request = new TczFetchRequest { Extensions = [.. roots.Select(r => new TczExtensionRequest(r))], Mirror = server.BaseUrl, CacheDirectory = cache };
    var clock = Stopwatch.StartNew();
    var result = await TczFetcher.FetchAsync(request);
    sdkTimes.Add(clock.Elapsed.TotalMilliseconds);
    if (result.Extensions.Count != count)
    {
        throw new InvalidOperationException($"resolved {result.Extensions.Count} of {count}");
    }

    clock.Restart();
    await TczFetcher.FetchAsync(request);
    warmTimes.Add(clock.Elapsed.TotalMilliseconds);

    clock.Restart();
    Tool.Run("bash", [script, tczUrl, tmp[$"wget{round}"], .. roots]).EnsureSuccess("tce-fetch.sh");
    scriptTimes.Add(clock.Elapsed.TotalMilliseconds);
    var fetchedByScript = Directory.EnumerateFiles(tmp[$"wget{round}"], "*.tcz").Count();
    if (fetchedByScript != count)
    {
        throw new InvalidOperationException($"script fetched {fetchedByScript} of {count}");
    }
}

// Two processes, one cold cache, at once: every .tcz must be downloaded exactly once.
var shared = tmp["shared"];
var before = names.Select(n => server.Requests($"4.x/x86/tcz/{n}")).ToList();
var self = Environment.ProcessPath!;
var selfArgs = self.EndsWith("dotnet", StringComparison.Ordinal) ? new[] { typeof(Program).Assembly.Location } : [];
var processes = Enumerable.Range(0, 2).Select(_ => Process.Start(new ProcessStartInfo(self, [.. selfArgs, "fetch", server.BaseUrl, shared, .. roots])
{
    RedirectStandardOutput = true,
})!).ToList();
var outputs = await Task.WhenAll(processes.Select(p => p.StandardOutput.ReadToEndAsync()));
foreach (var p in processes)
{
    await p.WaitForExitAsync();
    if (p.ExitCode != 0)
    {
        throw new InvalidOperationException("a fetch process failed");
    }
}

var downloads = names.Select((n, i) => server.Requests($"4.x/x86/tcz/{n}") - before[i]).ToList();
var twoProcessOk = outputs[0] == outputs[1] && downloads.All(d => d == 1);

static double Median(List<double> xs) => xs.Order().ElementAt(xs.Count / 2);
var sdk = Median(sdkTimes);
var wget = Median(scriptTimes);
Console.WriteLine($"Cold fetch, TczFetcher (4 parallel):      median {sdk:0} ms  [{string.Join(", ", sdkTimes.Select(t => t.ToString("0", System.Globalization.CultureInfo.InvariantCulture)))}]");
Console.WriteLine($"Cold fetch, sequential wget + md5sum:     median {wget:0} ms  [{string.Join(", ", scriptTimes.Select(t => t.ToString("0", System.Globalization.CultureInfo.InvariantCulture)))}]");
Console.WriteLine($"Ratio TczFetcher / script:                {sdk / wget:0.00} (target <= 0.5)");
Console.WriteLine($"Warm-cache resolution (in-process):       median {Median(warmTimes):0} ms (target <= 200 ms)");
Console.WriteLine($"Two processes sharing one cold cache:     {(twoProcessOk ? "OK, each .tcz downloaded once, same result" : "FAILED: downloads " + string.Join(",", downloads))}");
return twoProcessOk ? 0 : 1;
