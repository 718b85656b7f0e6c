using Microsoft.Build.Framework;

namespace Razor.Microkernel.Tasks;

/// <summary>
/// Coded errors and warnings caused by the user's items and properties point at the user's project file (the
/// file that defined the item, and the element's line when it can be found) instead of the SDK's targets file
/// that holds the task.
/// </summary>
public abstract partial class RmkTask
{
    private ProjectLocations? _locations;

    /// <summary>The project being built (<c>$(MSBuildProjectFullPath)</c>). MSBuild tells a task only the file that
    /// holds the task element, which is the SDK's targets file.</summary>
    public string? ProjectFile { get; set; }

    /// <summary>The project's name, as MSBuild prints it (<c>Microkernel</c> for Microkernel.proj).</summary>
    protected string ProjectName => Path.GetFileNameWithoutExtension(ProjectFile ?? string.Empty);

    private ProjectLocations Locations => _locations ??= new ProjectLocations();

    /// <summary>A path for messages: relative to the project's folder when below it.</summary>
    protected string Relative(string path)
    {
        if (string.IsNullOrEmpty(ProjectFile) || string.IsNullOrEmpty(path))
        {
            return path;
        }

        var relative = Path.GetRelativePath(Path.GetDirectoryName(ProjectFile)!, path);
        return relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(relative) ? path : relative.Replace('\\', '/');
    }

    /// <summary>Logs a coded error from Strings.resx at the item's place in the project file that defined it.</summary>
    protected internal void LogItemError(ITaskItem? item, string itemType, string resource, params object?[] args)
        => LogAt(warning: false, ItemLocation(item, itemType), resource, args);

    /// <summary>Logs a coded warning from Strings.resx at the item's place in the project file that defined it.</summary>
    protected internal void LogItemWarning(ITaskItem? item, string itemType, string resource, params object?[] args)
        => LogAt(warning: true, ItemLocation(item, itemType), resource, args);

    /// <summary>Logs a coded error about a property at its last definition in the project file (or at the file).</summary>
    protected internal void LogPropertyError(string property, string resource, params object?[] args)
        => LogAt(warning: false, PropertyLocation(property), resource, args);

    /// <summary>Logs a coded error or warning about a property at its last definition in the project file.</summary>
    protected internal void LogPropertyDiagnostic(bool warning, string property, string resource, params object?[] args)
        => LogAt(warning, PropertyLocation(property), resource, args);

    /// <summary>Logs a coded error or warning at a given file (a secrets file, a lock file), without a line.</summary>
    protected internal void LogFileDiagnostic(bool warning, string? file, string resource, params object?[] args)
        => LogAt(warning, string.IsNullOrEmpty(file) ? ProjectLocation() : new SourceLocation(file, 0, 0), resource, args);

    /// <summary>Where an item is defined: the user's file that defined it (RmkDefiningProject, kept by the SDK's
    /// targets and tasks when they copy items, else MSBuild's DefiningProjectFullPath), or the project when that
    /// file is the SDK's own; the element's line when the item's text is found there (RmkItemSpec for an item a
    /// task made from the user's, such as a resolved extension; SourceUrl for a downloaded one).</summary>
    private protected SourceLocation? ItemLocation(ITaskItem? item, string itemType)
    {
        if (item is null)
        {
            return ProjectLocation();
        }

        var file = item.GetMetadata("RmkDefiningProject");
        if (string.IsNullOrEmpty(file))
        {
            file = item.GetMetadata("DefiningProjectFullPath");
        }

        if (string.IsNullOrEmpty(file) || IsSdkFile(file))
        {
            file = ProjectFile;
        }

        if (string.IsNullOrEmpty(file))
        {
            return null;
        }

        var spec = item.GetMetadata("RmkItemSpec") is { Length: > 0 } asked ? asked
            : item.GetMetadata("SourceUrl") is { Length: > 0 } url ? url
            : item.ItemSpec;
        return Locations.Item(file, itemType, spec);
    }

    private protected SourceLocation? PropertyLocation(string property)
        => string.IsNullOrEmpty(ProjectFile) ? null : Locations.Property(ProjectFile, property);

    private SourceLocation? ProjectLocation() => string.IsNullOrEmpty(ProjectFile) ? null : new SourceLocation(ProjectFile, 0, 0);

    /// <summary>The SDK's own files: the one holding this task's element, and anything beside the task assembly's package.</summary>
    private bool IsSdkFile(string file)
    {
        if (BuildEngine?.ProjectFileOfTaskNode is { Length: > 0 } taskFile && string.Equals(Path.GetFullPath(file), Path.GetFullPath(taskFile), StringComparison.Ordinal))
        {
            return true;
        }

        return file.EndsWith("Razor.Microkernel.Sdk.targets", StringComparison.OrdinalIgnoreCase)
            || file.EndsWith("Razor.Microkernel.Sdk.props", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>How many coded warnings this task logged (a result kept for later builds must not hide one).</summary>
    private protected int WarningsLogged { get; private set; }

    private void LogAt(bool warning, SourceLocation? at, string resource, object?[] args)
    {
        WarningsLogged += warning ? 1 : 0;
        var text = Log.FormatResourceString(resource, args);
        var code = Log.ExtractMessageCode(text, out var message);
        if (at is null)
        {
            if (warning)
            {
                Log.LogWarning(null, code, null, null, 0, 0, 0, 0, message);
            }
            else
            {
                Log.LogError(null, code, null, null, 0, 0, 0, 0, message);
            }

            return;
        }

        if (warning)
        {
            Log.LogWarning(null, code, null, at.File, at.Line, at.Column, 0, 0, message);
        }
        else
        {
            Log.LogError(null, code, null, at.File, at.Line, at.Column, 0, 0, message);
        }
    }
}
