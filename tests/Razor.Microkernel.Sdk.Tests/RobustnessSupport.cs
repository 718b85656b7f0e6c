using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Razor.Microkernel.TestSupport;
using Xunit.Abstractions;

namespace Razor.Microkernel.Sdk.Tests;

/// <summary>Runs `dotnet build` and interrupts it (SIGKILL of the whole process tree, or SIGINT as Ctrl+C sends it)
/// once a condition on the disk holds, measuring the time from the signal to the exit of the build.</summary>
internal static partial class Interrupter
{
    internal sealed record Outcome(SdkHarness.RunResult Result, bool Signalled, TimeSpan SignalToExit)
    {
        public string Output => Result.Output;
    }

    /// <summary>Builds <paramref name="p"/> at detailed verbosity; polls <paramref name="ready"/> every 10 ms; when it holds,
    /// waits <paramref name="settle"/> (to be well into the step) and signals.</summary>
    public static Outcome Build(TestProject p, Func<bool> ready, bool sigkill, TimeSpan settle = default)
    {
        var signalled = false;
        var toExit = TimeSpan.Zero;
        var result = SdkHarness.RunDotnet(p.Directory, ["build", p.ProjectFile, "-nr:false", "-tl:off", "-v:d"], null, TimeSpan.FromMinutes(6),
            p.PackagesFolder, process =>
            {
                var deadline = DateTime.UtcNow.AddMinutes(4);
                while (!process.HasExited && DateTime.UtcNow < deadline && !ready())
                {
                    Thread.Sleep(10);
                }

                if (!process.HasExited && settle > TimeSpan.Zero)
                {
                    Thread.Sleep(settle);
                }

                if (process.HasExited || !ready())
                {
                    process.WaitForExit();
                    return;
                }

                var clock = Stopwatch.StartNew();
                if (sigkill)
                {
                    process.Kill(entireProcessTree: true);
                }
                else
                {
                    Tool.Run("kill", "-INT", process.Id.ToString(CultureInfo.InvariantCulture)).EnsureSuccess("kill -INT");
                }

                process.WaitForExit();
                toExit = clock.Elapsed;
                signalled = true;
            });
        return new Outcome(result, signalled, toExit);
    }

    /// <summary>True when a file matching <paramref name="pattern"/> exists in <paramref name="folder"/> with at least
    /// <paramref name="minBytes"/> bytes.</summary>
    public static bool FileAppears(string folder, string pattern, long minBytes = 0)
    {
        try
        {
            return Directory.Exists(folder) && new DirectoryInfo(folder).EnumerateFiles(pattern).Any(f => f.Length >= minBytes);
        }
        catch (IOException)
        {
            return false; // listed while renamed or deleted
        }
    }

    /// <summary>Asserts that Ctrl+C stopped <paramref name="task"/> itself (it logged RMK1099 while running), the build
    /// failed, and it exited within two seconds of the signal (the requirement).</summary>
    public static void AssertCancelledPromptly(Outcome o, ITestOutputHelper output, string task)
    {
        output.WriteLine($"{task}: the build exited {o.SignalToExit.TotalMilliseconds:0} ms after Ctrl+C");
        Assert.True(o.Signalled, $"the build ended before it could be interrupted\n{Tail(o.Output)}");
        Assert.NotEqual(0, o.Result.ExitCode);
        var error = o.Output.IndexOf("error RMK1099", StringComparison.Ordinal);
        Assert.True(error >= 0, $"no RMK1099 from a cancelled task\n{Tail(o.Output)}");
        var started = TaskStarted().Matches(o.Output[..error]).LastOrDefault()?.Groups["t"].Value;
        Assert.Equal(task, started);
        Assert.True(o.SignalToExit < TimeSpan.FromSeconds(2), $"the build took {o.SignalToExit.TotalMilliseconds:0} ms to stop after Ctrl+C in {task}\n{Tail(o.Output)}");
    }

    /// <summary>No temporary file (AtomicFile's <c>.NAME.GUID.tmp</c>) left anywhere in the project.</summary>
    public static void AssertNoTemporaryFiles(TestProject p)
        => Assert.Empty(Directory.EnumerateFiles(p.Directory, ".*.tmp", SearchOption.AllDirectories));

    public static string Tail(string s) => s.Length > 5000 ? s[^5000..] : s;

    [GeneratedRegex("""^\s*Task "(?<t>[^"]+)"\s*$""", RegexOptions.Multiline)]
    private static partial Regex TaskStarted();
}

/// <summary>Big inputs that keep one step busy for seconds, made once per test run.</summary>
internal static class BigInputs
{
    private static readonly Lazy<(string Image, Dictionary<string, string> Files)> Tcz = new(MakeTcz, LazyThreadSafetyMode.ExecutionAndPublication);

    private static readonly Lazy<string> BigFolder = new(() =>
    {
        var folder = Directory.CreateDirectory(Path.Combine(SdkHarness.Sdk.RunFolder, "big-inputs")).FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Delete(folder);
        return folder;
    });

    private static string Folder => BigFolder.Value;

    /// <summary>Removes a passing test's project folder: these tests write gigabytes (a failing test keeps its folder).</summary>
    public static void Delete(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>A .tcz made by mksquashfs (Tiny Core's 4 KiB blocks, gzip) of ~200 MB of text in 8 files: reading it
    /// into a layer takes seconds. Files: image path → SHA-256.</summary>
    public static (string Image, IReadOnlyDictionary<string, string> Files) BigTcz => Tcz.Value;

    /// <summary>A small .tcz (one file) to build before the big one replaces it.</summary>
    public static (string Image, IReadOnlyDictionary<string, string> Files) SmallTcz(string folder)
    {
        var tree = Path.Combine(folder, "small-tree");
        Directory.CreateDirectory(Path.Combine(tree, "usr/local/share/big"));
        File.WriteAllText(Path.Combine(tree, "usr/local/share/big/small.txt"), "small at first\n");
        var image = Path.Combine(folder, "small.tcz");
        MakeSquashfs(tree, image);
        return (image, new Dictionary<string, string> { ["usr/local/share/big/small.txt"] = Sha256(Path.Combine(tree, "usr/local/share/big/small.txt")) });
    }

    private static (string, Dictionary<string, string>) MakeTcz()
    {
        var tree = Path.Combine(Folder, "tcz-tree");
        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        Directory.CreateDirectory(Path.Combine(tree, "usr/local/share/big"));
        for (var i = 0; i < 8; i++)
        {
            var relative = $"usr/local/share/big/part{i}.txt";
            WriteText(Path.Combine(tree, relative), 25 << 20, 100 + i);
            files[relative] = Sha256(Path.Combine(tree, relative));
        }

        var image = Path.Combine(Folder, "big.tcz");
        MakeSquashfs(tree, image);
        Directory.Delete(tree, recursive: true);
        return (image, files);
    }

    private static void MakeSquashfs(string tree, string image)
        => Tool.Run("mksquashfs", [tree, image, "-noappend", "-comp", "gzip", "-b", "4096", "-no-xattrs", "-all-root",
            "-mkfs-time", "0", "-all-time", "0", "-no-progress", "-quiet"], timeout: TimeSpan.FromMinutes(5)).EnsureSuccess("mksquashfs");

    /// <summary>About <paramref name="bytes"/> of base64 text from a seeded generator: compressible, so inflating and
    /// deflating it costs time, but not trivially (no runs of zeros, which SquashFS would store as sparse blocks).</summary>
    public static void WriteText(string path, long bytes, int seed)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var random = new Random(seed);
        var raw = new byte[57 * 1024];
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        long written = 0;
        while (written < bytes)
        {
            random.NextBytes(raw);
            var text = Encoding.ASCII.GetBytes(Convert.ToBase64String(raw, Base64FormattingOptions.InsertLineBreaks) + "\n");
            file.Write(text);
            written += text.Length;
        }
    }

    public static string Sha256(string path)
    {
        using var s = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(s));
    }

    /// <summary>Extracts the overlay with GNU tar and checks each expected file's SHA-256.</summary>
    public static void AssertOverlayHolds(string overlay, IReadOnlyDictionary<string, string> files)
    {
        using var x = new TempFolder("rmk-robust-x");
        Tool.Run("tar", ["-xzf", overlay, "-C", x.Path], timeout: TimeSpan.FromMinutes(5)).EnsureSuccess("tar -xzf");
        foreach (var (path, sha) in files)
        {
            Assert.True(File.Exists(x[path]), $"{path} is not in the overlay");
            Assert.Equal(sha, Sha256(x[path]));
        }
    }
}

/// <summary>Checks the download cache's layout (see DownloadCache): every blob under <c>blobs/sha256/ab/</c> is named by
/// the SHA-256 of its content, every index entry parses and names a blob that exists with its size. Partial downloads
/// may only be in <c>tmp/</c>, which no reader looks at.</summary>
internal static class CacheCheck
{
    /// <summary>Returns the keys of the index.</summary>
    public static IReadOnlyList<string> AssertConsistent(string cache)
    {
        var blobs = Path.Combine(cache, "blobs", "sha256");
        if (Directory.Exists(blobs))
        {
            foreach (var file in Directory.EnumerateFiles(blobs, "*", SearchOption.AllDirectories))
            {
                var name = Path.GetFileName(file);
                Assert.True(name.Length == 64 && Path.GetFileName(Path.GetDirectoryName(file)) == name[..2],
                    $"a file that is not a blob in the blob store: {file}");
                Assert.Equal(name, BigInputs.Sha256(file));
            }
        }

        var keys = new List<string>();
        var index = Path.Combine(cache, "index");
        if (Directory.Exists(index))
        {
            foreach (var file in Directory.EnumerateFiles(index, "*.json", SearchOption.AllDirectories))
            {
                using var doc = JsonDocument.Parse(File.ReadAllBytes(file));
                var key = doc.RootElement.GetProperty("key").GetString()!;
                keys.Add(key);
                if (doc.RootElement.TryGetProperty("sha256", out var sha))
                {
                    var blob = Path.Combine(blobs, sha.GetString()![..2], sha.GetString()!);
                    Assert.True(File.Exists(blob), $"the index entry {key} names a missing blob");
                    Assert.Equal(doc.RootElement.GetProperty("size").GetInt64(), new FileInfo(blob).Length);
                }
            }
        }

        return keys;
    }
}
