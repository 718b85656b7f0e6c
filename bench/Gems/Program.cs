using System.Diagnostics;
using System.Globalization;
using Razor.Microkernel.Formats.Gems;
using Razor.Microkernel.Formats.Layers;

// Usage: dotnet run -c Release --project bench/Gems [-- COUNT]
// Generates COUNT pure-Ruby gems with Debian's RubyGems (one ruby process), then times, in the same run,
// GemInstaller into a layer and `gem install --local --install-dir … --ignore-dependencies --no-document`.
var count = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 50;
var work = Path.Combine(Path.GetTempPath(), "rmk-bench-gems-" + Guid.NewGuid().ToString("N")[..8]);
Directory.CreateDirectory(work);
try
{
    const string generator = """
        require 'rubygems/package'
        require 'fileutils'
        n = Integer(ARGV[0])
        n.times do |i|
          name = "bench#{i}"
          dir = File.join(Dir.pwd, 'src', name)
          FileUtils.mkdir_p File.join(dir, 'lib', name)
          FileUtils.mkdir_p File.join(dir, 'bin')
          File.write File.join(dir, 'lib', "#{name}.rb"), "module Bench#{i}\n  VERSION = '1.#{i}.0'\nend\n"
          20.times { |j| File.write File.join(dir, 'lib', name, "part#{j}.rb"), "# part #{j}\n" + ("x = 1\n" * 200) }
          File.write File.join(dir, 'bin', name), "#!/usr/bin/env ruby\nputs :hi\n"
          File.chmod 0755, File.join(dir, 'bin', name)
          Dir.chdir dir do
            spec = Gem::Specification.new do |s|
              s.name = name; s.version = "1.#{i}.0"; s.summary = "bench"; s.authors = ['bench']
              s.files = Dir['lib/**/*.rb'] + ["bin/#{name}"]; s.executables = [name]
            end
            FileUtils.mv Gem::Package.build(spec), File.join('..', '..')
          end
        end
        """;
    Run("ruby", work, "-e", generator, count.ToString(CultureInfo.InvariantCulture));
    var gems = Directory.GetFiles(work, "*.gem").Order(StringComparer.Ordinal).ToList();

    var ours = Stopwatch.StartNew();
    using (var w = new LayerWriter(File.Create(Path.Combine(work, "gems.tar"))))
    {
        GemInstaller.Install(gems.Select(g => GemSource.FromFile(g)).ToList(), w);
        w.Finish();
    }

    ours.Stop();

    var debian = Stopwatch.StartNew();
    var dest = Path.Combine(work, "debian");
    Run("gem", work, ["install", "--local", "--install-dir", dest, "--bindir", Path.Combine(dest, "bin"), "--ignore-dependencies", "--no-document", .. gems]);
    debian.Stop();

    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{gems.Count} gems: GemInstaller {ours.Elapsed.TotalMilliseconds:F0} ms, gem install {debian.Elapsed.TotalMilliseconds:F0} ms, ratio {ours.Elapsed / debian.Elapsed:F3}"));
}
finally
{
    Directory.Delete(work, recursive: true);
}

static void Run(string tool, string cwd, params string[] args)
{
    var psi = new ProcessStartInfo(tool) { WorkingDirectory = cwd, RedirectStandardOutput = true, RedirectStandardError = true };
    foreach (var a in args)
    {
        psi.ArgumentList.Add(a);
    }

    psi.Environment["HOME"] = cwd;
    psi.Environment.Remove("GEM_HOME");
    psi.Environment.Remove("GEM_PATH");
    using var p = Process.Start(psi)!;
    var err = p.StandardError.ReadToEndAsync();
    _ = p.StandardOutput.ReadToEnd();
    p.WaitForExit();
    if (p.ExitCode != 0)
    {
        throw new InvalidOperationException($"{tool} failed: {err.Result}");
    }
}
