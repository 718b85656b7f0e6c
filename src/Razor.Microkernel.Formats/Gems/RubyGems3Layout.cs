using System.Text;

namespace Razor.Microkernel.Formats.Gems;

/// <summary>
/// What <c>Gem::Installer</c> of RubyGems 3.3 writes besides the gem's own files: the gem home's folders, the
/// executable wrappers (<c>app_script_text</c>, <c>shebang</c>), the plugin loaders (<c>regenerate_plugins_for</c>)
/// and where built extensions go (<c>extension_dir</c>).
/// </summary>
public static class RubyGems3Layout
{
    /// <summary><c>Gem::REPOSITORY_SUBDIRECTORIES</c>: made in every gem home, empty or not.</summary>
    public static IReadOnlyList<string> Subdirectories { get; } = ["build_info", "cache", "doc", "extensions", "gems", "plugins", "specifications"];

    /// <summary>The file a plugin loader for <paramref name="gemName"/> gets: <c>NAME_plugin</c> with the plugin's own
    /// extension (<c>.rb</c>, <c>.so</c> or none).</summary>
    public static string PluginFileName(string gemName, string pluginPath)
    {
        var name = pluginPath[(pluginPath.LastIndexOf('/') + 1)..];
        var dot = name.LastIndexOf('.');
        return gemName + "_plugin" + (dot > 0 ? name[dot..] : "");
    }

    /// <summary>The plugin loader's text: a <c>require_relative</c> of the plugin from the plugins folder.</summary>
    /// <param name="gemFolderName">FULLNAME (the gem's folder under <c>gems/</c>).</param>
    /// <param name="pluginPath">The plugin's path in the gem (normalised, e.g. <c>lib/rubygems_plugin.rb</c>).</param>
    public static string PluginText(string gemFolderName, string pluginPath) => $"require_relative '../gems/{gemFolderName}/{pluginPath}'\n";

    /// <summary>The names a plugin may have in a require path (<c>rubygems{Gem.plugin_suffix_pattern}</c>, in glob
    /// order: no suffix, <c>.rb</c>, then the shared-library suffix of Linux).</summary>
    public static IReadOnlyList<string> PluginNames { get; } = ["rubygems_plugin", "rubygems_plugin.rb", "rubygems_plugin.so"];

    /// <summary>The empty file RubyGems 3 checks before it activates a gem with extensions.</summary>
    public const string BuildCompleteFile = "gem.build_complete";

    /// <summary><c>Gem::Installer#shebang</c> of 3.3 (no env shebang, no custom shebang, no bash prolog): the target
    /// ruby followed by every word after <c>ruby…</c> on the executable's own <c>#!</c> line.</summary>
    public static string Shebang(byte[] executable, string rubyPath)
    {
        // first_line = file.gets; sub(/\A#!.*?ruby\S*((\s+\S+)+)/) keeps $1.
        var end = Array.IndexOf(executable, (byte)'\n');
        var line = Encoding.Latin1.GetString(executable, 0, end < 0 ? executable.Length : end + 1);
        var opts = "";
        if (line.StartsWith("#!", StringComparison.Ordinal) && ShebangOptions(line) is { } o)
        {
            opts = o;
        }

        return $"#!{rubyPath}{opts}";
    }

    private static bool IsSpace(char c) => c is ' ' or '\t' or '\n' or '\v' or '\f' or '\r';

    /// <summary>The $1 of <c>/\A#!.*?ruby\S*((\s+\S+)+)/</c> on one line (<c>.</c> never matches a line break), or null.</summary>
    private static string? ShebangOptions(string line)
    {
        // The lazy .*? takes the first "ruby" after which the rest can match; \S* is greedy but gives back, so
        // what follows "ruby" up to the first white space belongs to \S*, and the options are every following
        // (white space, word) pair, the last word being the last non-white-space run of the line.
        for (var at = line.IndexOf("ruby", 2, StringComparison.Ordinal); at >= 0; at = line.IndexOf("ruby", at + 1, StringComparison.Ordinal))
        {
            if (line.AsSpan(2, at - 2).Contains('\n'))
            {
                return null;
            }

            var i = at + 4;
            while (i < line.Length && !IsSpace(line[i]))
            {
                i++;
            }

            // Greedy (\s+\S+)+ from i: take white space then a word, repeatedly; it must take at least one pair.
            var start = i;
            var lastEnd = -1;
            while (true)
            {
                var j = i;
                while (j < line.Length && IsSpace(line[j]))
                {
                    j++;
                }

                if (j == i || j >= line.Length)
                {
                    break;
                }

                var k = j;
                while (k < line.Length && !IsSpace(line[k]))
                {
                    k++;
                }

                lastEnd = k;
                i = k;
            }

            if (lastEnd > 0)
            {
                return line[start..lastEnd];
            }

            // With no option after this "ruby", \S* can give back characters only to find "ruby" again further on.
        }

        return null;
    }

    /// <summary><c>Gem::Installer#app_script_text</c> of RubyGems 3.3 (with its <c>gemdeps_load</c> and
    /// <c>explicit_version_requirement</c>, which treat bundler differently).</summary>
    public static string AppScriptText(string gemName, string exe, string shebang)
    {
        var gemdeps = gemName == "bundler" ? "" : "\nGem.use_gemdeps\n";
        var explicitVersion = gemName == "bundler" ? "version = str\n    ENV['BUNDLER_VERSION'] = str\n" : "version = str";
        return $"""
            {shebang}
            #
            # This file was generated by RubyGems.
            #
            # The application '{gemName}' is installed as part of a gem, and
            # this file is here to facilitate running it.
            #

            require 'rubygems'
            {gemdeps}
            version = ">= 0.a"

            str = ARGV.first
            if str
              str = str.b[/\A_(.*)_\z/, 1]
              if str and Gem::Version.correct?(str)
                {explicitVersion}
                ARGV.shift
              end
            end

            if Gem.respond_to?(:activate_bin_path)
            load Gem.activate_bin_path('{gemName}', '{exe}', version)
            else
            gem {RubyString.Dump(gemName)}, version
            load Gem.bin_path({RubyString.Dump(gemName)}, {RubyString.Dump(exe)}, version)
            end

            """;
    }

    /// <summary><c>Gem::Installer#verify_spec</c> of 3.3: why RubyGems 3 refuses to install this specification, or
    /// null. (An old gem without <c>specification_version</c> loads as -1, which it refuses.)</summary>
    public static string? Refusal(GemSpecification spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        static bool LineBreak(string s) => s.Any(c => c is '\n' or '\v' or '\f' or '\r' or '\u0085' or '\u2028' or '\u2029');
        if (spec.Name.Length == 0 || !spec.Name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_'))
        {
            return "has an invalid name";
        }

        if (spec.RequirePaths.Any(LineBreak))
        {
            return "has an invalid require_paths";
        }

        if (spec.Extensions.Any(LineBreak))
        {
            return "has an invalid extensions";
        }

        if (LineBreak(spec.Platform))
        {
            return "has an invalid platform";
        }

        if (spec.SpecificationVersion < 0)
        {
            return "has an invalid specification_version";
        }

        if (spec.Dependencies.Any(d => d.Type is not ("runtime" or "development") || LineBreak(d.Name) || d.Name.Contains('<', StringComparison.Ordinal)
                                       || d.Name.Contains('>', StringComparison.Ordinal)))
        {
            return "has an invalid dependencies";
        }

        return null;
    }

    /// <summary><c>Gem::BasicSpecification#extension_dir</c> below the gem home:
    /// <c>extensions/PLATFORM/API_VERSION/FULLNAME</c>.</summary>
    public static string ExtensionDir(string platform, string apiVersion, string fullName) => $"extensions/{platform}/{apiVersion}/{fullName}";
}
