using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Razor.Microkernel.Formats.Fetch;

/// <summary>What the cache knows under one key (<c>tcz/4.x/x86/ruby.tcz</c>, <c>tcz/4.x/x86/ruby.tcz.dep</c>,
/// <c>url/https://…</c>): a blob (by SHA-256), and/or small text (a <c>.dep</c> file), or the fact that the
/// source does not exist (<see cref="Exists"/> false: a missing <c>.dep</c> means "no dependencies").</summary>
public sealed record CacheEntry
{
    public required string Key { get; init; }

    public string? Sha256 { get; init; }

    public long Size { get; init; }

    public string? Md5 { get; init; }

    public string? Text { get; init; }

    public bool Exists { get; init; } = true;

    /// <summary>Where the content came from the first time (informational; keys are mirror-independent).</summary>
    public string? Source { get; init; }
}

/// <summary>SHA-256, MD5 (lowercase hex) and size of a file.</summary>
public sealed record FileHashes(string Sha256, string Md5, long Size)
{
    public static async Task<FileHashes> ComputeAsync(string path, CancellationToken cancellationToken = default)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 17);
        long size = 0;
        try
        {
            await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, useAsync: true);
            int n;
            while ((n = await stream.ReadAsync(buffer.AsMemory(), cancellationToken).ConfigureAwait(false)) > 0)
            {
                sha.AppendData(buffer, 0, n);
                md5.AppendData(buffer, 0, n);
                size += n;
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }

        return new FileHashes(Convert.ToHexStringLower(sha.GetHashAndReset()), Convert.ToHexStringLower(md5.GetHashAndReset()), size);
    }
}

/// <summary>A content-addressed download cache shared by builds (and processes):
/// <c>blobs/sha256/ab/abcd…</c> hold verified content, <c>index/</c> maps keys to hashes and metadata,
/// <c>locks/</c> hold one lock file per key, <c>tmp/</c> partial downloads. A blob becomes visible only by
/// a rename after its hash was checked, so readers never see partial or unverified content.</summary>
public sealed class DownloadCache
{
    /// <summary>Source-generated (no reflection): a warm build reads one index entry per extension and download.</summary>
    private static System.Text.Json.Serialization.Metadata.JsonTypeInfo<CacheEntry> Json => CacheEntryJson.Default.CacheEntry;

    public DownloadCache(string root, TimeSpan? lockTimeout = null, bool verifyOnRead = false)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        Root = Path.GetFullPath(root);
        LockTimeout = lockTimeout ?? TimeSpan.FromMinutes(10);
        VerifyOnRead = verifyOnRead;
    }

    public string Root { get; }

    /// <summary>How long <see cref="LockAsync"/> waits for another holder before failing.</summary>
    public TimeSpan LockTimeout { get; }

    /// <summary>Re-hash a blob on every read (else: existence and size, which the rename-after-verify guarantees).</summary>
    public bool VerifyOnRead { get; }

    /// <summary>The per-user default: <c>$XDG_CACHE_HOME/razor-microkernel</c> or <c>~/.cache/razor-microkernel</c>
    /// on Unix, <c>%LOCALAPPDATA%\razor-microkernel</c> on Windows.</summary>
    public static string DefaultRoot()
    {
        if (OperatingSystem.IsWindows())
        {
            return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "razor-microkernel");
        }

        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        var baseDir = !string.IsNullOrEmpty(xdg) && Path.IsPathRooted(xdg)
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(baseDir, "razor-microkernel");
    }

    public static string KeyHash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    public string BlobPath(string sha256)
    {
        if (sha256.Length != 64 || !sha256.All(Uri.IsHexDigit))
        {
            throw new InvalidFetchInputException(sha256, "not a SHA-256 in hex");
        }

        var h = sha256.ToLowerInvariant();
        return Path.Combine(Root, "blobs", "sha256", h[..2], h);
    }

    /// <summary>Where a download for <paramref name="key"/> accumulates (kept across attempts for resume).
    /// Only the holder of the key's lock may touch it.</summary>
    public string PartialPath(string key) => Path.Combine(Root, "tmp", KeyHash(key) + ".partial");

    private string IndexPath(string key)
    {
        var h = KeyHash(key);
        return Path.Combine(Root, "index", h[..2], h + ".json");
    }

    /// <summary>The verified blob with this hash, or null. A blob of the wrong size (or hash, with
    /// <see cref="VerifyOnRead"/>) is deleted and reported absent.</summary>
    public string? TryGetBlob(string sha256, long? size = null)
    {
        var path = BlobPath(sha256);
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            return null;
        }

        if ((size is { } s && info.Length != s) || (VerifyOnRead && !HashMatches(path, sha256)))
        {
            TryDelete(path);
            return null;
        }

        return path;
    }

    private static bool HashMatches(string path, string sha256)
    {
        using var stream = File.OpenRead(path);
        return string.Equals(Convert.ToHexStringLower(SHA256.HashData(stream)), sha256, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The entry under <paramref name="key"/>, or null when there is none, it cannot be read, or its
    /// blob is gone or damaged.</summary>
    public CacheEntry? TryGetEntry(string key)
    {
        var path = IndexPath(key);
        CacheEntry? entry;
        try
        {
            entry = JsonSerializer.Deserialize(File.ReadAllBytes(path), Json);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            return null;
        }

        if (entry is null || entry.Key != key)
        {
            return null;
        }

        if (entry.Sha256 is { } sha && TryGetBlob(sha, entry.Size) is null)
        {
            return null;
        }

        return entry;
    }

    /// <summary>Records metadata under a key (atomically; last writer wins).</summary>
    public void SetEntry(CacheEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                AtomicFile.Write(IndexPath(entry.Key), s => JsonSerializer.Serialize(s, entry, Json), shared: true);
                return;
            }
            catch (Exception e) when (attempt < 10 && e is IOException or UnauthorizedAccessException)
            {
                // Windows refuses to replace a file another process is reading; the reader is quick.
                Thread.Sleep(10 * attempt);
            }
        }
    }

    /// <summary>Records the entry unless the index already holds exactly it, so a build that finds what it expects writes
    /// nothing into the cache.</summary>
    public void SetEntryIfChanged(CacheEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (TryGetEntry(entry.Key) != entry)
        {
            SetEntry(entry);
        }
    }

    /// <summary>Puts a local file whose hashes are known (a mirror folder's file, see <see cref="MirrorFolders"/>) into
    /// the cache under <paramref name="key"/>: nothing is copied when the blob with those hashes is already there;
    /// otherwise a copy is verified against them before it becomes the blob. Returns the entry and whether bytes were
    /// stored.</summary>
    /// <exception cref="ChecksumMismatchException">The file changed between its hashing and the copy.</exception>
    public async Task<(CacheEntry Entry, bool Stored)> AddLocalFileAsync(string key, string path, FileHashes hashes, string what,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(hashes);
        var entry = new CacheEntry { Key = key, Sha256 = hashes.Sha256, Size = hashes.Size, Md5 = hashes.Md5, Source = path };
        if (TryGetBlob(hashes.Sha256, hashes.Size) is not null)
        {
            SetEntryIfChanged(entry);
            return (entry, false);
        }

        using (await LockAsync(key, cancellationToken).ConfigureAwait(false))
        {
            if (TryGetBlob(hashes.Sha256, hashes.Size) is not null)
            {
                SetEntryIfChanged(entry);
                return (entry, false);
            }

            var partial = PartialPath(key);
            Directory.CreateDirectory(Path.GetDirectoryName(partial)!);
            TryDelete(partial + ".validator"); // a partial HTTP download of the key must never be resumed from this copy
            await using (var source = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true))
            await using (var target = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
            {
                await source.CopyToAsync(target, 1 << 16, cancellationToken).ConfigureAwait(false);
            }

            return (await AddBlobAsync(key, partial, what, hashes.Sha256, hashes.Md5, path, cancellationToken: cancellationToken).ConfigureAwait(false), true);
        }
    }

    /// <summary>Verifies <paramref name="file"/> against the expected hashes, moves it into the blob store by
    /// rename, and records it under <paramref name="key"/>. On a mismatch the file is deleted and nothing is recorded.</summary>
    /// <exception cref="ChecksumMismatchException">The file does not match <paramref name="expectedSha256"/> or <paramref name="expectedMd5"/>.</exception>
    public async Task<CacheEntry> AddBlobAsync(string key, string file, string what, string? expectedSha256 = null, string? expectedMd5 = null,
        string? source = null, string? text = null, CancellationToken cancellationToken = default)
    {
        var hashes = await FileHashes.ComputeAsync(file, cancellationToken).ConfigureAwait(false);
        if (expectedMd5 is not null && !string.Equals(hashes.Md5, expectedMd5, StringComparison.OrdinalIgnoreCase))
        {
            TryDelete(file);
            throw new ChecksumMismatchException(what, "MD5", expectedMd5.ToLowerInvariant(), hashes.Md5);
        }

        if (expectedSha256 is not null && !string.Equals(hashes.Sha256, expectedSha256, StringComparison.OrdinalIgnoreCase))
        {
            TryDelete(file);
            throw new ChecksumMismatchException(what, "SHA-256", expectedSha256.ToLowerInvariant(), hashes.Sha256);
        }

        var blob = BlobPath(hashes.Sha256);
        Directory.CreateDirectory(Path.GetDirectoryName(blob)!);
        if (File.Exists(blob) && new FileInfo(blob).Length == hashes.Size)
        {
            TryDelete(file);
        }
        else
        {
            try
            {
                File.Move(file, blob, overwrite: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Another process stored the same content at the same moment (and may be reading it).
                if (!File.Exists(blob) || new FileInfo(blob).Length != hashes.Size)
                {
                    throw;
                }

                TryDelete(file);
            }
        }

        var entry = new CacheEntry { Key = key, Sha256 = hashes.Sha256, Size = hashes.Size, Md5 = hashes.Md5, Source = source, Text = text };
        SetEntry(entry);
        return entry;
    }

    /// <summary>Takes the exclusive lock of a key (a lock file opened with <see cref="FileShare.None"/>, which is an
    /// advisory lock between processes on Unix and a sharing lock on Windows), waiting up to <see cref="LockTimeout"/>.</summary>
    public async Task<IDisposable> LockAsync(string key, CancellationToken cancellationToken = default)
    {
        var path = Path.Combine(Root, "locks", KeyHash(key) + ".lock");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var clock = Stopwatch.StartNew();
        var delay = 5;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
            }
            catch (IOException e) when (HeldByAnother(e) && clock.Elapsed < LockTimeout)
            {
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                delay = Math.Min(delay * 2, 200);
            }
            catch (IOException e) when (HeldByAnother(e))
            {
                throw new CacheLockTimeoutException(key, path, clock.Elapsed);
            }
        }
    }

    /// <summary>True when the lock file could not be opened because another holder has it (a sharing or lock violation
    /// on Windows, EWOULDBLOCK from flock on Unix). Anything else, such as a read-only file system, is no reason to wait:
    /// it propagates at once.</summary>
    private static bool HeldByAnother(IOException e)
    {
        if (OperatingSystem.IsWindows())
        {
            return (e.HResult & 0xFFFF) is 32 or 33; // ERROR_SHARING_VIOLATION, ERROR_LOCK_VIOLATION
        }

        // .NET gives the errno as the HResult: EWOULDBLOCK is 11 on Linux, 35 on macOS and the BSDs.
        return e.HResult == (OperatingSystem.IsLinux() ? 11 : 35);
    }

    internal static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

[JsonSourceGenerationOptions(WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(CacheEntry))]
internal sealed partial class CacheEntryJson : JsonSerializerContext;
