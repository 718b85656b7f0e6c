using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;

namespace Razor.Microkernel.Formats.Fetch;

/// <summary>Fetches files from http(s):// URLs, file:// URLs and plain paths, with retries and backoff
/// (5xx, resets, timeouts, truncated bodies), an inactivity timeout on every read, resume with Range,
/// redirects, progress and prompt cancellation. Thread-safe; one instance serves many parallel downloads.</summary>
public sealed class DownloadClient : IDisposable
{
    private readonly HttpClient http;
    private readonly bool ownsHandler;

    public DownloadClient(DownloadOptions? options = null)
    {
        Options = options ?? new DownloadOptions();
        HttpMessageHandler handler;
        if (Options.Handler is { } h)
        {
            handler = h;
        }
        else
        {
            handler = new SocketsHttpHandler
            {
                AllowAutoRedirect = true,
                MaxAutomaticRedirections = Math.Max(1, Options.MaxRedirects),
                AutomaticDecompression = DecompressionMethods.None,
                ConnectTimeout = Options.InactivityTimeout,
                PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
                MaxConnectionsPerServer = Math.Max(2, Options.MaxParallelDownloads * 3),
            };
            ownsHandler = true;
        }

        http = new HttpClient(handler, disposeHandler: ownsHandler) { Timeout = Timeout.InfiniteTimeSpan };
        http.DefaultRequestHeaders.UserAgent.ParseAdd(Options.UserAgent);
    }

    public DownloadOptions Options { get; }

    /// <summary>Reads a small file (a <c>.dep</c>, an <c>.md5.txt</c>) whole. Returns <c>null</c> when it does not
    /// exist (404/410, or no such local file); retries transient failures.</summary>
    /// <exception cref="DownloadFailedException">Retries exhausted, or a client error other than not-found.</exception>
    public async Task<byte[]?> TryGetBytesAsync(string location, CancellationToken cancellationToken = default)
    {
        if (FetchLocation.IsLocal(location))
        {
            var path = FetchLocation.ToLocalPath(location);
            if (!File.Exists(path))
            {
                return null;
            }

            RequireRegularFile(location, path);
            if (new FileInfo(path).Length > Options.MaxSmallFileBytes)
            {
                throw new DownloadFailedException(location, 1, $"more than the {Options.MaxSmallFileBytes} bytes a metadata file may have");
            }

            return await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
        }

        try
        {
            return await WithRetriesAsync(location, location, null, async (attempt, ct) =>
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(Options.InactivityTimeout);
                try
                {
                    using var response = await http.GetAsync(location, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
                    ThrowForStatus(location, response);
                    if (response.Content.Headers.ContentLength > Options.MaxSmallFileBytes)
                    {
                        throw new PermanentFailureException($"{response.Content.Headers.ContentLength} bytes is more than the {Options.MaxSmallFileBytes} a metadata file may have");
                    }

                    using var body = new LimitedMemoryStream(Options.MaxSmallFileBytes);
                    await using var stream = await response.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false);
                    await CopyWithInactivityTimeoutAsync(stream, body, timeout, null, ct).ConfigureAwait(false);
                    CheckLength(location, response.Content.Headers.ContentLength, body.Length);
                    return body.ToArray();
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    throw new TimeoutException(string.Create(CultureInfo.InvariantCulture, $"no data for {Options.InactivityTimeout.TotalSeconds:0.###} s"));
                }
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (DownloadNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Downloads <paramref name="location"/> into <paramref name="partialPath"/>. When that file already holds
    /// the start of an earlier attempt, the download resumes with a Range request if the server answers 206
    /// (and starts over when it ignores the range). On failure the partial file is kept for the next resume.</summary>
    /// <returns>The size of the complete file.</returns>
    /// <exception cref="DownloadNotFoundException">404/410, or no such local file.</exception>
    /// <exception cref="DownloadFailedException">Retries exhausted, or a client error other than not-found.</exception>
    public Task<long> DownloadToFileAsync(string location, string partialPath, string item,
        IProgress<FetchEvent>? progress = null, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(partialPath))!);
        if (FetchLocation.IsLocal(location))
        {
            return CopyLocalAsync(location, partialPath, item, progress, cancellationToken);
        }

        return WithRetriesAsync(location, item, progress, (attempt, ct) => DownloadOnceAsync(location, partialPath, item, progress, ct), cancellationToken);
    }

    /// <summary>A mirror folder's file is read only when it is a regular file (after symlinks): a FIFO would block the
    /// build, a link to /dev/zero would feed it without end.</summary>
    private static void RequireRegularFile(string location, string path)
    {
        var kind = IO.InputFile.Stat(path).Kind;
        if (kind != IO.InputFileKind.Regular)
        {
            throw new DownloadFailedException(location, 1, $"it is not a regular file ({kind}), and only regular files are read");
        }
    }

    private async Task<long> CopyLocalAsync(string location, string partialPath, string item, IProgress<FetchEvent>? progress, CancellationToken ct)
    {
        var path = FetchLocation.ToLocalPath(location);
        if (!File.Exists(path))
        {
            throw new DownloadNotFoundException([location]);
        }

        RequireRegularFile(location, path);
        progress?.Report(new FetchEvent(FetchEventKind.Started, item, location));
        await using (var source = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true))
        await using (var target = new FileStream(partialPath, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
        {
            await source.CopyToAsync(target, 1 << 16, ct).ConfigureAwait(false);
        }

        var size = new FileInfo(partialPath).Length;
        progress?.Report(new FetchEvent(FetchEventKind.Completed, item, location, size, size));
        return size;
    }

    private async Task<long> DownloadOnceAsync(string location, string partialPath, string item, IProgress<FetchEvent>? progress, CancellationToken ct)
    {
        // A partial file is resumed only with the validator (strong ETag or Last-Modified) of the response that
        // started it, sent as If-Range: a file that changed since then comes back whole (200), never spliced.
        var validatorPath = partialPath + ".validator";
        var existing = File.Exists(partialPath) ? new FileInfo(partialPath).Length : 0;
        var validator = existing > 0 && Options.ResumeDownloads && File.Exists(validatorPath) ? File.ReadAllText(validatorPath) : null;
        if (existing > 0 && string.IsNullOrEmpty(validator))
        {
            existing = 0;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(Options.InactivityTimeout);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, location);
            if (existing > 0)
            {
                request.Headers.Range = new RangeHeaderValue(existing, null);
                request.Headers.TryAddWithoutValidation("If-Range", validator);
            }

            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
            {
                File.Delete(partialPath);
                File.Delete(validatorPath);
                throw new RestartDownloadException("the server refused to resume (416); starting over");
            }

            ThrowForStatus(location, response);
            if (response.StatusCode != HttpStatusCode.PartialContent)
            {
                var etag = response.Headers.ETag;
                var newValidator = etag is { IsWeak: false } ? etag.ToString()
                    : response.Content.Headers.LastModified?.ToString("r", CultureInfo.InvariantCulture);
                if (newValidator is null)
                {
                    File.Delete(validatorPath);
                }
                else
                {
                    await File.WriteAllTextAsync(validatorPath, newValidator, ct).ConfigureAwait(false);
                }
            }

            var contentLength = response.Content.Headers.ContentLength;
            long start = 0;
            long? total = contentLength;
            if (response.StatusCode == HttpStatusCode.PartialContent)
            {
                var range = response.Content.Headers.ContentRange;
                if (existing == 0 || range?.From != existing)
                {
                    File.Delete(partialPath);
                    throw new RestartDownloadException($"the server sent an unexpected range ({range}); starting over");
                }

                start = existing;
                total = range.Length ?? (contentLength is { } cl ? existing + cl : null);
            }

            progress?.Report(new FetchEvent(FetchEventKind.Started, item, location, start, total,
                Message: start > 0 ? $"resuming at {FetchEvent.FormatSize(start)}" : null));
            await using var stream = await response.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false);
            long received;
            double rate;
            await using (var file = new FileStream(partialPath, start > 0 ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
            {
                var reporter = new ProgressReporter(progress, Options.ProgressInterval, item, location, start, total);
                received = await CopyWithInactivityTimeoutAsync(stream, file, timeout, reporter, ct).ConfigureAwait(false);
                rate = reporter.BytesPerSecond;
                await file.FlushAsync(ct).ConfigureAwait(false);
            }

            CheckLength(location, contentLength, received);
            File.Delete(validatorPath);
            var size = start + received;
            progress?.Report(new FetchEvent(FetchEventKind.Completed, item, location, size, total, rate));
            return size;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new TimeoutException(string.Create(CultureInfo.InvariantCulture, $"no data for {Options.InactivityTimeout.TotalSeconds:0.###} s"));
        }
    }

    private async Task<long> CopyWithInactivityTimeoutAsync(Stream source, Stream target, CancellationTokenSource timeout,
        ProgressReporter? reporter, CancellationToken ct)
    {
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 16);
        try
        {
            long total = 0;
            while (true)
            {
                timeout.CancelAfter(Options.InactivityTimeout);
                var n = await source.ReadAsync(buffer.AsMemory(), timeout.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    return total;
                }

                await target.WriteAsync(buffer.AsMemory(0, n), ct).ConfigureAwait(false);
                total += n;
                reporter?.Add(n);
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static void CheckLength(string location, long? expected, long received)
    {
        if (expected is { } e && e != received)
        {
            throw new IOException($"truncated body from {location}: {received} of {e} bytes");
        }
    }

    private static void ThrowForStatus(string location, HttpResponseMessage response)
    {
        var code = (int)response.StatusCode;
        if (response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Gone)
        {
            throw new DownloadNotFoundException([location]);
        }

        if (code is >= 200 and < 300)
        {
            return;
        }

        var transient = code >= 500 || response.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests;
        var reason = $"HTTP {code} {response.ReasonPhrase}";
        if (transient)
        {
            throw new HttpRequestException(reason, null, response.StatusCode);
        }

        throw new PermanentFailureException(reason);
    }

    private async Task<T> WithRetriesAsync<T>(string location, string item, IProgress<FetchEvent>? progress,
        Func<int, CancellationToken, Task<T>> attempt, CancellationToken ct)
    {
        var max = Math.Max(1, Options.MaxAttempts);
        for (var i = 1; ; i++)
        {
            ct.ThrowIfCancellationRequested();
            try
            {
                return await attempt(i, ct).ConfigureAwait(false);
            }
            catch (PermanentFailureException e)
            {
                throw new DownloadFailedException(location, i, e.Message);
            }
            catch (Exception e) when (IsTransient(e, ct))
            {
                if (i >= max)
                {
                    throw new DownloadFailedException(location, i, Describe(e), e);
                }

                var delay = e is RestartDownloadException ? TimeSpan.Zero : Options.Backoff(i);
                progress?.Report(new FetchEvent(FetchEventKind.Retrying, item, location,
                    Message: string.Create(CultureInfo.InvariantCulture, $"attempt {i} of {max}: {Describe(e)}; retrying in {delay.TotalSeconds:0.##} s")));
                await Task.Delay(delay, ct).ConfigureAwait(false);
            }
        }
    }

    private static bool IsTransient(Exception e, CancellationToken ct) => !ct.IsCancellationRequested && e switch
    {
        DownloadNotFoundException => false,
        RestartDownloadException or TimeoutException => true,
        HttpRequestException h => h.StatusCode is null || (int)h.StatusCode >= 500
            || h.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests,
        IOException => true,
        OperationCanceledException => true, // a timeout inside the handler, not ours
        _ => false,
    };

    private static string Describe(Exception e)
    {
        var message = e.Message;
        for (var inner = e.InnerException; inner is not null; inner = inner.InnerException)
        {
            message += " → " + inner.Message;
        }

        return message;
    }

    public void Dispose() => http.Dispose();

    private sealed class LimitedMemoryStream(long limit) : MemoryStream
    {
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (Length + buffer.Length > limit)
            {
                throw new PermanentFailureException($"more than the {limit} bytes a metadata file may have");
            }

            return base.WriteAsync(buffer, cancellationToken);
        }
    }

    private sealed class RestartDownloadException(string message) : Exception(message);

    private sealed class PermanentFailureException(string message) : Exception(message);

    private sealed class ProgressReporter(IProgress<FetchEvent>? progress, TimeSpan interval, string item, string location, long start, long? total)
    {
        private readonly Stopwatch clock = Stopwatch.StartNew();
        private long received;
        private TimeSpan last;

        public void Add(int n)
        {
            received += n;
            if (progress is null || clock.Elapsed - last < interval)
            {
                return;
            }

            last = clock.Elapsed;
            progress.Report(new FetchEvent(FetchEventKind.Progress, item, location, start + received, total, BytesPerSecond));
        }

        public double BytesPerSecond => received / Math.Max(0.001, clock.Elapsed.TotalSeconds);
    }
}
