using System.Globalization;
using System.Resources;
using Microsoft.Build.Framework;
using Razor.Microkernel.Formats;
using Task = Microsoft.Build.Utilities.Task;

namespace Razor.Microkernel.Tasks;

/// <summary>
/// Base of every task: messages come from Strings.resx with their RMK codes, Ctrl+C cancels through a
/// token the library honours, and a cancelled or failed task returns false with a coded error.
/// </summary>
public abstract class RmkTask : Task, ICancelableTask
{
    internal static readonly ResourceManager Strings = new("Razor.Microkernel.Tasks.Strings", typeof(RmkTask).Assembly);

    private readonly CancellationTokenSource _cancel = new();

    protected RmkTask()
        : base(Strings)
    {
    }

    protected CancellationToken CancellationToken => _cancel.Token;

    public void Cancel() => _cancel.Cancel();

    public sealed override bool Execute()
    {
        try
        {
            ExecuteCore();
        }
        catch (OperationCanceledException) when (_cancel.IsCancellationRequested)
        {
            Log.LogErrorWithCodeFromResources("Cancelled");
        }

        return !Log.HasLoggedErrors;
    }

    protected abstract void ExecuteCore();

    /// <summary>Formats a byte count for people: 1.2 MB.</summary>
    protected static string Bytes(long n) => n switch
    {
        < 1024 => $"{n} B",
        < 1024 * 1024 => string.Format(CultureInfo.InvariantCulture, "{0:0.0} KB", n / 1024.0),
        < 1024L * 1024 * 1024 => string.Format(CultureInfo.InvariantCulture, "{0:0.0} MB", n / (1024.0 * 1024)),
        _ => string.Format(CultureInfo.InvariantCulture, "{0:0.00} GB", n / (1024.0 * 1024 * 1024)),
    };

    /// <summary>Logs an I/O failure while writing an output, without a stack trace.</summary>
    protected bool TryIo(string resource, string path, Action action)
    {
        try
        {
            action();
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException && e is not MicrokernelFormatException)
        {
            Log.LogErrorWithCodeFromResources(resource, path, e.Message);
            return false;
        }
    }
}
