using System.Globalization;

namespace Razor.Microkernel.Formats.Release;

/// <summary>A Tiny Core version and architecture this SDK does not know: not a row of <see cref="TinyCoreRelease.All"/>.</summary>
public sealed class UnknownReleaseException(string version, string arch)
    : MicrokernelFormatException($"Tiny Core '{version}' for '{arch}' is not a release this SDK knows ({TinyCoreRelease.KnownList})")
{
    public string Version { get; } = version;

    public string Arch { get; } = arch;
}

/// <summary>Where a release ISO keeps its boot files: the kernel, the initrd and the isolinux folder
/// (with <c>isolinux.cfg</c>, the El Torito boot image <c>isolinux.bin</c> and the boot catalog <c>boot.cat</c>).
/// Paths are relative to the ISO's root.</summary>
public sealed record ReleaseIsoLayout(string KernelPath, string InitrdPath, string BootLoaderFolder)
{
    public string BootConfigPath => BootLoaderFolder + "/isolinux.cfg";

    public string BootImagePath => BootLoaderFolder + "/isolinux.bin";

    public string BootCatalogPath => BootLoaderFolder + "/boot.cat";
}

/// <summary>
/// Everything that differs between Tiny Core releases and architectures, in one place: the mirror folders, the
/// names of the kernel and the initrd, the release ISOs and their boot layout, the <c>/opt/bootsync.sh</c> the
/// boot hook extends, the kernel-name suffix, where <c>tce-load</c> looks for an extension's kernel modules and
/// which kernel the boot hook's <c>depmod</c> names. A release is one row of <see cref="Versions"/> (a major
/// version) with one of <see cref="Architectures"/>; adding a major version is one row. docs/reference.md shows
/// both tables and where each fact comes from.
/// </summary>
public sealed record TinyCoreRelease
{
    /// <summary>One architecture's names: they are the same in every major version.</summary>
    /// <param name="Arch">The mirror's folder name.</param>
    /// <param name="KernelFile">The kernel in <c>release/distribution_files/</c> and in the ISO's <c>boot/</c>.</param>
    /// <param name="InitrdFile">The initrd (gzip'd newc cpio of the base system) likewise.</param>
    /// <param name="KernelSuffix">What the architecture's kernel names end in (<c>uname -r</c>, <c>-KERNEL</c> names).</param>
    /// <param name="IsoNames">The release ISOs built from these boot files, the smallest first; <c>-current</c> is the
    /// latest of the major version (point releases replace it with their number).</param>
    public sealed record ArchitectureRow(string Arch, string KernelFile, string InitrdFile, string KernelSuffix, IReadOnlyList<string> IsoNames);

    /// <summary>One major version.</summary>
    /// <param name="Version">The mirror's folder name (<c>17.x</c>).</param>
    /// <param name="KernelBase">The kernel of the major version's first release without its suffix: the 4.x default,
    /// and the example other releases' messages give.</param>
    /// <param name="HasDefaultKernel">The kernel is the same in every point release, so it is the default of
    /// <c>TinyCoreKernel</c> (4.x: 3.0.21 throughout).</param>
    /// <param name="BootSync">The release's own <c>/opt/bootsync.sh</c>.</param>
    /// <param name="ModulesFolder">The folder whose presence makes the release's <c>tce-load</c> run <c>depmod</c> after
    /// installing an extension; <c>{0}</c> is the kernel version.</param>
    /// <param name="DepmodNamesKernel">The boot hook runs <c>depmod -a KERNEL</c> (else <c>depmod -a</c>, as 4.x images
    /// always had).</param>
    public sealed record VersionRow(string Version, string KernelBase, bool HasDefaultKernel, string BootSync, string ModulesFolder, bool DepmodNamesKernel);

    /// <summary>Tiny Core 4.x's /opt/bootsync.sh as this SDK has always written it (Core-scripts' file has one more space,
    /// at the end of the third line).</summary>
    private const string BootSync4 =
        "#!/bin/sh\n" +
        "# put other system startup commands here, the boot process will wait until they complete.\n" +
        "# Use bootlocal.sh for system startup commands that can run in the background\n" +
        "# and therefore not slow down the boot process.\n" +
        "/usr/bin/sethostname box\n" +
        "/opt/bootlocal.sh &\n";

    /// <summary>/opt/bootsync.sh of Core-scripts (tinycorelinux/Core-scripts), unchanged from 5.0 (2013) to 17.x.</summary>
    private const string BootSyncCoreScripts =
        "#!/bin/sh\n" +
        "# put other system startup commands here, the boot process will wait until they complete.\n" +
        "# Use bootlocal.sh for system startup commands that can run in the background \n" +
        "# and therefore not slow down the boot process.\n" +
        "/usr/bin/sethostname box\n" +
        "/opt/bootlocal.sh &\n";

    /// <summary>tce-load up to 16.x: any folder named modules in the extension (<c>find -type d -name modules</c>; the
    /// extensions keep theirs in <c>/usr/local/lib/modules/KERNEL/kernel/</c>).</summary>
    private const string AnyModules = "usr/local/lib/modules";

    /// <summary>tce-load from Core-scripts 989921a (2025-07-31, so 17.x): <c>[ -d usr/local/lib/modules/$KERNELVER ]</c>.</summary>
    private const string KernelModules = "usr/local/lib/modules/{0}";

    public static IReadOnlyList<ArchitectureRow> Architectures { get; } =
    [
        new("x86", "vmlinuz", "core.gz", "-tinycore", ["Core-current.iso", "TinyCore-current.iso", "CorePlus-current.iso"]),
        new("x86_64", "vmlinuz64", "corepure64.gz", "-tinycore64", ["CorePure64-current.iso", "TinyCorePure64-current.iso"]),
    ];

    public static IReadOnlyList<VersionRow> Versions { get; } =
    [
        new("4.x", "3.0.21", true, BootSync4, AnyModules, false),
        new("5.x", "3.8.13", false, BootSyncCoreScripts, AnyModules, true),
        new("6.x", "3.16.6", false, BootSyncCoreScripts, AnyModules, true),
        new("7.x", "4.2.9", false, BootSyncCoreScripts, AnyModules, true),
        new("8.x", "4.8.17", false, BootSyncCoreScripts, AnyModules, true),
        new("9.x", "4.14.10", false, BootSyncCoreScripts, AnyModules, true),
        new("10.x", "4.19.10", false, BootSyncCoreScripts, AnyModules, true),
        new("11.x", "5.4.3", false, BootSyncCoreScripts, AnyModules, true),
        new("12.x", "5.10.3", false, BootSyncCoreScripts, AnyModules, true),
        new("13.x", "5.15.10", false, BootSyncCoreScripts, AnyModules, true),
        new("14.x", "6.1.2", false, BootSyncCoreScripts, AnyModules, true),
        new("15.x", "6.6.8", false, BootSyncCoreScripts, AnyModules, true),
        new("16.x", "6.12.11", false, BootSyncCoreScripts, AnyModules, true),
        new("17.x", "6.18.2", false, BootSyncCoreScripts, KernelModules, true),
    ];

    /// <summary>Every release: each version with each architecture.</summary>
    public static IReadOnlyList<TinyCoreRelease> All { get; } = [.. Versions.SelectMany(v => Architectures.Select(a => new TinyCoreRelease(v, a)))];

    /// <summary>"4.x–17.x, x86 or x86_64", for messages.</summary>
    public static string KnownList
        => $"{Versions[0].Version}–{Versions[^1].Version}, {string.Join(" or ", Architectures.Select(a => a.Arch))}";

    private TinyCoreRelease(VersionRow version, ArchitectureRow architecture)
    {
        VersionInfo = version;
        ArchitectureInfo = architecture;
    }

    public VersionRow VersionInfo { get; }

    public ArchitectureRow ArchitectureInfo { get; }

    /// <summary><c>17.x</c>.</summary>
    public string Version => VersionInfo.Version;

    /// <summary><c>x86_64</c>.</summary>
    public string Arch => ArchitectureInfo.Arch;

    /// <summary>Extensions: <c>17.x/x86_64/tcz/</c> below the mirror root.</summary>
    public string TczFolder => $"{Version}/{Arch}/tcz/";

    /// <summary>Release ISOs: <c>17.x/x86_64/release/</c>.</summary>
    public string ReleaseFolder => $"{Version}/{Arch}/release/";

    /// <summary>The kernel and initrd on their own, each with an <c>.md5.txt</c>: <c>17.x/x86_64/release/distribution_files/</c>.</summary>
    public string DistributionFilesFolder => ReleaseFolder + "distribution_files/";

    /// <summary><c>vmlinuz</c>, <c>vmlinuz64</c>.</summary>
    public string KernelFile => ArchitectureInfo.KernelFile;

    /// <summary><c>core.gz</c>, <c>corepure64.gz</c>.</summary>
    public string InitrdFile => ArchitectureInfo.InitrdFile;

    /// <summary><c>-tinycore</c>, <c>-tinycore64</c>.</summary>
    public string KernelSuffix => ArchitectureInfo.KernelSuffix;

    /// <summary>The release ISOs' names (<c>CorePure64-current.iso</c> …).</summary>
    public IReadOnlyList<string> IsoNames => ArchitectureInfo.IsoNames;

    /// <summary>Where the release ISOs keep kernel, initrd and isolinux.</summary>
    public ReleaseIsoLayout IsoLayout => new("boot/" + KernelFile, "boot/" + InitrdFile, "boot/isolinux");

    /// <summary>The release's own <c>/opt/bootsync.sh</c>.</summary>
    public string BootSync => VersionInfo.BootSync;

    /// <summary>The image path of the release's <c>bootsync.sh</c>.</summary>
    public static string BootSyncPath => "opt/bootsync.sh";

    /// <summary>The line of <see cref="BootSync"/> before which the boot hook is called (Tiny Core starts bootlocal.sh in
    /// the background there).</summary>
    public static string BootLocalLine => "/opt/bootlocal.sh &\n";

    /// <summary>The kernel every point release of this version has (the <c>TinyCoreKernel</c> default), or null.</summary>
    public string? DefaultKernel => VersionInfo.HasDefaultKernel ? VersionInfo.KernelBase + KernelSuffix : null;

    /// <summary>The kernel of the version's first release, for messages: <c>6.18.2-tinycore64</c>.</summary>
    public string ExampleKernel => VersionInfo.KernelBase + KernelSuffix;

    /// <summary>The folder (image path, no leading <c>/</c>) that makes the release's tce-load run depmod, for
    /// <paramref name="kernel"/> (null: the running kernel, <c>$(uname -r)</c>).</summary>
    public string ModulesFolder(string? kernel)
        => string.Format(CultureInfo.InvariantCulture, VersionInfo.ModulesFolder, kernel ?? "$(uname -r)");

    /// <summary>The boot hook's depmod command for <paramref name="kernel"/> (null: the running one).</summary>
    public string DepmodCommand(string? kernel)
        => VersionInfo.DepmodNamesKernel ? $"depmod -a {kernel ?? "$(uname -r)"}" : "depmod -a";

    /// <summary>The release <paramref name="version"/> (<c>17.x</c>) for <paramref name="arch"/> (<c>x86_64</c>), matched
    /// exactly as the mirror's folders are named.</summary>
    /// <exception cref="UnknownReleaseException">Not a row of the tables.</exception>
    public static TinyCoreRelease Find(string? version, string? arch)
    {
        var v = (version ?? "").Trim();
        var a = (arch ?? "").Trim();
        return All.FirstOrDefault(r => r.Version == v && r.Arch == a) ?? throw new UnknownReleaseException(v, a);
    }

    public override string ToString() => $"Tiny Core {Version} {Arch}";
}
