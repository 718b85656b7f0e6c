using System.Security.Cryptography;
using Razor.Microkernel.Formats.Fetch;

namespace Razor.Microkernel.Formats.Tests.Fetch;

internal static class FetchTestSupport
{
    /// <summary>Short times so failure cases take a second, not minutes.</summary>
    public static DownloadOptions Fast(int attempts = 3, int inactivityMs = 3000) => new()
    {
        MaxAttempts = attempts,
        InitialBackoff = TimeSpan.FromMilliseconds(10),
        MaxBackoff = TimeSpan.FromMilliseconds(50),
        InactivityTimeout = TimeSpan.FromMilliseconds(inactivityMs),
        ProgressInterval = TimeSpan.FromMilliseconds(10),
        MaxParallelDownloads = 4,
    };

    public static byte[] Bytes(int size, int seed)
    {
        var b = new byte[size];
        new Random(seed).NextBytes(b);
        return b;
    }

    public static string Sha256(byte[] b) => Convert.ToHexStringLower(SHA256.HashData(b));

    /// <summary>Every blob in the cache has the hash its name says, every index entry's blob exists with its size,
    /// and nothing is left in tmp/ except resumable .partial files.</summary>
    public static void AssertCacheConsistent(string root)
    {
        var blobs = Path.Combine(root, "blobs", "sha256");
        if (Directory.Exists(blobs))
        {
            foreach (var f in Directory.EnumerateFiles(blobs, "*", SearchOption.AllDirectories))
            {
                using var s = File.OpenRead(f);
                Assert.Equal(Path.GetFileName(f), Convert.ToHexStringLower(SHA256.HashData(s)));
            }
        }

        var index = Path.Combine(root, "index");
        if (Directory.Exists(index))
        {
            foreach (var f in Directory.EnumerateFiles(index, "*.json", SearchOption.AllDirectories))
            {
                var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(f)).RootElement;
                if (json.TryGetProperty("sha256", out var sha))
                {
                    var blob = Path.Combine(blobs, sha.GetString()![..2], sha.GetString()!);
                    Assert.True(File.Exists(blob), $"index {f} points at a missing blob");
                    Assert.Equal(json.GetProperty("size").GetInt64(), new FileInfo(blob).Length);
                }
            }
        }
    }

    public static int BlobCount(string root)
    {
        var blobs = Path.Combine(root, "blobs");
        return Directory.Exists(blobs) ? Directory.EnumerateFiles(blobs, "*", SearchOption.AllDirectories).Count() : 0;
    }

    public sealed class FetchEvents : IProgress<FetchEvent>
    {
        private readonly List<FetchEvent> events = [];

        public IReadOnlyList<FetchEvent> Events
        {
            get
            {
                lock (events)
                {
                    return [.. events];
                }
            }
        }

        public void Report(FetchEvent value)
        {
            lock (events)
            {
                events.Add(value);
            }
        }
    }
}
