using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Formats.Tests.Efi;

/// <summary>A GRUB x86_64 EFI application made at test time the way the how-to says (grub-mkstandalone from
/// grub-efi-amd64-bin, with a built-in grub.cfg that reads <c>$cmdpath/grub.cfg</c>).</summary>
public sealed class GrubLoader : IDisposable
{
    public GrubLoader()
    {
        Folder.Write("embed.cfg", "configfile $cmdpath/grub.cfg\n");
        Tool.Run("grub-mkstandalone", "-O", "x86_64-efi", "--locales=", "--fonts=", "--themes=", "-o", Folder["BOOTX64.EFI"],
            "boot/grub/grub.cfg=" + Folder["embed.cfg"]).EnsureSuccess("grub-mkstandalone (Debian: grub-common and grub-efi-amd64-bin)");
        Bytes = File.ReadAllBytes(Path);
    }

    public TempFolder Folder { get; } = new("grub");

    public string Path => Folder["BOOTX64.EFI"];

    public byte[] Bytes { get; }

    public void Dispose() => Folder.Dispose();
}
