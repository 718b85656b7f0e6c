using System.Text.Json;
using Razor.Microkernel.TestSupport;
using Razor.Microkernel.TestSupport.Mirror;

namespace Razor.Microkernel.Sdk.Tests;

/// <summary>TczExtension items against a real HTTP mirror on 127.0.0.1 with extensions made by mksquashfs.</summary>
public sealed class TczExtensionTests() : MirroredTests("rmk-mirror")
{

    protected override void Populate()
    {
        Add("gdbm", "usr/local/lib/libgdbm.so.3", null);
        Add("ncurses", "usr/local/lib/libncurses.so.5", null);
        Add("readline", "usr/local/lib/libreadline.so.6", "ncurses.tcz\r\n");
        // A real-world .dep: blank lines, leading and trailing spaces, CRLF and no final newline.
        Add("ruby", "usr/local/bin/ruby", "\n  gdbm.tcz\r\n\r\n  readline.tcz  ", startup: true);
        Add("scsi-3.0.21-tinycore", "lib/modules/3.0.21-tinycore/kernel/drivers/scsi/sd_mod.ko.gz", null);
        Add("util-linux", "usr/local/bin/lscpu", null, extra: ["usr/local/sbin/sfdisk", "usr/local/bin/mount"]);
    }

    private void Add(string name, string file, string? dep, bool startup = false, string[]? extra = null)
    {
        var tree = Path.Combine(Root.Path, "src", name);
        foreach (var f in new[] { file }.Concat(extra ?? []))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(tree, f))!);
            File.WriteAllText(Path.Combine(tree, f), $"{name}:{f}\n");
        }

        if (startup)
        {
            Directory.CreateDirectory(Path.Combine(tree, "usr/local/tce.installed"));
            File.WriteAllText(Path.Combine(tree, "usr/local/tce.installed", name), "#!/bin/sh\necho setup\n");
            File.SetUnixFileMode(Path.Combine(tree, "usr/local/tce.installed", name), (UnixFileMode)Convert.ToInt32("755", 8));
        }

        Builder.AddSquashfs(name + ".tcz", tree, dep);
    }

    private TestProject Project(string items, string properties = "") => MirrorProject("ext", items, properties);

    private static string Listing(TestProject p) => Tool.Run("tar", "-tvzf", p.Overlay).EnsureSuccess("tar -tvzf").StdOut;

    [Fact]
    public void Extensions_ResolveDownloadAndInstallAsTceLoad_WithMarkersAndALockFile()
    {
        var p = Project("""
            <TczExtension Include="ruby;scsi-KERNEL" />
            <TczExtension Include="util-linux" Files="usr/local/bin/lscpu;usr/local/sbin/sfdisk" />
            """);
        p.Build().AssertSuccess();
        var listing = Listing(p);
        foreach (var path in new[] { "usr/local/bin/ruby", "usr/local/lib/libgdbm.so.3", "usr/local/lib/libncurses.so.5", "usr/local/lib/libreadline.so.6",
                     "lib/modules/3.0.21-tinycore/kernel/drivers/scsi/sd_mod.ko.gz", "usr/local/bin/lscpu", "usr/local/sbin/sfdisk" })
        {
            Assert.Contains(" " + path + "\n", listing);
        }

        Assert.DoesNotContain("usr/local/bin/mount", listing);
        // tce-load's markers: the extension's own startup script, else an empty file; none for util-linux (copied by hand).
        Assert.Matches(@"-rwxr-xr-x root/root +\d+ .* usr/local/tce.installed/ruby\n", listing);
        foreach (var name in new[] { "gdbm", "ncurses", "readline", "scsi-3.0.21-tinycore" })
        {
            Assert.Matches($@"-rw-r--r-- root/root +0 .* usr/local/tce.installed/{name}\n", listing);
        }

        Assert.DoesNotContain("tce.installed/util-linux", listing);

        // The lock file: resolved order (dependencies first), md5 and sha256 of each.
        using var lockJson = JsonDocument.Parse(File.ReadAllText(p["microkernel.lock.json"]));
        var text = lockJson.RootElement.ToString();
        var order = new[] { "gdbm.tcz", "ncurses.tcz", "readline.tcz", "ruby.tcz", "scsi-3.0.21-tinycore.tcz", "util-linux.tcz" }
            .Select(n => text.IndexOf($"\"{n}\"", StringComparison.Ordinal)).ToList();
        Assert.All(order, i => Assert.True(i >= 0));
        Assert.Equal(order.Order(), order);
        var tinyCore = lockJson.RootElement.GetProperty("tinyCore");
        Assert.Equal((Mirror.BaseUrl, "4.x", "x86", "3.0.21-tinycore"), (tinyCore.GetProperty("mirror").GetString(), tinyCore.GetProperty("version").GetString(),
            tinyCore.GetProperty("arch").GetString(), tinyCore.GetProperty("kernel").GetString()));
        foreach (var e in lockJson.RootElement.GetProperty("extensions").EnumerateArray())
        {
            var tcz = File.ReadAllBytes(Path.Combine(Builder.TczFolder, e.GetProperty("name").GetString()!));
            Assert.Equal(TinyCoreMirrorBuilder.Md5(tcz), e.GetProperty("md5").GetString());
            Assert.Equal(TinyCoreMirrorBuilder.Sha256(tcz), e.GetProperty("sha256").GetString());
            Assert.Equal(tcz.Length, e.GetProperty("size").GetInt64());
        }

        // The lock file is written only when its content changes: a plain rebuild leaves it alone.
        var written = File.GetLastWriteTimeUtc(p["microkernel.lock.json"]);
        p.Build().AssertSuccess();
        Assert.Equal(written, File.GetLastWriteTimeUtc(p["microkernel.lock.json"]));

        // Second build: offline, the mirror stopped answering; nothing re-extracted, same bytes.
        var bytes = File.ReadAllBytes(p.Overlay);
        var second = p.Build("-p:MicrokernelOffline=true", "-p:TczMirror=http://127.0.0.1:9/unreachable").AssertSuccess();
        Assert.Empty(second.TargetsRun);
        Assert.Equal(bytes, File.ReadAllBytes(p.Overlay));
        // The mirror is part of the lock file, but offline builds resolve the same tree from the cache.
    }

    [Fact]
    public void Extensions_LinkMode_LeavesFilesUnderTcloopAndSymlinksAsCpAis()
    {
        var p = Project("<TczExtension Include=\"gdbm\" InstallMode=\"Link\" />");
        p.Build().AssertSuccess();
        var listing = Listing(p);
        Assert.Contains(" tmp/tcloop/gdbm/usr/local/lib/libgdbm.so.3\n", listing);
        Assert.Contains(" usr/local/lib/libgdbm.so.3 -> /tmp/tcloop/gdbm/usr/local/lib/libgdbm.so.3\n", listing);
        Assert.Matches(@"drwxr-xr-x root/root .* usr/local/lib/\n", listing);
    }

    /// <summary>"path type mode target" for every entry below a folder (GNU find), the folder's own path removed
    /// from link targets; tce-load's markers and the boot hook (/opt, /usr/local/etc) left out.</summary>
    private static List<string> Tree(string dir) => Tool.Run("find", dir, "-mindepth", "1", "-printf", "%P %y %m %l\n").EnsureSuccess("find").StdOut
        .Split('\n', StringSplitOptions.RemoveEmptyEntries)
        .Select(l => l.Replace(dir, "/", StringComparison.Ordinal))
        .Where(l => !l.StartsWith("usr/local/tce.installed", StringComparison.Ordinal) && !l.StartsWith("opt", StringComparison.Ordinal)
            && !l.StartsWith("usr/local/etc", StringComparison.Ordinal))
        .Select(l => l.Contains(" l ", StringComparison.Ordinal) ? System.Text.RegularExpressions.Regex.Replace(l, @" l \d+ ", " l 777 ") : l)
        .Order(StringComparer.Ordinal).ToList();

    [Theory]
    [InlineData("Copy")]
    [InlineData("Link")]
    public void Extensions_CopyAndLinkModes_MatchCpAAndCpAisOfTheUnsquashfsOutput(string mode)
    {
        var p = Project($"<TczExtension Include=\"ruby\" Dependencies=\"false\" InstallMode=\"{mode}\" />");
        p.Build().AssertSuccess();
        using var ours = new TempFolder("rmk-ours");
        Tool.Run("tar", "-xzpf", p.Overlay, "-C", ours.Path).EnsureSuccess("tar -xzf");

        using var theirs = new TempFolder("rmk-theirs");
        var tcz = Path.Combine(Root.Path, Builder.Relative("ruby.tcz"));
        var mount = Path.Combine(theirs.Path, "tmp/tcloop/ruby");
        Directory.CreateDirectory(Path.GetDirectoryName(mount)!);
        Tool.Run("unsquashfs", "-q", "-n", "-d", mount, tcz).EnsureSuccess("unsquashfs");
        if (mode == "Copy")
        {
            Tool.Run("cp", "-a", mount + "/.", theirs.Path).EnsureSuccess("cp -a");
            Directory.Delete(Path.Combine(theirs.Path, "tmp"), recursive: true);
        }
        else
        {
            // As tce-load: cp -ais /tmp/tcloop/NAME/* /
            Tool.Run("sh", "-c", $"cp -ais {mount}/* {theirs.Path}/").EnsureSuccess("cp -ais");
        }

        Assert.Equal(Tree(theirs.Path + "/"), Tree(ours.Path + "/"));
    }

    [Fact]
    public async Task Extensions_TwoBuildsSharingOneCacheAtOnce_BothSucceed_EachFileDownloadedOnce()
    {
        var cache = Path.Combine(Root.Path, "shared-cache");
        var a = Project("<TczExtension Include=\"ruby\" />", $"<MicrokernelCacheDirectory>{cache}</MicrokernelCacheDirectory>");
        var b = Project("<TczExtension Include=\"ruby;gdbm\" />", $"<MicrokernelCacheDirectory>{cache}</MicrokernelCacheDirectory>");
        var both = await Task.WhenAll(Task.Run(() => a.Build()), Task.Run(() => b.Build()));
        both[0].AssertSuccess();
        both[1].AssertSuccess();
        Assert.Equal(1, Mirror.Requests(Builder.Relative("ruby.tcz")));
        Assert.Equal(1, Mirror.Requests(Builder.Relative("readline.tcz")));
        Assert.Equal(Listing(a).Split('\n').Where(l => l.Contains("ruby", StringComparison.Ordinal)),
            Listing(b).Split('\n').Where(l => l.Contains("ruby", StringComparison.Ordinal)));
    }

    [Fact]
    public void Extensions_TheSeedsList_ProducesEveryExpectedFile()
    {
        foreach (var name in new[] { "bash", "dmidecode", "lshw", "libssl-0.9.8", "firmware-bnx2", "openssh" })
        {
            Add(name, $"usr/local/share/{name}/marker", null);
        }

        var p = Project("""
            <TczExtension Include="ruby;bash;dmidecode;lshw;scsi-KERNEL;libssl-0.9.8;firmware-bnx2" />
            <TczExtension Include="util-linux" Files="usr/local/bin/lscpu;usr/local/sbin/sfdisk" />
            <TczExtension Include="openssh" Condition="'$(MicrokernelFlavor)' == 'Development'" />
            """);
        p.Build().AssertSuccess();
        var listing = Listing(p);
        foreach (var name in new[] { "bash", "dmidecode", "lshw", "libssl-0.9.8", "firmware-bnx2", "openssh" })
        {
            Assert.Contains($" usr/local/share/{name}/marker\n", listing);
            Assert.Contains($" usr/local/tce.installed/{name}\n", listing);
        }

        foreach (var name in new[] { "ruby", "gdbm", "readline", "ncurses", "scsi-3.0.21-tinycore" })
        {
            Assert.Contains($" usr/local/tce.installed/{name}\n", listing);
        }

        Assert.Contains(" usr/local/bin/lscpu\n", listing);
        Assert.Contains(" usr/local/sbin/sfdisk\n", listing);
        // A Production build leaves openssh out.
        p.Build("-p:MicrokernelFlavor=Production").AssertSuccess();
        Assert.DoesNotContain("tce.installed/openssh", Listing(p));
    }

    [Fact]
    public void Extensions_MissingDependency_IsACodedErrorShowingTheChain()
    {
        Add("broken", "usr/local/bin/broken", "gdbm.tcz\nnot-there.tcz");
        var p = Project("<TczExtension Include=\"broken\" />");
        var r = p.Build().AssertFailureWith("RMK1011");
        Assert.Contains("broken.tcz → not-there.tcz", r.Output);
        Assert.False(File.Exists(p.Overlay));
    }

    [Fact]
    public void Extensions_OfflineWithAColdCache_SaysWhatIsMissing()
    {
        var p = Project("<TczExtension Include=\"ruby\" />", "<MicrokernelOffline>true</MicrokernelOffline>");
        var r = p.Build().AssertFailureWith("RMK1004");
        Assert.Contains("ruby.tcz", r.Output);
        Assert.Equal(0, Mirror.Requests(Builder.Relative("ruby.tcz")));
    }

    [Fact]
    public void Extensions_LockedMode_FailsWhenTheResolutionWouldChange()
    {
        var p = Project("<TczExtension Include=\"readline\" />");
        p.Build().AssertSuccess();
        var locked = File.ReadAllText(p["microkernel.lock.json"]);
        p.Build("-p:MicrokernelLockedMode=true").AssertSuccess();
        // The project asks for one more extension: locked mode refuses, the lock file is unchanged.
        File.WriteAllText(p.ProjectFile, File.ReadAllText(p.ProjectFile).Replace("Include=\"readline\"", "Include=\"readline;gdbm\"", StringComparison.Ordinal));
        var r = p.Build("-p:MicrokernelLockedMode=true").AssertFailureWith("RMK1020");
        Assert.Contains("gdbm.tcz", r.Output);
        Assert.Equal(locked, File.ReadAllText(p["microkernel.lock.json"]));

        // The mirror gives readline a new dependency: cached metadata is reused until a refresh is asked for.
        Add("readline", "usr/local/lib/libreadline.so.6", "ncurses.tcz\ngdbm.tcz");
        File.WriteAllText(p.ProjectFile, File.ReadAllText(p.ProjectFile).Replace("Include=\"readline;gdbm\"", "Include=\"readline\"", StringComparison.Ordinal));
        p.Build("-p:MicrokernelLockedMode=true").AssertSuccess();
        p.Build("-p:MicrokernelLockedMode=true", "-p:MicrokernelRefreshMetadata=true").AssertFailureWith("RMK1020");
        p.Build("-p:MicrokernelRefreshMetadata=true").AssertSuccess();
        Assert.Contains("gdbm.tcz", File.ReadAllText(p["microkernel.lock.json"]));
    }

    [Fact]
    public void Extensions_ServerErrorsAndResets_AreRetried()
    {
        Mirror.Misbehave(Builder.Relative("gdbm.tcz"), new ServerError(2));
        Mirror.Misbehave(Builder.Relative("ncurses.tcz"), new ResetMidBody(1, 100));
        var p = Project("<TczExtension Include=\"gdbm;ncurses\" />");
        p.Build().AssertSuccess();
        Assert.Contains(" usr/local/lib/libncurses.so.5\n", Listing(p));
    }

    [Fact]
    public void Extensions_FilesWithoutDependencies_TakesOnlyTheFiles_AndDependenciesTrueBringsTheTree()
    {
        Add("tools", "usr/local/bin/tool1", "gdbm.tcz\n", extra: ["usr/local/bin/tool2"]);
        var p = Project("<TczExtension Include=\"tools\" Files=\"usr/local/bin/tool1\" />");
        p.Build().AssertSuccess();
        var listing = Listing(p);
        Assert.Contains(" usr/local/bin/tool1\n", listing);
        Assert.DoesNotContain("tool2", listing);
        Assert.DoesNotContain("libgdbm", listing);
        Assert.DoesNotContain("gdbm.tcz", File.ReadAllText(p["microkernel.lock.json"]));

        p.WithProject($"""
            <PropertyGroup><TczMirror>{Mirror.BaseUrl}</TczMirror><MicrokernelCacheDirectory>cache</MicrokernelCacheDirectory></PropertyGroup>
            <ItemGroup><TczExtension Include="tools" Files="usr/local/bin/tool1" Dependencies="true" /></ItemGroup>
            """);
        p.Build().AssertSuccess();
        listing = Listing(p);
        Assert.Contains(" usr/local/lib/libgdbm.so.3\n", listing);
        Assert.Contains(" usr/local/tce.installed/gdbm\n", listing);
        Assert.DoesNotContain("tool2", listing);
    }

    [Fact]
    public void Extensions_DependencyCycle_IsWarningRMK1010_AndBroken()
    {
        Add("cyc-a", "usr/local/bin/cyc-a", "cyc-b.tcz\n");
        Add("cyc-b", "usr/local/bin/cyc-b", "cyc-a.tcz\n");
        var p = Project("<TczExtension Include=\"cyc-a\" />");
        var r = p.Build().AssertSuccess();
        Assert.Contains("RMK1010", r.Codes);
        Assert.Contains("cyc-a.tcz → cyc-b.tcz → cyc-a.tcz", r.Output);
        var listing = Listing(p);
        Assert.Contains(" usr/local/bin/cyc-a\n", listing);
        Assert.Contains(" usr/local/bin/cyc-b\n", listing);
        var lockText = File.ReadAllText(p["microkernel.lock.json"]);
        Assert.True(lockText.IndexOf("\"cyc-b.tcz\"", StringComparison.Ordinal) < lockText.IndexOf("\"cyc-a.tcz\"", StringComparison.Ordinal), lockText);
    }

    /// <summary>Each misbehaviour of the mirror ends in success or in a coded error, and never leaves a corrupt cache entry.</summary>
    [Theory]
    [InlineData("truncated", null)]
    [InlineData("redirect", null)]
    [InlineData("reset-without-ranges", null)]
    [InlineData("server-error-then-ok", null)]
    [InlineData("wrong-md5", "RMK1003")]
    [InlineData("server-error-forever", "RMK1002")]
    [InlineData("tcz-not-found", "RMK1011")]
    public void Extensions_MisbehavingMirror_EndsInSuccessOrACodedError_NeverACorruptCache(string misbehaviour, string? code)
    {
        var tcz = Builder.Relative("gdbm.tcz");
        switch (misbehaviour)
        {
            case "truncated": Mirror.Misbehave(tcz, new TruncateBody(1, 100)); break;
            case "redirect": Mirror.Misbehave(tcz, new Redirect(tcz + "?moved", 301, Times: 1)); break;
            case "reset-without-ranges": Mirror.RangeSupport = false; Mirror.Misbehave(tcz, new ResetMidBody(1, 100)); break;
            case "server-error-then-ok": Mirror.Misbehave(tcz, new ServerError(3, 503)); break;
            case "wrong-md5": File.WriteAllText(Path.Combine(Builder.TczFolder, "gdbm.tcz.md5.txt"), new string('a', 32) + "  gdbm.tcz\n"); break;
            case "server-error-forever": Mirror.Misbehave(tcz, new ServerError(int.MaxValue)); break;
            case "tcz-not-found": Mirror.Misbehave(tcz, new NotFound()); break;
        }

        var p = Project("<TczExtension Include=\"gdbm\" />");
        var r = p.Build();
        var keys = CacheCheck.AssertConsistent(p["cache"]);
        if (code is null)
        {
            r.AssertSuccess();
            Assert.Contains(" usr/local/lib/libgdbm.so.3\n", Listing(p));
            Assert.Contains("tcz/4.x/x86/gdbm.tcz", keys);
        }
        else
        {
            r.AssertFailureWith(code);
            Assert.Contains("gdbm.tcz", r.Output);
            Assert.DoesNotContain("tcz/4.x/x86/gdbm.tcz", keys);
            Assert.False(File.Exists(p.Overlay));
            Assert.False(File.Exists(p["microkernel.lock.json"]));
        }
    }

    [Fact]
    public void Extensions_BodyTricklingSlowerThanTheTimeout_FailsEachAttempt_IsRMK1002_AndCachesNothing()
    {
        // One byte every 3 s against MicrokernelDownloadTimeout=1: each of the 2 attempts times out on its first slow read.
        var tcz = Builder.Relative("gdbm.tcz");
        Mirror.Misbehave(tcz, new Trickle(int.MaxValue, 1, TimeSpan.FromSeconds(3)));
        var p = Project("<TczExtension Include=\"gdbm\" />",
            "<MicrokernelDownloadTimeout>1</MicrokernelDownloadTimeout><MicrokernelDownloadAttempts>2</MicrokernelDownloadAttempts>");
        var r = p.Build();
        r.AssertFailureWith("RMK1002");
        Assert.Matches(@"gdbm\.tcz.*2 attempts.*no data for 1 s", r.Output);
        Assert.Equal(2, Mirror.Requests(tcz));
        Assert.DoesNotContain("tcz/4.x/x86/gdbm.tcz", CacheCheck.AssertConsistent(p["cache"]));
        Assert.False(File.Exists(p.Overlay));

        // Slow but steady (a chunk every 0.3 s) is no timeout: the same settings download it.
        Mirror.ClearMisbehaviors();
        Mirror.Misbehave(tcz, new Trickle(1, 1024, TimeSpan.FromMilliseconds(300)));
        p.Build().AssertSuccess();
        Assert.Contains("tcz/4.x/x86/gdbm.tcz", CacheCheck.AssertConsistent(p["cache"]));
    }

    [Fact]
    public void Extensions_LongDownload_LogsProgressLinesWithSizeAndRate()
    {
        var tree = Path.Combine(Root.Path, "src", "blob");
        Directory.CreateDirectory(Path.Combine(tree, "usr/local/share/blob"));
        var random = new byte[256 * 1024];
        new Random(4).NextBytes(random);
        File.WriteAllBytes(Path.Combine(tree, "usr/local/share/blob/data"), random);
        Builder.AddSquashfs("blob.tcz", tree);
        // About 2.5 s of body: progress is reported once a second while it arrives.
        Mirror.Misbehave(Builder.Relative("blob.tcz"), new Trickle(1, 16 * 1024, TimeSpan.FromMilliseconds(150)));
        var r = Project("<TczExtension Include=\"blob\" />").Build().AssertSuccess();
        var lines = System.Text.RegularExpressions.Regex.Matches(r.Output, @"blob\.tcz: ([\d.]+) KiB of ([\d.]+) KiB at [\d.]+ (B|KiB|MiB)/s")
            .Select(m => (Got: double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture),
                Total: double.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture)))
            .ToList();
        Assert.Contains(lines, l => l.Got < l.Total); // a line while the download was under way, not only the final one
    }

    [Fact]
    public async Task Extensions_FallbackMirrors_AndAnotherVersionArchAndKernel()
    {
        using var otherRoot = new TempFolder("rmk-mirror5");
        var other = new TinyCoreMirrorBuilder(otherRoot.Path, "5.x", "x86_64");
        foreach (var (name, file, dep) in new[] { ("mods-4.8.17-tinycore64", "usr/local/lib/modules/4.8.17-tinycore64/kernel/m.ko.gz", (string?)null),
                     ("tool", "usr/local/bin/tool", "mods-KERNEL.tcz\r\n") })
        {
            var tree = Path.Combine(otherRoot.Path, "src", name);
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(tree, file))!);
            File.WriteAllText(Path.Combine(tree, file), name);
            other.AddSquashfs(name + ".tcz", tree, dep);
        }

        // The project's mirror has nothing, the first fallback (a folder) has nothing, the second has the files.
        using var emptyRoot = new TempFolder("rmk-mirror-empty");
        using var emptyFolder = new TempFolder("rmk-mirror-empty-folder");
        await using var empty = await LoopbackMirror.StartAsync(emptyRoot.Path);
        await using var good = await LoopbackMirror.StartAsync(otherRoot.Path);
        var p = SdkHarness.CreateProject("fallback");
        p.WithProject($"""
            <PropertyGroup>
              <TczMirror>{empty.BaseUrl}</TczMirror>
              <TczMirrorFallbacks>{emptyFolder.Path};{good.BaseUrl}</TczMirrorFallbacks>
              <TinyCoreVersion>5.x</TinyCoreVersion>
              <TinyCoreArch>x86_64</TinyCoreArch>
              <TinyCoreKernel>4.8.17-tinycore64</TinyCoreKernel>
              <MicrokernelCacheDirectory>cache</MicrokernelCacheDirectory>
            </PropertyGroup>
            <ItemGroup><TczExtension Include="tool.tcz" /></ItemGroup>
            """);
        p.Build().AssertSuccess();
        Assert.Equal(1, empty.Requests("5.x/x86_64/tcz/tool.tcz.md5.txt"));   // asked first, did not have it
        Assert.Equal(1, good.Requests("5.x/x86_64/tcz/tool.tcz"));
        Assert.Equal(1, good.Requests("5.x/x86_64/tcz/mods-4.8.17-tinycore64.tcz"));
        var listing = Listing(p);
        Assert.Contains(" usr/local/bin/tool\n", listing);
        Assert.Contains(" usr/local/lib/modules/4.8.17-tinycore64/kernel/m.ko.gz\n", listing);
        using var lockJson = JsonDocument.Parse(File.ReadAllText(p["microkernel.lock.json"]));
        var tinyCore = lockJson.RootElement.GetProperty("tinyCore");
        Assert.Equal((empty.BaseUrl, "5.x", "x86_64", "4.8.17-tinycore64"), (tinyCore.GetProperty("mirror").GetString(), tinyCore.GetProperty("version").GetString(),
            tinyCore.GetProperty("arch").GetString(), tinyCore.GetProperty("kernel").GetString()));
        Assert.Equal(["mods-4.8.17-tinycore64.tcz", "tool.tcz"],
            lockJson.RootElement.GetProperty("extensions").EnumerateArray().Select(e => e.GetProperty("name").GetString()!).ToArray());
    }

    [Fact]
    public void Extensions_LockFileSha256_IsEnforcedWithoutLockedMode_UntilARefresh()
    {
        var p = Project("<TczExtension Include=\"readline\" />");
        p.Build().AssertSuccess();
        var locked = File.ReadAllText(p["microkernel.lock.json"]);

        // The mirror rebuilds ncurses (other bytes, a matching .md5.txt); a cold cache must not take them silently.
        Add("ncurses", "usr/local/lib/libncurses.so.5.9", null);
        var r = p.Build("-p:MicrokernelCacheDirectory=cache2").AssertFailureWith("RMK1003");
        Assert.Contains("ncurses.tcz", r.Output);
        Assert.Contains("SHA-256", r.Output);
        Assert.Equal(locked, File.ReadAllText(p["microkernel.lock.json"]));
        Assert.DoesNotContain("tcz/4.x/x86/ncurses.tcz", CacheCheck.AssertConsistent(p["cache2"]));
        p.Build("-p:MicrokernelCacheDirectory=cache2", "-p:MicrokernelLockedMode=true").AssertFailureWith("RMK1003");

        // Asking for the mirror's updates takes the new file and records it.
        p.Build("-p:MicrokernelCacheDirectory=cache2", "-p:MicrokernelRefreshMetadata=true").AssertSuccess();
        Assert.Contains(TinyCoreMirrorBuilder.Sha256(File.ReadAllBytes(Path.Combine(Builder.TczFolder, "ncurses.tcz"))), File.ReadAllText(p["microkernel.lock.json"]));
        Assert.Contains(" usr/local/lib/libncurses.so.5.9\n", Listing(p));
    }

    [Fact]
    public void Extensions_FileUrlMirror_IsReadLikeAFolder_AndTheNetworkIsNotTouched()
    {
        var fileUrl = new Uri(Root.Path + "/").AbsoluteUri;
        Assert.StartsWith("file:///", fileUrl, StringComparison.Ordinal);
        var p = SdkHarness.CreateProject("fileurl");
        p.WithProject($"""
            <PropertyGroup>
              <TczMirror>{fileUrl}</TczMirror>
              <MicrokernelCacheDirectory>cache</MicrokernelCacheDirectory>
            </PropertyGroup>
            <ItemGroup><TczExtension Include="ruby" /></ItemGroup>
            """);
        p.Build().AssertSuccess();
        var listing = Listing(p);
        Assert.Contains(" usr/local/bin/ruby\n", listing);
        Assert.Contains(" usr/local/lib/libgdbm.so.3\n", listing);
        Assert.Contains(" usr/local/lib/libncurses.so.5\n", listing);
        Assert.Equal(0, Mirror.TotalRequests);
        // The lock file records a file:// mirror as the folder it names, the same as a plain folder path.
        Assert.Equal(Root.Path, JsonDocument.Parse(File.ReadAllText(p["microkernel.lock.json"])).RootElement
            .GetProperty("tinyCore").GetProperty("mirror").GetString());
    }

    [Fact]
    public void Extensions_LockedModeWithoutALockFile_IsRMK1021()
    {
        var p = Project("<TczExtension Include=\"gdbm\" />");
        p.Build("-p:MicrokernelLockedMode=true").AssertFailureWith("RMK1021");
        Assert.False(File.Exists(p["microkernel.lock.json"]));
        Assert.False(File.Exists(p.Overlay));
    }

    [Fact]
    public void Extensions_DefaultCache_IsPerUserUnderXdgCacheHome()
    {
        var p = SdkHarness.CreateProject("xdg");
        p.WithProject($"""
            <PropertyGroup><TczMirror>{Mirror.BaseUrl}</TczMirror></PropertyGroup>
            <ItemGroup><TczExtension Include="gdbm" /></ItemGroup>
            """);
        var xdg = Path.Combine(Root.Path, "xdg-cache");
        p.Run("build", null, new Dictionary<string, string?> { ["XDG_CACHE_HOME"] = xdg }).AssertSuccess();
        Assert.Contains("tcz/4.x/x86/gdbm.tcz", CacheCheck.AssertConsistent(Path.Combine(xdg, "razor-microkernel")));
    }
}
