using System.Globalization;
using Razor.Microkernel.Bench;

// Razor.Microkernel.Bench: benchmarks of the overlay packer and of a cold build of the sample. Exit code 0 whenever the benchmark ran, met
// its targets or not (the figures say that); 1 when it could not run; 2 on bad arguments.
const string Usage = """
    usage: Razor.Microkernel.Bench <command> [options]
      pack          PackToFile vs `tar czf` on a generated tree: time and size ratios
                      --size-mb N (100)  --reps N (5)  --layers N (4, the split run)  --seed N  --work DIR  --keep
      pack-memory   peak memory of PackToFile on generated layers, in a child process
                      --size-mb N (1024)  --layers N (4)  --seed N  --work DIR  --keep
      pack-child OUTPUT LAYER...   (used by pack-memory) pack and print this process's peak RSS
      iso           OverlayMerge + MicrokernelIso.Build vs `xorriso -osirrox`, `cpio -o -H newc | gzip -9`,
                    sha256sum and `xorriso -as mkisofs` on a generated Core ISO and overlay: time ratio, peak RSS
                      --size-mb N (45, the overlay)  --core-mb N (16, Core's root before gzip)  --reps N (5)
                      --layers N (4)  --seed N  --work DIR  --keep
      iso-child CORE_ISO OUTPUT LAYER...   (used by iso) build once and print this process's peak RSS
      pxe           the network boot initrd (OverlayMerge + MicrokernelInitrd.WriteInitrd, Append) vs
                    `cat corepure64.gz; find . | cpio -o -H newc | gzip -9` on a generated release initrd and overlay
                      --size-mb N (45, the overlay)  --core-mb N (16, the release root before gzip)  --reps N (5)
                      --layers N (4)  --seed N  --work DIR  --keep
      pxe-child INITRD OUTPUT LAYER...   (used by pxe) write once and print this process's peak RSS
      iso-uefi      the same with an EfiLoader and the isohybrid MBR and GPT vs that pipeline + mkfs.vfat, mmd, mcopy and
                    `xorriso -as mkisofs … -e … -isohybrid-gpt-basdat`: time ratio
                      --size-mb N (45)  --core-mb N (16)  --reps N (5)  --layers N (4)  --seed N  --work DIR  --keep
      cold-build    cold `dotnet build` of samples/RazorMicrokernel from a loopback mirror vs bench/Build/manual-build.sh
                    (wget, md5sum, unsquashfs, gem, tar czf), minus an empty project's cold build; and its peak memory
                      --reps N (5)  --scale X (1.0, input sizes)  --memory-runs N (2)  --profile  --seed N  --repo DIR  --work DIR  --keep
      sample-inputs the cold-build's inputs as a local mirror folder: WORK/www (4.x/x86/tcz/…, downloads/, and a stand-in
                    Core ISO in 4.x/x86/archive/4.5.2/Core-4.5.2.iso), for offline builds of samples/RazorMicrokernel (bench/Build/noop.sh)
                      --work DIR (kept)  --scale X (1.0)  --core-mb N (12, Core's root before gzip)  --seed N
    """;

if (args.Length == 0 || args[0] is "-h" or "--help")
{
    Console.WriteLine(Usage);
    return args.Length == 0 ? 2 : 0;
}

try
{
    if (args[0] == "pack-child")
    {
        MemoryBenchmark.RunChild(args[1], args[2..]);
        return 0;
    }

    if (args[0] == "iso-child")
    {
        IsoBenchmark.RunChild(args[1], args[2], args[3..]);
        return 0;
    }

    if (args[0] == "pxe-child")
    {
        PxeBenchmark.RunChild(args[1], args[2], args[3..]);
        return 0;
    }

    var options = new Dictionary<string, string>(StringComparer.Ordinal);
    for (var i = 1; i < args.Length; i++)
    {
        if (!args[i].StartsWith("--", StringComparison.Ordinal))
        {
            Console.Error.WriteLine($"unexpected argument '{args[i]}'\n{Usage}");
            return 2;
        }

        options[args[i][2..]] = args[i] is "--keep" or "--profile" ? "true" : i + 1 < args.Length ? args[++i] : "";
    }

    long Number(string name, long fallback) => options.TryGetValue(name, out var v) ? long.Parse(v, CultureInfo.InvariantCulture) : fallback;
    var seed = (ulong)Number("seed", 20120301);
    var work = options.TryGetValue("work", out var w) ? Path.GetFullPath(w) : Path.Combine(Path.GetTempPath(), $"rmk-bench-{Environment.ProcessId}");
    if (Directory.Exists(work) && Directory.EnumerateFileSystemEntries(work).Any())
    {
        Console.Error.WriteLine($"the work folder {work} is not empty");
        return 2;
    }

    Directory.CreateDirectory(work);
    try
    {
        switch (args[0])
        {
            case "pack":
                PackBenchmark.Run(work, Number("size-mb", 100) * 1_000_000, (int)Number("reps", 5), (int)Number("layers", 4), seed);
                break;
            case "pack-memory":
                MemoryBenchmark.Run(work, Number("size-mb", 1024) * 1024 * 1024, (int)Number("layers", 4), seed);
                break;
            case "iso":
                IsoBenchmark.Run(work, Number("size-mb", 45) * 1_000_000, Number("core-mb", 16) * 1_000_000, (int)Number("reps", 5), (int)Number("layers", 4), seed);
                break;
            case "pxe":
                PxeBenchmark.Run(work, Number("size-mb", 45) * 1_000_000, Number("core-mb", 16) * 1_000_000, (int)Number("reps", 5), (int)Number("layers", 4), seed);
                break;
            case "iso-uefi":
                UefiIsoBenchmark.Run(work, Number("size-mb", 45) * 1_000_000, Number("core-mb", 16) * 1_000_000, (int)Number("reps", 5), (int)Number("layers", 4), seed);
                break;
            case "cold-build":
                ColdBuildBenchmark.Run(work, options.TryGetValue("repo", out var repo) ? Path.GetFullPath(repo) : FindRepo(), (int)Number("reps", 5), seed,
                    options.TryGetValue("scale", out var scale) ? double.Parse(scale, CultureInfo.InvariantCulture) : 1.0, (int)Number("memory-runs", 2),
                    options.ContainsKey("profile"));
                break;
            case "sample-inputs":
                options["keep"] = "true";
                var www = Path.Combine(work, "www");
                var sampleInputs = SampleInputs.Generate(www, Path.Combine(work, "src"), seed,
                    options.TryGetValue("scale", out var inputScale) ? double.Parse(inputScale, CultureInfo.InvariantCulture) : 1.0);
                // Where the sample looks for it: Tiny Core keeps superseded point releases under archive/.
                var release = Path.Combine(www, "4.x", "x86", "archive", "4.5.2");
                Directory.CreateDirectory(release);
                var coreIso = IsoBenchmark.MakeCoreIso(Path.Combine(work, "core"), Number("core-mb", 12) * 1_000_000, seed + 1, Measure.Which("xorriso") ?? throw new InvalidOperationException("xorriso is not on PATH"), out _, out _);
                File.Move(coreIso, Path.Combine(release, "Core-4.5.2.iso"));
                Directory.Delete(Path.Combine(work, "src"), recursive: true);
                Directory.Delete(Path.Combine(work, "core"), recursive: true);
                Console.WriteLine($"{sampleInputs.Count} inputs and a Core ISO in {www}");
                break;
            default:
                Console.Error.WriteLine($"unknown command '{args[0]}'\n{Usage}");
                return 2;
        }
    }
    finally
    {
        if (!options.ContainsKey("keep"))
        {
            Directory.Delete(work, recursive: true);
        }
    }

    return 0;
}
catch (Exception e) when (e is IOException or InvalidOperationException or UnauthorizedAccessException or FormatException)
{
    Console.Error.WriteLine($"benchmark failed: {e}");
    return 1;
}

// The repository (the folder with Razor.Microkernel.Sdk.sln) above the current folder or this program.
static string FindRepo()
{
    foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Razor.Microkernel.Sdk.sln")))
            {
                return dir.FullName;
            }
        }
    }

    throw new InvalidOperationException("cannot find the repository (Razor.Microkernel.Sdk.sln); give --repo DIR");
}
