using System.Text.RegularExpressions;
using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Sdk.Tests;

/// <summary>Local .tcz files (SquashFS 4.0 images made with Debian's mksquashfs as Tiny Core 4.x made them)
/// through `dotnet build`: the overlay holds what unsquashfs reports, entry for entry.</summary>
public class TczImageTests
{
    /// <summary>Builds a .tcz from a tree with files, links, modes and owners: -b 4096 -no-xattrs, gzip.</summary>
    private static void MakeTcz(TestProject p, string name, Action<string> fill)
    {
        var tree = p[$"trees/{name}"];
        Directory.CreateDirectory(tree);
        fill(tree);
        Tool.Run("mksquashfs", tree, p[name + ".tcz"], "-b", "4096", "-no-xattrs", "-noappend", "-quiet", "-mkfs-time", "1329004800", "-all-time", "1329004800")
            .EnsureSuccess("mksquashfs");
    }

    private static void Ruby(string tree)
    {
        Directory.CreateDirectory(Path.Combine(tree, "usr/local/bin"));
        Directory.CreateDirectory(Path.Combine(tree, "usr/local/lib/ruby/1.8"));
        Directory.CreateDirectory(Path.Combine(tree, "usr/local/share/empty"));
        File.WriteAllText(Path.Combine(tree, "usr/local/bin/ruby"), "#!ELF ruby\n" + new string('r', 9000));
        File.SetUnixFileMode(Path.Combine(tree, "usr/local/bin/ruby"), (UnixFileMode)Convert.ToInt32("755", 8));
        File.WriteAllText(Path.Combine(tree, "usr/local/lib/libruby.so.1.8.7"), new string('l', 5000));
        File.CreateSymbolicLink(Path.Combine(tree, "usr/local/lib/libruby.so"), "libruby.so.1.8.7");
        Tool.Run("ln", Path.Combine(tree, "usr/local/bin/ruby"), Path.Combine(tree, "usr/local/bin/ruby1.8")).EnsureSuccess("ln");
        File.WriteAllText(Path.Combine(tree, "usr/local/lib/ruby/1.8/fileutils.rb"), "module FileUtils; end\n");
        File.WriteAllText(Path.Combine(tree, "usr/local/bin/suid"), "s");
        File.SetUnixFileMode(Path.Combine(tree, "usr/local/bin/suid"), (UnixFileMode)Convert.ToInt32("4755", 8));
        Tool.Run("chown", "1001:50", Path.Combine(tree, "usr/local/lib/ruby/1.8/fileutils.rb")).EnsureSuccess("chown");
    }

    private static void UtilLinux(string tree)
    {
        foreach (var (dir, file) in new[] { ("usr/local/bin", "lscpu"), ("usr/local/bin", "mount"), ("usr/local/sbin", "sfdisk"), ("usr/local/sbin", "fdisk") })
        {
            Directory.CreateDirectory(Path.Combine(tree, dir));
            File.WriteAllText(Path.Combine(tree, dir, file), file + "\n");
            File.SetUnixFileMode(Path.Combine(tree, dir, file), (UnixFileMode)Convert.ToInt32("755", 8));
        }
    }

    /// <summary>unsquashfs -lln lines as "mode owner size path[ -> target]" (times and padding dropped).</summary>
    private static List<string> Unsquashfs(string image, string prefix = "")
        => Tool.Run("unsquashfs", "-lln", "-d", "", image).EnsureSuccess("unsquashfs -lln").StdOut
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => Regex.Match(l, @"^(\S+) (\d+)/(\d+)\s+(\d+) \S+ \S+ (.*)$"))
            .Where(m => m.Success && m.Groups[5].Value.Length > 0 && m.Groups[5].Value != "/")
            .Select(m => $"{m.Groups[1].Value} {m.Groups[2].Value}/{m.Groups[3].Value} {(m.Groups[1].Value[0] is 'd' or 'l' ? "0" : m.Groups[4].Value)} {prefix}{m.Groups[5].Value.TrimStart('/')}")
            .ToList();

    private static List<string> Overlay(TestProject p)
        => Tool.Run("tar", "--numeric-owner", "-tvzf", p.Overlay).EnsureSuccess("tar -tvzf").StdOut
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => Regex.Match(l, @"^(\S+) (\d+)/(\d+)\s+(\d+) \S+ \S+ (.*)$"))
            .Select(m => $"{m.Groups[1].Value} {m.Groups[2].Value}/{m.Groups[3].Value} {m.Groups[4].Value} {m.Groups[5].Value.TrimEnd('/')}")
            .ToList();

    [Fact]
    public void TczImage_WholeImage_OverlayHoldsWhatUnsquashfsReports()
    {
        var p = SdkHarness.CreateProject("tcz");
        MakeTcz(p, "ruby", Ruby);
        p.WithProject("<ItemGroup><TczImage Include=\"ruby.tcz\" /></ItemGroup>");
        p.Build().AssertSuccess();
        var expected = Unsquashfs(p["ruby.tcz"])
            // GNU tar shows the second name of a hard link as a link of size 0
            .Select(l => l.EndsWith(" usr/local/bin/ruby1.8", StringComparison.Ordinal) ? Regex.Replace(l, @"^-(\S+) (\S+) \d+ ", "h$1 $2 0 ") + " link to usr/local/bin/ruby" : l)
            .Order(StringComparer.Ordinal).ToList();
        var actual = Overlay(p).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(expected, actual);

        var second = p.Build().AssertSuccess();
        Assert.Contains("RmkTczImageLayers", second.TargetsSkipped);
        Assert.Empty(second.TargetsRun);
    }

    [Fact]
    public void TczImage_FilesAndPrefix_KeepOnlyThosePathsBelowThePrefix()
    {
        var p = SdkHarness.CreateProject("tczsub");
        MakeTcz(p, "util-linux", UtilLinux);
        p.WithProject("""
            <ItemGroup>
              <TczImage Include="util-linux.tcz" Files="usr/local/bin/lscpu;usr/local/sbin/sfdisk" Prefix="/tmp/tcloop/util-linux" />
              <OverlaySymlink Include="/usr/local/bin/lscpu" LinkTarget="/tmp/tcloop/util-linux/usr/local/bin/lscpu" />
              <OverlaySymlink Include="/usr/local/sbin/sfdisk" LinkTarget="/tmp/tcloop/util-linux/usr/local/sbin/sfdisk" />
            </ItemGroup>
            """);
        p.Build().AssertSuccess();
        var paths = Overlay(p).Select(l => l.Split(' ', 4)[3]).ToList();
        Assert.Contains("tmp/tcloop/util-linux/usr/local/bin/lscpu", paths);
        Assert.Contains("tmp/tcloop/util-linux/usr/local/sbin/sfdisk", paths);
        Assert.DoesNotContain(paths, x => x.EndsWith("/mount", StringComparison.Ordinal) || x.EndsWith("/fdisk", StringComparison.Ordinal));
        Assert.Contains("usr/local/bin/lscpu -> /tmp/tcloop/util-linux/usr/local/bin/lscpu", paths);
        using var root = new TempFolder("rmk-extract");
        Tool.Run("tar", "-xzf", p.Overlay, "-C", root.Path).EnsureSuccess("tar -xzf");
        Assert.Equal("lscpu\n", File.ReadAllText(root["tmp/tcloop/util-linux/usr/local/bin/lscpu"]));
    }

    [Fact]
    public void TczImage_Truncated_IsACodedErrorNamingTheImage_AndNoLayer()
    {
        var p = SdkHarness.CreateProject("tczbad");
        MakeTcz(p, "ruby", Ruby);
        // mksquashfs pads the file to 4 KiB: cut inside the bytes the superblock says are used.
        var bytes = File.ReadAllBytes(p["ruby.tcz"]);
        var used = (int)BitConverter.ToInt64(bytes, 40);
        File.WriteAllBytes(p["ruby.tcz"], bytes[..(used / 2)]);
        p.WithProject("<ItemGroup><TczImage Include=\"ruby.tcz\" /></ItemGroup>");
        var r = p.Build().AssertFailureWith("RMK3101");
        Assert.Contains("TczImage 'ruby.tcz'", r.Output);
        Assert.DoesNotContain(p.Files(), f => f.EndsWith(".tar", StringComparison.Ordinal) || f.EndsWith(".tmp", StringComparison.Ordinal));
    }

    [Fact]
    public void TczImage_Missing_IsACodedError()
    {
        var p = SdkHarness.CreateProject("tczmissing");
        p.WithProject("<ItemGroup><TczImage Include=\"nothere.tcz\" /></ItemGroup>");
        p.Build().AssertFailureWith("RMK2011");
    }
}
