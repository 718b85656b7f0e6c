using System.Globalization;
using Microsoft.Build.Framework;
using Razor.Microkernel.Formats;
using Razor.Microkernel.Formats.Gems;
using Razor.Microkernel.Formats.Layers;

namespace Razor.Microkernel.Tasks;

/// <summary>
/// Installs the RubyGems tarball (as its setup.rb would) and the gems (as the target RubyGems' —
/// 1.8's or 3's — <c>gem install --local --install-dir GEMHOME --bindir BINDIR</c> would) into one layer, without Ruby.
/// </summary>
public sealed class InstallGems : LayerTask
{
    public ITaskItem[] Gems { get; set; } = [];

    public ITaskItem? RubyGems { get; set; }

    /// <summary>The target's Ruby, e.g. 1.8.7; its major.minor picks the gem and site_ruby folders.</summary>
    [Required]
    public string RubyVersion { get; set; } = "1.8.7";

    public string RubyGemsVersion { get; set; } = "1.8.15";

    public string? GemHome { get; set; }

    [Required]
    public string GemBinDir { get; set; } = "/usr/local/bin";

    [Required]
    public string RubyPath { get; set; } = "/usr/local/bin/ruby";

    /// <summary>Seconds since the epoch: the entries' time and the day written for gems without a date.</summary>
    public string? SourceDateEpoch { get; set; }

    /// <summary>Preinstall (default): installed as gem install would. BootTime: the .gem files are staged and the
    /// boot hook installs them, as Razor did.</summary>
    public string? InstallMode { get; set; }

    /// <summary>As <c>gem install --ignore-dependencies</c>: runtime dependencies missing from the set are not an error.</summary>
    public bool IgnoreDependencies { get; set; }

    /// <summary>The target Ruby's <c>Gem::Platform.local</c> (<c>x86-linux</c> for Tiny Core's 32-bit Ruby): RubyGems 3 keeps
    /// built extensions in <c>extensions/PLATFORM/…</c>.</summary>
    public string RubyPlatform { get; set; } = "x86-linux";

    [Output]
    public ITaskItem[] InstalledGems { get; private set; } = [];

    protected override bool Write(LayerWriter writer)
    {
        if (!PropertyChecks.IsGemInstallMode(InstallMode))
        {
            LogPropertyError("GemInstallMode", "InvalidGemInstallMode", InstallMode);
            return false;
        }

        if (!PropertyChecks.IsRubyVersion(RubyVersion))
        {
            LogPropertyError("RubyVersion", "InvalidRubyVersion", RubyVersion);
            return false;
        }

        var parts = RubyVersion.Trim().Split('.');

        var series = parts[0] + "." + parts[1];
        if (!GemLayouts.TryFor(RubyGemsVersion, out var layout))
        {
            LogPropertyError("RubyGemsVersion", "UnsupportedRubyGemsVersion", RubyGemsVersion);
            return false;
        }

        if (!System.Text.RegularExpressions.Regex.IsMatch(RubyPlatform, @"\A[A-Za-z0-9_]+(-[A-Za-z0-9_.]+)*\z"))
        {
            LogPropertyError("RubyPlatform", "InvalidRubyPlatform", RubyPlatform);
            return false;
        }

        // Two numbers name a series (the issue's `1.8`): checks use its last release, the Ruby a target of that series has.
        var rubyVersion = parts.Length > 2 ? RubyVersion.Trim() : series switch
        {
            "1.8" => "1.8.7",
            "1.9" => "1.9.3",
            _ => series,
        };
        // Ruby's library folder name (RbConfig ruby_version): 1.8 for 1.8.x, 1.9.1 for every 1.9.x, X.Y.0 from 2.0 on.
        var libraryVersion = series switch
        {
            "1.9" => "1.9.1",
            _ when int.TryParse(parts[0], System.Globalization.CultureInfo.InvariantCulture, out var major) && major >= 2 => series + ".0",
            _ => series,
        };
        string gemHome, binDir, siteRuby;
        try
        {
            gemHome = ImagePath.Normalize(string.IsNullOrWhiteSpace(GemHome) ? $"/usr/local/lib/ruby/gems/{libraryVersion}" : GemHome);
            binDir = ImagePath.Normalize(GemBinDir);
            siteRuby = ImagePath.Normalize($"/usr/local/lib/ruby/site_ruby/{libraryVersion}");
        }
        catch (InvalidImagePathException e)
        {
            LogPropertyError(string.IsNullOrWhiteSpace(GemHome) ? "GemBinDir" : "GemHome", "InvalidImagePath", "property", "GemHome/GemBinDir", e.ImagePathText, e.Reason);
            return false;
        }

        foreach (var gem in Gems.Where(g => !File.Exists(g.GetMetadata("FullPath"))))
        {
            LogItemError(gem, "Gem", "SourceFileMissing", "Gem", gem.ItemSpec);
        }

        if (RubyGems is not null && !File.Exists(RubyGems.GetMetadata("FullPath")))
        {
            LogItemError(RubyGems, "RubyGems", "SourceFileMissing", "RubyGems", RubyGems.ItemSpec);
        }

        if (Log.HasLoggedErrors)
        {
            return false;
        }

        if (!TryGetModificationTime(SourceDateEpoch, out var mtime))
        {
            return false;
        }

        try
        {
            if (RubyGems is not null)
            {
                using var tarball = File.OpenRead(RubyGems.GetMetadata("FullPath"));
                var r = RubyGemsInstaller.Install(tarball, writer, new RubyGemsInstallOptions
                {
                    SiteRubyDir = siteRuby,
                    BinDir = binDir,
                    RubyPath = RubyPath,
                    RubyVersion = rubyVersion,
                    ModificationTime = mtime,
                });
                Log.LogMessageFromResources(MessageImportance.Normal, "RubyGemsInstalled", r.TopFolder, r.LibraryFiles.Count, "/" + siteRuby);
            }

            var sources = Gems.Select(g =>
            {
                var prebuilt = g.GetMetadata("PrebuiltExtensions");
                return GemSource.FromFile(g.GetMetadata("FullPath"), string.IsNullOrWhiteSpace(prebuilt) ? null : Path.GetFullPath(prebuilt)) with { DisplayName = Display(g) };
            }).ToList();
            var options = new GemInstallOptions
            {
                GemDir = gemHome,
                BinDir = binDir,
                RubyPath = RubyPath,
                RubyVersion = rubyVersion,
                RubyGemsVersion = RubyGemsVersion,
                ModificationTime = mtime,
                CheckDependencies = !IgnoreDependencies,
                Layout = layout,
                ExtensionApiVersion = libraryVersion,
                ExtensionPlatform = RubyPlatform,
            };
            if (string.Equals(InstallMode?.Trim(), "BootTime", StringComparison.OrdinalIgnoreCase))
            {
                GemInstaller.Stage(sources, writer, GemInstaller.DefaultStagingDir, options, CancellationToken);
                foreach (var g in Gems)
                {
                    Log.LogMessageFromResources(MessageImportance.Normal, "GemStaged", GemName(g),
                        Bytes(new FileInfo(g.GetMetadata("FullPath")).Length), "/" + GemInstaller.DefaultStagingDir);
                }

                Log.LogMessageFromResources(MessageImportance.Normal, "GemsStaged", sources.Count, "/" + GemInstaller.DefaultStagingDir);
                return true;
            }

            var installed = GemInstaller.Install(sources, writer, options, CancellationToken);
            InstalledGems = installed.Select(i =>
            {
                var item = new Microsoft.Build.Utilities.TaskItem(i.Specification.Name);
                item.SetMetadata("Version", i.Specification.Version.ToString());
                item.SetMetadata("Platform", i.Specification.Platform);
                item.SetMetadata("GemFolder", "/" + i.GemFolder);
                Log.LogMessageFromResources(MessageImportance.Normal, "GemInstalled", i.Specification.FullName, "/" + i.GemFolder);
                return (ITaskItem)item;
            }).ToArray();
            return true;
        }
        catch (GemDependencyException e)
        {
            LogGemError(e.Unmet.Count > 0 ? e.Unmet[0].Gem : null, "GemDependencies", string.Join("; ", e.Unmet.Select(u => u.ToString())));
        }
        catch (GemChecksumException e)
        {
            LogGemError(e.Gem, "GemChecksum", e.Gem, e.Algorithm, e.Entry, e.Expected, e.Actual);
        }
        catch (GemChecksumsUnusableException e)
        {
            LogGemError(e.Gem, "GemChecksumsUnusable", e.Gem, e.Reason);
        }
        catch (GemUnsafeEntryException e)
        {
            LogGemError(e.Gem, "GemUnsafeEntry", e.Gem, e.Entry ?? "", e.Reason);
        }
        catch (GemUnsupportedException e)
        {
            LogGemError(e.Gem, "GemUnsupported", e.Gem, e.Reason);
        }
        catch (GemLimitException e)
        {
            LogGemError(e.Gem, "GemLimit", e.Gem, e.Message);
        }
        catch (GemException e)
        {
            LogGemError(e.Gem, "GemMalformed", e.Gem, e.Message);
        }
        catch (RubyGemsTarballException e)
        {
            LogItemError(RubyGems, "RubyGems", "RubyGemsMalformed", RubyGems?.ItemSpec ?? "", e.Message);
        }
        catch (LayerConflictException e)
        {
            LogItemError(null, "Gem", "GemConflict", e.PathInImage, e.Reason);
        }

        return false;
    }

    /// <summary>The Gem item a gem's messages name (its path, URL or NAME-VERSION), for the error's location.</summary>
    private static string Display(ITaskItem g) => g.GetMetadata("SourceUrl") is { Length: > 0 } url ? url : g.ItemSpec;

    /// <summary>NAME-VERSION of a Gem item: its file name (or a downloaded gem's, RmkName) without .gem.</summary>
    private static string GemName(ITaskItem g) => Path.GetFileNameWithoutExtension(g.GetMetadata("RmkName") is { Length: > 0 } n ? n : g.ItemSpec);

    private void LogGemError(string? gem, string resource, params object?[] args)
    {
        var item = gem is null ? null : Gems.FirstOrDefault(g => Display(g) == gem)
            ?? Gems.FirstOrDefault(g => string.Equals(GemName(g), gem, StringComparison.Ordinal));
        LogItemError(item, "Gem", resource, args);
    }
}
