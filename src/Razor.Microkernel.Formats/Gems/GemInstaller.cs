using System.Text;
using System.Text.RegularExpressions;
using Razor.Microkernel.Formats.Layers;

namespace Razor.Microkernel.Formats.Gems;

/// <summary>One .gem to install: a name for messages, a way to open its bytes, and optionally a folder of
/// prebuilt native extension files to place in the gem's first require path.</summary>
public sealed record GemSource(string DisplayName, Func<Stream> Open)
{
    /// <summary>A folder of built extension files (e.g. <c>foo.so</c>), copied into <c>gems/FULLNAME/REQUIRE_PATH/</c>;
    /// a gem with extensions is refused without one.</summary>
    public string? PrebuiltExtensions { get; init; }

    public static GemSource FromFile(string path, string? prebuiltExtensions = null)
        => new(path, () => File.OpenRead(path)) { PrebuiltExtensions = prebuiltExtensions };
}

/// <summary>Where and for which target gems are installed.</summary>
public sealed record GemInstallOptions
{
    /// <summary>The gem home in the image (<c>--install-dir</c>).</summary>
    public string GemDir { get; init; } = "usr/local/lib/ruby/gems/1.8";

    /// <summary>Where executable wrappers go (<c>--bindir</c>).</summary>
    public string BinDir { get; init; } = "usr/local/bin";

    /// <summary>The target's ruby, written into wrapper shebangs (<c>Gem.ruby</c>).</summary>
    public string RubyPath { get; init; } = "/usr/local/bin/ruby";

    public string RubyVersion { get; init; } = "1.8.7";

    public string RubyGemsVersion { get; init; } = "1.8.15";

    /// <summary>Which RubyGems' gem folder to write (<see cref="GemLayouts.TryFor"/> picks it from the RubyGems version).</summary>
    public GemLayout Layout { get; init; } = GemLayout.RubyGems18;

    /// <summary>RubyGems 3 layout: the target's <c>Gem::Platform.local</c>, naming the folder below <c>extensions/</c>
    /// (32-bit x86 Linux: <c>x86-linux</c>).</summary>
    public string ExtensionPlatform { get; init; } = "x86-linux";

    /// <summary>RubyGems 3 layout: the target's <c>Gem.extension_api_version</c> (Ruby's library version, e.g. <c>3.1.0</c>).</summary>
    public string ExtensionApiVersion { get; init; } = "3.1.0";

    /// <summary>Time of every entry written (seconds since the epoch); also the day written for gems without a date.</summary>
    public long ModificationTime { get; init; }

    public Ownership Owner { get; init; } = Ownership.Root;

    /// <summary>Check runtime dependencies against the set (as <c>gem install</c> without <c>--ignore-dependencies</c>).</summary>
    public bool CheckDependencies { get; init; } = true;

    public GemReadOptions Limits { get; init; } = GemReadOptions.Default;
}

/// <summary>One gem installed: its specification and the paths written for it.</summary>
public sealed record InstalledGem(GemSpecification Specification, string GemFolder, string SpecificationFile, string CacheFile,
    IReadOnlyList<string> Wrappers);

/// <summary>
/// Installs gems into a layer exactly as <c>gem install --local --install-dir GEMDIR --bindir BINDIR</c> of
/// RubyGems 1.8 would: <c>gems/FULLNAME/</c>, <c>specifications/FULLNAME.gemspec</c>, <c>cache/FULLNAME.gem</c>,
/// an empty <c>doc/</c>, and a wrapper per executable — or, with <see cref="GemLayout.RubyGems3"/>, as RubyGems 3.3's
/// would (its folders, specification form, wrappers, plugin loaders and extension folders; see <see cref="RubyGems3Layout"/>).
/// Everything is read and checked before anything is written.
/// </summary>
public static partial class GemInstaller
{
    /// <summary>Where <c>GemInstallMode=BootTime</c> stages the .gem files in the image.</summary>
    public const string DefaultStagingDir = "usr/local/share/microkernel/gems";

    private const int DirMode = 0x1ED; // 0755
    private const int FileMode = 0x1A4; // 0644

    public static IReadOnlyList<InstalledGem> Install(IReadOnlyList<GemSource> gems, LayerWriter layer, GemInstallOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(gems);
        ArgumentNullException.ThrowIfNull(layer);
        options ??= new GemInstallOptions();
        var loaded = ReadAndCheck(gems, options, cancellationToken);
        var gemDir = ImagePath.Normalize(options.GemDir);
        return InstallChecked(loaded, layer, options, gemDir, cancellationToken);
    }

    /// <summary>
    /// For installing at boot, as Razor did: checks the gems exactly as <see cref="Install"/> would (format,
    /// platform, Ruby and RubyGems versions, dependencies), then places the .gem files unchanged in
    /// <paramref name="stagingDir"/> and returns the shell command that installs them on the target with its
    /// own RubyGems (<see cref="BootInstallCommand"/>).
    /// </summary>
    public static void Stage(IReadOnlyList<GemSource> gems, LayerWriter layer, string stagingDir, GemInstallOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(gems);
        ArgumentNullException.ThrowIfNull(layer);
        options ??= new GemInstallOptions();
        var loaded = ReadAndCheck(gems, options, cancellationToken);
        var staging = ImagePath.Normalize(stagingDir);
        layer.AddDirectory(staging, new EntryAttributes(DirMode, options.Owner, options.ModificationTime));
        foreach (var (_, bytes, package) in loaded)
        {
            layer.AddFile(ImagePath.Combine(staging, package.Specification.FullName + ".gem"),
                new EntryAttributes(FileMode, options.Owner, options.ModificationTime), bytes);
        }

    }

    /// <summary>The boot command that installs gems staged by <see cref="Stage"/> with the target's RubyGems;
    /// <c>gem install --local</c> finds their dependencies among the staged files.</summary>
    public static string BootInstallCommand(GemInstallOptions options, string stagingDir)
    {
        ArgumentNullException.ThrowIfNull(options);
        var binDir = ImagePath.Normalize(options.BinDir);
        // RubyGems 2.0 replaced --no-ri --no-rdoc by --no-document, and 3.0 dropped the old options.
        var noDocs = options.Layout == GemLayout.RubyGems18 ? "--no-ri --no-rdoc" : "--no-document";
        return $"(cd /{ImagePath.Normalize(stagingDir)} && /{ImagePath.Combine(binDir, "gem")} install --local {noDocs} " +
               $"--install-dir /{ImagePath.Normalize(options.GemDir)} --bindir /{binDir} *.gem)";
    }

    private static List<(GemSource Source, byte[] Bytes, GemPackage Package)> ReadAndCheck(IReadOnlyList<GemSource> gems, GemInstallOptions options,
        CancellationToken cancellationToken)
    {
        var rubyVersion = GemVersion.Parse(options.RubyVersion);
        var rubyGemsVersion = GemVersion.Parse(options.RubyGemsVersion);

        // Read and check everything first.
        var loaded = new List<(GemSource Source, byte[] Bytes, GemPackage Package)>();
        var fullNames = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var source in gems)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var bytes = ReadAll(source, options.Limits, cancellationToken);
            var package = GemPackage.Read(new MemoryStream(bytes, writable: false), source.DisplayName, options.Limits, cancellationToken);
            var spec = package.Specification;
            CheckInstallable(source, package, rubyVersion, rubyGemsVersion);
            if (options.Layout == GemLayout.RubyGems3 && RubyGems3Layout.Refusal(spec) is { } why)
            {
                throw new GemUnsupportedException(source.DisplayName, null, $"{spec.FullName} {why}, which RubyGems 3 refuses to install");
            }
            if (!fullNames.TryAdd(spec.FullName, source.DisplayName))
            {
                throw new GemUnsupportedException(source.DisplayName, null, $"{spec.FullName} is also given by '{fullNames[spec.FullName]}'");
            }

            loaded.Add((source, bytes, package));
        }

        if (options.CheckDependencies)
        {
            CheckDependencies(loaded.Select(l => l.Package.Specification).ToList());
        }

        return loaded;
    }

    private static IReadOnlyList<InstalledGem> InstallChecked(List<(GemSource Source, byte[] Bytes, GemPackage Package)> loaded, LayerWriter layer,
        GemInstallOptions options, string gemDir, CancellationToken cancellationToken)
    {
        var binDir = ImagePath.Normalize(options.BinDir);
        var dirAttrs = new EntryAttributes(DirMode, options.Owner, options.ModificationTime);
        layer.AddDirectory(gemDir, dirAttrs);
        foreach (var sub in options.Layout == GemLayout.RubyGems3 ? RubyGems3Layout.Subdirectories : ["cache", "doc", "gems", "specifications"])
        {
            layer.AddDirectory(ImagePath.Combine(gemDir, sub), dirAttrs);
        }

        // As sequential `gem install`s: when several gems have an executable of one name, the last one's wrapper stands.
        var wrapperOwner = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < loaded.Count; i++)
        {
            foreach (var exe in loaded[i].Package.Specification.Executables)
            {
                wrapperOwner[exe] = i;
            }
        }

        var today = DateOnly.FromDateTime(DateTimeOffset.FromUnixTimeSeconds(options.ModificationTime).UtcDateTime);
        if (options.Layout == GemLayout.RubyGems3)
        {
            WritePlugins(loaded.Select(l => l.Package).ToList(), layer, options, gemDir);
        }

        var result = new List<InstalledGem>();
        for (var i = 0; i < loaded.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (source, bytes, package) = loaded[i];
            var index = i;
            result.Add(InstallOne(source, bytes, package, layer, options, gemDir, binDir, today, exe => wrapperOwner[exe] == index));
        }

        return result;
    }

    private static byte[] ReadAll(GemSource source, GemReadOptions limits, CancellationToken cancellationToken)
    {
        using var s = source.Open();
        using var ms = new MemoryStream();
        var buffer = new byte[81920];
        int n;
        while ((n = s.Read(buffer)) > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (ms.Length + n > limits.MaxPartBytes + limits.MaxPartBytes)
            {
                throw new GemLimitException(source.DisplayName, null, "gem size", ms.Length + n, limits.MaxPartBytes * 2);
            }

            ms.Write(buffer, 0, n);
        }

        return ms.ToArray();
    }

    private static void CheckInstallable(GemSource source, GemPackage package, GemVersion rubyVersion, GemVersion rubyGemsVersion)
    {
        var spec = package.Specification;
        var name = source.DisplayName;
        if (!GemPlatform.FitsX86Linux(spec.OriginalPlatform))
        {
            throw new GemUnsupportedException(name, null, $"{spec.FullName} is built for platform '{spec.OriginalPlatform}'; the target is x86-linux");
        }

        if (spec.Extensions.Count > 0 && source.PrebuiltExtensions is null)
        {
            throw new GemUnsupportedException(name, spec.Extensions[0],
                $"{spec.FullName} has native extensions ({string.Join(", ", spec.Extensions)}), which need a compiler on the target; give PrebuiltExtensions");
        }

        if (source.PrebuiltExtensions is { } pre && !Directory.Exists(pre))
        {
            throw new GemUnsupportedException(name, null, $"the PrebuiltExtensions folder '{pre}' does not exist");
        }

        if (spec.RequiredRubyVersion is { } rrv && !rrv.IsSatisfiedBy(rubyVersion))
        {
            throw new GemUnsupportedException(name, null, $"{spec.Name} requires Ruby version {rrv}; the target has {rubyVersion}");
        }

        if (spec.RequiredRubyGemsVersion is { } rrgv && !rrgv.IsSatisfiedBy(rubyGemsVersion))
        {
            throw new GemUnsupportedException(name, null, $"{spec.Name} requires RubyGems version {rrgv}; the target has {rubyGemsVersion}");
        }

        if (spec.RequirePaths.Count == 0 && source.PrebuiltExtensions is not null)
        {
            throw new GemUnsupportedException(name, null, $"{spec.FullName} has no require path to place its prebuilt extensions in");
        }

        foreach (var exe in spec.Executables)
        {
            if (!IsPlainName(exe))
            {
                throw new GemUnsafeEntryException(name, exe, "an executable name must be a plain file name");
            }
        }

        if (spec.BinDir is { } bd && bd.Length > 0 && !ImagePath.TryNormalize(bd, out _, out _))
        {
            throw new GemUnsafeEntryException(name, bd, "the bindir would leave the gem's folder");
        }
    }

    private static bool IsPlainName(string n)
        => n.Length > 0 && n is not ("." or "..") && !n.Contains('/', StringComparison.Ordinal) && !n.Contains('\\', StringComparison.Ordinal)
           && !n.Any(char.IsControl);

    /// <summary>Every runtime dependency of every gem must be satisfied by a gem of the set.</summary>
    public static void CheckDependencies(IReadOnlyList<GemSpecification> specs)
    {
        var unmet = new List<UnmetGemDependency>();
        foreach (var spec in specs)
        {
            foreach (var dep in spec.RuntimeDependencies)
            {
                if (!specs.Any(s => s.Name == dep.Name && dep.Requirement.IsSatisfiedBy(s.Version)))
                {
                    unmet.Add(new UnmetGemDependency(spec.FullName, dep.Name, dep.Requirement));
                }
            }
        }

        if (unmet.Count > 0)
        {
            throw new GemDependencyException(unmet);
        }
    }

    private static InstalledGem InstallOne(GemSource source, byte[] bytes, GemPackage package, LayerWriter layer,
        GemInstallOptions options, string gemDir, string binDir, DateOnly today, Func<string, bool> ownsWrapper)
    {
        var spec = package.Specification;
        var fullName = spec.FullName;
        var folder = ImagePath.Combine(gemDir, "gems/" + fullName);
        var dirAttrs = new EntryAttributes(DirMode, options.Owner, options.ModificationTime);
        var mtime = options.ModificationTime;

        // Executables get +x (Gem::Installer#generate_bin): the file each names, its folders resolved through links;
        // an executable that is itself a symlink changes nothing (FileUtils.chmod leaves a symlink alone on Linux).
        var exePaths = new HashSet<string>(StringComparer.Ordinal);
        foreach (var exe in spec.Executables)
        {
            var exePath = ExecutablePath(spec, exe, options.Layout);
            if (!package.IsSymlink(exePath) && package.FindFile(exePath) is { } file)
            {
                exePaths.Add(file.Path);
            }
        }

        // Prebuilt extensions land in the first require path.
        var extensionFiles = new List<(string Path, string Source, int Mode)>();
        if (source.PrebuiltExtensions is { } pre)
        {
            var requirePath = ImagePath.TryNormalize(spec.RequirePaths[0], out var rp, out _)
                ? rp
                : throw new GemUnsafeEntryException(source.DisplayName, spec.RequirePaths[0], "the require path would leave the gem's folder");
            var dataPaths = package.DataEntries.Select(e => e.Path).ToHashSet(StringComparer.Ordinal);
            foreach (var file in Directory.EnumerateFiles(pre, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                var rel = Path.GetRelativePath(pre, file).Replace('\\', '/');
                var path = ImagePath.Combine(requirePath, rel);
                if (dataPaths.Contains(path))
                {
                    throw new GemUnsafeEntryException(source.DisplayName, path, "a prebuilt extension file has the same path as a file of the gem");
                }

                var mode = OperatingSystem.IsWindows() ? 0x1ED : (int)File.GetUnixFileMode(file) & 0x1FF;
                extensionFiles.Add((path, file, mode));
            }
        }

        layer.AddDirectory(folder, dirAttrs);
        var madeDirs = new HashSet<string>(StringComparer.Ordinal);
        void EnsureParents(string relative)
        {
            var parent = ImagePath.Parent(relative);
            if (parent.Length == 0 || madeDirs.Contains(parent))
            {
                return;
            }

            EnsureParents(parent);
            layer.AddDirectory(ImagePath.Combine(folder, parent), dirAttrs);
            madeDirs.Add(parent);
        }

        foreach (var entry in package.DataEntries)
        {
            EnsureParents(entry.Path);
            var target = ImagePath.Combine(folder, entry.Path);
            switch (entry.Type)
            {
                case GemDataEntryType.File:
                    var mode = exePaths.Contains(entry.Path) ? entry.Mode | 0x49 : entry.Mode;
                    layer.AddFile(target, new EntryAttributes(mode, options.Owner, mtime), entry.Content);
                    break;
                case GemDataEntryType.Directory:
                    if (madeDirs.Add(entry.Path))
                    {
                        layer.AddDirectory(target, dirAttrs);
                    }

                    break;
                case GemDataEntryType.Symlink:
                    layer.AddSymlink(target, entry.LinkTarget, new EntryAttributes(0x1FF, options.Owner, mtime));
                    break;
                case GemDataEntryType.HardLink:
                    layer.AddHardLink(target, ImagePath.Combine(folder, entry.LinkTarget), new EntryAttributes(entry.Mode, options.Owner, mtime));
                    break;
            }
        }

        foreach (var (path, file, mode) in extensionFiles)
        {
            EnsureParents(path);
            using var s = File.OpenRead(file);
            layer.AddFile(ImagePath.Combine(folder, path), new EntryAttributes(mode, options.Owner, mtime), s, s.Length);
        }

        if (options.Layout == GemLayout.RubyGems3 && source.PrebuiltExtensions is { } built)
        {
            WriteExtensionDir(built, spec, layer, options, gemDir);
        }

        // Wrappers.
        var wrappers = new List<string>();
        foreach (var exe in spec.Executables.Distinct(StringComparer.Ordinal))
        {
            // A symlinked executable (exe/hello -> ../lib/ext/hello) is wrapped like any other: RubyGems reads it
            // through the link.
            if (!ownsWrapper(exe) || package.FindFile(ExecutablePath(spec, exe, options.Layout)) is not { } exeEntry)
            {
                continue; // RubyGems warns "Where did … go??" and writes no wrapper
            }

            var wrapper = ImagePath.Combine(binDir, exe);
            var text = options.Layout == GemLayout.RubyGems3
                ? RubyGems3Layout.AppScriptText(spec.Name, exe, RubyGems3Layout.Shebang(exeEntry.Content, options.RubyPath))
                : AppScriptText(spec.Name, exe, Shebang(exeEntry.Content, options.RubyPath));
            layer.AddFile(wrapper, new EntryAttributes(DirMode, options.Owner, mtime), Encoding.UTF8.GetBytes(text));
            wrappers.Add(wrapper);
        }

        var specFile = ImagePath.Combine(gemDir, $"specifications/{fullName}.gemspec");
        layer.AddFile(specFile, new EntryAttributes(FileMode, options.Owner, mtime), Encoding.UTF8.GetBytes(options.Layout == GemLayout.RubyGems3
            ? GemspecWriter3.ToRubyForCache(spec, package.MetadataYaml, options.RubyGemsVersion, today)
            : GemspecWriter.ToRubyForCache(spec, options.RubyGemsVersion, today)));
        var cacheFile = ImagePath.Combine(gemDir, $"cache/{fullName}.gem");
        layer.AddFile(cacheFile, new EntryAttributes(FileMode, options.Owner, mtime), bytes);
        return new InstalledGem(spec, folder, specFile, cacheFile, wrappers);
    }

    /// <summary>The executable's path in the gem. RubyGems 3 loads a missing bindir as its default, <c>bin</c>;
    /// RubyGems 1.8 kept it nil and took the name as it is.</summary>
    private static string ExecutablePath(GemSpecification spec, string exe, GemLayout layout)
    {
        var bindir = spec.BinDir ?? (layout == GemLayout.RubyGems3 ? "bin" : null);
        var joined = bindir is { Length: > 0 } b ? b.TrimEnd('/') + "/" + exe : exe;
        return ImagePath.TryNormalize(joined, out var p, out _) ? p : exe;
    }

    /// <summary>
    /// RubyGems 3's plugin loaders (<c>generate_plugins</c>): <c>plugins/NAME_plugin.rb</c> (or <c>.so</c>, or no
    /// suffix) for each <c>rubygems_plugin</c> file in a gem's require paths, as sequential installs in item order
    /// leave them: a gem regenerates its name's loaders unless a newer version of it was installed before, and a gem
    /// without plugins removes them.
    /// </summary>
    private static void WritePlugins(IReadOnlyList<GemPackage> packages, LayerWriter layer, GemInstallOptions options, string gemDir)
    {
        var loaders = new SortedDictionary<string, (string Name, string Text)>(StringComparer.Ordinal);
        var installed = new Dictionary<string, GemVersion>(StringComparer.Ordinal); // name -> latest so far
        foreach (var package in packages)
        {
            var spec = package.Specification;
            if (installed.TryGetValue(spec.Name, out var latest) && latest > spec.Version)
            {
                continue;
            }

            var plugins = FindPlugins(package);
            if (plugins.Count == 0)
            {
                foreach (var key in loaders.Keys.Where(k => loaders[k].Name == spec.Name).ToList())
                {
                    loaders.Remove(key);
                }
            }

            foreach (var plugin in plugins)
            {
                loaders[RubyGems3Layout.PluginFileName(spec.Name, plugin)] = (spec.Name, RubyGems3Layout.PluginText(spec.FullName, plugin));
            }

            installed[spec.Name] = latest is not null && latest > spec.Version ? latest : spec.Version;
        }

        foreach (var (file, (_, text)) in loaders)
        {
            layer.AddFile(ImagePath.Combine(gemDir, "plugins/" + file), new EntryAttributes(FileMode, options.Owner, options.ModificationTime),
                Encoding.UTF8.GetBytes(text));
        }
    }

    /// <summary><c>spec.plugins</c>: the <c>rubygems_plugin</c> files of every require path, in glob order.</summary>
    private static List<string> FindPlugins(GemPackage package)
    {
        var paths = package.DataEntries.Where(e => e.Type is GemDataEntryType.File or GemDataEntryType.Symlink or GemDataEntryType.HardLink)
            .Select(e => e.Path).ToHashSet(StringComparer.Ordinal);
        var found = new List<string>();
        foreach (var requirePath in package.Specification.RequirePaths)
        {
            foreach (var name in RubyGems3Layout.PluginNames)
            {
                if (ImagePath.TryNormalize(requirePath + "/" + name, out var p, out _) && paths.Contains(p) && !found.Contains(p))
                {
                    found.Add(p);
                }
            }
        }

        return found;
    }

    /// <summary>RubyGems 3 also keeps built extensions in <c>extensions/PLATFORM/API/FULLNAME/</c> (first in the
    /// gem's load path) with <c>gem.build_complete</c>, without which it refuses to activate the gem.</summary>
    private static void WriteExtensionDir(string built, GemSpecification spec, LayerWriter layer, GemInstallOptions options, string gemDir)
    {
        var dirAttrs = new EntryAttributes(DirMode, options.Owner, options.ModificationTime);
        var extensionDir = ImagePath.Combine(gemDir, RubyGems3Layout.ExtensionDir(options.ExtensionPlatform, options.ExtensionApiVersion, spec.FullName));
        var made = new HashSet<string>(StringComparer.Ordinal) { ImagePath.Combine(gemDir, "extensions") };
        void Dir(string path)
        {
            if (path.Length == 0 || made.Contains(path))
            {
                return;
            }

            Dir(ImagePath.Parent(path));
            layer.AddDirectory(path, dirAttrs);
            made.Add(path);
        }

        Dir(extensionDir);
        foreach (var file in Directory.EnumerateFiles(built, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var target = ImagePath.Combine(extensionDir, Path.GetRelativePath(built, file).Replace('\\', '/'));
            Dir(ImagePath.Parent(target));
            var mode = OperatingSystem.IsWindows() ? 0x1ED : (int)File.GetUnixFileMode(file) & 0x1FF;
            using var s = File.OpenRead(file);
            layer.AddFile(target, new EntryAttributes(mode, options.Owner, options.ModificationTime), s, s.Length);
        }

        layer.AddFile(ImagePath.Combine(extensionDir, RubyGems3Layout.BuildCompleteFile), new EntryAttributes(FileMode, options.Owner, options.ModificationTime), []);
    }

    /// <summary><c>Gem::Installer#shebang</c> of 1.8 (no env shebang): the target ruby, keeping the first option
    /// of the executable's own <c>#!</c> line (<c>-w</c>).</summary>
    internal static string Shebang(byte[] executable, string rubyPath)
    {
        var end = Array.IndexOf(executable, (byte)'\n');
        var firstLine = Encoding.Latin1.GetString(executable, 0, end < 0 ? executable.Length : end + 1);
        var opts = string.Empty;
        if (firstLine.StartsWith("#!", StringComparison.Ordinal))
        {
            var m = ShebangOptionsRegex().Match(firstLine);
            if (m.Success)
            {
                opts = m.Groups[1].Value;
            }
        }

        return $"#!{rubyPath}{opts}";
    }

    /// <summary><c>Gem::Installer#app_script_text</c> of RubyGems 1.8.</summary>
    internal static string AppScriptText(string gemName, string exe, string shebang) =>
        $"""
        {shebang}
        #
        # This file was generated by RubyGems.
        #
        # The application '{gemName}' is installed as part of a gem, and
        # this file is here to facilitate running it.
        #

        require 'rubygems'

        version = ">= 0"

        if ARGV.first =~ /^_(.*)_$/ and Gem::Version.correct? $1 then
          version = $1
          ARGV.shift
        end

        gem '{gemName}', version
        load Gem.bin_path('{gemName}', '{exe}', version)

        """;

    [GeneratedRegex(@"\A#!.*?ruby[^ \t\r\n\f]*(?=([ \t\r\n\f]+[^ \t\r\n\f]+))", RegexOptions.CultureInvariant)]
    private static partial Regex ShebangOptionsRegex();
}
