using System.Text.RegularExpressions;
using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Sdk.Tests;

/// <summary>
/// Visual Studio's fast up-to-date check, fed by the design-time targets: it is given every local file the build reads,
/// of every item kind, metadata and property that names one (from the same list, _RmkProjectInput, that the build's
/// own early check and per-step fingerprints use), the project file and its Directory.Build files; and the outputs. A
/// change to any of them is seen, and the build that follows rebuilds exactly the steps that input feeds.
/// </summary>
public sealed partial class UpToDateCheckTests
{
    private static readonly string[] Collect = ["CollectUpToDateCheckInputDesignTime", "CollectUpToDateCheckBuiltDesignTime", "CollectUpToDateCheckOutputDesignTime"];

    /// <summary>Every item kind, metadata and property of the targets that names a local file, with the case below that
    /// covers it. A kind another change adds to _RmkProjectInput (or to the downloadable items) fails the drift test
    /// until it is added here, and so to the check.</summary>
    private static readonly string[] CoveredKinds =
    [
        "OverlayFile", "OverlayArchive", "TczImage", "Gem", "Gem.PrebuiltExtensions", "RubyGems", "McollectiveArchive", "CoreIso",
        "CoreKernel", "CoreInitrd", "EfiLoader", "SshAuthorizedKey", "SshHostKey", "McollectiveSecretsFile", "MicrokernelIsoHybridMbr",
        "MicrokernelGeneratedPskFile",
    ];

    [GeneratedRegex("""<CheckLocalInputs ProjectFile=[^>]*>""")]
    private static partial Regex EarlyCheck();

    [GeneratedRegex("""(?<name>[A-Za-z]+)="[@$]\((?<value>[A-Za-z_]+)\)""")]
    private static partial Regex Parameter();

    [GeneratedRegex("""<_RmkUrlItem Include="@\((?<kind>[A-Za-z]+)\)""")]
    private static partial Regex UrlItemKind();

    [GeneratedRegex("""<RmkLocalInput Include="[^"]*"[^>]*?\b(?:ItemType|Property)="(?<kind>[A-Za-z]+)""")]
    private static partial Regex FingerprintedKind();

    /// <summary>Kinds the build fingerprints per step that the check does not take, each for the reason docs/howto.md
    /// ("Visual Studio's fast up-to-date check") gives: TczExtension inputs are the download cache's files (the mirror's
    /// content).</summary>
    private static readonly string[] FingerprintedButNotChecked = ["TczExtension"];

    /// <summary>The kinds the one list is made of: what the targets hand CheckLocalInputs (which lists the project's
    /// inputs for the early check and for this check), its PrebuiltExtensions files, and every kind that may be a URL
    /// (which may as well be a local file); and every kind a step's fingerprints (RmkLocalInput, in any targets file)
    /// name, so that a local file a step reads cannot escape the check unless it is listed, with its reason, above.</summary>
    [Fact]
    public void EveryKindOfLocalInputTheTargetsKnow_IsCoveredHere()
    {
        var build = Path.Combine(SdkHarness.RepoRoot, "src", "Razor.Microkernel.Sdk", "build");
        var targets = File.ReadAllText(Path.Combine(build, "Razor.Microkernel.Sdk.targets"));
        var allTargets = string.Concat(Directory.EnumerateFiles(build, "*.targets").Order(StringComparer.Ordinal).Select(File.ReadAllText));
        var task = File.ReadAllText(Path.Combine(SdkHarness.RepoRoot, "src", "Razor.Microkernel.Tasks", "CheckLocalInputs.cs"));
        var call = EarlyCheck().Match(targets);
        Assert.True(call.Success, "the targets no longer call CheckLocalInputs for the project's inputs");
        string[] notFiles = ["ProjectFile", "MicrokernelIso", "MicrokernelPxe", "MicrokernelIsoHybrid", "ListOnly"];
        var known = Parameter().Matches(call.Value).Select(m => m.Groups["name"].Value).Where(n => !notFiles.Contains(n))
            .Concat(task.Contains("\"PrebuiltExtensions\"", StringComparison.Ordinal) ? ["Gem.PrebuiltExtensions"] : [])
            .Concat(UrlItemKind().Matches(targets).Select(m => m.Groups["kind"].Value))
            .ToHashSet(StringComparer.Ordinal);
        Assert.True(known.Count >= 10, string.Join(", ", known));
        Assert.Empty(known.Except(CoveredKinds));

        var fingerprinted = FingerprintedKind().Matches(allTargets).Select(m => m.Groups["kind"].Value).ToHashSet(StringComparer.Ordinal);
        Assert.True(fingerprinted.Count >= 10, string.Join(", ", fingerprinted));
        Assert.Empty(fingerprinted.Except(CoveredKinds).Except(FingerprintedButNotChecked));
        Assert.Empty(FingerprintedButNotChecked.Except(fingerprinted)); // an exception that no longer exists goes from the list
    }

    /// <summary>A project with one local input of every kind (their content does not matter: nothing is read), a URL gem
    /// (not a local input), Directory.Build.props and .targets and a lock file.</summary>
    private static (TestProject P, Dictionary<string, string> Inputs) EveryKind()
    {
        var p = SdkHarness.CreateProject("futdc");
        var inputs = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["OverlayFile"] = p.Write("files/sub/motd", "x\n"),
            ["OverlayArchive"] = p.Write("a.tgz", "x"),
            ["TczImage"] = p.Write("t.tcz", "x"),
            ["Gem"] = p.Write("gems/alpha-1.0.0.gem", "x"),
            ["Gem.PrebuiltExtensions"] = p.Write("prebuilt/lib/alpha.so", "x"),
            ["RubyGems"] = p.Write("rubygems-1.8.15.tgz", "x"),
            ["McollectiveArchive"] = p.Write("mcollective-1.2.1.tgz", "x"),
            ["CoreIso"] = p.Write("Core-4.5.2.iso", "x"),
            ["CoreKernel"] = p.Write("release/vmlinuz", "x"),
            ["CoreInitrd"] = p.Write("release/core.gz", "x"),
            ["EfiLoader"] = p.Write("BOOTX64.EFI", "x"),
            ["SshAuthorizedKey"] = p.Write("ssh/authorized_keys", "x"),
            ["SshHostKey"] = p.Write("ssh/ssh_host_rsa_key", "x"),
            ["McollectiveSecretsFile"] = p.Write("secrets.txt", "x"),
            ["MicrokernelIsoHybridMbr"] = p.Write("mbr.bin", "x"),
            ["MicrokernelGeneratedPskFile"] = p.Write("generated.psk", "x"),
            ["Directory.Build.props"] = p.Write("Directory.Build.props", "<Project />\n"),
            ["Directory.Build.targets"] = p.Write("Directory.Build.targets", "<Project />\n"),
            ["lock file"] = p.Write("microkernel.lock.json", "{}\n"),
        };
        inputs["project file"] = p.WriteCsproj("""
            <PropertyGroup>
              <McollectiveSecretsFile>secrets.txt</McollectiveSecretsFile>
              <MicrokernelIsoHybrid>true</MicrokernelIsoHybrid>
              <MicrokernelIsoHybridMbr>mbr.bin</MicrokernelIsoHybridMbr>
              <MicrokernelGeneratedPskFile>generated.psk</MicrokernelGeneratedPskFile>
            </PropertyGroup>
            <ItemGroup>
              <OverlayFile Include="files/**/*" Destination="/etc/" />
              <OverlayArchive Include="a.tgz" />
              <TczImage Include="t.tcz" />
              <Gem Include="gems/*.gem" PrebuiltExtensions="prebuilt" />
              <Gem Include="http://127.0.0.1:9/gems/remote-1.0.gem" />
              <RubyGems Include="rubygems-1.8.15.tgz" />
              <McollectiveArchive Include="mcollective-1.2.1.tgz" />
              <CoreIso Include="Core-4.5.2.iso" />
              <CoreKernel Include="release/vmlinuz" />
              <CoreInitrd Include="release/core.gz" />
              <EfiLoader Include="BOOTX64.EFI" />
              <SshAuthorizedKey Include="ssh/authorized_keys" />
              <SshHostKey Include="ssh/ssh_host_rsa_key" />
            </ItemGroup>
            """);
        return (p, inputs);
    }

    [Fact]
    public void DesignTimeCollection_NamesEveryLocalInputOfEveryKind_AndTheOutputs_WithoutReadingThem()
    {
        var (p, inputs) = EveryKind();
        var before = p.Files();

        var (run, results) = p.RunTargets("Microkernel.csproj", Collect, CsprojProjects.VisualStudioDesignTime);

        Assert.True(run.Succeeded, run.Output);
        var collected = results["CollectUpToDateCheckInputDesignTime"].Items.ToDictionary(i => i["FullPath"], i => i["Set"], StringComparer.Ordinal);
        foreach (var (kind, path) in inputs)
        {
            Assert.True(collected.TryGetValue(path, out var set), $"{kind} ({path}) is not an input of the fast up-to-date check");
            Assert.Equal("Microkernel", set);
        }

        Assert.DoesNotContain(collected.Keys, k => k.Contains("remote-1.0.gem", StringComparison.Ordinal));
        Assert.True(inputs.Keys.ToHashSet().IsSupersetOf(CoveredKinds));
        var built = results["CollectUpToDateCheckBuiltDesignTime"].Items.ToDictionary(i => i["FullPath"], i => i["Set"], StringComparer.Ordinal);
        Assert.Equal("Microkernel", built[p["obj/Debug/Microkernel.csproj.rmk-built"]]);
        // The overlay, its listing and report, the ISO and the network boot files under the release's names (4.x: vmlinuz, core.gz).
        string[] outputs =
        [
            "mc-linux-fs-snap.tar.gz", "mc-linux-fs-snap.tar.gz.txt", "mc-linux-fs-snap.html", "rz_mk_dev-image.1.0.0.iso",
            "pxe/vmlinuz", "pxe/core.gz", "pxe/boot.ipxe", "pxe/pxelinux.cfg/default", "pxe/SHA256SUMS",
        ];
        Assert.Equal(outputs.Select(o => Path.Combine(p.OutDir, o)).Order(StringComparer.Ordinal),
            built.Where(b => b.Value == "Microkernel outputs").Select(b => b.Key).Order(StringComparer.Ordinal));

        // Without a CoreIso (nor CoreKernel and CoreInitrd) there is neither an ISO nor network boot files to expect; a 17.x
        // x86_64 project's network boot files have that release's names.
        var plain = SdkHarness.CreateProject("futdc-plain");
        plain.Write("motd", "x\n");
        plain.WriteCsproj("""<ItemGroup><OverlayFile Include="motd" Destination="/etc/motd" /></ItemGroup>""");
        var (plainRun, plainResults) = plain.RunTargets("Microkernel.csproj", Collect, CsprojProjects.VisualStudioDesignTime);
        Assert.True(plainRun.Succeeded, plainRun.Output);
        Assert.Equal(3, plainResults["CollectUpToDateCheckBuiltDesignTime"].Items.Count(i => i["Set"] == "Microkernel outputs"));
        plain.WriteCsproj("""
            <PropertyGroup><TinyCoreVersion>17.x</TinyCoreVersion><TinyCoreArch>x86_64</TinyCoreArch><MicrokernelPxe>true</MicrokernelPxe></PropertyGroup>
            <ItemGroup><OverlayFile Include="motd" Destination="/etc/motd" /></ItemGroup>
            """);
        (plainRun, plainResults) = plain.RunTargets("Microkernel.csproj", Collect, CsprojProjects.VisualStudioDesignTime);
        Assert.True(plainRun.Succeeded, plainRun.Output);
        var built17 = plainResults["CollectUpToDateCheckBuiltDesignTime"].Items.Select(i => i["FullPath"]).ToHashSet(StringComparer.Ordinal);
        Assert.Contains(Path.Combine(plain.OutDir, "pxe/vmlinuz64"), built17);
        Assert.Contains(Path.Combine(plain.OutDir, "pxe/corepure64.gz"), built17);
        Assert.DoesNotContain(Path.Combine(plain.OutDir, "pxe/core.gz"), built17);

        Assert.Equal(before, p.Files()); // nothing read into obj/, nothing written
    }

    // ---- the check against real builds ----------------------------------------------------------------------------

    private sealed record Item(string Path, string Set);

    /// <summary>The check's inputs and outputs as a design-time build gives them to Visual Studio.</summary>
    private static (List<Item> Inputs, List<Item> Outputs) CollectedItems(TestProject p)
    {
        var (run, results) = p.RunTargets("Microkernel.csproj", Collect, CsprojProjects.VisualStudioDesignTime);
        Assert.True(run.Succeeded, run.Output);
        return (results["CollectUpToDateCheckInputDesignTime"].Items.Select(i => new Item(i["FullPath"], i["Set"])).ToList(),
            results["CollectUpToDateCheckBuiltDesignTime"].Items.Select(i => new Item(i["FullPath"], i["Set"])).ToList());
    }

    /// <summary>What Visual Studio's check decides from the collected items (dotnet/project-system's BuildUpToDateCheck):
    /// per set, every output exists and no input is newer than the earliest output. Returns why not, or null.</summary>
    private static string? NotUpToDate(IReadOnlyList<Item> inputs, IReadOnlyList<Item> outputs)
    {
        foreach (var set in outputs.Select(o => o.Set).Distinct())
        {
            var setOutputs = outputs.Where(o => o.Set == set).ToList();
            if (setOutputs.FirstOrDefault(o => !File.Exists(o.Path)) is { } missing)
            {
                return $"output {missing.Path} is missing";
            }

            var earliest = setOutputs.Min(o => File.GetLastWriteTimeUtc(o.Path));
            if (inputs.Where(i => i.Set == set).FirstOrDefault(i => File.Exists(i.Path) && File.GetLastWriteTimeUtc(i.Path) > earliest) is { } newer)
            {
                return newer.Path;
            }
        }

        return null;
    }

    /// <summary>The incremental steps (targets with Inputs and Outputs) a build ran.</summary>
    private static SortedSet<string> StepsRun(TestProject p)
    {
        var r = SdkHarness.RunDotnet(p.Directory, ["build", "Microkernel.csproj", "-nr:false", "-tl:off", "-v:d"], null, TimeSpan.FromMinutes(5), p.PackagesFolder);
        var result = new BuildResult(r.ExitCode, r.Output, "", p.Directory).AssertSuccess();
        return new SortedSet<string>(result.TargetsRun.Where(t => t.StartsWith("Rmk", StringComparison.Ordinal)), StringComparer.Ordinal);
    }

    /// <summary>A local mirror folder is a local input: the check is given the files the build reads from it (each
    /// extension's .tcz, .md5.txt and .dep through the .dep tree, and the release files the network boot files take from
    /// it), listed by the code that reads them; a replaced one is seen, and the build rebuilds what it feeds.</summary>
    [Fact]
    public void FastUpToDateCheck_SeesAMirrorFoldersFiles_AndTheBuildRebuildsWhatTheyFeed()
    {
        var p = SdkHarness.CreateProject("futdc-mirror");
        var mirror = new Razor.Microkernel.TestSupport.Mirror.TinyCoreMirrorBuilder(p["mirror"]);
        mirror.AddLibrary("a", "b.tcz\n", "a\n"u8.ToArray());
        mirror.AddLibrary("b", null, "b\n"u8.ToArray());
        mirror.AddLibrary("unused", null, "unused\n"u8.ToArray());
        Directory.CreateDirectory(p["initrd-root/etc"]);
        p.Write("initrd-root/etc/version", "4.5.2\n");
        Tool.Run("sh", ["-c", $"cd {p["initrd-root"]} && find . | cpio -o -H newc --quiet | gzip -9 -n > {p["core.gz"]}"]).EnsureSuccess("cpio | gzip");
        mirror.AddReleaseFile("vmlinuz", System.Security.Cryptography.RandomNumberGenerator.GetBytes(30_000));
        mirror.AddReleaseFile("core.gz", File.ReadAllBytes(p["core.gz"]));
        p.WriteCsproj($"""
            <PropertyGroup>
              <TczMirror>{p["mirror"]}</TczMirror>
              <MicrokernelCacheDirectory>cache</MicrokernelCacheDirectory>
              <MicrokernelPxe>true</MicrokernelPxe>
            </PropertyGroup>
            <ItemGroup><TczExtension Include="a" /></ItemGroup>
            """);
        StepsRun(p);

        var (inputs, outputs) = CollectedItems(p);
        var folderFiles = inputs.Where(i => i.Path.StartsWith(p["mirror"], StringComparison.Ordinal)).Select(i => i.Path).Order(StringComparer.Ordinal);
        string[] expected =
        [
            "4.x/x86/release/distribution_files/core.gz", "4.x/x86/release/distribution_files/core.gz.md5.txt",
            "4.x/x86/release/distribution_files/vmlinuz", "4.x/x86/release/distribution_files/vmlinuz.md5.txt",
            "4.x/x86/tcz/a.tcz", "4.x/x86/tcz/a.tcz.dep", "4.x/x86/tcz/a.tcz.md5.txt", "4.x/x86/tcz/b.tcz", "4.x/x86/tcz/b.tcz.md5.txt",
        ];
        Assert.Equal(expected.Select(e => Path.Combine(p["mirror"], e)), folderFiles);
        Assert.All(inputs.Where(i => i.Path.StartsWith(p["mirror"], StringComparison.Ordinal)), i => Assert.Equal("Microkernel", i.Set));
        Assert.Null(NotUpToDate(inputs, outputs));

        void Changed(string what, Action change, params string[] steps)
        {
            Thread.Sleep(20); // a write time after the marker's, on any file system
            change();
            Assert.True(NotUpToDate(inputs, outputs) is not null, $"{what}: the check did not see the change");
            Assert.Equal(new SortedSet<string>(steps, StringComparer.Ordinal), StepsRun(p));
            Assert.True(NotUpToDate(inputs, outputs) is null, $"{what}: still out of date after the build: {NotUpToDate(inputs, outputs)}");
        }

        Changed("a dependency's .tcz", () => mirror.AddLibrary("b", null, "b, second\n"u8.ToArray()), "RmkExtensionLayers", "RmkPackOverlay", "RmkPxe");
        Changed("the release's kernel", () => mirror.AddReleaseFile("vmlinuz", System.Security.Cryptography.RandomNumberGenerator.GetBytes(30_000)),
            "RmkPxeKernel", "RmkPxe");
    }

    [Fact]
    public void FastUpToDateCheck_SeesAChangeToEachKindOfInput_AndTheBuildRebuildsExactlyWhatItFeeds()
    {
        var p = SdkHarness.CreateProject("futdc-build");
        p.Write("files/motd", "first\n");
        p.Write("a.tgz", TestArchives.Tgz(TestArchives.Dir("opt/"), TestArchives.File("opt/a", "first archive\n")));
        p.Write("tree/usr/local/share/t.txt", "first image\n");
        Tool.Run("mksquashfs", [p["tree"], p["t.tcz"], "-noappend", "-comp", "gzip", "-b", "4096", "-no-xattrs", "-all-root", "-no-progress", "-quiet"]).EnsureSuccess("mksquashfs");
        var gem = GemTests.BuildGem(p, "alpha", "1.0.0");
        p.Write("gemsrc/native-1.0/ext/extconf.rb", "require 'mkmf'\ncreate_makefile('native_ext')\n");
        GemTests.BuildGem(p, "native", "1.0", "s.extensions = ['ext/extconf.rb']\n  s.files += ['ext/extconf.rb']");
        p.Write("prebuilt/native_ext.so", "\u007fELF first build\n");
        p.Write("rubygems-1.8.15.tgz", GemTests.RubyGemsTarball());
        byte[] Mcollective(string cfg) => TestArchives.Tgz(TestArchives.Dir("mcollective-1.2.1/"),
            TestArchives.File("mcollective-1.2.1/mcollectived.rb", "#!/usr/bin/env ruby\n"), TestArchives.File("mcollective-1.2.1/etc/server.cfg.dist", cfg));
        p.Write("mcollective-1.2.1.tgz", Mcollective("topicprefix = /topic/\n"));
        IsoTests.MakeCoreIso(p);
        p.Write("release/vmlinuz", File.ReadAllBytes(p["core-tree/boot/vmlinuz"]));
        p.Write("release/core.gz", File.ReadAllBytes(p["core-tree/boot/core.gz"]));
        p.Write("mbr.bin", File.ReadAllBytes("/usr/lib/ISOLINUX/isohdpfx.bin"));
        p.Write("embed.cfg", "configfile $cmdpath/grub.cfg\n");
        Tool.Run("grub-mkstandalone", "-O", "x86_64-efi", "--locales=", "--fonts=", "--themes=", "-o", p["BOOTX64.EFI"], "boot/grub/grub.cfg=" + p["embed.cfg"])
            .EnsureSuccess("grub-mkstandalone");
        p.Write("ssh/authorized_keys", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFirstKeyFirstKeyFirstKeyFirstKeyFirstKeyFi first\n");
        p.Write("ssh/ssh_host_rsa_key", "-----BEGIN OPENSSH PRIVATE KEY-----\nfirst\n-----END OPENSSH PRIVATE KEY-----\n");
        p.Write("secrets.txt", "plugin.psk = first-psk-of-24-characters\nplugin.stomp.password = first-password-of-24-chars\n");
        p.Write("Directory.Build.props", "<Project>\n</Project>\n");
        p.Write("Directory.Build.targets", "<Project>\n</Project>\n");
        p.WriteCsproj("""
            <PropertyGroup>
              <McollectiveSecretsFile>secrets.txt</McollectiveSecretsFile>
              <McollectiveStompHost>razor</McollectiveStompHost>
              <MicrokernelIsoHybrid>true</MicrokernelIsoHybrid>
              <MicrokernelIsoHybridMbr>mbr.bin</MicrokernelIsoHybridMbr>
            </PropertyGroup>
            <ItemGroup>
              <OverlayFile Include="files/motd" Destination="/etc/motd" />
              <OverlayArchive Include="a.tgz" />
              <TczImage Include="t.tcz" />
              <Gem Include="gems/alpha-1.0.0.gem" />
              <Gem Include="gems/native-1.0.gem" PrebuiltExtensions="prebuilt" />
              <RubyGems Include="rubygems-1.8.15.tgz" />
              <McollectiveArchive Include="mcollective-1.2.1.tgz" />
              <CoreIso Include="Core-4.5.2.iso" />
              <CoreKernel Include="release/vmlinuz" />
              <CoreInitrd Include="release/core.gz" />
              <EfiLoader Include="BOOTX64.EFI" />
              <SshAuthorizedKey Include="ssh/authorized_keys" />
              <SshHostKey Include="ssh/ssh_host_rsa_key" />
            </ItemGroup>
            """);
        StepsRun(p);
        Assert.True(File.Exists(Path.Combine(p.OutDir, "rz_mk_dev-image.1.0.0.iso")));
        Assert.True(File.Exists(Path.Combine(p.OutDir, "pxe", "core.gz")));

        // The items, collected once by a design-time build, as Visual Studio keeps them until the project changes.
        var (inputs, outputs) = CollectedItems(p);
        Assert.Null(NotUpToDate(inputs, outputs));

        // One and the same list: every local input the build fingerprinted per step is an input of the check.
        var fingerprinted = SdkHarness.RunDotnet(p.Directory, ["msbuild", "Microkernel.csproj", "-nr:false", "-t:_RmkComputeLocalInputs", "-getItem:RmkLocalInput"],
            null, TimeSpan.FromMinutes(3), p.PackagesFolder);
        Assert.True(fingerprinted.Succeeded, fingerprinted.Output);
        var fingerprintedPaths = Regex.Matches(fingerprinted.Output, "\"FullPath\": \"(?<path>[^\"]+)\"");
        Assert.True(fingerprintedPaths.Count >= 9, fingerprinted.Output);
        foreach (Match m in fingerprintedPaths)
        {
            Assert.Contains(inputs, i => i.Path == m.Groups["path"].Value);
        }

        void Changed(string what, Action change, params string[] steps)
        {
            Thread.Sleep(20); // a write time after the marker's, on any file system
            change();
            Assert.True(NotUpToDate(inputs, outputs) is not null, $"{what}: the check did not see the change");
            Assert.Equal(new SortedSet<string>(steps, StringComparer.Ordinal), StepsRun(p));
            Assert.True(NotUpToDate(inputs, outputs) is null, $"{what}: still out of date after the build: {NotUpToDate(inputs, outputs)}");
        }

        string[] Layer(string step) => [step, "RmkPackOverlay", "RmkBuildIso", "RmkPxe"];
        Changed("OverlayFile", () => p.Write("files/motd", "second\n"), Layer("RmkOverlayFilesLayer"));
        Changed("OverlayArchive", () => p.Write("a.tgz", TestArchives.Tgz(TestArchives.Dir("opt/"), TestArchives.File("opt/a", "second archive\n"))),
            Layer("RmkOverlayArchiveLayers"));
        Changed("TczImage", () =>
        {
            p.Write("tree/usr/local/share/t.txt", "second image\n");
            Tool.Run("mksquashfs", [p["tree"], p["t.tcz"], "-noappend", "-comp", "gzip", "-b", "4096", "-no-xattrs", "-all-root", "-no-progress", "-quiet"]).EnsureSuccess("mksquashfs");
        }, Layer("RmkTczImageLayers"));
        Changed("Gem", () => GemTests.BuildGem(p, "alpha", "1.0.0", deps: "s.description = 'the second build'"), Layer("RmkGemsLayer"));
        Changed("Gem.PrebuiltExtensions", () => p.Write("prebuilt/native_ext.so", "\u007fELF second build\n"), Layer("RmkGemsLayer"));
        Changed("RubyGems", () => File.SetLastWriteTimeUtc(p["rubygems-1.8.15.tgz"], DateTime.UtcNow), Layer("RmkGemsLayer"));
        Changed("McollectiveArchive", () => p.Write("mcollective-1.2.1.tgz", Mcollective("topicprefix = /other/\n")), Layer("RmkMcollectiveArchiveLayer"));
        Changed("SshAuthorizedKey", () => p.Write("ssh/authorized_keys", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAISecondKeySecondKeySecondKeySecondKeySecondK second\n"),
            Layer("RmkSshLayer"));
        Changed("SshHostKey", () => p.Write("ssh/ssh_host_rsa_key", "-----BEGIN OPENSSH PRIVATE KEY-----\nsecond\n-----END OPENSSH PRIVATE KEY-----\n"),
            Layer("RmkSshLayer"));
        Changed("McollectiveSecretsFile", () => p.Write("secrets.txt", "plugin.psk = other-psk-of-24-characters\nplugin.stomp.password = first-password-of-24-chars\n"),
            Layer("RmkMcollectiveSettingsLayer"));
        Changed("CoreIso", () => File.SetLastWriteTimeUtc(p["Core-4.5.2.iso"], DateTime.UtcNow), "RmkBuildIso");
        Changed("EfiLoader", () => File.AppendAllText(p["BOOTX64.EFI"], "\0"), "RmkBuildIso"); // still an EFI application, other bytes
        // The network boot files take the release's kernel and initrd from CoreKernel and CoreInitrd: the kernel copy and
        // the initrd step (its sums name the kernel) for the kernel, the initrd step alone for the initrd.
        Changed("CoreKernel", () => File.AppendAllText(p["release/vmlinuz"], "x"), "RmkPxeKernel", "RmkPxe");
        Changed("CoreInitrd", () => File.SetLastWriteTimeUtc(p["release/core.gz"], DateTime.UtcNow), "RmkPxe");
        Changed("MicrokernelIsoHybridMbr", () =>
        {
            var mbr = File.ReadAllBytes(p["mbr.bin"]);
            mbr[0x100] ^= 0xFF; // a byte of the template's boot code
            File.WriteAllBytes(p["mbr.bin"], mbr);
        }, "RmkBuildIso");
        // Edits that change no output: one build (which does nothing but say so), then the check is satisfied again.
        Changed("Directory.Build.props", () => p.Write("Directory.Build.props", "<Project>\n  <!-- a comment -->\n</Project>\n"));
        Changed("Directory.Build.targets", () => p.Write("Directory.Build.targets", "<Project>\n  <!-- a comment -->\n</Project>\n"));
        Changed("project file", () => File.AppendAllText(p["Microkernel.csproj"], "<!-- a comment -->\n"));
        // An output that is gone: the check says so, and the build makes exactly the step that writes it again.
        Changed("the ISO removed", () => File.Delete(Path.Combine(p.OutDir, "rz_mk_dev-image.1.0.0.iso")), "RmkBuildIso");
        Changed("a network boot file removed", () => File.Delete(Path.Combine(p.OutDir, "pxe", "SHA256SUMS")), "RmkPxe");
        Changed("the overlay's listing removed", () => File.Delete(Path.Combine(p.OutDir, "mc-linux-fs-snap.tar.gz.txt")), "RmkPackOverlay");
    }
    /// <summary>The generated Development PSK's file, kept outside obj/ (here where MicrokernelGeneratedPskFile puts it), is
    /// an input of the check once a build has made it: writing one's own PSK into it asks for a build, which re-makes the
    /// settings layer with that PSK. A Production image, which never uses it, does not list it.</summary>
    [Fact]
    public void FastUpToDateCheck_SeesTheGeneratedPsksFile_AndTheBuildTakesThePskWrittenIntoIt()
    {
        var p = SdkHarness.CreateProject("futdc-psk");
        p.Write("files/motd", "psk\n");
        p.WriteCsproj("""
            <PropertyGroup>
              <McollectiveStompHost>razor</McollectiveStompHost>
              <MicrokernelGeneratedPskFile>keys/generated.psk</MicrokernelGeneratedPskFile>
            </PropertyGroup>
            <ItemGroup><OverlayFile Include="files/motd" Destination="/etc/motd" /></ItemGroup>
            """);
        StepsRun(p);
        var psk = p["keys/generated.psk"];
        Assert.True(File.Exists(psk), "the build made no generated PSK");

        var (inputs, outputs) = CollectedItems(p);
        Assert.Contains(new Item(psk, "Microkernel"), inputs);
        Assert.Null(NotUpToDate(inputs, outputs));

        Thread.Sleep(20);
        File.WriteAllText(psk, "my-own-psk-of-24-characters\n");
        Assert.Equal(psk, NotUpToDate(inputs, outputs));
        Assert.Equal(new SortedSet<string>(["RmkMcollectiveSettingsLayer", "RmkPackOverlay"], StringComparer.Ordinal), StepsRun(p));
        Assert.Null(NotUpToDate(inputs, outputs));
        var cfg = Tool.Run("tar", "-xzOf", p.Overlay, "usr/local/etc/mcollective/server.cfg").EnsureSuccess("tar").StdOut;
        Assert.Contains("plugin.psk = my-own-psk-of-24-characters\n", cfg);

        p.WriteCsproj("""
            <PropertyGroup>
              <McollectiveStompHost>razor</McollectiveStompHost>
              <MicrokernelGeneratedPskFile>keys/generated.psk</MicrokernelGeneratedPskFile>
              <MicrokernelFlavor>Production</MicrokernelFlavor>
            </PropertyGroup>
            <ItemGroup><OverlayFile Include="files/motd" Destination="/etc/motd" /></ItemGroup>
            """);
        Assert.DoesNotContain(CollectedItems(p).Inputs, i => i.Path == psk);
    }
}
