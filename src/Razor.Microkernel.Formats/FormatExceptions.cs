namespace Razor.Microkernel.Formats;

/// <summary>Base of every error the format libraries raise. Carries the byte offset where known.</summary>
public class MicrokernelFormatException : Exception
{
    public MicrokernelFormatException(string message, long offset = -1, Exception? inner = null)
        : base(message, inner)
    {
        Offset = offset;
    }

    /// <summary>Byte offset in the input where the problem was found, or -1 when it is not about a byte position.</summary>
    public long Offset { get; }
}

/// <summary>A path inside the image is empty, contains <c>..</c> or NUL, or otherwise cannot be an image path.</summary>
public sealed class InvalidImagePathException(string path, string reason)
    : MicrokernelFormatException($"'{path}' is not a valid image path: {reason}")
{
    public string ImagePathText { get; } = path;
    public string Reason { get; } = reason;
}

/// <summary>A mode, owner or group value cannot be understood.</summary>
public sealed class InvalidAttributeException(string attribute, string value, string reason)
    : MicrokernelFormatException($"{attribute} '{value}' is not valid: {reason}")
{
    public string Attribute { get; } = attribute;
    public string Value { get; } = value;
    public string Reason { get; } = reason;
}

/// <summary>Two writes inside one layer collide: a duplicate path, or a path below a file or a symlink.</summary>
public sealed class LayerConflictException(string path, string reason)
    : MicrokernelFormatException($"'{path}': {reason}")
{
    public string PathInImage { get; } = path;
    public string Reason { get; } = reason;
}

/// <summary>A tar, gzip, bzip2 or xz input is malformed or truncated.</summary>
public sealed class ArchiveFormatException(string reason, long offset = -1, Exception? inner = null)
    : MicrokernelFormatException(reason, offset, inner)
{
    public string Reason { get; } = reason;
}

/// <summary>More bytes follow a tar's end-of-archive marker than padding explains.</summary>
public sealed class ArchiveTrailingDataException(long trailing, long maximum)
    : MicrokernelFormatException($"more than {maximum} bytes ({trailing} read so far) follow its end-of-archive marker")
{
    public long Trailing { get; } = trailing;
    public long Maximum { get; } = maximum;
}

/// <summary>An archive entry would land outside its destination, or is of a kind the import refuses.</summary>
public sealed class UnsafeArchiveEntryException(string entryName, UnsafeEntryKind kind, string reason)
    : MicrokernelFormatException($"entry '{entryName}': {reason}")
{
    public string EntryName { get; } = entryName;
    public UnsafeEntryKind Kind { get; } = kind;
    public string Reason { get; } = reason;
}

public enum UnsafeEntryKind
{
    Escapes,
    Device,
    UnsupportedType,
    Duplicate,
}

/// <summary>An input is larger than a configured limit (bytes, entries, depth).</summary>
public sealed class FormatLimitException(string limit, long value, long maximum)
    : MicrokernelFormatException($"{limit} {value} exceeds the limit of {maximum}")
{
    public string Limit { get; } = limit;
    public long ValueFound { get; } = value;
    public long Maximum { get; } = maximum;
}
