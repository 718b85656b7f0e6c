namespace Razor.Microkernel.Formats.Fetch;

/// <summary>An <c>md5sum</c> line (<c>HASH  NAME</c>, <c>HASH *NAME</c>, or a bare hash), as in <c>NAME.tcz.md5.txt</c>.</summary>
public static class Md5Sum
{
    /// <summary>The lowercase hex hash from the first non-empty line.</summary>
    /// <exception cref="InvalidFetchInputException">No 32-digit hex hash, or (with <paramref name="expectedName"/>)
    /// a line that names another file.</exception>
    public static string Parse(string text, string? expectedName = null, string source = ".md5.txt")
    {
        ArgumentNullException.ThrowIfNull(text);
        var line = text.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0)
            ?? throw new InvalidFetchInputException(source, "the md5 file is empty");
        var parts = line.Split([' ', '\t'], 2, StringSplitOptions.RemoveEmptyEntries);
        var hash = parts[0].TrimStart('\\');
        if (hash.Length != 32 || !hash.All(Uri.IsHexDigit))
        {
            throw new InvalidFetchInputException(source, $"'{line}' is not an md5sum line");
        }

        if (expectedName is not null && parts.Length == 2)
        {
            var name = parts[1].Trim().TrimStart('*');
            if (name.Length > 0 && Path.GetFileName(name) != expectedName)
            {
                throw new InvalidFetchInputException(source, $"it is the md5 of '{name}', not of '{expectedName}'");
            }
        }

        return hash.ToLowerInvariant();
    }

    public static string Format(string md5, string name) => $"{md5}  {name}\n";
}
