namespace Razor.Microkernel.Formats.Fetch;

/// <summary>A <see cref="DownloadClient"/> made on first use: a fetch whose files are all in the cache (a warm or no-op
/// build) never loads the HTTP stack.</summary>
internal sealed class LazyDownloadClient(DownloadOptions options) : IDisposable
{
    private readonly Lazy<DownloadClient> _client = new(() => new DownloadClient(options));

    public DownloadClient Value => _client.Value;

    public void Dispose()
    {
        if (_client.IsValueCreated)
        {
            _client.Value.Dispose();
        }
    }
}
