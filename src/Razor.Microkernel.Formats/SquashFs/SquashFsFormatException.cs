namespace Razor.Microkernel.Formats.SquashFs;

/// <summary>A SquashFS image is malformed, truncated, hostile or uses something this reader does not
/// support. <see cref="MicrokernelFormatException.Offset"/> is the byte offset in the image where the problem
/// was found (or the start of the metadata block or data block that holds it).</summary>
public sealed class SquashFsFormatException(string reason, long offset, Exception? inner = null)
    : MicrokernelFormatException($"{reason} (at byte {offset})", offset, inner)
{
    public string Reason { get; } = reason;
}
