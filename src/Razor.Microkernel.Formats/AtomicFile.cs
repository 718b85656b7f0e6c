namespace Razor.Microkernel.Formats;

/// <summary>Writes a file through a temporary sibling that is renamed over the target only when the
/// writer completes; on any failure the temporary file is removed and the previous target is untouched.
/// <para>Files are owner-only (0600 on Unix) from the moment the temporary file is created, so there is no
/// window in which another user of the machine can open them: layers, the overlay and the ISO may hold the
/// MCollective PSK, the STOMP password or SSH host keys. Pass <c>shared: true</c> for files meant to be read
/// by others (the lock file, the download cache's index).</para></summary>
public static class AtomicFile
{
    /// <summary>The mode of owner-only files: read and write for the owner, nothing for group and others.</summary>
    public const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Options that create a new file, owner-only unless <paramref name="shared"/> (then the umask decides).</summary>
    public static FileStreamOptions CreateNewOptions(bool shared = false, int bufferSize = 1 << 16)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None, BufferSize = bufferSize };
        if (!shared && !OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = OwnerOnly;
        }

        return options;
    }

    public static T Write<T>(string path, Func<FileStream, T> write) => Write(path, write, shared: false);

    public static T Write<T>(string path, Func<FileStream, T> write, bool shared)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        var temp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            T result;
            using (var stream = new FileStream(temp, CreateNewOptions(shared)))
            {
                result = write(stream);
                stream.Flush(flushToDisk: false);
            }

            File.Move(temp, full, overwrite: true);
            return result;
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    public static void Write(string path, Action<FileStream> write, bool shared = false) => Write<object?>(path, s =>
    {
        write(s);
        return null;
    }, shared);

    public static void WriteAllText(string path, string text, bool shared = false)
        => Write<object?>(path, s =>
        {
            using var w = new StreamWriter(s, new System.Text.UTF8Encoding(false), 1 << 16, leaveOpen: true);
            w.Write(text);
            return null;
        }, shared);

    private static void TryDelete(string path)
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
