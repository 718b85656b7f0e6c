using System.Collections.Concurrent;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using Razor.Microkernel.Formats.Fetch;
using Razor.Microkernel.Formats.Tcz;

namespace Razor.Microkernel.Tasks;

/// <summary>
/// Runs a fetch on the thread pool while the task's own thread logs its progress (MSBuild logging stays on
/// the task's thread), and turns fetch failures into coded errors at the project item that asked for the
/// file (<paramref name="itemOf"/>; the project file when no item is known, e.g. for a dependency). The fetchers
/// wrap every network failure in their own exceptions, so an I/O error that escapes them is the local disk's:
/// the cache at <paramref name="cacheRoot"/> cannot be made or written (a path through a file, a read-only mount).
/// </summary>
internal sealed class FetchReporter(RmkTask task, string cacheRoot, Func<Exception, (ITaskItem? Item, string ItemType)> itemOf)
{
    private readonly TaskLoggingHelper log = task.Log;

    private readonly ConcurrentQueue<FetchEvent> _events = new();

    /// <summary>Runs the fetch; false (with errors logged) when it failed with a fetch error.</summary>
    public bool Run<T>(Func<IProgress<FetchEvent>, Task<T>> fetch, out T result)
    {
        result = default!;
        try
        {
            var task = fetch(new QueueProgress(_events));
            while (!task.Wait(150))
            {
                Drain();
            }

            Drain();
            result = task.GetAwaiter().GetResult();
            return true;
        }
        catch (AggregateException e) when (e.InnerException is OperationCanceledException)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
        catch (AggregateException e) when (e.InnerException is not null && Report(e.InnerException))
        {
            Drain();
            return false;
        }
        catch (Exception e) when (Report(e))
        {
            Drain();
            return false;
        }
    }

    private void Drain()
    {
        while (_events.TryDequeue(out var e))
        {
            var importance = e.Kind is FetchEventKind.Progress or FetchEventKind.Retrying or FetchEventKind.FallingBack
                ? MessageImportance.High
                : MessageImportance.Low;
            log.LogMessage(importance, e.ToString());
        }
    }

    /// <summary>Logs a fetch failure with its code at the item <c>itemOf</c> names; false for anything else.</summary>
    public bool Report(Exception e)
    {
        var (item, itemType) = itemOf(e);
        return Report(e, item, itemType);
    }

    /// <summary>Logs a fetch failure with its code at <paramref name="item"/>; false for anything else.</summary>
    public bool Report(Exception e, ITaskItem? item, string itemType)
    {
        void Error(string resource, params object?[] args) => task.LogItemError(item, itemType, resource, args);
        switch (e)
        {
            case MissingExtensionException m:
                Error("ExtensionMissing", m.ChainText, string.Join(", ", m.LocationsTried));
                return true;
            case OfflineCacheMissException o:
                Error("OfflineMiss", o.What, o.CacheRoot, o.Chain.Count == 0 ? "-" : string.Join(" → ", o.Chain));
                return true;
            case ChecksumMismatchException c:
                Error("ChecksumMismatch", c.What, c.Algorithm, c.Expected, c.Actual);
                return true;
            case ReleaseFileMissingException r:
                Error("ReleaseFileMissing", r.Release, r.Name, string.Join(", ", r.LocationsTried), r.Release.DistributionFilesFolder);
                return true;
            case DownloadNotFoundException n:
                Error("DownloadNotFound", string.Join(", ", n.LocationsTried));
                return true;
            case DownloadFailedException f:
                Error("DownloadFailed", f.Location, f.Attempts, f.Reason);
                return true;
            case CacheLockTimeoutException l:
                Error("CacheLockTimeout", l.Key, l.LockPath);
                return true;
            case InvalidExtensionNameException x:
                Error("InvalidExtensionName", x.Name, x.Reason);
                return true;
            case InvalidFetchInputException i:
                Error("InvalidFetchInput", i.Input, i.Reason);
                return true;
            case FetchException other:
                Error("DownloadFailed", "-", 0, other.Message);
                return true;
            case IOException or UnauthorizedAccessException:
                task.LogPropertyError("MicrokernelCacheDirectory", "CacheUnusable", cacheRoot, e.Message.TrimEnd('.'));
                return true;
            default:
                return false;
        }
    }

    private sealed class QueueProgress(ConcurrentQueue<FetchEvent> queue) : IProgress<FetchEvent>
    {
        public void Report(FetchEvent value) => queue.Enqueue(value);
    }
}
