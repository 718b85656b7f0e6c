using System.Security.Cryptography;
using System.Text.Json;
using Razor.Microkernel.TestSupport;
using Razor.Microkernel.TestSupport.Mirror;

namespace Razor.Microkernel.Sdk.Tests;

/// <summary>
/// Tiny Core 17.x x86_64 end to end, against the <see cref="StandInRelease"/> served by the loopback mirror in the
/// 17.x/x86_64/ layout: the network boot files from the mirror's release files, booted by qemu from -kernel/-initrd
/// and over the network (qemu's TFTP, Debian's iPXE running the generated boot.ipxe, and Debian's PXELINUX reading the
/// generated pxelinux.cfg/default); the CorePure64-style ISO booted under BIOS. Each boot prints a marker from the overlay, server.cfg settings and the boot hook's lines.
/// </summary>
public sealed class ReleasePxeTests() : MirroredTests("rmk-release17")
{
    private static StandInRelease Release => StandInRelease.Get();

    private TinyCoreMirrorBuilder Mirror17 { get; set; } = null!;

    protected override void Populate()
    {
        Mirror17 = new TinyCoreMirrorBuilder(Root.Path, StandInRelease.Version, StandInRelease.Arch);
        Release.Populate(Mirror17);

        // 15.x: the release's kernel, and an initrd with its right .md5.txt that is no cpio (16.x has no release files).
        var mirror15 = new TinyCoreMirrorBuilder(Root.Path, "15.x", StandInRelease.Arch);
        mirror15.AddReleaseFile(StandInRelease.KernelName, File.ReadAllBytes(Release.Kernel));
        mirror15.AddReleaseFile(StandInRelease.InitrdName, TestArchives.Gzip(new byte[70_000]));
    }

    private const string Args = "console=ttyS0 quiet rmk.marker=booted";

    /// <summary>A 17.x x86_64 project: the -KERNEL module extension (its .dep brings rmk-netconf), an overlay marker,
    /// MCollective settings, and boot commands that load the module and print what the hook's depmod wrote.</summary>
    private TestProject Project(string name, string items = "", string properties = "")
    {
        var p = MirrorProject(name, $"""
            <TczExtension Include="rmk-dummy-KERNEL" />
            <OverlayFile Include="marker" Destination="/etc/rmk-marker" />
            <MicrokernelBootCommand Include="modprobe" Command="modprobe dummy" />
            <MicrokernelBootCommand Include="hook" Command="echo &quot;hook: depmod for %24(uname -r): %24(cat /lib/modules/%24(uname -r)/modules.dep)&quot;" />
            {items}
            """, $"""
            <TinyCoreVersion>17.x</TinyCoreVersion>
            <TinyCoreArch>x86_64</TinyCoreArch>
            <MicrokernelVersion>1.7.0</MicrokernelVersion>
            <MicrokernelKernelArgs>{Args}</MicrokernelKernelArgs>
            <McollectiveStompHost>razor-17.example</McollectiveStompHost>
            <McollectiveLogLevel>debug</McollectiveLogLevel>
            {properties}
            """);
        p.Write("marker", "seventeen\n");
        return p;
    }

    private static BuildResult Build(TestProject p, params string[] args) => p.Run("build", args, TestSecrets.Variables());

    private static string Pxe(TestProject p, string file = "") => Path.Combine(p.OutDir, "pxe", file);

    private static void AssertBooted(string facts, string marker = "booted")
    {
        foreach (var line in new[]
        {
            $"release: 17.0 {Release.KernelVersion}\n",
            "setup: rmk-netconf iface=eth0\n", // the boot hook ran the extension's startup script
            $"hook: depmod for {Release.KernelVersion}: kernel/drivers/net/dummy.ko.gz:\n",
            "module: /sys/module/dummy\n",
            "marker: seventeen\n",
            "cfg: plugin.stomp.host = razor-17.example\n",
            "cfg: loglevel = debug\n",
            $"arg: rmk.marker={marker}\n",
            "tmp: 1777\n",
        })
        {
            Assert.True(facts.Contains(line, StringComparison.Ordinal), $"'{line.TrimEnd()}' is missing from what the boot printed:\n{facts}");
        }

        Assert.DoesNotContain("No such file", facts);
    }

    /// <summary>Replaces <paramref name="from"/> (which must be there) in the project file.</summary>
    private static void Edit(TestProject p, string from, string to)
    {
        var text = File.ReadAllText(p.ProjectFile);
        Assert.Contains(from, text);
        File.WriteAllText(p.ProjectFile, text.Replace(from, to, StringComparison.Ordinal));
    }

    private static string Sha256(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));

    [Fact]
    public void Pxe_FromTheMirrorsReleaseFiles_BootsFromKernelAndInitrdAndOverTheNetwork()
    {
        var p = Project("pxe17", properties: "<MicrokernelPxe>true</MicrokernelPxe>");
        var build = Build(p).AssertSuccess();
        // Listed in the build's output: the folder, then every file with its size, SHA256SUMS last.
        Assert.Matches(@"pxe/? \(network boot: boot\.ipxe \d+ B, corepure64\.gz [\d.]+ [KM]?B, pxelinux\.cfg/default \d+ B, vmlinuz64 [\d.]+ [KM]?B, SHA256SUMS\)",
            build.Output);
        Assert.Contains(Path.Combine("bin", "Debug", "pxe"), build.Output);

        // The release's files, from 17.x/x86_64/release/distribution_files/, verified and pinned in the lock file with
        // the kernel version read from the kernel; -KERNEL became that version.
        Assert.Equal(File.ReadAllBytes(Release.Kernel), File.ReadAllBytes(Pxe(p, "vmlinuz64")));
        var initrd = File.ReadAllBytes(Pxe(p, "corepure64.gz"));
        var release = File.ReadAllBytes(Release.Initrd);
        Assert.Equal(release, initrd[..release.Length]); // Append: the release's initrd byte for byte, then the overlay
        using (var lockJson = JsonDocument.Parse(File.ReadAllText(p["microkernel.lock.json"])))
        {
            var tc = lockJson.RootElement.GetProperty("tinyCore");
            Assert.Equal(("17.x", "x86_64", Release.KernelVersion), (tc.GetProperty("version").GetString(), tc.GetProperty("arch").GetString(), tc.GetProperty("kernel").GetString()));
            var files = lockJson.RootElement.GetProperty("releaseFiles").EnumerateArray().ToList();
            Assert.Equal(["vmlinuz64", "corepure64.gz"], files.Select(f => f.GetProperty("name").GetString()));
            Assert.Equal(Sha256(Release.Kernel), files[0].GetProperty("sha256").GetString());
            Assert.Equal(TinyCoreMirrorBuilder.Md5(release), files[1].GetProperty("md5").GetString());
            var extensions = lockJson.RootElement.GetProperty("extensions").EnumerateArray().Select(e => e.GetProperty("name").GetString()).ToList();
            Assert.Equal(["rmk-netconf.tcz", Release.DummyExtension], extensions);
        }

        // TinyCoreKernel holds the version read from the kernel once the build has resolved the release (MSBuild's own
        // -getProperty, read after the targets ran); the build before it changed nothing, so this one is a no-op.
        var kernel = Build(p, "-t:Build", "-getProperty:TinyCoreKernel").AssertSuccess();
        Assert.Matches($@"(?m)^{System.Text.RegularExpressions.Regex.Escape(Release.KernelVersion)}\r?$", kernel.Output);

        // The overlay: the module where 17.x's tce-load looks, the hook's depmod for that kernel, 17.x's own bootsync.sh.
        Assert.Contains($" usr/local/lib/modules/{Release.KernelVersion}/kernel/drivers/net/dummy.ko.gz\n",
            Tool.Run("tar", "-tvzf", p.Overlay).EnsureSuccess("tar").StdOut);
        var hook = Tool.Run("tar", "-xzOf", p.Overlay, "usr/local/etc/init.d/microkernel-setup").EnsureSuccess("tar").StdOut;
        Assert.Contains($"if [ -d /usr/local/lib/modules/{Release.KernelVersion} ]; then\n  depmod -a {Release.KernelVersion} 2>/dev/null\nfi\n", hook);
        var bootsync = Tool.Run("tar", "-xzOf", p.Overlay, "opt/bootsync.sh").EnsureSuccess("tar").StdOut;
        Assert.Equal("#!/bin/sh\n# put other system startup commands here, the boot process will wait until they complete.\n" +
            "# Use bootlocal.sh for system startup commands that can run in the background \n# and therefore not slow down the boot process.\n" +
            "/usr/bin/sethostname box\n# Added by Razor.Microkernel.Sdk: finish installing the extensions built into the image.\n" +
            "/usr/local/etc/init.d/microkernel-setup\n/opt/bootlocal.sh &\n", bootsync);

        // The scripts name the files relative to the folder; SHA256SUMS checks with the real sha256sum; the initrd
        // holds the secrets: owner-only.
        Assert.Equal($"#!ipxe\n# The Razor microkernel (Tiny Core 17.x x86_64), generated by Razor.Microkernel.Sdk.\nkernel vmlinuz64 initrd=corepure64.gz {Args}\ninitrd corepure64.gz\nboot\n",
            File.ReadAllText(Pxe(p, "boot.ipxe")));
        Assert.Contains($"  KERNEL vmlinuz64\n  APPEND initrd=corepure64.gz {Args}\n", File.ReadAllText(Pxe(p, "pxelinux.cfg/default")));
        var check = Tool.Run("sha256sum", ["-c", "SHA256SUMS"], Pxe(p)).EnsureSuccess("sha256sum -c");
        foreach (var f in new[] { "boot.ipxe", "corepure64.gz", "pxelinux.cfg/default", "vmlinuz64" })
        {
            Assert.Contains($"{f}: OK", check.StdOut);
        }

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Pxe(p, "corepure64.gz")));

        // (1) qemu loads kernel and initrd; (2) a real network boot through iPXE and TFTP; and PXELINUX reading
        // pxelinux.cfg/default, with Debian's pxelinux.0 and ldlinux.c32 beside the files.
        AssertBooted(Qemu.Boot(Qemu.KernelAndInitrd(Pxe(p, "vmlinuz64"), Pxe(p, "corepure64.gz"), Args), 512));
        AssertBooted(Qemu.Boot(Qemu.Network(Pxe(p), "boot.ipxe"), 512));
        using var tftp = new TempFolder("rmk-pxelinux");
        Tool.Run("cp", "-a", Pxe(p) + "/.", tftp.Path).EnsureSuccess("cp -a");
        foreach (var file in new[] { "/usr/lib/PXELINUX/pxelinux.0", "/usr/lib/syslinux/modules/bios/ldlinux.c32" })
        {
            Assert.True(File.Exists(file), $"no {file}: the PXELINUX boot needs Debian's pxelinux and syslinux-common (build/test.sh installs them)");
            File.Copy(file, tftp[Path.GetFileName(file)]);
        }

        AssertBooted(Qemu.Boot(Qemu.Network(tftp.Path, "pxelinux.0"), 512));
    }

    [Fact]
    public void Pxe_IsIncremental_OfflineAfterTheFirstBuild_AndRemovedByClean()
    {
        var p = Project("pxeinc", properties: "<MicrokernelPxe>true</MicrokernelPxe>");
        var before = p.Files();
        Build(p).AssertSuccess();
        var kernelTime = File.GetLastWriteTimeUtc(Pxe(p, "vmlinuz64"));
        var sums = File.ReadAllText(Pxe(p, "SHA256SUMS"));

        var again = Build(p).AssertSuccess();
        Assert.Contains("RmkPxeKernel", again.TargetsSkipped);
        Assert.Contains("RmkPxe", again.TargetsSkipped);

        // A settings change: the initrd and the sums again, not the kernel.
        Edit(p, "<McollectiveLogLevel>debug</McollectiveLogLevel>", "<McollectiveLogLevel>warn</McollectiveLogLevel>");
        var changed = Build(p).AssertSuccess();
        Assert.Contains("RmkPxe", changed.TargetsRun);
        Assert.Contains("RmkPxeKernel", changed.TargetsSkipped);
        Assert.Equal(kernelTime, File.GetLastWriteTimeUtc(Pxe(p, "vmlinuz64")));
        Assert.NotEqual(sums, File.ReadAllText(Pxe(p, "SHA256SUMS")));
        Tool.Run("sha256sum", ["-c", "--quiet", "SHA256SUMS"], Pxe(p)).EnsureSuccess("sha256sum -c");

        // Offline from a clean state: the lock file pins the release files, the cache has them.
        var requests = Mirror.Requests(Mirror17.ReleaseRelative("corepure64.gz"));
        var pxeBytes = Directory.GetFiles(Pxe(p), "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).Select(File.ReadAllBytes).ToList();
        p.Run("clean").AssertSuccess();
        Assert.False(Directory.Exists(Pxe(p)));
        Build(p, "-p:MicrokernelOffline=true").AssertSuccess();
        Assert.Equal(requests, Mirror.Requests(Mirror17.ReleaseRelative("corepure64.gz")));
        Assert.Equal(pxeBytes, Directory.GetFiles(Pxe(p), "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).Select(File.ReadAllBytes));

        // Clean removes exactly what the builds wrote: the lock file and the download cache stay.
        p.Run("clean").AssertSuccess();
        var after = p.Files();
        after.RemoveWhere(f => f == "microkernel.lock.json" || f.StartsWith("cache/", StringComparison.Ordinal));
        Assert.Equal(before, after);
    }

    [Fact]
    public void Iso_CorePure64_FromTheMirror_BootsUnderBios_AndShares_ItsInitrd_WithTheNetworkBootFiles()
    {
        var isoUrl = Mirror.Url($"{StandInRelease.Version}/{StandInRelease.Arch}/release/{StandInRelease.IsoName}");
        var p = Project("iso17", $"<CoreIso Include=\"{isoUrl}\" Sha256=\"{Sha256(Release.Iso)}\" />");
        Build(p).AssertSuccess();
        var iso = Path.Combine(p.OutDir, "rz_mk_dev-image.1.7.0.iso");
        using var x = new TempFolder("rmk-iso17");
        Tool.Run("xorriso", "-osirrox", "on", "-indev", iso, "-extract", "/", x.Path).EnsureSuccess("osirrox extract");
        Assert.Equal(File.ReadAllBytes(Release.Kernel), File.ReadAllBytes(x["boot/vmlinuz64"]));
        Assert.False(File.Exists(x["boot/core.gz"]));
        var isoInitrd = File.ReadAllBytes(x["boot/corepure64.gz"]);
        var release = File.ReadAllBytes(Release.Initrd);
        Assert.Equal(release, isoInitrd[..release.Length]);
        Assert.Contains($"append initrd=/boot/corepure64.gz console=ttyS0 quiet {Args}", File.ReadAllText(x["boot/isolinux/isolinux.cfg"]));
        var meta = File.ReadAllText(x["iso-metadata.yaml"]);
        Assert.Contains("kernel: boot/vmlinuz64\ninitrd: boot/corepure64.gz\n", meta);
        Assert.Contains($"initrd_hash: {Convert.ToHexStringLower(SHA256.HashData(isoInitrd))}\n", meta);

        // The kernel version was read from the ISO's kernel and recorded; the network boot files came from the ISO too,
        // with the same initrd bytes (one code path makes both).
        using (var lockJson = JsonDocument.Parse(File.ReadAllText(p["microkernel.lock.json"])))
        {
            Assert.Equal(Release.KernelVersion, lockJson.RootElement.GetProperty("tinyCore").GetProperty("kernel").GetString());
        }

        Assert.Equal(isoInitrd, File.ReadAllBytes(Pxe(p, "corepure64.gz")));
        Assert.Equal(File.ReadAllBytes(Release.Kernel), File.ReadAllBytes(Pxe(p, "vmlinuz64")));

        // (3) the ISO under BIOS: SeaBIOS, isolinux, the kernel and the initrd with the overlay.
        AssertBooted(Qemu.Boot(Qemu.Cdrom(iso), 512));
    }

    [Fact]
    public void TwoCleanBuilds_InDifferentFolders_GiveIdenticalNetworkBootFilesAndIso()
    {
        byte[][] Outputs(string name)
        {
            var p = Project(name, "<CoreIso Include=\"CorePure64-current.iso\" />", "<MicrokernelInitrdMode>Merge</MicrokernelInitrdMode>");
            File.Copy(Release.Iso, p["CorePure64-current.iso"]);
            Build(p).AssertSuccess();
            var pxe = Directory.GetFiles(Pxe(p), "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(Pxe(p), f)).Order(StringComparer.Ordinal).ToList();
            Assert.Equal(["SHA256SUMS", "boot.ipxe", "corepure64.gz", Path.Combine("pxelinux.cfg", "default"), "vmlinuz64"], pxe);
            var iso = File.ReadAllBytes(Path.Combine(p.OutDir, "rz_mk_dev-image.1.7.0.iso"));

            // Merge: one archive (GNU cpio, which stops at the first trailer, lists the release's and the overlay's files),
            // the same bytes in the ISO and the network boot files.
            using var x = new TempFolder("rmk-merge17");
            Tool.Run("xorriso", "-osirrox", "on", "-indev", Path.Combine(p.OutDir, "rz_mk_dev-image.1.7.0.iso"), "-extract", "/boot/corepure64.gz", x["initrd"]).EnsureSuccess("osirrox");
            Assert.Equal(File.ReadAllBytes(x["initrd"]), File.ReadAllBytes(Pxe(p, "corepure64.gz")));
            var listing = Tool.Run("sh", ["-c", $"gzip -dc '{x["initrd"]}' | cpio -it --quiet"]).EnsureSuccess("cpio -it").StdOut;
            Assert.Contains("bin/busybox\n", listing);
            Assert.Contains("etc/rmk-marker\n", listing);
            return [.. pxe.Select(f => File.ReadAllBytes(Path.Combine(Pxe(p), f))), iso];
        }

        var first = Outputs("det17a");
        var second = Outputs("det17b");
        Assert.Equal(first.Length, second.Length);
        for (var i = 0; i < first.Length; i++)
        {
            Assert.True(first[i].AsSpan().SequenceEqual(second[i]), $"output {i} differs between the two builds");
        }
    }

    [Fact]
    public void BadReleaseInput_IsACodedError_NamingTheItem_AndWritesNothing()
    {
        // An unknown version or arch.
        var p = Project("bad17");
        p.WithProject("<PropertyGroup><TinyCoreVersion>3.x</TinyCoreVersion></PropertyGroup><ItemGroup><OverlayFile Include=\"marker\" Destination=\"/etc/m\" /></ItemGroup>");
        Assert.Contains("'3.x'", Build(p).AssertFailureWith("RMK4012").Output);
        p.WithProject("<PropertyGroup><TinyCoreVersion>17.x</TinyCoreVersion><TinyCoreArch>armv7</TinyCoreArch></PropertyGroup><ItemGroup><OverlayFile Include=\"marker\" Destination=\"/etc/m\" /></ItemGroup>");
        Assert.Contains("'armv7'", Build(p).AssertFailureWith("RMK4012").Output);
        NothingWritten(p);

        // KERNEL without a kernel version: named by an item, and by a .dep.
        var k = Project("kernel17");
        var error = Build(k).AssertFailureWith("RMK4013").Output;
        Assert.Contains("TczExtension 'rmk-dummy-KERNEL'", error);
        Assert.Contains("TinyCoreKernel", error);
        Assert.Contains("6.18.2-tinycore64", error);
        var dep = Project("kerneldep17", "<TczExtension Include=\"rmk-drivers\" />");
        Edit(dep, "<TczExtension Include=\"rmk-dummy-KERNEL\" />", "");
        var depError = Build(dep).AssertFailureWith("RMK4013").Output;
        Assert.Contains("rmk-drivers.tcz.dep", depError);
        Assert.Contains("TinyCoreKernel", depError);
        Assert.Contains("6.18.2-tinycore64", depError);
        NothingWritten(k);
        NothingWritten(dep);

        // A kernel version that is not one, and one for the other architecture (a warning).
        var bad = Project("kname17", properties: "<TinyCoreKernel>6.1 amd64</TinyCoreKernel>");
        Assert.Contains("TinyCoreKernel '6.1 amd64'", Build(bad).AssertFailureWith("RMK4014").Output);
        NothingWritten(bad);
        var x86 = Project("ksuffix17", properties: $"<TinyCoreKernel>{Release.KernelVersion}</TinyCoreKernel>");
        Assert.Contains("RMK4015", Build(x86).AssertSuccess().Codes);
        // Said again by a no-op build: a resolution that warned is not kept in obj/…/release.resolved, and one that did not
        // is (the kept result is taken while the settings, the lock file and the release's files stay as they were).
        Assert.Contains("RMK4015", Build(x86).AssertSuccess().Codes);
        Assert.False(File.Exists(x86["obj/Debug/release.resolved"]), "a resolution that warned was kept");

        // A TinyCoreKernel that is not the kernel of the release's files: a warning naming both.
        var differs = Project("kdiffer17", properties: "<MicrokernelPxe>true</MicrokernelPxe><TinyCoreKernel>6.18.2-tinycore64</TinyCoreKernel>");
        Edit(differs, "<TczExtension Include=\"rmk-dummy-KERNEL\" />", "");
        var warned = Build(differs).AssertSuccess();
        Assert.Contains("RMK4016", warned.Codes);
        Assert.Contains(Release.KernelVersion, warned.Output);

        // Release files missing on the mirror (16.x has none here), and one failing its md5.
        var missing = Project("missing16", properties: "<MicrokernelPxe>true</MicrokernelPxe><TinyCoreKernel>6.12.11-tinycore64</TinyCoreKernel>");
        Edit(missing, "<TinyCoreVersion>17.x</TinyCoreVersion>", "<TinyCoreVersion>16.x</TinyCoreVersion>");
        Edit(missing, "<TczExtension Include=\"rmk-dummy-KERNEL\" />", "");
        var text = Build(missing).AssertFailureWith("RMK1050").Output;
        Assert.Contains("vmlinuz64", text);
        Assert.Contains("16.x/x86_64/release/distribution_files/", text);
        NothingWritten(missing);

        Mirror.Misbehave(Mirror17.ReleaseRelative("corepure64.gz"), new ReplaceBody(new byte[5000]));
        var md5 = Project("md5bad17", properties: "<MicrokernelPxe>true</MicrokernelPxe>");
        Assert.Contains("corepure64.gz", Build(md5).AssertFailureWith("RMK1003").Output);
        NothingWritten(md5);
        Mirror.ClearMisbehaviors();

        // The mirror's release initrd with a right md5 that is not a gzip'd newc cpio (15.x here): refused before any
        // layer, and not pinned in the lock file.
        var mirrorInitrd = Project("mirrorinitrd15", properties: "<MicrokernelPxe>true</MicrokernelPxe>");
        Edit(mirrorInitrd, "<TinyCoreVersion>17.x</TinyCoreVersion>", "<TinyCoreVersion>15.x</TinyCoreVersion>");
        Edit(mirrorInitrd, "<TczExtension Include=\"rmk-dummy-KERNEL\" />", "");
        Assert.Contains("release file '15.x/x86_64/release/distribution_files/corepure64.gz'", Build(mirrorInitrd).AssertFailureWith("RMK3303").Output);
        NothingWritten(mirrorInitrd);
        Assert.False(File.Exists(mirrorInitrd["microkernel.lock.json"]));

        // CoreKernel without CoreInitrd; a CoreKernel that is no kernel (its version cannot be read).
        var pair = Project("pair17", "<CoreKernel Include=\"vmlinuz64\" />");
        File.Copy(Release.Kernel, pair["vmlinuz64"]);
        Assert.Contains("CoreKernel 'vmlinuz64'", Build(pair).AssertFailureWith("RMK2060").Output);
        NothingWritten(pair);
        var notKernel = Project("notkernel17", "<CoreKernel Include=\"vmlinuz64\" /><CoreInitrd Include=\"corepure64.gz\" />");
        notKernel.Write("vmlinuz64", new byte[4096]);
        File.Copy(Release.Initrd, notKernel["corepure64.gz"]);
        Assert.Contains("CoreKernel 'vmlinuz64'", Build(notKernel).AssertFailureWith("RMK3304").Output);
        NothingWritten(notKernel);

        // A release initrd that is not a gzip'd newc cpio: on a first build nothing is written (it is refused before any
        // layer); after a good build, the previous files, the overlay among them, stay as they were.
        var initrd = Project("initrd17", "<CoreKernel Include=\"vmlinuz64\" /><CoreInitrd Include=\"corepure64.gz\" />");
        File.Copy(Release.Kernel, initrd["vmlinuz64"]);
        initrd.Write("corepure64.gz", TestArchives.Gzip(new byte[70_000]));
        Assert.Contains("CoreInitrd 'corepure64.gz'", Build(initrd).AssertFailureWith("RMK3303").Output);
        NothingWritten(initrd);
        File.Copy(Release.Initrd, initrd["corepure64.gz"], overwrite: true);
        Build(initrd).AssertSuccess();
        var good = Directory.GetFiles(initrd.OutDir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToDictionary(f => f, File.ReadAllBytes);
        Assert.Contains(Pxe(initrd, "corepure64.gz"), good.Keys);
        initrd.Write("corepure64.gz", TestArchives.Gzip(new byte[70_000]));
        initrd.Write("marker", "changed\n"); // a build that went on would rewrite the overlay
        Assert.Contains("CoreInitrd 'corepure64.gz'", Build(initrd).AssertFailureWith("RMK3303").Output);
        Assert.Equal(good.Keys, Directory.GetFiles(initrd.OutDir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal));
        Assert.All(good, kv => Assert.Equal(kv.Value, File.ReadAllBytes(kv.Key)));
    }

    /// <summary>A build that failed on its first run wrote no output and no layer (the download cache and obj/'s
    /// bookkeeping aside).</summary>
    private static void NothingWritten(TestProject p)
    {
        Assert.False(Directory.Exists(p.OutDir), $"{p.OutDir} was written");
        Assert.False(Directory.Exists(Path.Combine(p.Directory, "obj", "Debug", "layers")), "a layer was written");
    }

    /// <summary>Local CoreKernel and CoreInitrd are local inputs like any other (issue 14's fingerprints): one replaced by
    /// an older file (cp -p, touch -d) re-runs exactly the steps that read it; every network boot file is owner-only
    /// whatever the umask, the initrd (it holds server.cfg) first of all.</summary>
    [Fact]
    public void LocalCoreKernelAndInitrd_ReplacedByOlderFiles_ReRunTheirSteps_AndTheFilesAreOwnerOnly()
    {
        var p = SdkHarness.CreateProject("pxelocal17");
        p.Write("marker", "seventeen\n");
        File.Copy(Release.Kernel, p["vmlinuz64"]);
        File.Copy(Release.Initrd, p["corepure64.gz"]);
        p.WithProject("""
            <PropertyGroup>
              <TinyCoreVersion>17.x</TinyCoreVersion>
              <TinyCoreArch>x86_64</TinyCoreArch>
              <McollectiveStompHost>razor-17.example</McollectiveStompHost>
            </PropertyGroup>
            <ItemGroup>
              <OverlayFile Include="marker" Destination="/etc/rmk-marker" />
              <CoreKernel Include="vmlinuz64" />
              <CoreInitrd Include="corepure64.gz" />
            </ItemGroup>
            """);
        // Built under umask 000: the modes must not depend on it.
        var umask = Tool.Run("sh", ["-c", $"umask 000 && cd '{p.Directory}' && XDG_CONFIG_HOME='{p.ConfigFolder}' NUGET_PACKAGES='{p.PackagesFolder}' " +
            $"MCOLLECTIVE_PSK='{TestSecrets.Psk}' MCOLLECTIVE_STOMP_PASSWORD='{TestSecrets.Password}' DOTNET_CLI_DO_NOT_USE_MSBUILD_SERVER=1 dotnet build -nr:false -tl:off -v:m"]);
        Assert.True(umask.ExitCode == 0, umask.StdOut + umask.StdErr);
        Assert.Equal(["SHA256SUMS", "boot.ipxe", "corepure64.gz", "pxelinux.cfg/default", "vmlinuz64"],
            Directory.GetFiles(Pxe(p), "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(Pxe(p), f)).Order(StringComparer.Ordinal));
        foreach (var f in Directory.GetFiles(Pxe(p), "*", SearchOption.AllDirectories))
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(f));
        }

        var noop = Build(p).AssertSuccess();
        Assert.Contains("RmkPxeKernel", noop.TargetsSkipped);
        Assert.Contains("RmkPxe", noop.TargetsSkipped);
        // The no-op build took the kept resolution (the kernel version read from vmlinuz64 by the first build).
        Assert.True(File.Exists(p["obj/Debug/release.resolved"]), "the release's resolution was not kept");
        Assert.Contains($"17.x x86_64: kernel {Release.KernelVersion} (", noop.Output);

        // The initrd replaced by an older file (another valid initrd: the previous build's, the release's and an overlay).
        File.Copy(Pxe(p, "corepure64.gz"), p["older-initrd.gz"]);
        Tool.Run("touch", ["-d", "2015-01-01 00:00:00", p["older-initrd.gz"]]).EnsureSuccess("touch -d");
        Tool.Run("cp", ["-p", p["older-initrd.gz"], p["corepure64.gz"]]).EnsureSuccess("cp -p");
        var initrdChanged = Build(p).AssertSuccess();
        Assert.Contains("RmkPxe", initrdChanged.TargetsRun);
        Assert.Contains("RmkPxeKernel", initrdChanged.TargetsSkipped);
        var older = File.ReadAllBytes(p["older-initrd.gz"]);
        Assert.Equal(older, File.ReadAllBytes(Pxe(p, "corepure64.gz"))[..older.Length]);

        // The kernel replaced by an older file with other bytes: both steps (SHA256SUMS names the kernel's hash).
        File.WriteAllBytes(p["older-kernel"], [.. File.ReadAllBytes(Release.Kernel), .. new byte[512]]);
        Tool.Run("touch", ["-d", "2015-01-01 00:00:00", p["older-kernel"]]).EnsureSuccess("touch -d");
        Tool.Run("cp", ["-p", p["older-kernel"], p["vmlinuz64"]]).EnsureSuccess("cp -p");
        var kernelChanged = Build(p).AssertSuccess();
        Assert.Contains("RmkPxeKernel", kernelChanged.TargetsRun);
        Assert.Contains("RmkPxe", kernelChanged.TargetsRun);
        Assert.Equal(File.ReadAllBytes(p["older-kernel"]), File.ReadAllBytes(Pxe(p, "vmlinuz64")));
        Tool.Run("sha256sum", ["-c", "--quiet", "SHA256SUMS"], Pxe(p)).EnsureSuccess("sha256sum -c");
        Assert.Empty(Build(p).AssertSuccess().TargetsRun);
    }

    [Fact]
    public void CoreKernelAndCoreInitrd_AsUrls_ComeThroughTheCache_AndGiveTheNetworkBootFiles()
    {
        var kernelUrl = Mirror.Url(Mirror17.ReleaseRelative("vmlinuz64"));
        var initrdUrl = Mirror.Url(Mirror17.ReleaseRelative("corepure64.gz"));
        var p = Project("urls17", $"""
            <CoreKernel Include="{kernelUrl}" Sha256="{Sha256(Release.Kernel)}" />
            <CoreInitrd Include="{initrdUrl}" Sha256="{Sha256(Release.Initrd)}" />
            """);
        Build(p).AssertSuccess();
        Assert.Equal(File.ReadAllBytes(Release.Kernel), File.ReadAllBytes(Pxe(p, "vmlinuz64")));
        using (var lockJson = JsonDocument.Parse(File.ReadAllText(p["microkernel.lock.json"])))
        {
            var urls = lockJson.RootElement.GetProperty("downloads").EnumerateArray().Select(d => d.GetProperty("url").GetString()).ToList();
            Assert.Contains(kernelUrl, urls);
            Assert.Contains(initrdUrl, urls);
            Assert.Equal(Release.KernelVersion, lockJson.RootElement.GetProperty("tinyCore").GetProperty("kernel").GetString());
            Assert.False(lockJson.RootElement.TryGetProperty("releaseFiles", out _));
        }

        var requests = Mirror.TotalRequests;
        p.Run("clean").AssertSuccess();
        Build(p, "-p:MicrokernelOffline=true").AssertSuccess();
        Assert.Equal(requests, Mirror.TotalRequests);
        Tool.Run("sha256sum", ["-c", "--quiet", "SHA256SUMS"], Pxe(p)).EnsureSuccess("sha256sum -c");
    }
}
