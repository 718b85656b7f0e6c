using System.Formats.Tar;
using System.Globalization;
using System.Text;
using Razor.Microkernel.Formats.Gems;
using Razor.Microkernel.Formats.Layers;
using Razor.Microkernel.TestSupport;
using Xunit.Abstractions;
using static Razor.Microkernel.Formats.Tests.Gems.GemBuilder;
using static Razor.Microkernel.TestSupport.GemParts;

namespace Razor.Microkernel.Formats.Tests.Gems;

/// <summary>
/// Seeded mutation fuzzing of the gem reader and installer over real-shaped gems (one made by Debian's
/// <c>gem build</c>, others in the Syck, Psych-with-!binary-checksums, uncompressed-metadata, pre-0.9 and
/// duplicates-and-links shapes of real gems). Each layer of a gem is mutated in its own theory case: the outer tar,
/// the compressed metadata and data, the metadata YAML, the inner data tar, and checksums.yaml; the parts around a
/// mutated one are rebuilt (sizes, gzip, digests) so the mutation reaches the reader it aims at. Every case must
/// end in success or in one of the documented exception types (<see cref="GemException"/> and its kinds, or a
/// <see cref="LayerConflictException"/>), within a time bound and an allocation bound. RMK_FUZZ_ITERATIONS sets the
/// cases per fixture and layer (default 100; RMK_FUZZ_SEED changes the seed). The class runs alone so that the
/// bytes each case allocates can be measured.
/// </summary>
[Collection(nameof(GemReaderFuzzTests))]
public sealed class GemReaderFuzzTests : IClassFixture<GemReaderFuzzTests.Fixtures>
{
    private static readonly TimeSpan CaseBound = TimeSpan.FromSeconds(10);

    /// <summary>What one case may allocate in all: the limits below let a gem hold a few MB; an allocation sized from an
    /// unchecked field, or an expansion of aliases, goes far beyond.</summary>
    private const long CaseAllocationBound = 32L << 20;

    private static readonly GemReadOptions FuzzLimits = new()
    {
        MaxPartBytes = 4L << 20,
        MaxMetadataBytes = 1L << 20,
        MaxMetadataNodes = 100_000,
        MaxMetadataChars = 1L << 20,
        MaxEntryBytes = 2L << 20,
        MaxDataBytes = 8L << 20,
        MaxEntries = 5_000,
    };

    private readonly Fixtures _fixtures;
    private readonly ITestOutputHelper _output;

    public GemReaderFuzzTests(Fixtures fixtures, ITestOutputHelper output) => (_fixtures, _output) = (fixtures, output);

    public static TheoryData<string> Layers => new() { "outer", "metadata.gz", "metadata-yaml", "data.tar.gz", "data-tar", "checksums-yaml" };

    [Theory]
    [MemberData(nameof(Layers))]
    public async Task Fuzz_MutatedGemsEndInSuccessOrADocumentedError(string layer)
    {
        var iterations = int.TryParse(Environment.GetEnvironmentVariable("RMK_FUZZ_ITERATIONS"), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 100;
        var seed = int.TryParse(Environment.GetEnvironmentVariable("RMK_FUZZ_SEED"), NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? s : 20261207;
        var outcomes = new Dictionary<string, int>();
        long mostAllocated = 0;
        var cases = 0;
        foreach (var (name, gem) in _fixtures.Gems)
        {
            var preTar = name == "pre-0.9";
            if ((preTar && layer is not ("outer" or "metadata-yaml")) || (!preTar && layer == "checksums-yaml" && !Parts(gem).Any(p => p.Name == "checksums.yaml.gz")))
            {
                continue;
            }

            var rng = new Random(seed ^ StableSeed.Of(name + "/" + layer));
            for (var i = 0; i < iterations; i++, cases++)
            {
                var mutated = Mutate(gem, layer, rng, out var how);
                var allocatedBefore = GC.GetTotalAllocatedBytes();
                var run = Task.Run(() => Run(mutated));
                if (await Task.WhenAny(run, Task.Delay(CaseBound)) != run)
                {
                    Assert.Fail($"{name} {layer} case {i} ({how}, seed {seed}) did not finish within {CaseBound}");
                }

                var outcome = await run;
                var allocated = GC.GetTotalAllocatedBytes() - allocatedBefore;
                mostAllocated = Math.Max(mostAllocated, allocated);
                if (allocated > CaseAllocationBound)
                {
                    Assert.Fail($"{name} {layer} case {i} ({how}, seed {seed}) allocated {allocated:N0} bytes (bound {CaseAllocationBound:N0}); outcome {outcome?.GetType().Name ?? "ok"}");
                }

                if (outcome is not (null or GemException or LayerConflictException))
                {
                    Assert.Fail($"{name} {layer} case {i} ({how}, seed {seed}) threw {outcome}");
                }

                var key = outcome?.GetType().Name ?? "ok";
                outcomes[key] = outcomes.GetValueOrDefault(key) + 1;
            }
        }

        // The mutations must reach the readers: some cases fail, and some still install. A mutation of a compressed layer
        // rarely survives gzip's CRC (only one in its header does), so there the check is that more than one reader
        // speaks: cases end in at least two kinds of outcome.
        var summary = $"{layer}: {cases} cases; {string.Join(", ", outcomes.OrderBy(o => o.Key, StringComparer.Ordinal))}; most allocated by one case: {mostAllocated:N0} bytes";
        _output.WriteLine(summary);
        Assert.True(cases - outcomes.GetValueOrDefault("ok") >= cases / 10, summary);
        if (layer is "metadata.gz" or "data.tar.gz")
        {
            Assert.True(outcomes.Count >= 2, summary);
        }
        else
        {
            Assert.True(outcomes.GetValueOrDefault("ok") > 0, summary);
        }
    }

    private static Exception? Run(byte[] gem)
    {
        try
        {
            using var layer = new LayerWriter(Stream.Null);
            GemInstaller.Install([new GemSource("fuzz.gem", () => new MemoryStream(gem, writable: false))], layer,
                new GemInstallOptions { CheckDependencies = false, RubyVersion = "3.1.2", RubyGemsVersion = "3.3.15", Limits = FuzzLimits });
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }

    /// <summary>Mutates one layer of <paramref name="gem"/>, and rebuilds what encloses it.</summary>
    private static byte[] Mutate(byte[] gem, string layer, Random rng, out string how)
    {
        if (layer == "outer")
        {
            return MutateBytes(gem, rng, out how);
        }

        if (Encoding.ASCII.GetString(gem, 0, 20).Contains("MD5SUM =", StringComparison.Ordinal))
        {
            // The pre-0.9 format is lines of text: its specification, file list and base64 are mutated as text.
            var text = MutateYaml(Encoding.UTF8.GetString(gem), rng, out how);
            return Encoding.UTF8.GetBytes(text);
        }

        var parts = Parts(gem);
        var hadChecksums = parts.Any(p => p.Name == "checksums.yaml.gz");
        var metadataName = parts.Any(p => p.Name == "metadata") ? "metadata" : "metadata.gz";
        var index = (string part) => parts.FindIndex(p => p.Name == part);
        string inner;
        switch (layer)
        {
            case "metadata.gz" or "data.tar.gz":
            {
                var i = index(layer == "metadata.gz" ? metadataName : "data.tar.gz");
                parts[i] = (parts[i].Name, MutateBytes(parts[i].Bytes, rng, out inner));
                break;
            }

            case "metadata-yaml":
            {
                var i = index(metadataName);
                var yaml = Encoding.UTF8.GetString(metadataName == "metadata" ? parts[i].Bytes : Gunzip(parts[i].Bytes));
                var bytes = Encoding.UTF8.GetBytes(MutateYaml(yaml, rng, out inner));
                parts[i] = (parts[i].Name, metadataName == "metadata" ? bytes : Gzip(bytes));
                break;
            }

            case "data-tar":
            {
                var i = index("data.tar.gz");
                parts[i] = (parts[i].Name, Gzip(MutateTar(Gunzip(parts[i].Bytes), rng, out inner)));
                break;
            }

            default:
            {
                var i = index("checksums.yaml.gz");
                var yaml = Encoding.UTF8.GetString(Gunzip(parts[i].Bytes));
                parts[i] = (parts[i].Name, Gzip(Encoding.UTF8.GetBytes(MutateYaml(yaml, rng, out inner))));
                how = "checksums.yaml: " + inner;
                return Outer(parts);
            }
        }

        // Digests follow the mutation (most of the time), so that it reaches the reader behind them.
        if (hadChecksums && rng.Next(4) != 0)
        {
            var i = index("checksums.yaml.gz");
            var style = Enum.GetValues<ChecksumStyle>()[rng.Next(3)];
            parts[i] = (parts[i].Name, Gzip(Encoding.UTF8.GetBytes(ChecksumsYaml(parts, style, "SHA256", "SHA512"))));
            inner += $"; checksums rewritten ({style})";
        }

        how = layer + ": " + inner;
        return Outer(parts);
    }

    private static readonly ulong[] Interesting =
        [0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0x1FF, 0x200, 0x7FFF, 0xFFFF, 0x10000, 0x7FFFFFFF, 0xFFFFFFFF, long.MaxValue, ulong.MaxValue];

    private static byte[] MutateBytes(byte[] original, Random rng, out string how)
    {
        var b = (byte[])original.Clone();
        if (b.Length == 0)
        {
            how = "empty";
            return b;
        }

        switch (rng.Next(10))
        {
            case < 4:
            {
                var at = new List<int>();
                for (var k = 1 + rng.Next(4); k > 0; k--)
                {
                    var p = rng.Next(b.Length);
                    b[p] ^= (byte)(1 << rng.Next(8));
                    at.Add(p);
                }

                how = "bit flips at " + string.Join(',', at);
                return b;
            }

            case < 6:
            {
                var len = rng.Next(b.Length);
                how = "truncated to " + len;
                return b[..len];
            }

            case < 8:
            {
                // An octal tar field (size, mode, checksum) or any ASCII digits overwritten.
                var p = rng.Next(b.Length);
                var text = Convert.ToString((long)(Interesting[rng.Next(Interesting.Length)] & 0x7FFFFFFFFFFFFFFF), 8);
                var bytes = Encoding.ASCII.GetBytes(text);
                var len = Math.Min(bytes.Length, b.Length - p);
                bytes.AsSpan(0, len).CopyTo(b.AsSpan(p));
                how = $"octal {text} at {p}";
                return b;
            }

            default:
            {
                var width = new[] { 1, 2, 4, 8 }[rng.Next(4)];
                var p = rng.Next(Math.Max(1, b.Length - width));
                var v = rng.Next(3) == 0 ? (ulong)rng.NextInt64() : Interesting[rng.Next(Interesting.Length)];
                for (var k = 0; k < width && p + k < b.Length; k++)
                {
                    b[p + k] = (byte)(v >> (8 * k));
                }

                how = $"u{width * 8} at {p} = 0x{v:x}";
                return b;
            }
        }
    }

    /// <summary>Tokens that steer the YAML scanner: anchors, aliases, block scalars, tags, flow and structure.</summary>
    private static readonly string[] YamlTokens =
    [
        "&a ", "*a", "&id001 ", "*id001", "|", "|+", "|-", ">", "|2", "!binary ", "!ruby/object:Gem::Version ", "!ruby/sym ", "! ",
        "? ", "- ", "[", "]", "{", "}", ": ", ":", "\n", "\n  ", "  \n", "   ", "\t", "'", "\"", "#", "---", "...", "%YAML 1.1\n",
        "<<: ", "~", "null", "\\u00e9", "\\x", "\r\n", "\0", "\u00e9", "=", "DefaultKey", "segments:", "version:",
    ];

    private static string MutateYaml(string yaml, Random rng, out string how)
    {
        var lines = yaml.Split('\n').ToList();
        var steps = new List<string>();
        for (var k = 1 + rng.Next(3); k > 0; k--)
        {
            switch (rng.Next(6))
            {
                case 0 when lines.Count > 1:
                {
                    var i = rng.Next(lines.Count);
                    lines.RemoveAt(i);
                    steps.Add($"line {i} removed");
                    break;
                }

                case 1:
                {
                    var i = rng.Next(lines.Count);
                    var copies = 1 + rng.Next(3);
                    lines.InsertRange(i, Enumerable.Repeat(lines[i], copies));
                    steps.Add($"line {i} repeated {copies}x");
                    break;
                }

                case 2 when lines.Count > 1:
                {
                    var (i, j) = (rng.Next(lines.Count), rng.Next(lines.Count));
                    (lines[i], lines[j]) = (lines[j], lines[i]);
                    steps.Add($"lines {i} and {j} swapped");
                    break;
                }

                default:
                {
                    var text = string.Join('\n', lines);
                    var p = rng.Next(text.Length + 1);
                    var token = YamlTokens[rng.Next(YamlTokens.Length)];
                    var cut = rng.Next(3) == 0 ? Math.Min(rng.Next(4), text.Length - p) : 0;
                    text = text[..p] + token + text[(p + cut)..];
                    lines = text.Split('\n').ToList();
                    steps.Add($"'{token.Replace("\n", "\\n", StringComparison.Ordinal)}' at {p} (replacing {cut})");
                    break;
                }
            }
        }

        how = string.Join("; ", steps);
        return string.Join('\n', lines);
    }

    /// <summary>Mutates a tar: a header field (name, mode, size, type, link name) or the bytes.</summary>
    private static byte[] MutateTar(byte[] tar, Random rng, out string how)
    {
        var headers = new List<int>();
        for (var at = 0; at + 512 <= tar.Length;)
        {
            if (tar.AsSpan(at, 512).IndexOfAnyExcept((byte)0) < 0)
            {
                break;
            }

            headers.Add(at);
            var sizeText = Encoding.ASCII.GetString(tar, at + 124, 12).Trim('\0', ' ');
            var size = sizeText.Length > 0 && sizeText.All(c => c is >= '0' and <= '7') ? Convert.ToInt64(sizeText, 8) : 0;
            at += 512 + (int)((size + 511) / 512 * 512);
        }

        if (headers.Count == 0 || rng.Next(4) == 0)
        {
            return MutateBytes(tar, rng, out how);
        }

        var b = (byte[])tar.Clone();
        var h = headers[rng.Next(headers.Count)];
        string[] names = ["../evil", "/etc/passwd", "lib/a.rb", "./lib/a.rb", "lib//a.rb", "lib/a.rb/x", "..", ".", "", "lib\\x", "a/../../b"];
        string[] links = ["..", "../..", "/etc", "lib", "x/..", "lib/a.rb", "", "a/b/c/../../.."];
        (int Offset, int Length, string Value) field = rng.Next(5) switch
        {
            0 => (0, 100, names[rng.Next(names.Length)]),
            1 => (100, 8, Convert.ToString(rng.Next(0x1000), 8).PadLeft(7, '0')),
            2 => (124, 12, Convert.ToString((long)(Interesting[rng.Next(Interesting.Length)] & 0x1FFFFFFFF), 8).PadLeft(11, '0')),
            3 => (156, 1, "0125673LKxgV\0"[rng.Next(13)].ToString()),
            _ => (157, 100, links[rng.Next(links.Length)]),
        };
        b.AsSpan(h + field.Offset, field.Length).Clear();
        Encoding.ASCII.GetBytes(field.Value).AsSpan(0, Math.Min(field.Value.Length, field.Length)).CopyTo(b.AsSpan(h + field.Offset));

        // Most of the time the header checksum is fixed, so the reader looks past it.
        if (rng.Next(4) != 0)
        {
            b.AsSpan(h + 148, 8).Fill((byte)' ');
            var sum = 0;
            for (var i = 0; i < 512; i++)
            {
                sum += b[h + i];
            }

            Encoding.ASCII.GetBytes(Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 ").CopyTo(b.AsSpan(h + 148));
        }

        how = $"header at {h}: field @{field.Offset} = '{field.Value}'";
        return b;
    }

    public sealed class Fixtures : IDisposable
    {
        private readonly TempFolder _tmp = new("rmk-gemfuzz");

        public Fixtures()
        {
            const UnixFileMode Exe = (UnixFileMode)0x1ED;
            var built = Build(_tmp.Path, "fuzzy", "1.2.3",
            [
                new("lib/fuzzy.rb", "module Fuzzy\n  VERSION = '1.2.3'\nend\n"),
                new("lib/fuzzy/deep.rb", string.Concat(Enumerable.Range(0, 200).Select(i => $"# line {i}\n"))),
                new("bin/fuzzy", "#!/usr/bin/env ruby -w\nrequire 'fuzzy'\n", Exe),
                new("exe/linked", "", LinkTarget: "../bin/fuzzy"),
            ], "  s.executables = ['fuzzy']\n  s.add_runtime_dependency 'alpha', '~> 1.0'\n  s.description = \"A gem to fuzz\\nover two lines\"");
            Gems["gem-build"] = File.ReadAllBytes(built);

            var builtParts = Parts(Gems["gem-build"]).Where(p => p.Name != "checksums.yaml.gz").ToList();
            var data = builtParts.Single(p => p.Name == "data.tar.gz").Bytes;
            Gems["syck-1.8-era"] = Outer([("data.tar.gz", data), ("metadata.gz", Gzip(File.ReadAllBytes(MetadataDialectTests.FixturePath("syck.yaml"))))]);

            var psych = builtParts.Select(p => p.Name == "metadata.gz" ? (p.Name, Gzip(File.ReadAllBytes(MetadataDialectTests.FixturePath("psych.yaml")))) : p).ToList();
            Gems["psych-binary-checksums"] = Outer([.. psych, ("checksums.yaml.gz", Gzip(Encoding.UTF8.GetBytes(ChecksumsYaml(psych, ChecksumStyle.BinaryKeysAndValues, "SHA1", "SHA512"))))]);

            Gems["uncompressed-metadata"] = Outer([("metadata", File.ReadAllBytes(MetadataDialectTests.FixturePath("rubygems094.yaml"))), ("data.tar.gz", data)]);

            Gems["pre-0.9"] = OldFormat("oldie", "0.1.0",
            [
                ("lib/oldie.rb", "module Oldie; end\n", 420),
                ("bin/oldie", "#!/usr/bin/env ruby\nputs 'old'\n", 493),
                ("lib/oldie/data.txt", string.Concat(Enumerable.Range(0, 100).Select(i => $"line {i}\n")), 384),
            ], "bindir: bin\nexecutables:\n  - oldie\n");

            Gems["duplicates-and-links"] = Handmade(File.ReadAllText(MetadataDialectTests.FixturePath("binary.yaml")), w =>
            {
                AddFile(w, "bin/facter", "#!/usr/bin/ruby\nputs 1\n");
                AddFile(w, "./bin/facter", "#!/usr/bin/ruby\nputs 2\n", 0x1ED);
                AddFile(w, "lib//facter.rb", "x");
                AddLink(w, TarEntryType.SymbolicLink, "lib/up", "../bin");
                AddLink(w, TarEntryType.SymbolicLink, "lib/through", "up/facter");
                AddLink(w, TarEntryType.HardLink, "lib/hard.rb", "lib/facter.rb");
                w.WriteEntry(new GnuTarEntry(TarEntryType.Directory, "data/"));
            }, checksums: true);
        }

        public Dictionary<string, byte[]> Gems { get; } = [];

        public void Dispose() => _tmp.Dispose();
    }
}

[CollectionDefinition(nameof(GemReaderFuzzTests), DisableParallelization = true)]
public sealed class GemReaderFuzzCollection;
