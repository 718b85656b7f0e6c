using Razor.Microkernel.Formats.IO;

namespace Razor.Microkernel.Formats.Layers;

/// <summary>
/// File contents of merged entries, read straight from their layer files: each layer is opened once, on first
/// use, and every returned stream checks for cancellation on each read, so copying one big file stops within
/// a buffer of Ctrl+C. Streams are valid until the next <see cref="Open"/>; dispose closes the layers.
/// </summary>
internal sealed class LayerData(IReadOnlyList<LayerSource> layers, CancellationToken cancellationToken) : IDisposable
{
    private readonly FileStream?[] _streams = new FileStream?[layers.Count];

    /// <summary>The <paramref name="size"/> bytes at <paramref name="offset"/> of layer <paramref name="layerIndex"/>.</summary>
    public Stream Open(int layerIndex, long offset, long size)
    {
        var layer = _streams[layerIndex] ??= new FileStream(layers[layerIndex].Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 17);
        return Window(layer, offset, size, cancellationToken);
    }

    /// <summary>A cancellable window of any seekable stream (a spool, a layer).</summary>
    public static Stream Window(Stream source, long offset, long size, CancellationToken cancellationToken)
        => new CancellingStream(new WindowStream(source, offset, size), cancellationToken);

    public void Dispose()
    {
        foreach (var s in _streams)
        {
            s?.Dispose();
        }
    }
}
