using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Razor.Microkernel.TestSupport.Mirror;

/// <summary>How one path misbehaves. <c>Times</c> is how many requests misbehave before the path serves normally.</summary>
public abstract record Misbehavior(int Times)
{
    internal int Remaining = Times;

    internal bool Take() => Interlocked.Decrement(ref Remaining) >= 0;
}

/// <summary>Answer 404 even though the file exists.</summary>
public sealed record NotFound(int Times = int.MaxValue) : Misbehavior(Times);

/// <summary>Answer <paramref name="Status"/> (500, 503 …) <paramref name="Times"/> times, then serve.</summary>
public sealed record ServerError(int Times, int Status = 500) : Misbehavior(Times);

/// <summary>Send the headers (full Content-Length) and <paramref name="AfterBytes"/> bytes, then abort the connection.</summary>
public sealed record ResetMidBody(int Times, int AfterBytes) : Misbehavior(Times);

/// <summary>Send the headers (full Content-Length) and only <paramref name="SendBytes"/> bytes, then end the response.</summary>
public sealed record TruncateBody(int Times, int SendBytes) : Misbehavior(Times);

/// <summary>Send the body <paramref name="ChunkBytes"/> at a time with <paramref name="Delay"/> between chunks.</summary>
public sealed record Trickle(int Times, int ChunkBytes, TimeSpan Delay) : Misbehavior(Times);

/// <summary>Redirect (301 or 302) to another path of this server (or an absolute URL).</summary>
public sealed record Redirect(string To, int Status = 302, int Times = int.MaxValue) : Misbehavior(Times);

/// <summary>Serve these bytes in place of the file.</summary>
public sealed record ReplaceBody(byte[] Content, int Times = int.MaxValue) : Misbehavior(Times);

/// <summary>Ignore Range headers on this path (always 200 with the whole body).</summary>
public sealed record IgnoreRange(int Times = int.MaxValue) : Misbehavior(Times);

/// <summary>A real HTTP server (Kestrel) on 127.0.0.1 with a random port, serving a folder (a Tiny Core mirror layout:
/// <c>4.x/x86/tcz/NAME.tcz</c>, <c>.dep</c>, <c>.md5.txt</c>) with byte ranges, and misbehaving per path on request.</summary>
public sealed class LoopbackMirror : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly ConcurrentDictionary<string, ConcurrentQueue<Misbehavior>> behaviors = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> counts = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<(string Path, string? Range)> log = new();
    private readonly ConcurrentQueue<(string Path, long Start, long End)> spans = new();

    private LoopbackMirror(string root, WebApplication app)
    {
        Root = root;
        this.app = app;
    }

    /// <summary>The folder served as the mirror root.</summary>
    public string Root { get; }

    /// <summary><c>http://127.0.0.1:PORT</c>, no trailing slash.</summary>
    public string BaseUrl { get; private set; } = "";

    /// <summary>Answer Range requests with 206 (default). When false, every request gets the whole body with 200.</summary>
    public bool RangeSupport { get; set; } = true;

    /// <summary>Send a strong ETag (a content hash) and honour If-Range (default). When false, no validators are sent.</summary>
    public bool Validators { get; set; } = true;

    /// <summary>Number of requests answered so far (all paths).</summary>
    public int TotalRequests => log.Count;

    public static async Task<LoopbackMirror> StartAsync(string root)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(o =>
        {
            o.Listen(IPAddress.Loopback, 0);
            o.Limits.MinResponseDataRate = null;
            o.AddServerHeader = false;
        });
        var app = builder.Build();
        var mirror = new LoopbackMirror(Path.GetFullPath(root), app);
        app.Run(mirror.HandleAsync);
        await app.StartAsync().ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        mirror.BaseUrl = address.Replace("[::1]", "127.0.0.1", StringComparison.Ordinal).TrimEnd('/');
        return mirror;
    }

    /// <summary>Full URL of a path relative to the root (<c>4.x/x86/tcz/ruby.tcz</c>).</summary>
    public string Url(string relative) => BaseUrl + "/" + relative.TrimStart('/');

    /// <summary>Adds a misbehaviour for a relative path; several queue up and apply in turn.</summary>
    public void Misbehave(string relative, Misbehavior behavior)
        => behaviors.GetOrAdd(Key(relative), _ => new ConcurrentQueue<Misbehavior>()).Enqueue(behavior);

    public void ClearMisbehaviors() => behaviors.Clear();

    /// <summary>Requests seen for a relative path.</summary>
    public int Requests(string relative) => counts.TryGetValue(Key(relative), out var n) ? n : 0;

    /// <summary>The Range headers sent for a relative path, in order (null where none was sent).</summary>
    public IReadOnlyList<string?> RangeHeaders(string relative)
        => log.Where(e => e.Path == Key(relative)).Select(e => e.Range).ToList();

    /// <summary>The most requests for paths matching <paramref name="path"/> (a URL path, <c>/4.x/…</c>) that were being
    /// answered at the same moment, over every request finished so far.</summary>
    public int PeakConcurrent(Func<string, bool> path)
    {
        var edges = spans.Where(s => path(s.Path)).SelectMany(s => new[] { (At: s.Start, Delta: 1), (At: s.End, Delta: -1) })
            .OrderBy(e => e.At).ThenBy(e => e.Delta); // an end before a start at the same tick
        int current = 0, peak = 0;
        foreach (var (_, delta) in edges)
        {
            current += delta;
            peak = Math.Max(peak, current);
        }

        return peak;
    }

    private static string Key(string relative) => "/" + relative.TrimStart('/');

    private Misbehavior? Current(string path)
    {
        if (!behaviors.TryGetValue(path, out var queue))
        {
            return null;
        }

        while (queue.TryPeek(out var b))
        {
            if (b.Take())
            {
                return b;
            }

            queue.TryDequeue(out _);
        }

        return null;
    }

    private async Task HandleAsync(HttpContext ctx)
    {
        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            await AnswerAsync(ctx).ConfigureAwait(false);
        }
        finally
        {
            spans.Enqueue((ctx.Request.Path.Value ?? "/", start, System.Diagnostics.Stopwatch.GetTimestamp()));
        }
    }

    private async Task AnswerAsync(HttpContext ctx)
    {
        var path = ctx.Request.Path.Value ?? "/";
        var range = ctx.Request.Headers.Range.ToString();
        log.Enqueue((path, range.Length == 0 ? null : range));
        counts.AddOrUpdate(path, 1, (_, n) => n + 1);
        var behavior = Current(path);
        var aborted = ctx.RequestAborted;

        switch (behavior)
        {
            case NotFound:
                ctx.Response.StatusCode = 404;
                return;
            case ServerError e:
                ctx.Response.StatusCode = e.Status;
                return;
            case Redirect r:
                ctx.Response.StatusCode = r.Status;
                ctx.Response.Headers.Location = r.To.Contains("://", StringComparison.Ordinal) ? r.To : Url(r.To);
                return;
        }

        var file = Path.GetFullPath(Path.Combine(Root, path.TrimStart('/')));
        byte[] content;
        if (behavior is ReplaceBody replace)
        {
            content = replace.Content;
        }
        else if (file.StartsWith(Root + Path.DirectorySeparatorChar, StringComparison.Ordinal) && File.Exists(file))
        {
            content = await File.ReadAllBytesAsync(file, aborted).ConfigureAwait(false);
        }
        else
        {
            ctx.Response.StatusCode = 404;
            return;
        }

        var etag = "\"" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(content))[..16] + "\"";
        if (Validators)
        {
            ctx.Response.Headers.ETag = etag;
        }

        var ifRange = ctx.Request.Headers.IfRange.ToString();
        var start = 0;
        if (range.Length > 0 && RangeSupport && behavior is not IgnoreRange && (ifRange.Length == 0 || ifRange == etag))
        {
            if (!TryParseRange(range, out start))
            {
                ctx.Response.StatusCode = 400;
                return;
            }

            if (start >= content.Length)
            {
                ctx.Response.StatusCode = 416;
                ctx.Response.Headers.ContentRange = $"bytes */{content.Length}";
                return;
            }

            ctx.Response.StatusCode = 206;
            ctx.Response.Headers.ContentRange = $"bytes {start}-{content.Length - 1}/{content.Length}";
        }
        else
        {
            ctx.Response.StatusCode = 200;
        }

        if (RangeSupport)
        {
            ctx.Response.Headers.AcceptRanges = "bytes";
        }

        var body = content.AsMemory(start);
        ctx.Response.ContentLength = body.Length;
        ctx.Response.ContentType = "application/octet-stream";
        switch (behavior)
        {
            case ResetMidBody reset:
                await ctx.Response.Body.WriteAsync(body[..Math.Min(reset.AfterBytes, body.Length)], aborted).ConfigureAwait(false);
                await ctx.Response.Body.FlushAsync(aborted).ConfigureAwait(false);
                await Task.Delay(50, CancellationToken.None).ConfigureAwait(false);
                ctx.Abort();
                return;
            case TruncateBody truncate:
                await ctx.Response.Body.WriteAsync(body[..Math.Min(truncate.SendBytes, body.Length)], aborted).ConfigureAwait(false);
                await ctx.Response.Body.FlushAsync(aborted).ConfigureAwait(false);
                return; // Kestrel closes the connection: fewer bytes than Content-Length
            case Trickle trickle:
                for (var offset = 0; offset < body.Length && !aborted.IsCancellationRequested; offset += trickle.ChunkBytes)
                {
                    await ctx.Response.Body.WriteAsync(body.Slice(offset, Math.Min(trickle.ChunkBytes, body.Length - offset)), aborted).ConfigureAwait(false);
                    await ctx.Response.Body.FlushAsync(aborted).ConfigureAwait(false);
                    if (offset + trickle.ChunkBytes < body.Length)
                    {
                        await Task.Delay(trickle.Delay, aborted).ConfigureAwait(false); // between chunks: the answer ends with its last byte
                    }
                }

                return;
            default:
                await ctx.Response.Body.WriteAsync(body, aborted).ConfigureAwait(false);
                return;
        }
    }

    private static bool TryParseRange(string header, out int start)
    {
        start = 0;
        const string prefix = "bytes=";
        if (!header.StartsWith(prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var spec = header[prefix.Length..];
        var dash = spec.IndexOf('-', StringComparison.Ordinal);
        return dash > 0 && spec[(dash + 1)..].Length == 0 && int.TryParse(spec[..dash], out start) && start >= 0;
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            await app.StopAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        await app.DisposeAsync().ConfigureAwait(false);
    }
}
