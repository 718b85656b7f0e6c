using System.Collections.Concurrent;
using System.Globalization;
using Razor.Microkernel.Formats.IO;

namespace Razor.Microkernel.Formats.Fetch;

/// <summary>A file of a local mirror folder as a fetch found it: its full path, its fingerprint (<see cref="InputFile"/>:
/// size, times, inode; empty when there was no file at that path), and the hashes of its bytes when the fetch read them
/// whole (an extension's <c>.tcz</c>, a release file).</summary>
public sealed record MirrorFolderFile(string Path, string Fingerprint, FileHashes? Hashes = null)
{
    public bool Exists => Fingerprint.Length > 0;

    /// <summary>True when the path still is what this record says: a regular file with the same fingerprint, or still no
    /// file. A stat call, nothing is read.</summary>
    public bool IsCurrent()
    {
        InputFileStatus status;
        try
        {
            status = InputFile.Stat(Path);
        }
        catch (IOException)
        {
            return false;
        }

        return status.Kind switch
        {
            InputFileKind.Missing => !Exists,
            InputFileKind.Regular => string.Equals(status.Fingerprint, Fingerprint, StringComparison.Ordinal),
            _ => false,
        };
    }

    /// <summary>One line: the path, the fingerprint, then SHA-256, MD5 and size when known, each escaped
    /// (<see cref="Uri.EscapeDataString(string)"/>) and separated by tabs.</summary>
    public string ToLine()
    {
        var line = Uri.EscapeDataString(Path) + "\t" + Uri.EscapeDataString(Fingerprint);
        return Hashes is { } h
            ? line + string.Create(CultureInfo.InvariantCulture, $"\t{h.Sha256}\t{h.Md5}\t{h.Size}")
            : line;
    }

    /// <summary>The record <see cref="ToLine"/> wrote, or null for a line it did not write.</summary>
    public static MirrorFolderFile? TryParse(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        var fields = line.Split('\t');
        if (fields.Length is not (2 or 5) || fields[0].Length == 0)
        {
            return null;
        }

        FileHashes? hashes = null;
        if (fields.Length == 5)
        {
            if (fields[1].Length == 0 || fields[2].Length != 64 || fields[3].Length != 32
                || !long.TryParse(fields[4], NumberStyles.None, CultureInfo.InvariantCulture, out var size))
            {
                return null;
            }

            hashes = new FileHashes(fields[2], fields[3], size);
        }

        return new MirrorFolderFile(Uri.UnescapeDataString(fields[0]), Uri.UnescapeDataString(fields[1]), hashes);
    }
}

/// <summary>
/// The local mirror folders at the head of a mirror list (folder paths and <c>file://</c> URLs before the first
/// <c>http(s)://</c> mirror), read as local inputs. A folder is something its user edits: what it holds is what a fetch
/// takes, looked at on every fetch (no cached <c>.dep</c>, <c>.md5.txt</c> or blob stands in for it), and every path
/// looked at, found or not, is recorded with its fingerprint (<see cref="Files"/>), so that a caller can tell by stat
/// calls alone (<see cref="MirrorFolderFile.IsCurrent"/>) whether a later fetch would find anything different. A file
/// whose fingerprint an earlier fetch recorded with its hashes (<c>known</c>) is not read again for them. Only regular
/// files are read: a FIFO, a device or a link to one is a <see cref="DownloadFailedException"/>. Thread-safe.
/// </summary>
public sealed class MirrorFolders
{
    private readonly ConcurrentDictionary<string, MirrorFolderFile> _seen = new(StringComparer.Ordinal);
    private readonly Dictionary<string, MirrorFolderFile> _known = new(StringComparer.Ordinal);

    /// <param name="mirrors">The mirror list in order, each as <see cref="FetchLocation.Normalize"/> gives it.</param>
    /// <param name="known">What an earlier fetch recorded (<see cref="Files"/>).</param>
    public MirrorFolders(IReadOnlyList<string> mirrors, IEnumerable<MirrorFolderFile>? known = null)
    {
        ArgumentNullException.ThrowIfNull(mirrors);
        var lead = mirrors.TakeWhile(FetchLocation.IsLocal).ToList();
        Folders = [.. lead.Select(FetchLocation.ToLocalPath)];
        Others = [.. mirrors.Skip(lead.Count)];
        foreach (var file in known ?? [])
        {
            if (file.Hashes is not null)
            {
                _known[file.Path] = file;
            }
        }
    }

    /// <summary>The leading local folders (file system paths), in order.</summary>
    public IReadOnlyList<string> Folders { get; }

    /// <summary>The rest of the list, from the first http(s):// mirror on, in order: mirrors whose files come through the
    /// download cache (a folder among them too, since an extension's mirror is known only after asking the ones before).</summary>
    public IReadOnlyList<string> Others { get; }

    /// <summary>Every path looked at in the folders, found or not, ordered by path.</summary>
    public IReadOnlyList<MirrorFolderFile> Files => [.. _seen.Values.OrderBy(f => f.Path, StringComparer.Ordinal)];

    /// <summary><paramref name="relative"/> in each folder, in order (where <see cref="Find"/> looks).</summary>
    public IReadOnlyList<string> PathsOf(string relative) => [.. Folders.Select(f => FetchLocation.Combine(f, relative))];

    /// <summary>The path of <paramref name="relative"/> ('/'-separated, below a mirror root) in the first folder that has
    /// it, or null; every folder looked at is recorded.</summary>
    /// <exception cref="DownloadFailedException">The first file found is not a regular file, or cannot be examined.</exception>
    public string? Find(string relative)
    {
        foreach (var folder in Folders)
        {
            var path = FetchLocation.Combine(folder, relative);
            if (Look(path))
            {
                return path;
            }
        }

        return null;
    }

    /// <summary>Whether <paramref name="path"/> (in a folder) holds a regular file; recorded.</summary>
    /// <exception cref="DownloadFailedException">It is not a regular file, or cannot be examined.</exception>
    public bool Look(string path)
    {
        InputFileStatus status;
        try
        {
            status = InputFile.Stat(path);
        }
        catch (IOException e)
        {
            throw new DownloadFailedException(path, 1, e.Message);
        }

        switch (status.Kind)
        {
            case InputFileKind.Missing:
                _seen[path] = new MirrorFolderFile(path, "");
                return false;
            case InputFileKind.Regular:
                // The fingerprint is taken before the file is read: a change while it is read shows as a new fingerprint later.
                _seen[path] = new MirrorFolderFile(path, status.Fingerprint);
                return true;
            default:
                throw new DownloadFailedException(path, 1, $"it is not a regular file ({status.Kind}), and only regular files are read");
        }
    }

    /// <summary>A small file's bytes (a <c>.dep</c>, an <c>.md5.txt</c>), or null when there is no file at
    /// <paramref name="path"/>; recorded.</summary>
    /// <exception cref="DownloadFailedException">Not a regular file, or more than <paramref name="maxBytes"/>.</exception>
    public async Task<byte[]?> ReadSmallAsync(string path, long maxBytes, CancellationToken cancellationToken = default)
    {
        if (!Look(path))
        {
            return null;
        }

        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, useAsync: true);
        using var bytes = new MemoryStream();
        var buffer = new byte[Math.Min(1 << 16, maxBytes + 1)];
        int n;
        while ((n = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (bytes.Length + n > maxBytes)
            {
                throw new DownloadFailedException(path, 1, $"more than the {maxBytes} bytes a metadata file may have");
            }

            bytes.Write(buffer, 0, n);
        }

        return bytes.ToArray();
    }

    /// <summary>The hashes of a file <see cref="Find"/> or <see cref="Look"/> found: those an earlier fetch recorded for
    /// the same fingerprint, else read from the file (and recorded).</summary>
    public async Task<FileHashes> HashAsync(string path, CancellationToken cancellationToken = default)
    {
        if (!_seen.TryGetValue(path, out var seen) || !seen.Exists)
        {
            throw new InvalidOperationException($"'{path}' was not found in a mirror folder before it was hashed");
        }

        var hashes = _known.TryGetValue(path, out var known) && string.Equals(known.Fingerprint, seen.Fingerprint, StringComparison.Ordinal)
            ? known.Hashes!
            : await FileHashes.ComputeAsync(path, cancellationToken).ConfigureAwait(false);
        _seen[path] = seen with { Hashes = hashes };
        return hashes;
    }

    /// <summary>True when every record still holds (<see cref="MirrorFolderFile.IsCurrent"/>): stat calls only.</summary>
    public static bool AllCurrent(IEnumerable<MirrorFolderFile> files) => files.All(f => f.IsCurrent());
}
