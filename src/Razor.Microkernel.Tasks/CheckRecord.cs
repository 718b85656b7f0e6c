using System.Text;
using Razor.Microkernel.Formats.IO;

namespace Razor.Microkernel.Tasks;

/// <summary>
/// What a check or a resolution was given the last time it passed, kept in obj/ so that a build whose inputs did not
/// change (a no-op build above all) skips the work and takes the kept result: the task's own code (its assembly's
/// identity), its settings, and each input file's path and fingerprint (size, times, inode: a file replaced by one
/// with an older date differs too; a missing file is recorded as missing). The kept text is the inputs, then a line
/// <c>--</c>, then the results as <c>name=value</c> lines.
/// </summary>
internal sealed class CheckRecord
{
    private const string Separator = "--\n";
    private readonly StringBuilder _inputs = new();
    private bool _unusable;

    public CheckRecord(Type task) => _inputs.Append("task=").Append(task.Assembly.ManifestModule.ModuleVersionId.ToString("N")).Append('\n');

    /// <summary>A setting (newlines escaped).</summary>
    public CheckRecord Value(string name, string? value)
    {
        _inputs.Append(name).Append('=').Append((value ?? "").Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal)).Append('\n');
        return this;
    }

    /// <summary>A file's path and fingerprint; one that is neither a regular file nor missing makes the record unusable.</summary>
    public CheckRecord File(string name, string? path)
    {
        if (string.IsNullOrEmpty(path))
        {
            return Value(name, "");
        }

        var full = Path.GetFullPath(path);
        try
        {
            var status = InputFile.Stat(full);
            switch (status.Kind)
            {
                case InputFileKind.Regular:
                    return Value(name, full + "\t" + status.Fingerprint);
                case InputFileKind.Missing:
                    return Value(name, full + "\tmissing");
            }
        }
        catch (IOException)
        {
        }

        _unusable = true;
        return this;
    }

    /// <summary>The inputs as text, or null when one could not be examined.</summary>
    public string? Inputs => _unusable ? null : _inputs.ToString();

    /// <summary>The results kept at <paramref name="path"/> for exactly <paramref name="inputs"/>, or null.</summary>
    public static Dictionary<string, string>? TryRead(string? path, string? inputs)
    {
        if (string.IsNullOrEmpty(path) || inputs is null || !System.IO.File.Exists(path))
        {
            return null;
        }

        string text;
        try
        {
            text = System.IO.File.ReadAllText(path);
        }
        catch (IOException)
        {
            return null;
        }

        if (!text.StartsWith(inputs + Separator, StringComparison.Ordinal))
        {
            return null;
        }

        var results = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in text[(inputs.Length + Separator.Length)..].Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var at = line.IndexOf('=', StringComparison.Ordinal);
            if (at > 0)
            {
                results[line[..at]] = line[(at + 1)..];
            }
        }

        return results;
    }

    /// <summary>Keeps <paramref name="inputs"/> and <paramref name="results"/> at <paramref name="path"/> (no secret: as the umask makes it,
    /// atomically), or removes what was kept when <paramref name="inputs"/> is null.</summary>
    public static void Keep(string path, string? inputs, IEnumerable<(string Name, string Value)> results)
    {
        if (inputs is null)
        {
            System.IO.File.Delete(path);
            return;
        }

        var text = new StringBuilder(inputs).Append(Separator);
        foreach (var (name, value) in results)
        {
            text.Append(name).Append('=').Append(value.Replace("\n", " ", StringComparison.Ordinal)).Append('\n');
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        Formats.AtomicFile.WriteAllText(path, text.ToString(), shared: true);
    }
}
