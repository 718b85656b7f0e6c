using System.Diagnostics;
using System.Security.Cryptography;
using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Sdk.Tests;

/// <summary>
/// Issue 14 through `dotnet build` of the packed SDK: an input replaced by one with an older date still re-runs
/// its step; files that hold a secret are owner-only; non-regular inputs and unbounded archives are refused before
/// anything is read; weak-secret warnings on every build; the generated Development PSK survives `dotnet clean`;
/// inputs and properties that can be checked before work fail the build before anything is written, leaving the
/// previous good output byte-identical.
/// </summary>
public sealed class HardeningTests
{
    private static readonly Dictionary<string, string?> Secrets = TestSecrets.Variables();

    /// <summary>Gives a file an old modification time, as `cp -p`, `tar x`, `wget` or `git checkout` can.</summary>
    private static void DateBack(string path) => Tool.Run("touch", ["-d", "2015-01-01 00:00:00", path]).EnsureSuccess("touch -d");

    private static string Entry(string archive, string path) => Tool.Run("tar", "-xzOf", archive, path).EnsureSuccess($"tar -xzOf {path}").StdOut;

    private static string Sha(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>Every file the build wrote below obj/ and bin/, with its bytes' hash and write time.</summary>
    /// <summary>The kept resolutions and checks (what the release's, the extensions' resolution and the UEFI check last
    /// found, keyed by their inputs' fingerprints): a build that stops at a later check may already have renewed them for
    /// inputs that changed, which loses nothing; every other file in obj/ and bin/ must stay as it was.</summary>
    private static readonly string[] KeptResolutions = ["release.resolved", "release-files.resolved", "tcz.resolved", "efi-boot.checked"];

    private static SortedDictionary<string, (string Sha, DateTime Time)> Outputs(TestProject p)
        => new(new[] { "obj", "bin" }.Where(d => Directory.Exists(p[d]))
            .SelectMany(d => Directory.EnumerateFiles(p[d], "*", SearchOption.AllDirectories))
            .Where(f => !KeptResolutions.Contains(Path.GetFileName(f)))
            .ToDictionary(f => Path.GetRelativePath(p.Directory, f), f => (Sha(File.ReadAllBytes(f)), File.GetLastWriteTimeUtc(f))), StringComparer.Ordinal);

    private static void MakeSquashfs(string tree, string image)
        => Tool.Run("mksquashfs", [tree, image, "-noappend", "-comp", "gzip", "-b", "4096", "-no-xattrs", "-all-root", "-no-progress", "-quiet"])
            .EnsureSuccess("mksquashfs");

    private static string IsoFile(TestProject p, string iso, string path)
    {
        var x = p["iso-x"];
        if (Directory.Exists(x))
        {
            Tool.Run("chmod", ["-R", "u+w", x]).EnsureSuccess("chmod");
            Directory.Delete(x, recursive: true);
        }

        Tool.Run("xorriso", "-osirrox", "on", "-indev", iso, "-extract", "/" + path, Path.Combine(x, path)).EnsureSuccess("osirrox extract");
        return Sha(File.ReadAllBytes(Path.Combine(x, path)));
    }

    /// <summary>Item 3: each kind of local input, rewritten and dated back before the layer that holds it, re-runs its step
    /// and reaches the overlay (or the ISO); a build after that does nothing.</summary>
    [Fact]
    public void InputReplacedWithAnOlderDate_ReRunsItsStep_ForEveryKindOfLocalInput()
    {
        var p = SdkHarness.CreateProject("stale");
        p.Write("motd", "first\n");
        p.Write("a.tgz", TestArchives.Tgz(TestArchives.Dir("opt/"), TestArchives.File("opt/a", "first archive\n")));
        p.Write("tree/usr/local/share/t.txt", "first image\n");
        MakeSquashfs(p["tree"], p["t.tcz"]);
        var gem = GemTests.BuildGem(p, "alpha", "1.0.0");
        var coreIso = IsoTests.MakeCoreIso(p);
        p.Write("secrets.txt", "plugin.psk = first-psk-of-24-characters\nplugin.stomp.password = first-password-of-24-chars\n");
        p.WithProject($"""
            <PropertyGroup>
              <McollectiveStompHost>h</McollectiveStompHost>
              <McollectiveSecretsFile>secrets.txt</McollectiveSecretsFile>
            </PropertyGroup>
            <ItemGroup>
              <OverlayFile Include="motd" Destination="/etc/motd" />
              <OverlayArchive Include="a.tgz" />
              <TczImage Include="t.tcz" />
              <Gem Include="{gem}" />
              <CoreIso Include="{coreIso}" />
            </ItemGroup>
            """);
        var none = TestSecrets.Variables(psk: null, password: null);
        p.Run("build", environment: none).AssertSuccess();
        var iso = Path.Combine(p.OutDir, "rz_mk_dev-image.1.0.0.iso");
        Assert.True(File.Exists(iso));
        Assert.Empty(p.Run("build", environment: none).AssertSuccess().TargetsRun);

        void Changed(string what, Action change, string step, Action check)
        {
            var layersBefore = Outputs(p);
            change();
            var r = p.Run("build", environment: none).AssertSuccess();
            Assert.True(r.TargetsRun.Contains(step), $"{what}: {step} did not run (ran: {string.Join(", ", r.TargetsRun)})");
            Assert.Contains("RmkBuildIso", r.TargetsRun);
            check();
            Assert.Empty(p.Run("build", environment: none).AssertSuccess().TargetsRun);
            Assert.NotEqual(layersBefore, Outputs(p));
        }

        // echo X > motd; touch -d 2015-01-01 motd (same size as before, too)
        Changed("OverlayFile", () => { File.WriteAllText(p["motd"], "FIRST\n"); DateBack(p["motd"]); }, "RmkOverlayFilesLayer",
            () => Assert.Equal("FIRST\n", Entry(p.Overlay, "etc/motd")));

        // cp -p of an older archive over the current one
        p.Write("old/a.tgz", TestArchives.Tgz(TestArchives.Dir("opt/"), TestArchives.File("opt/a", "older archive\n")));
        Changed("OverlayArchive", () => { DateBack(p["old/a.tgz"]); Tool.Run("cp", ["-p", p["old/a.tgz"], p["a.tgz"]]).EnsureSuccess("cp -p"); },
            "RmkOverlayArchiveLayers", () => Assert.Equal("older archive\n", Entry(p.Overlay, "opt/a")));

        Changed("TczImage", () =>
        {
            File.WriteAllText(p["tree/usr/local/share/t.txt"], "second image\n");
            MakeSquashfs(p["tree"], p["t.tcz"]);
            DateBack(p["t.tcz"]);
        }, "RmkTczImageLayers", () => Assert.Equal("second image\n", Entry(p.Overlay, "usr/local/share/t.txt")));

        Changed("Gem", () =>
        {
            GemTests.BuildGem(p, "alpha", "1.0.0", deps: "s.description = 'the second build'");
            DateBack(gem);
        }, "RmkGemsLayer", () => Assert.Equal(Tool.Run("sh", ["-c", $"sha256sum < {gem}"]).StdOut,
            Tool.Run("sh", ["-c", $"tar -xzOf {p.Overlay} usr/local/lib/ruby/gems/1.8/cache/alpha-1.0.0.gem | sha256sum"]).StdOut));

        Changed("McollectiveSecretsFile", () =>
        {
            File.WriteAllText(p["secrets.txt"], "plugin.psk = other-psk-of-24-characters\nplugin.stomp.password = first-password-of-24-chars\n");
            DateBack(p["secrets.txt"]);
        }, "RmkMcollectiveSettingsLayer", () => Assert.Contains("plugin.psk = other-psk-of-24-characters\n", Entry(p.Overlay, "usr/local/etc/mcollective/server.cfg")));

        var vmlinuz = IsoFile(p, iso, "boot/vmlinuz");
        Changed("CoreIso", () =>
        {
            File.Delete(coreIso);
            Directory.Delete(p["core-tree"], recursive: true);
            Directory.Delete(p["core-root"], recursive: true);
            IsoTests.MakeCoreIso(p);
            DateBack(coreIso);
        }, "RmkBuildIso", () =>
        {
            var now = IsoFile(p, iso, "boot/vmlinuz");
            Assert.NotEqual(vmlinuz, now);
            Assert.Equal(Sha(File.ReadAllBytes(p["core-tree/boot/vmlinuz"])), now);
            // The network boot files take kernel and initrd from the same CoreIso: their steps re-ran too.
            Assert.Equal(now, Sha(File.ReadAllBytes(Path.Combine(p.OutDir, "pxe", "vmlinuz"))));
        });
    }

    /// <summary>Item 4: settings.tar, every layer, the overlay and the ISO are 0600 whatever the umask, and AtomicFile's
    /// temporary file already is while it is being written.</summary>
    [Fact]
    public void FilesHoldingSecrets_AreOwnerOnly()
    {
        var p = SdkHarness.CreateProject("modes");
        var coreIso = IsoTests.MakeCoreIso(p);
        p.Write("motd", "m\n");
        p.Write("host_key", "-----BEGIN OPENSSH PRIVATE KEY-----\nxx\n-----END OPENSSH PRIVATE KEY-----\n");
        p.WithProject($"""
            <PropertyGroup><McollectiveStompHost>h</McollectiveStompHost><MicrokernelInitrdMode>Merge</MicrokernelInitrdMode></PropertyGroup>
            <ItemGroup>
              <OverlayFile Include="motd" Destination="/etc/motd" />
              <SshHostKey Include="host_key" />
              <CoreIso Include="{coreIso}" />
            </ItemGroup>
            """);
        p.Run("build", environment: Secrets).AssertSuccess();
        // Again with a permissive umask and changed settings (every layer but the ssh one, the overlay and the ISO
        // rewritten): the modes must not depend on the umask.
        var umaskRun = Tool.Run("sh", ["-c", $"umask 000 && cd {p.Directory} && XDG_CONFIG_HOME={p.ConfigFolder} NUGET_PACKAGES={p.PackagesFolder} MCOLLECTIVE_PSK={TestSecrets.Psk} MCOLLECTIVE_STOMP_PASSWORD={TestSecrets.Password} DOTNET_CLI_DO_NOT_USE_MSBUILD_SERVER=1 dotnet build -nr:false -tl:off -v:m -p:MicrokernelVersion=2.0.0 -p:McollectiveStompHost=h2"]);
        Assert.True(umaskRun.ExitCode == 0, umaskRun.StdOut + umaskRun.StdErr);

        var secretHolders = new[]
        {
            p["obj/Debug/layers/settings.tar"], p["obj/Debug/layers/ssh.tar"], p["obj/Debug/layers/files.tar"], p.Overlay,
            Path.Combine(p.OutDir, "rz_mk_dev-image.2.0.0.iso"), p["obj/Debug/secrets.key"],
            Path.Combine(p.OutDir, "pxe", "core.gz"), // the network boot initrd: the release's initrd and the overlay
        };
        foreach (var f in secretHolders)
        {
            Assert.True(File.Exists(f), f);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(f));
        }

        // Nothing under obj/ or bin/ that holds image bytes is readable by others.
        foreach (var f in Directory.EnumerateFiles(p["obj"], "*.tar", SearchOption.AllDirectories).Concat(Directory.EnumerateFiles(p["bin"], "*", SearchOption.AllDirectories)))
        {
            Assert.True((File.GetUnixFileMode(f) & (UnixFileMode.OtherRead | UnixFileMode.GroupRead)) == 0, $"{f} is {File.GetUnixFileMode(f)}");
        }

        Assert.Empty(Directory.EnumerateFiles(p.Directory, "*.tmp", SearchOption.AllDirectories));
    }

    /// <summary>Item 5: a link to /dev/zero, a FIFO or a folder given as any local input is refused (RMK2041) before
    /// anything is read, promptly, and the previous overlay stays byte-identical.</summary>
    [Fact]
    public void NonRegularInputs_AreRefusedBeforeReading_AndThePreviousOverlayStays()
    {
        var p = SdkHarness.CreateProject("special");
        p.Write("motd", "m\n");
        p.Write("a.tgz", TestArchives.Tgz(TestArchives.File("opt/a", "a\n")));
        Tool.Run("ln", ["-s", "/dev/zero", p["zero"]]).EnsureSuccess("ln -s");
        Tool.Run("mkfifo", [p["fifo"]]).EnsureSuccess("mkfifo");
        Directory.CreateDirectory(p["folder"]);
        const string good = """<OverlayFile Include="motd" Destination="/etc/motd" /><OverlayArchive Include="a.tgz" />""";
        p.WithProject($"<PropertyGroup><McollectiveStompHost>h</McollectiveStompHost></PropertyGroup><ItemGroup>{good}</ItemGroup>");
        p.Run("build", environment: Secrets).AssertSuccess();
        var before = Outputs(p);

        (string Item, string Property)[] cases =
        [
            ("""<OverlayFile Include="zero" Destination="/etc/zero" />""", ""),
            ("""<OverlayFile Include="fifo" Destination="/etc/fifo" />""", ""),
            ("""<OverlayFile Include="folder" Destination="/etc/folder" />""", ""),
            ("""<OverlayArchive Include="zero" />""", ""),
            ("""<OverlayArchive Include="fifo" />""", ""),
            ("""<TczImage Include="zero" />""", ""),
            ("""<Gem Include="fifo" />""", ""),
            ("""<RubyGems Include="zero" />""", ""),
            ("""<McollectiveArchive Include="fifo" />""", ""),
            ("""<SshAuthorizedKey Include="zero" />""", ""),
            ("""<SshHostKey Include="fifo" />""", ""),
            ("""<CoreIso Include="folder" />""", ""),
            ("""<CoreKernel Include="zero" /><CoreInitrd Include="motd" />""", ""),
            ("""<CoreKernel Include="motd" /><CoreInitrd Include="fifo" />""", ""),
            ("", "<McollectiveSecretsFile>fifo</McollectiveSecretsFile>"),
            ("", "<MicrokernelIsoHybrid>true</MicrokernelIsoHybrid><MicrokernelIsoHybridMbr>zero</MicrokernelIsoHybridMbr><MicrokernelIso>true</MicrokernelIso>"),
        ];
        foreach (var (item, property) in cases)
        {
            p.WithProject($"<PropertyGroup><McollectiveStompHost>h</McollectiveStompHost>{property}</PropertyGroup><ItemGroup>{good}{item}</ItemGroup>");
            var clock = Stopwatch.StartNew();
            var r = p.Run("build", environment: Secrets, timeout: TimeSpan.FromMinutes(2));
            r.AssertFailureWith("RMK2041");
            Assert.True(clock.Elapsed < TimeSpan.FromMinutes(1.5), $"{item}{property}: took {clock.Elapsed}");
            Assert.Equal(before, Outputs(p));
        }
    }

    /// <summary>Item 5: a mirror folder's file that is a link to /dev/zero or a FIFO (a .dep, a .tcz) is refused (RMK1002)
    /// instead of being read without end or blocking the build.</summary>
    [Fact]
    public void MirrorFolderFiles_ThatAreNotRegular_AreRefused()
    {
        var p = SdkHarness.CreateProject("mirrorspecial");
        var builder = new Razor.Microkernel.TestSupport.Mirror.TinyCoreMirrorBuilder(p["mirror"]);
        builder.AddLibrary("a", null, "a library\n"u8.ToArray());
        builder.AddLibrary("b", null, "b library\n"u8.ToArray());
        File.Delete(Path.Combine(builder.TczFolder, "a.tcz.dep"));
        Tool.Run("ln", ["-s", "/dev/zero", Path.Combine(builder.TczFolder, "a.tcz.dep")]).EnsureSuccess("ln -s");
        File.Delete(Path.Combine(builder.TczFolder, "b.tcz"));
        Tool.Run("mkfifo", [Path.Combine(builder.TczFolder, "b.tcz")]).EnsureSuccess("mkfifo");
        foreach (var name in new[] { "a", "b" })
        {
            p.WithProject($"<ItemGroup><TczExtension Include=\"{name}\" /></ItemGroup>");
            var clock = Stopwatch.StartNew();
            var r = p.Run("build", [$"-p:TczMirror={p["mirror"]}", "-p:MicrokernelCacheDirectory=cache"], timeout: TimeSpan.FromMinutes(2)).AssertFailureWith("RMK1002");
            Assert.Contains("not a regular file", r.Output);
            Assert.True(clock.Elapsed < TimeSpan.FromMinutes(1.5), $"{name}: {clock.Elapsed}");
            Assert.False(File.Exists(p.Overlay));
        }
    }

    /// <summary>Item 5: a 4 GiB sparse file of zeros (an empty tar and 4 GiB of padding) and a tar that claims a 4 GiB
    /// entry are refused at once (RMK3007, RMK3005); the bounds are properties.</summary>
    [Fact]
    public void OverlayArchive_ReadsAreBounded_AndTheBoundsAreProperties()
    {
        var p = SdkHarness.CreateProject("bounded");
        p.Write("motd", "m\n");
        p.WithProject("""<ItemGroup><OverlayFile Include="motd" Destination="/etc/motd" /></ItemGroup>""");
        p.Build().AssertSuccess();
        var before = File.ReadAllBytes(p.Overlay);

        Tool.Run("truncate", ["-s", "4G", p["zeros.tar"]]).EnsureSuccess("truncate");
        // GNU tar's header for a 4 GiB file of zeros (without -S, as a plain tar holds it) and the first MiB of its data.
        Directory.CreateDirectory(p["big"]);
        Tool.Run("truncate", ["-s", "4G", p["big/zero.bin"]]).EnsureSuccess("truncate");
        Tool.Run("sh", ["-c", $"cd {p["big"]} && tar cf - zero.bin | head -c 1048576 > {p["big.tar"]}"]);
        p.Write("three.tgz", TestArchives.Tgz(TestArchives.File("opt/1", "1"), TestArchives.File("opt/2", "2"), TestArchives.File("opt/3", "3")));
        File.Delete(p["big/zero.bin"]);

        (string Item, string Args, string Code)[] cases =
        [
            ("zeros.tar", "", "RMK3007"),
            ("big.tar", "", "RMK3005"),
            ("three.tgz", "-p:OverlayArchiveMaxEntries=2", "RMK3005"),
            ("three.tgz", "-p:OverlayArchiveMaxBytes=2048", "RMK3005"),
            ("three.tgz", "-p:OverlayArchiveMaxDepth=1", "RMK3005"),
            ("three.tgz", "-p:OverlayArchiveMaxEntries=many", "RMK4004"),
        ];
        foreach (var (item, args, code) in cases)
        {
            p.WithProject($"""<ItemGroup><OverlayFile Include="motd" Destination="/etc/motd" /><OverlayArchive Include="{item}" /></ItemGroup>""");
            var clock = Stopwatch.StartNew();
            p.Build(args.Length > 0 ? [args] : []).AssertFailureWith(code);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"{item} {args}: {clock.Elapsed}");
            Assert.Equal(before, File.ReadAllBytes(p.Overlay));
        }

        // Within the bounds it builds.
        p.Build("-p:OverlayArchiveMaxEntries=3").AssertSuccess();
        Assert.Equal("3", Entry(p.Overlay, "opt/3"));
    }

    /// <summary>Item 6: the weak-secret warnings of a Development image appear on a no-op build too, which runs no layer.</summary>
    [Fact]
    public void WeakSecretWarnings_AppearOnEveryBuild_IncludingANoOpBuild()
    {
        var p = SdkHarness.CreateProject("weak");
        p.WithProject("<PropertyGroup><McollectiveStompHost>h</McollectiveStompHost></PropertyGroup>");
        var weak = TestSecrets.Variables(psk: "klot2oj2ked2tayn3hu5on7l", password: "short");
        var first = p.Run("build", environment: weak).AssertSuccess();
        var second = p.Run("build", environment: weak).AssertSuccess();
        Assert.Empty(second.TargetsRun);
        foreach (var r in new[] { first, second })
        {
            Assert.Contains("warning RMK4116", r.Output);
            Assert.Contains("warning RMK4117", r.Output);
            Assert.DoesNotContain("klot2oj2ked2tayn3hu5on7l", r.Output);
        }

        var generated = TestSecrets.Variables(psk: null);
        p.Run("build", environment: generated).AssertSuccess();
        var noop = p.Run("build", environment: generated).AssertSuccess();
        Assert.Empty(noop.TargetsRun);
        Assert.Contains("warning RMK4118", noop.Output);
        Assert.Contains("warning RMK4118", p.Run("build", environment: TestSecrets.Variables(psk: null, password: null)).AssertSuccess().Output);
        Assert.Contains("warning RMK4115", p.Run("build", environment: TestSecrets.Variables(psk: null, password: null)).AssertSuccess().Output);
    }

    /// <summary>Item 7: the generated Development PSK is kept outside obj/ (owner-only), survives `dotnet clean`, and a
    /// replaced one is announced (RMK4130); MicrokernelGeneratedPskFile moves it.</summary>
    [Fact]
    public void GeneratedPsk_SurvivesClean_AndAChangeIsAnnounced()
    {
        var p = SdkHarness.CreateProject("psk");
        p.WithProject("<PropertyGroup><McollectiveStompHost>h</McollectiveStompHost></PropertyGroup>");
        var env = TestSecrets.Variables(psk: null);
        string Psk() => Entry(p.Overlay, "usr/local/etc/mcollective/server.cfg").Split('\n').Single(l => l.StartsWith("plugin.psk = ", StringComparison.Ordinal))["plugin.psk = ".Length..];

        var first = p.Run("build", environment: env).AssertSuccess();
        var psk = Psk();
        var kept = Directory.GetFiles(Path.Combine(p.ConfigFolder, "Razor.Microkernel.Sdk", "generated-psk"), "*.psk").Single(); // beside it: its .psk.lock
        Assert.Equal(psk + "\n", File.ReadAllText(kept));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(kept));
        Assert.Contains(kept, first.Output);
        Assert.DoesNotContain(psk, first.Output);

        p.Run("clean", environment: env).AssertSuccess();
        Assert.False(Directory.Exists(p["obj"]));
        Assert.DoesNotContain("RMK4130", p.Run("build", environment: env).AssertSuccess().Output);
        Assert.Equal(psk, Psk());

        // Lost (a new machine, a deleted file): a new PSK, and the build says the image's PSK changed.
        File.Delete(kept);
        var changed = p.Run("build", environment: env).AssertSuccess();
        Assert.Contains("warning RMK4130", changed.Output);
        Assert.NotEqual(psk, Psk());
        Assert.Equal(Psk() + "\n", File.ReadAllText(kept));

        // Kept where the project says, e.g. beside it (the user's to keep out of version control).
        p.Write("dev.psk", "my-own-development-psk-01\n");
        p.Run("build", ["-p:MicrokernelGeneratedPskFile=dev.psk"], env).AssertSuccess();
        Assert.Equal("my-own-development-psk-01", Psk());
    }

    /// <summary>Item 8: a CoreIso missing from a mirror folder, other missing inputs, and bad properties and item counts
    /// fail before any layer or the overlay is written: the previous outputs stay byte-identical, with their times.</summary>
    [Fact]
    public void CheckableInputs_FailBeforeAnyWork_AndNothingIsWritten()
    {
        var p = SdkHarness.CreateProject("early");
        var mirror = p["mirror"];
        var release = Path.Combine(mirror, "4.x", "x86", "release");
        Directory.CreateDirectory(release);
        File.Copy(IsoTests.MakeCoreIso(p), Path.Combine(release, "Core-4.5.2.iso"));
        p.Write("motd", "m\n");
        p.Write("a.tgz", TestArchives.Tgz(TestArchives.File("opt/a", "a\n")));
        const string body = """
            <PropertyGroup><McollectiveStompHost>h</McollectiveStompHost></PropertyGroup>
            <ItemGroup>
              <OverlayFile Include="motd" Destination="/etc/motd" />
              <OverlayArchive Include="a.tgz" />
              <CoreIso Include="$(TczMirror.TrimEnd('/'))/4.x/x86/release/Core-4.5.2.iso" />
            </ItemGroup>
            """;
        p.WithProject(body);
        p.Run("build", [$"-p:TczMirror={mirror}"], Secrets).AssertSuccess();
        var before = Outputs(p);

        // Every case also changes an input, so that a build that went on would rewrite a layer and the overlay.
        var n = 0;
        void Fails(string code, string[] args, string? extra = null, Dictionary<string, string?>? env = null)
        {
            File.WriteAllText(p["motd"], $"changed {++n}\n");
            p.WithProject(extra is null ? body : body.Replace("</ItemGroup>", extra + "</ItemGroup>", StringComparison.Ordinal));
            var r = p.Run("build", [$"-p:TczMirror={mirror}", .. args], env ?? Secrets).AssertFailureWith(code);
            Assert.DoesNotContain("RmkOverlayFilesLayer", r.TargetsRun);
            Assert.Equal(before, Outputs(p));
            Assert.Empty(Directory.EnumerateFiles(p.Directory, "*.tmp", SearchOption.AllDirectories));
        }

        // The release ISO is not in the mirror folder.
        File.Move(Path.Combine(release, "Core-4.5.2.iso"), p["moved.iso"]);
        Fails("RMK2009", []);
        File.Move(p["moved.iso"], Path.Combine(release, "Core-4.5.2.iso"));

        Fails("RMK2010", [], """<OverlayArchive Include="absent.tgz" />""");
        Fails("RMK2011", [], """<TczImage Include="absent.tcz" />""");
        Fails("RMK2009", [], """<Gem Include="absent.gem" />""");
        Fails("RMK2009", ["-p:McollectiveSecretsFile=absent.txt"]);
        Fails("RMK2026", [], """<McollectiveArchive Include="a.tgz" /><McollectiveArchive Include="motd" />""");
        Fails("RMK4001", ["-p:OverlayCompressionLevel=11"]);
        Fails("RMK4002", ["-p:SOURCE_DATE_EPOCH=yesterday"]);
        Fails("RMK4004", ["-p:SquashfsMaxBytes=0"]);
        Fails("RMK4008", ["-p:MicrokernelVersion=one"]);
        Fails("RMK4007", ["-p:MicrokernelInitrdMode=Both"]);
        Fails("RMK4117", ["-p:MicrokernelFlavor=Production"], env: TestSecrets.Variables(password: "short"));
        // An input that cannot be examined at all (a name longer than the file system allows: ENAMETOOLONG).
        Fails("RMK2040", [], $"""<OverlayFile Include="{new string('n', 300)}" Destination="/etc/long" />""");
        // A generated Development PSK that cannot be kept (its folder would be below a file).
        Fails("RMK4131", ["-p:MicrokernelGeneratedPskFile=motd/dev.psk"], env: TestSecrets.Variables(psk: null));

        // The release and the network boot files (issue 16): an unknown release, a TinyCoreKernel that is no kernel
        // version, CoreKernel without CoreInitrd or twice, a missing one, MicrokernelPxe neither true nor false, and the
        // properties the network boot files share with the ISO when no ISO is built.
        Fails("RMK4012", ["-p:TinyCoreVersion=3.x"]);
        Fails("RMK4012", ["-p:TinyCoreArch=armv7"]);
        Fails("RMK4014", ["-p:TinyCoreKernel=3.0.21 tinycore"]);
        Fails("RMK2060", [], """<CoreKernel Include="motd" />""");
        Fails("RMK2061", [], """<CoreKernel Include="motd" /><CoreKernel Include="a.tgz" /><CoreInitrd Include="motd" />""");
        Fails("RMK2009", [], """<CoreKernel Include="absent" /><CoreInitrd Include="motd" />""");
        Fails("RMK4017", ["-p:MicrokernelPxe=maybe"]);
        Fails("RMK4007", ["-p:MicrokernelIso=false", "-p:MicrokernelInitrdMode=Both"]);
        Fails("RMK4009", ["-p:MicrokernelIso=false", "-p:MicrokernelKernelArgs=quiet%0Aevil"]);
        foreach (var version in new[] { "1.2", "1.2.3-", "1.2.3 4", "01..2", "v1.2.3" })
        {
            Fails("RMK4008", [$"-p:MicrokernelVersion={version}"]);
        }

        // Semantic versions with a pre-release or build part are accepted (the check is the step's own).
        File.WriteAllText(p["motd"], "m\n");
        foreach (var version in new[] { "1.2.0-rc.1", "2.0.0+build.5" })
        {
            p.Run("build", [$"-p:TczMirror={mirror}", $"-p:MicrokernelVersion={version}"], Secrets).AssertSuccess();
            Assert.True(File.Exists(Path.Combine(p.OutDir, $"rz_mk_dev-image.{version}.iso")), version);
        }
    }
}
