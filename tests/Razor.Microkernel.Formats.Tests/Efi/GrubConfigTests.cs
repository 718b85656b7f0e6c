using Razor.Microkernel.Formats.Efi;
using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Formats.Tests.Efi;

/// <summary>The grub.cfg the SDK writes (checked by GRUB's own grub-script-check) and the kernel-argument edit of a release's.</summary>
public sealed class GrubConfigTests
{
    [Fact]
    public void WithKernelArgs_ExtendsEveryLinuxLine_AndCountsThem()
    {
        var cfg = "set timeout=5\r\nmenuentry \"Boot TinyCorePure64\" {\r\n  linux /boot/vmlinuz64 loglevel=3   \r\n  initrd /boot/corepure64.gz\r\n}\r\n" +
                  "menuentry text {\n\tlinuxefi\t/boot/vmlinuz64 text\n}\n# linux /boot/commented out\nlinux\n";
        var edited = GrubConfig.WithKernelArgs(cfg, " rmk.a=1 console=ttyS0 ", out var lines);
        Assert.Equal(2, lines);
        Assert.Equal("set timeout=5\nmenuentry \"Boot TinyCorePure64\" {\n  linux /boot/vmlinuz64 loglevel=3 rmk.a=1 console=ttyS0\n  initrd /boot/corepure64.gz\n}\n" +
                     "menuentry text {\n\tlinuxefi\t/boot/vmlinuz64 text rmk.a=1 console=ttyS0\n}\n# linux /boot/commented out\nlinux\n", edited);

        Assert.Equal(cfg.Replace("\r\n", "\n", StringComparison.Ordinal), GrubConfig.WithKernelArgs(cfg, "", out var counted));
        Assert.Equal(2, counted);
        GrubConfig.WithKernelArgs("configfile /EFI/BOOT/grub/grub.cfg\n", "x=1", out var none);
        Assert.Equal(0, none);
    }

    [Fact]
    public void ForMicrokernel_IsValidGrubScript_ThatSearchesTheMarkerAndBootsTheKernel()
    {
        using var tmp = new TempFolder("grubcfg");
        var text = GrubConfig.ForMicrokernel("Razor microkernel 1.2.3", "/boot/grub/microkernel-0123456789abcdef", "boot/vmlinuz64", "boot/corepure64.gz", "console=ttyS0 rmk.x=1");
        var path = tmp.Write("grub.cfg", text);
        Tool.Run("grub-script-check", path).EnsureSuccess("grub-script-check");
        Assert.Contains("search --no-floppy --set=root --file /boot/grub/microkernel-0123456789abcdef\n", text);
        Assert.Contains("    linux /boot/vmlinuz64 console=ttyS0 rmk.x=1\n    initrd /boot/corepure64.gz\n", text);
        Assert.Contains("set timeout=0\n", text);
        GrubConfig.WithKernelArgs(text, "", out var lines);
        Assert.Equal(1, lines);
    }
}
