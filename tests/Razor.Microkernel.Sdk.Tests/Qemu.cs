using System.Diagnostics;
using System.Text;
using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Sdk.Tests;

/// <summary>
/// Boots a machine under qemu-system-x86_64's software emulation (serial console on stdio, no display, no reboot,
/// bounded time) and returns what the guest printed between the lines <c>RMK-BEGIN</c> and <c>RMK-END</c>; the stand-in
/// releases' /init prints its facts there and powers off.
/// </summary>
internal static class Qemu
{
    public static readonly TimeSpan BootTimeout = TimeSpan.FromMinutes(6);

    /// <summary>iPXE for qemu's e1000, from Debian's ipxe-qemu.</summary>
    public const string IpxeRom = "/usr/lib/ipxe/qemu/pxe-e1000.rom";

    /// <summary>Boot from a CD (El Torito, BIOS).</summary>
    public static string[] Cdrom(string iso) => ["-cdrom", iso, "-boot", "d"];

    /// <summary>Boot the image as a hard disk (an isohybrid ISO).</summary>
    public static string[] Disk(string image) => ["-drive", $"file={image},format=raw,media=disk,snapshot=on", "-boot", "c"];

    /// <summary>qemu loads the kernel and initrd itself, as a boot loader would.</summary>
    public static string[] KernelAndInitrd(string kernel, string initrd, string append) => ["-kernel", kernel, "-initrd", initrd, "-append", append];

    /// <summary>Debian's OVMF (UEFI firmware for qemu, package ovmf): its code read-only and a fresh copy of its variable
    /// store at <paramref name="varsCopy"/>, so no boot sees what an earlier one stored. With it, <see cref="Cdrom"/> and
    /// <see cref="Disk"/> boot UEFI.</summary>
    public static string[] Ovmf(string varsCopy)
    {
        const string code = "/usr/share/OVMF/OVMF_CODE_4M.fd";
        const string vars = "/usr/share/OVMF/OVMF_VARS_4M.fd";
        Assert.True(File.Exists(code) && File.Exists(vars), $"no {code}: the UEFI boot tests need Debian's ovmf (build/test.sh installs it)");
        File.Copy(vars, varsCopy, overwrite: true);
        return ["-drive", $"if=pflash,format=raw,readonly=on,file={code}", "-drive", $"if=pflash,format=raw,file={varsCopy}"];
    }

    /// <summary>A network boot: qemu's user network answers DHCP with <paramref name="bootFile"/> and serves
    /// <paramref name="tftpFolder"/> over its built-in TFTP; the NIC's option ROM is Debian's iPXE.</summary>
    public static string[] Network(string tftpFolder, string bootFile)
    {
        Assert.True(File.Exists(IpxeRom), $"no {IpxeRom}: the network boot test needs Debian's ipxe-qemu (build/test.sh installs it)");
        return ["-netdev", $"user,id=n0,tftp={tftpFolder},bootfile={bootFile}", "-device", $"e1000,netdev=n0,romfile={IpxeRom}", "-boot", "n"];
    }

    /// <summary>Boots with <paramref name="machine"/> (one of the helpers above) and returns what /init printed between
    /// the markers; fails when qemu does not power off in time or the markers do not appear.</summary>
    public static string Boot(IEnumerable<string> machine, int memoryMegabytes = 256)
    {
        Tool.Require("qemu-system-x86_64");
        var psi = new ProcessStartInfo("qemu-system-x86_64")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "-m", memoryMegabytes.ToString(System.Globalization.CultureInfo.InvariantCulture), "-no-reboot", "-nodefaults", "-display", "none",
                     "-serial", "stdio", "-monitor", "none" }.Concat(machine))
        {
            psi.ArgumentList.Add(a);
        }

        var output = new StringBuilder();
        using var qemu = Process.Start(psi)!;
        qemu.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        qemu.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        qemu.BeginOutputReadLine();
        qemu.BeginErrorReadLine();
        if (!qemu.WaitForExit(BootTimeout))
        {
            qemu.Kill(entireProcessTree: true);
            qemu.WaitForExit();
            Assert.Fail($"qemu did not power off within {BootTimeout}: {output}");
        }

        qemu.WaitForExit();
        string text;
        lock (output)
        {
            text = output.ToString().Replace("\r", "", StringComparison.Ordinal);
        }

        var begin = text.IndexOf("RMK-BEGIN\n", StringComparison.Ordinal);
        var end = text.IndexOf("RMK-END", StringComparison.Ordinal);
        Assert.True(begin >= 0 && end > begin, "the markers did not appear on the serial console:\n" + text);
        return text[(begin + "RMK-BEGIN\n".Length)..end];
    }
}
