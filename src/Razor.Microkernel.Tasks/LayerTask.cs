using Microsoft.Build.Framework;
using Razor.Microkernel.Formats;
using Razor.Microkernel.Formats.IO;
using Razor.Microkernel.Formats.Layers;

namespace Razor.Microkernel.Tasks;

/// <summary>A task that writes one layer file atomically: the previous layer stays until the new one is complete.</summary>
public abstract class LayerTask : RmkTask
{
    /// <summary>Full path of the layer file to write.</summary>
    [Required]
    public string Layer { get; set; } = string.Empty;

    /// <summary>How messages name the layer ("extension ruby.tcz", "settings"); default: its file name.</summary>
    public string? LayerName { get; set; }

    /// <summary>Entries written.</summary>
    [Output]
    public int EntryCount { get; private set; }

    /// <summary>Bytes of file content written.</summary>
    [Output]
    public long ContentBytes { get; private set; }

    protected sealed override void ExecuteCore()
    {
        try
        {
            AtomicFile.Write(Layer, stream =>
            {
                // Every write checks for Ctrl+C: one big entry (a file, a gem's data) stops within a buffer.
                using var cancelling = new CancellingStream(stream, CancellationToken, leaveOpen: true);
                using var writer = new LayerWriter(cancelling, PackOptions.DefaultModificationTime, leaveOpen: true);
                if (!Write(writer))
                {
                    throw new LayerAbandonedException();
                }

                writer.Finish();
                EntryCount = writer.EntryCount;
                ContentBytes = writer.ContentBytes;
            });
            Log.LogMessageFromResources(MessageImportance.High, "LayerSummary", string.IsNullOrWhiteSpace(LayerName) ? Path.GetFileName(Layer) : LayerName,
                EntryCount, Bytes(ContentBytes));
        }
        catch (LayerAbandonedException)
        {
            // errors are logged; AtomicFile removed the partial layer
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.LogErrorWithCodeFromResources("LayerWriteFailed", Layer, e.Message);
        }
    }

    /// <summary>Writes the entries; returns false (after logging errors) to abandon the layer.</summary>
    protected abstract bool Write(LayerWriter writer);

    private sealed class LayerAbandonedException : Exception
    {
    }
}
