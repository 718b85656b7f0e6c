using Razor.Microkernel.Formats.Boot;
using Razor.Microkernel.Formats.Release;

namespace Razor.Microkernel.Formats.Tests.Release;

/// <summary>The release table: every row's mirror folders and names, and what differs between majors.</summary>
public sealed class TinyCoreReleaseTests
{
    public static TheoryData<string, string> Releases()
    {
        var data = new TheoryData<string, string>();
        foreach (var r in TinyCoreRelease.All)
        {
            data.Add(r.Version, r.Arch);
        }

        return data;
    }

    [Fact]
    public void Table_HoldsEveryMajorFrom4To17_ForX86AndX86_64()
    {
        Assert.Equal(Enumerable.Range(4, 14).Select(m => $"{m}.x"), TinyCoreRelease.Versions.Select(v => v.Version));
        Assert.Equal(["x86", "x86_64"], TinyCoreRelease.Architectures.Select(a => a.Arch));
        Assert.Equal(28, TinyCoreRelease.All.Count);
        Assert.Equal("4.x–17.x, x86 or x86_64", TinyCoreRelease.KnownList);
    }

    [Theory]
    [MemberData(nameof(Releases))]
    public void EveryRelease_HasItsMirrorFoldersNamesAndIsoLayout(string version, string arch)
    {
        var r = TinyCoreRelease.Find(version, arch);
        var x64 = arch == "x86_64";
        Assert.Equal($"{version}/{arch}/tcz/", r.TczFolder);
        Assert.Equal($"{version}/{arch}/release/", r.ReleaseFolder);
        Assert.Equal($"{version}/{arch}/release/distribution_files/", r.DistributionFilesFolder);
        Assert.Equal(x64 ? "vmlinuz64" : "vmlinuz", r.KernelFile);
        Assert.Equal(x64 ? "corepure64.gz" : "core.gz", r.InitrdFile);
        Assert.Equal(x64 ? "-tinycore64" : "-tinycore", r.KernelSuffix);
        Assert.Equal(x64 ? "CorePure64-current.iso" : "Core-current.iso", r.IsoNames[0]);
        Assert.Equal(("boot/" + r.KernelFile, "boot/" + r.InitrdFile), (r.IsoLayout.KernelPath, r.IsoLayout.InitrdPath));
        Assert.Equal(("boot/isolinux/isolinux.cfg", "boot/isolinux/isolinux.bin", "boot/isolinux/boot.cat"),
            (r.IsoLayout.BootConfigPath, r.IsoLayout.BootImagePath, r.IsoLayout.BootCatalogPath));
        Assert.EndsWith(r.KernelSuffix, r.ExampleKernel, StringComparison.Ordinal);
        Assert.True(KernelImage.IsKernelRelease(r.ExampleKernel));
        Assert.EndsWith(TinyCoreRelease.BootLocalLine, r.BootSync, StringComparison.Ordinal);
        Assert.Equal($"{r} ", $"Tiny Core {version} {arch} ");
    }

    [Fact]
    public void OnlyTinyCore4_HasADefaultKernel()
    {
        Assert.Equal("3.0.21-tinycore", TinyCoreRelease.Find("4.x", "x86").DefaultKernel);
        Assert.Equal("3.0.21-tinycore64", TinyCoreRelease.Find("4.x", "x86_64").DefaultKernel);
        Assert.All(TinyCoreRelease.All.Where(r => r.Version != "4.x"), r => Assert.Null(r.DefaultKernel));
        Assert.Equal("6.18.2-tinycore64", TinyCoreRelease.Find("17.x", "x86_64").ExampleKernel);
        Assert.Equal("6.1.2-tinycore64", TinyCoreRelease.Find("14.x", "x86_64").ExampleKernel); // scsi-6.1.2-tinycore64.tcz in the corpus
    }

    [Theory]
    [InlineData("3.x", "x86")]
    [InlineData("18.x", "x86_64")]
    [InlineData("17", "x86_64")]
    [InlineData("17.X", "x86_64")]
    [InlineData("17.x", "x86-64")]
    [InlineData("17.x", "armv7")]
    [InlineData("", "")]
    public void Find_UnknownVersionOrArch_Throws(string version, string arch)
    {
        var e = Assert.Throws<UnknownReleaseException>(() => TinyCoreRelease.Find(version, arch));
        Assert.Equal((version, arch), (e.Version, e.Arch));
        Assert.Contains("4.x–17.x", e.Message);
    }

    [Fact]
    public void BootSync_4x_IsWhatThisSdkAlwaysWrote_LaterMajors_AreCoreScripts()
    {
        const string legacy = "#!/bin/sh\n# put other system startup commands here, the boot process will wait until they complete.\n" +
            "# Use bootlocal.sh for system startup commands that can run in the background\n# and therefore not slow down the boot process.\n" +
            "/usr/bin/sethostname box\n# Added by Razor.Microkernel.Sdk: finish installing the extensions built into the image.\n" +
            "/usr/local/etc/init.d/microkernel-setup\n/opt/bootlocal.sh &\n";
        Assert.Equal(legacy, BootHook.BootSyncScript(TinyCoreRelease.Find("4.x", "x86")));
        foreach (var r in TinyCoreRelease.All.Where(r => r.Version != "4.x"))
        {
            Assert.Contains("that can run in the background \n", r.BootSync); // Core-scripts' own line, trailing space and all
            Assert.Equal(legacy.Replace("background\n", "background \n", StringComparison.Ordinal), BootHook.BootSyncScript(r));
        }
    }

    [Fact]
    public void BootHook_Depmod_4xAsBefore_LaterForTheKernel_17xWhereItsTceLoadLooks()
    {
        string Hook(string version, string? kernel) => BootHook.SetupScript(TinyCoreRelease.Find(version, "x86_64"), kernel, ["a"], []);
        Assert.Contains("if [ -d /usr/local/lib/modules ]; then\n  depmod -a 2>/dev/null\nfi\n", Hook("4.x", "3.0.21-tinycore64"));
        Assert.Contains("if [ -d /usr/local/lib/modules ]; then\n  depmod -a 6.12.11-tinycore64 2>/dev/null\nfi\n", Hook("16.x", "6.12.11-tinycore64"));
        Assert.Contains("if [ -d /usr/local/lib/modules/6.18.2-tinycore64 ]; then\n  depmod -a 6.18.2-tinycore64 2>/dev/null\nfi\n", Hook("17.x", "6.18.2-tinycore64"));
        Assert.Contains("if [ -d /usr/local/lib/modules/$(uname -r) ]; then\n  depmod -a $(uname -r) 2>/dev/null\nfi\n", Hook("17.x", null));
        Assert.Throws<ArgumentException>(() => Hook("17.x", "6.18; rm -rf /"));
    }
}
