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
        Assert.Matches(@"RMK3101: TczImage 'ruby\.tcz' is not a valid SquashFS image: .+ \(at byte \d+\)", r.Output);
        Assert.DoesNotContain(p.Files(), f => f.EndsWith(".tar", StringComparison.Ordinal) || f.EndsWith(".tmp", StringComparison.Ordinal));
    }

    [Fact]
    public void TczImage_SocketAndXattrs_AreWarningsNamingTheImage_OncePerImage_AndTheRestIsExtracted()
    {
        var p = SdkHarness.CreateProject("tczwarn");
        var tree = p["trees/sock"];
        Directory.CreateDirectory(Path.Combine(tree, "var/run"));
        File.WriteAllText(Path.Combine(tree, "var/a.txt"), "a\n");
        File.WriteAllText(Path.Combine(tree, "var/b.txt"), "b\n");
        foreach (var f in new[] { "var/a.txt", "var/b.txt" })
        {
            Assert.True(SetXattr(Path.Combine(tree, f), "user.rmk", [49], 1, 0) == 0, "setxattr " + f);
        }

        // .NET removes a bound socket's file when the socket is closed: keep a second name (a hard link).
        using (var s = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified))
        {
            s.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(Path.Combine(tree, "var/run/bound")));
            Tool.Run("ln", Path.Combine(tree, "var/run/bound"), Path.Combine(tree, "var/run/daemon.sock")).EnsureSuccess("ln");
        }

        Assert.True(File.Exists(Path.Combine(tree, "var/run/daemon.sock")));
        Tool.Run("mksquashfs", tree, p["sock.tcz"], "-noappend", "-quiet").EnsureSuccess("mksquashfs"); // with xattrs
        p.WithProject("<ItemGroup><TczImage Include=\"sock.tcz\" /></ItemGroup>");
        var r = p.Build().AssertSuccess();
        Assert.Contains("RMK3103: TczImage 'sock.tcz' holds a socket at '/var/run/daemon.sock'", r.Output);
        // Once per image (two files have xattrs); MSBuild repeats warnings in its summary after "Build succeeded."
        var log = r.Output[..r.Output.IndexOf("Build succeeded.", StringComparison.Ordinal)];
        Assert.Single(Regex.Matches(log, @"warning RMK3104: TczImage 'sock\.tcz' has extended attributes"));
        Assert.Single(Regex.Matches(log, @"warning RMK3103: "));
        var paths = Overlay(p).Select(l => l.Split(' ', 4)[3]).ToList();
        Assert.Contains("var/a.txt", paths);
        Assert.Contains("var/run", paths);
        Assert.DoesNotContain(paths, x => x.Contains("daemon.sock", StringComparison.Ordinal));
    }

    [Fact]
    public void TczImage_LimitsAndPrefix_AreCodedErrors_AndNoLayer()
    {
        var p = SdkHarness.CreateProject("tczlimit");
        MakeTcz(p, "ruby", Ruby);
        p.WithProject("<ItemGroup><TczImage Include=\"ruby.tcz\" /></ItemGroup>");

        var r = p.Build("-p:SquashfsMaxEntries=3").AssertFailureWith("RMK3102");
        Assert.Contains("RMK3102: TczImage 'ruby.tcz' is too large to extract", r.Output);
        Assert.DoesNotContain(p.Files(), f => f.EndsWith(".tar", StringComparison.Ordinal) || f.EndsWith(".tmp", StringComparison.Ordinal));
        p.Build("-p:SquashfsMaxBytes=9000").AssertFailureWith("RMK3102"); // bin/ruby alone is 9,011 bytes
        p.Build("-p:SquashfsMaxDepth=2").AssertFailureWith("RMK3102");
        p.Build("-p:SquashfsMaxBytes=lots").AssertFailureWith("RMK4004");
        Assert.DoesNotContain(p.Files(), f => f.EndsWith(".tar", StringComparison.Ordinal) || f.EndsWith(".tmp", StringComparison.Ordinal));

        p.WithProject("<ItemGroup><TczImage Include=\"ruby.tcz\" Prefix=\"/tmp/../../etc\" /></ItemGroup>");
        p.Build().AssertFailureWith("RMK2002");
        Assert.DoesNotContain(p.Files(), f => f.EndsWith(".tar", StringComparison.Ordinal) || f.EndsWith(".tmp", StringComparison.Ordinal));

        p.WithProject("<ItemGroup><TczImage Include=\"ruby.tcz\" /></ItemGroup>");
        p.Build("-p:SquashfsMaxEntries=50", "-p:SquashfsMaxDepth=6").AssertSuccess();
    }

    [Fact]
    public void TczImage_Incremental_OnlyTheImageWhoseFileOrMetadataChangedIsExtractedAgain_AndItsLayerItemHasCounts()
    {
        var p = SdkHarness.CreateProject("tczincr");
        MakeTcz(p, "ruby", Ruby);
        MakeTcz(p, "util-linux", UtilLinux);
        p.Write("motd", "hello\n");
        string Project(string files) => $"""
            <ItemGroup>
              <TczImage Include="ruby.tcz" />
              <TczImage Include="util-linux.tcz" Files="{files}" />
              <OverlayFile Include="motd" Destination="/etc/motd" />
            </ItemGroup>
            <Target Name="ShowExtractedLayers" AfterTargets="RmkTczImageLayers">
              <Message Importance="high" Text="EXTRACTED %(RmkExtractedLayer.Filename) entries=%(RmkExtractedLayer.EntryCount) bytes=%(RmkExtractedLayer.ContentBytes)" Condition="'@(RmkExtractedLayer)' != ''" />
            </Target>
            """;
        Dictionary<string, DateTime> Layers() => Directory.EnumerateFiles(p["obj/Debug/layers"], "tcz-*.tar")
            .ToDictionary(f => Path.GetFileName(f), File.GetLastWriteTimeUtc);
        List<string> Extracted(BuildResult r) => Regex.Matches(r.Output, @"EXTRACTED (tcz-[^ ]+?)-[0-9A-F]{8} entries=(\d+) bytes=(\d+)")
            .Select(m => $"{m.Groups[1].Value} {m.Groups[2].Value} {m.Groups[3].Value}").Distinct().Order(StringComparer.Ordinal).ToList();

        p.WithProject(Project("usr/local/bin/lscpu"));
        var first = p.Build().AssertSuccess();
        // ruby: every entry unsquashfs lists, the hard link's bytes counted once; util-linux: lscpu and its 3 folders.
        var rubyEntries = Unsquashfs(p["ruby.tcz"]).Count;
        var rubyBytes = 9000 + "#!ELF ruby\n".Length + 5000 + "module FileUtils; end\n".Length + 1;
        Assert.Equal([$"tcz-ruby {rubyEntries} {rubyBytes}", "tcz-util-linux 4 6"], Extracted(first));
        var before = Layers();
        Assert.Equal(2, before.Count);

        Thread.Sleep(1100);
        p.Write("motd", "changed\n");
        var unrelated = p.Build().AssertSuccess();
        Assert.Empty(Extracted(unrelated));
        Assert.Equal(before, Layers());

        p.WithProject(Project("usr/local/sbin/sfdisk"));
        var metadata = p.Build().AssertSuccess();
        Assert.Equal(["tcz-util-linux 4 7"], Extracted(metadata));
        var afterMetadata = Layers();
        var rubyLayer = before.Keys.Single(k => k.StartsWith("tcz-ruby-", StringComparison.Ordinal));
        Assert.Equal(before[rubyLayer], afterMetadata[rubyLayer]);
        Assert.Contains(Overlay(p), l => l.EndsWith(" usr/local/sbin/sfdisk", StringComparison.Ordinal));
        Assert.DoesNotContain(Overlay(p), l => l.EndsWith(" usr/local/bin/lscpu", StringComparison.Ordinal));

        Thread.Sleep(1100);
        File.AppendAllText(Path.Combine(p["trees/ruby"], "usr/local/lib/ruby/1.8/fileutils.rb"), "# more\n");
        File.Delete(p["ruby.tcz"]);
        Tool.Run("mksquashfs", p["trees/ruby"], p["ruby.tcz"], "-b", "4096", "-no-xattrs", "-noappend", "-quiet").EnsureSuccess("mksquashfs");
        var image = p.Build().AssertSuccess();
        Assert.Equal([$"tcz-ruby {rubyEntries} {rubyBytes + 7}"], Extracted(image));
        var afterImage = Layers();
        Assert.NotEqual(afterMetadata[rubyLayer], afterImage[rubyLayer]);
        Assert.Equal(afterMetadata.Where(k => k.Key != rubyLayer), afterImage.Where(k => k.Key != rubyLayer));
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "setxattr", SetLastError = true)]
    private static extern int SetXattr([System.Runtime.InteropServices.MarshalAs(System.Runtime.InteropServices.UnmanagedType.LPUTF8Str)] string path,
        [System.Runtime.InteropServices.MarshalAs(System.Runtime.InteropServices.UnmanagedType.LPUTF8Str)] string name, byte[] value, nuint size, int flags);

    [Fact]
    public void TczImage_Missing_IsACodedError()
    {
        var p = SdkHarness.CreateProject("tczmissing");
        p.WithProject("<ItemGroup><TczImage Include=\"nothere.tcz\" /></ItemGroup>");
        p.Build().AssertFailureWith("RMK2011");
    }
}
