using System.Security.Cryptography;
using System.Text;

namespace Razor.Microkernel.Formats.Mcollective;

/// <summary>
/// The PSK a Development image gets when none is given, kept in one owner-only file outside the build's
/// output folders (by default in the user's configuration folder, one file per project), so that it stays the
/// same across incremental builds, <c>dotnet clean</c> and a deleted <c>obj/</c>: nodes booted from an earlier
/// image keep talking to a server configured with it, and the user can read it to configure the server.
/// </summary>
public static class GeneratedPskStore
{
    /// <summary>The default file for a project: <c>APPDATA/Razor.Microkernel.Sdk/generated-psk/NAME-HASH.psk</c>, where
    /// APPDATA is the user's configuration folder (<c>$XDG_CONFIG_HOME</c> or <c>~/.config</c> on Linux) and HASH
    /// names the project's full path.</summary>
    public static string DefaultPath(string projectFile)
    {
        ArgumentException.ThrowIfNullOrEmpty(projectFile);
        var full = Path.GetFullPath(projectFile);
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(full)))[..16];
        var root = Environment.GetFolderPath(Environment.SpecialFolder.ApplicationData, Environment.SpecialFolderOption.DoNotVerify);
        if (string.IsNullOrEmpty(root))
        {
            root = Path.Combine(Path.GetDirectoryName(full)!, ".microkernel");
        }

        return Path.Combine(root, "Razor.Microkernel.Sdk", "generated-psk", $"{Path.GetFileNameWithoutExtension(full)}-{hash}.psk");
    }

    /// <summary>Reads the kept PSK, or makes one (<paramref name="generate"/>) and keeps it. A file that holds no
    /// usable PSK (empty, a line break inside, surrounding space) is replaced. Builds that race to create or replace it
    /// agree: the check and the write happen under an exclusive lock on <c>PATH.lock</c> (released by the operating
    /// system when a build dies), so the first writes and the others read what it wrote.</summary>
    /// <param name="path">The file.</param>
    /// <param name="generate">Makes a new PSK.</param>
    /// <param name="created">True when this call made the PSK (the image's PSK differs from any earlier one).</param>
    /// <param name="lockTimeout">How long to wait for another build's lock (default 30 s); an <see cref="IOException"/> after.</param>
    public static string ReadOrCreate(string path, Func<string> generate, out bool created, TimeSpan? lockTimeout = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(generate);
        if (TryRead(path) is { } kept)
        {
            created = false;
            return kept;
        }

        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(dir);
        }
        else
        {
            Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        using (Lock(path + ".lock", lockTimeout ?? TimeSpan.FromSeconds(30)))
        {
            if (TryRead(path) is { } theirs)
            {
                created = false;
                return theirs;
            }

            var psk = generate();
            var temp = Path.Combine(dir, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
            try
            {
                using (var stream = new FileStream(temp, AtomicFile.CreateNewOptions()))
                {
                    stream.Write(Encoding.UTF8.GetBytes(psk + "\n"));
                }

                File.Move(temp, path, overwrite: true);
                created = true;
                return psk;
            }
            finally
            {
                File.Delete(temp);
            }
        }
    }

    /// <summary>An exclusive lock on <paramref name="lockPath"/> (an advisory lock between processes on Unix, a sharing
    /// lock on Windows), waiting for another holder up to <paramref name="timeout"/>.</summary>
    private static FileStream Lock(string lockPath, TimeSpan timeout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            try
            {
                var options = new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.None };
                if (!OperatingSystem.IsWindows())
                {
                    options.UnixCreateMode = AtomicFile.OwnerOnly;
                }

                return new FileStream(lockPath, options);
            }
            catch (IOException) when (File.Exists(lockPath) && clock.Elapsed < timeout)
            {
                Thread.Sleep(20);
            }
        }
    }

    /// <summary>The kept PSK, or null when the file does not exist or holds none.</summary>
    public static string? TryRead(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        var info = new FileInfo(path);
        if (info.Length is 0 or > 4096)
        {
            return null;
        }

        var text = File.ReadAllText(path, Encoding.UTF8);
        text = text.EndsWith('\n') ? text[..^1] : text;
        var problems = new List<ServerConfigProblem>();
        ServerConfigValidation.CheckSecret(ServerConfigKeys.Psk, text, problems);
        return text.Length == 0 || problems.Count > 0 ? null : text;
    }
}
