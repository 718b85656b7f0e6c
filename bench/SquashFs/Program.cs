using System.Diagnostics;
using System.Globalization;
using Razor.Microkernel.Formats.Layers;
using Razor.Microkernel.Formats.SquashFs;

// Usage:
//   dotnet run -c Release --project bench/SquashFs -- [--work DIR] [--corpus 40] [--large-mb 1024]
//   (the long fuzz run is bench/SquashFs/fuzz.sh)
//   (child modes used by the benchmark itself: extract OUTDIR IMAGE...)
// Generates (once, cached in the work folder) ~40 tcz-like images (gzip, 4 KiB blocks, no xattrs) and one large
// image, then times our extraction into layer tars against `unsquashfs -p 2 -d DIR` followed by `tar cf` of DIR,
// in the same run, and prints the ratios and the peak memory (VmHWM) of both sides on the large image.
var inv = CultureInfo.InvariantCulture;
if (args.Length > 0 && args[0] == "extract")
{
    var outDir = args[1];
    long bytes = 0;
    foreach (var image in args.Skip(2))
    {
        var layer = Path.Combine(outDir, Path.GetFileNameWithoutExtension(image) + ".tar");
        using var w = new LayerWriter(new FileStream(layer, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16));
        bytes += SquashFsExtractor.ExtractToLayer(image, w, new SquashFsExtractOptions()).ContentBytes;
        w.Finish();
    }

    Console.WriteLine($"bytes={bytes} peak={Process.GetCurrentProcess().PeakWorkingSet64}");
    return 0;
}

string Option(string name, string fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}

var work = Path.GetFullPath(Option("--work", Path.Combine(Path.GetTempPath(), "rmk-sqfs-bench")));
var corpusCount = int.Parse(Option("--corpus", "40"), inv);
var largeMb = int.Parse(Option("--large-mb", "1024"), inv);
Directory.CreateDirectory(work);

var corpus = Enumerable.Range(0, corpusCount).Select(i => MakeImage($"tcz-{i:D2}", i, 1_200_000, "-b", "4096", "-no-xattrs")).ToList();
var large = MakeImage($"large-{largeMb}m", 1000, largeMb * 1024L * 1024, "-b", "131072", "-no-xattrs");
Console.WriteLine($"corpus: {corpus.Count} images, {corpus.Sum(p => new FileInfo(p).Length) / 1e6:F1} MB; large: {new FileInfo(large).Length / 1e6:F1} MB");

Report("corpus", corpus);
Report("large", [large]);
return 0;

void Report(string what, List<string> images)
{
    var (ourTime, ourPeak) = Ours(images);
    var (theirTime, theirPeak) = Theirs(images);
    Console.WriteLine($"{what}: ours {ourTime.TotalSeconds:F2} s (peak {ourPeak / 1048576.0:F0} MiB), unsquashfs -p 2 + tar cf {theirTime.TotalSeconds:F2} s " +
                      $"(peak {theirPeak / 1048576.0:F0} MiB); ratio {ourTime / theirTime:F2}");
}

(TimeSpan, long) Ours(List<string> images)
{
    var outDir = Path.Combine(work, "ours");
    Recreate(outDir);
    var self = Environment.ProcessPath!;
    var dll = typeof(Program).Assembly.Location;
    var sw = Stopwatch.StartNew();
    var output = Run(self, [dll, "extract", outDir, .. images]);
    sw.Stop();
    var peak = long.Parse(output.Split("peak=")[1].Trim(), inv);
    Directory.Delete(outDir, true);
    return (sw.Elapsed, peak);
}

(TimeSpan, long) Theirs(List<string> images)
{
    var outDir = Path.Combine(work, "theirs");
    Recreate(outDir);
    long peak = 0;
    var sw = Stopwatch.StartNew();
    foreach (var image in images)
    {
        var name = Path.GetFileNameWithoutExtension(image);
        var dir = Path.Combine(outDir, name);
        var err = RunErr("/usr/bin/time", ["-f", "peak=%M", "unsquashfs", "-p", "2", "-no-progress", "-q", "-d", dir, image]);
        peak = Math.Max(peak, long.Parse(err.Split("peak=")[1].Trim(), inv) * 1024);
        Run("tar", ["cf", Path.Combine(outDir, name + ".tar"), "-C", dir, "."]);
    }

    sw.Stop();
    Directory.Delete(outDir, true);
    return (sw.Elapsed, peak);
}

string MakeImage(string name, int seed, long bytes, params string[] mksquashfsArgs)
{
    var image = Path.Combine(work, name + ".sqfs");
    if (File.Exists(image))
    {
        return image;
    }

    var src = Path.Combine(work, "src-" + name);
    Recreate(src);
    var rng = new Random(seed);
    var words = Enumerable.Range(0, 2000).Select(i => new string((char)('a' + (i % 26)), 1 + (i % 11)) + i.ToString(inv)).ToArray();
    long written = 0;
    var n = 0;
    while (written < bytes)
    {
        // tcz-like: mostly small files (scripts, ruby sources), some libraries (half text-like, half random).
        var size = rng.Next(10) switch
        {
            < 6 => rng.Next(100, 8_000),
            < 9 => rng.Next(8_000, 64_000),
            _ => rng.Next(64_000, bytes > 100_000_000 ? 8_000_000 : 300_000),
        };
        size = (int)Math.Min(size, bytes - written);
        var dir = Path.Combine(src, "usr/local", $"d{n % 17}", $"s{n % 5}");
        Directory.CreateDirectory(dir);
        var data = new byte[size];
        if (rng.Next(3) == 0)
        {
            rng.NextBytes(data);
        }
        else
        {
            var pos = 0;
            while (pos < size)
            {
                var w = System.Text.Encoding.ASCII.GetBytes(words[rng.Next(words.Length)] + (rng.Next(8) == 0 ? "\n" : " "));
                var k = Math.Min(w.Length, size - pos);
                w.AsSpan(0, k).CopyTo(data.AsSpan(pos));
                pos += k;
            }
        }

        File.WriteAllBytes(Path.Combine(dir, $"f{n}.bin"), data);
        written += size;
        n++;
    }

    Run("mksquashfs", [src, image + ".tmp", "-noappend", "-no-progress", "-quiet", .. mksquashfsArgs]);
    File.Move(image + ".tmp", image);
    Directory.Delete(src, true);
    return image;
}

static void Recreate(string dir)
{
    if (Directory.Exists(dir))
    {
        Directory.Delete(dir, true);
    }

    Directory.CreateDirectory(dir);
}

static string Run(string tool, string[] arguments) => Exec(tool, arguments).StdOut;

static string RunErr(string tool, string[] arguments) => Exec(tool, arguments).StdErr;

static (string StdOut, string StdErr) Exec(string tool, string[] arguments)
{
    var psi = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true };
    foreach (var a in arguments)
    {
        psi.ArgumentList.Add(a);
    }

    using var p = Process.Start(psi)!;
    var err = p.StandardError.ReadToEndAsync();
    var stdout = p.StandardOutput.ReadToEnd();
    p.WaitForExit();
    if (p.ExitCode != 0)
    {
        throw new InvalidOperationException($"{tool} {string.Join(' ', arguments)} exited with {p.ExitCode}: {err.Result}");
    }

    return (stdout, err.Result);
}
