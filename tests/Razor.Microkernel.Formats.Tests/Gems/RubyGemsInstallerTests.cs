using System.Security.Cryptography;
using Razor.Microkernel.Formats.Gems;
using Razor.Microkernel.Formats.Layers;
using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Formats.Tests.Gems;

public class RubyGemsInstallerTests
{
    private const string SiteRuby = "usr/local/lib/ruby/site_ruby/1.8";

    /// <summary>The steps of RubyGems 1.8.15's <c>setup</c> command that write files (install_lib and
    /// install_executables, with format_executable for a ruby named "ruby"), run by Debian's ruby.</summary>
    private const string SetupSteps = """
        require 'fileutils'
        include FileUtils
        src, lib_dir, bin_dir, ruby = ARGV
        Dir.chdir src
        mkdir_p lib_dir
        mkdir_p bin_dir
        Dir.chdir 'lib' do
          Dir[File.join('**', '*rb')].each do |lib_file|
            dest_file = File.join lib_dir, lib_file
            dest_dir = File.dirname dest_file
            mkdir_p dest_dir unless File.directory? dest_dir
            install lib_file, dest_file, :mode => 0644
          end
        end
        Dir.chdir 'bin' do
          bin_files = Dir['*']
          bin_files.delete 'update_rubygems'
          bin_files.each do |bin_file|
            dest_file = File.join bin_dir, bin_file
            bin = File.readlines bin_file
            bin[0] = "#!#{ruby}\n"
            File.open(dest_file, 'w') { |fp| fp.puts bin.join }
            chmod 0755, dest_file
          end
        end
        """;

    private static string MakeTarball(TempFolder tmp)
    {
        const string top = "src/rubygems-1.8.15/";
        tmp.Write(top + "setup.rb", "# setup\n");
        tmp.Write(top + "README.rdoc", "readme\n");
        tmp.Write(top + "History.txt", "=== 1.8.15\n");
        tmp.Write(top + "lib/rubygems.rb", "module Gem\n  VERSION = '1.8.15'\nend\n");
        tmp.Write(top + "lib/ubygems.rb", "require 'rubygems'\n");
        tmp.Write(top + "lib/rubygems/version.rb", "class Gem::Version; end\n");
        tmp.Write(top + "lib/rubygems/commands/setup_command.rb", "# setup command\n");
        tmp.Write(top + "lib/rubygems/ssl_certs/ca-bundle.pem", "-----BEGIN CERTIFICATE-----\n");
        tmp.Write(top + "lib/rubygems/.hidden.rb", "# hidden\n");
        tmp.Write(top + "bin/gem", "#!/usr/bin/env ruby\n#--\nrequire 'rubygems'\nputs Gem::VERSION"); // no final newline
        tmp.Write(top + "bin/update_rubygems", "#!/usr/bin/env ruby\n");
        tmp.Write(top + "test/test_gem.rb", "# test\n");
        var tarball = tmp["rubygems-1.8.15.tgz"];
        Tool.Run("tar", "-czf", tarball, "-C", tmp["src"], "rubygems-1.8.15").EnsureSuccess("tar -cz");
        return tarball;
    }

    private static SortedDictionary<string, string> Tree(string folder)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in Directory.EnumerateFileSystemEntries(folder, "*", SearchOption.AllDirectories))
        {
            var mode = OperatingSystem.IsWindows() ? "?" : Convert.ToString((int)File.GetUnixFileMode(entry), 8);
            result[Path.GetRelativePath(folder, entry)] = Directory.Exists(entry)
                ? $"dir {mode}"
                : $"file {mode} {Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(entry)))}";
        }

        return result;
    }

    [Fact]
    public void Install_WritesWhatSetupWritesAndNothingElse()
    {
        using var tmp = new TempFolder();
        var tarball = MakeTarball(tmp);
        var layer = tmp["layer.tar"];
        RubyGemsInstallResult result;
        using (var w = new LayerWriter(File.Create(layer)))
        {
            using var s = File.OpenRead(tarball);
            result = RubyGemsInstaller.Install(s, w, new RubyGemsInstallOptions { ModificationTime = 1326000000 });
            w.Finish();
        }

        Assert.Equal("rubygems-1.8.15", result.TopFolder);
        Assert.Equal(["usr/local/bin/gem"], result.Commands);
        var ours = tmp["ours"];
        Directory.CreateDirectory(ours);
        Tool.Run("tar", "-xpf", layer, "-C", ours).EnsureSuccess("tar -x");

        var expected = tmp["expected"];
        Tool.Run("ruby", ["-e", SetupSteps, tmp["src/rubygems-1.8.15"], Path.Combine(expected, SiteRuby), Path.Combine(expected, "usr/local/bin"), "/usr/local/bin/ruby"])
            .EnsureSuccess("setup steps");
        foreach (var sub in new[] { SiteRuby, "usr/local/bin" })
        {
            Assert.Equal(Tree(Path.Combine(expected, sub)), Tree(Path.Combine(ours, sub)));
        }

        // Nothing else: every entry of the layer is under site_ruby or is the gem command (or a parent folder).
        var entries = LayerReader.ReadAll(layer);
        Assert.All(entries.Where(e => !e.Implicit), e => Assert.True(e.Path.StartsWith(SiteRuby + "/", StringComparison.Ordinal) || e.Path == "usr/local/bin/gem", e.Path));
        Assert.Equal("#!/usr/local/bin/ruby\n#--\nrequire 'rubygems'\nputs Gem::VERSION\n", File.ReadAllText(Path.Combine(ours, "usr/local/bin/gem")));
        Assert.False(File.Exists(Path.Combine(ours, SiteRuby, "rubygems/ssl_certs/ca-bundle.pem")));
    }

    [Fact]
    public void Install_RefusesATarballWithoutSetup()
    {
        using var tmp = new TempFolder();
        tmp.Write("src/x/lib/rubygems.rb", "");
        Tool.Run("tar", "-czf", tmp["x.tgz"], "-C", tmp["src"], "x").EnsureSuccess("tar");
        using var w = new LayerWriter(new MemoryStream());
        using var s = File.OpenRead(tmp["x.tgz"]);
        Assert.Throws<RubyGemsTarballException>(() => RubyGemsInstaller.Install(s, w));
    }

    [Fact]
    public void Install_RefusesEscapingEntriesAndGarbage()
    {
        using var tmp = new TempFolder();
        tmp.Write("src/rubygems-1.8.15/setup.rb", "");
        Tool.Run("tar", "-czf", tmp["evil.tgz"], "-C", tmp["src"], "--transform", "s,^rubygems-1.8.15/setup.rb,../../etc/evil.rb,", "rubygems-1.8.15/setup.rb")
            .EnsureSuccess("tar");
        using var w = new LayerWriter(new MemoryStream());
        using (var s = File.OpenRead(tmp["evil.tgz"]))
        {
            Assert.Throws<RubyGemsTarballException>(() => RubyGemsInstaller.Install(s, w));
        }

        Assert.Throws<RubyGemsTarballException>(() => RubyGemsInstaller.Install(new MemoryStream([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]), w));
        Assert.Throws<RubyGemsTarballException>(() =>
            RubyGemsInstaller.Install(new MemoryStream(), w, new RubyGemsInstallOptions { RubyVersion = "1.8.6" }));
        Assert.Equal(0, w.EntryCount);
    }
}
