using System.Text;
using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Formats.Tests.Iso9660;

/// <summary>Small trees and ISOs made from them by the real xorriso at test time.</summary>
public sealed class IsoFixtures : IDisposable
{
    public static readonly string AbsTarget = "/usr/local/" + new string('t', 200) + "/" + new string('u', 200) + "/x";

    public static readonly string LongName = "a-rather-long-file-name-" + new string('x', 150) + ".txt";

    public IsoFixtures()
    {
        Tree = Folder["tree"];
        Folder.Write("tree/etc/motd", "welcome to razor\n");
        Folder.Write("tree/etc/empty", "");
        Folder.Write("tree/boot/isolinux/isolinux.cfg", "default mk\n");
        Folder.Write("tree/" + LongName, "long\n");
        Folder.Write("tree/usr/local/bin/tool", "#!/bin/sh\n");
        Folder.Write("tree/a/b/c/d/e/f/g/h/i/j/deep.txt", "deep\n");
        Big = new byte[100_000];
        new Random(42).NextBytes(Big);
        Folder.Write("tree/usr/big.bin", Big);
        File.CreateSymbolicLink(Folder["tree/usr/local/bin/sh"], "../../../bin/busybox");
        File.CreateSymbolicLink(Folder["tree/etc/abs"], AbsTarget);
        Tool.Run("chown", "1001:50", Folder["tree/usr/local/bin/tool"]).EnsureSuccess("chown");
        Tool.Run("chmod", "4750", Folder["tree/usr/local/bin/tool"]).EnsureSuccess("chmod");
        Tool.Run("mknod", Folder["tree/etc/console"], "c", "5", "1").EnsureSuccess("mknod");
        Tool.Run("mkfifo", Folder["tree/etc/fifo"]).EnsureSuccess("mkfifo");
        Isolinux = "/usr/lib/ISOLINUX/isolinux.bin";
        if (!File.Exists(Isolinux))
        {
            throw new InvalidOperationException("The test needs /usr/lib/ISOLINUX/isolinux.bin: apt-get install isolinux");
        }

        File.Copy(Isolinux, Folder["tree/boot/isolinux/isolinux.bin"]);
        RockRidge = Make("rr.iso", "-R", "-J", "-V", "RR TEST", "-b", "boot/isolinux/isolinux.bin", "-c", "boot/isolinux/boot.cat",
            "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table");
        Joliet = Make("joliet.iso", "--norock", "-J", "-V", "JOLIET");
        Plain = Make("plain.iso", "--norock", "-V", "PLAIN");
        Relocated = Make("relocated.iso", "-R", "-rr_reloc_dir", "RR_MOVED");
    }

    public TempFolder Folder { get; } = new("iso");

    public string Tree { get; }

    public byte[] Big { get; }

    public string Isolinux { get; }

    public string RockRidge { get; }

    public string Joliet { get; }

    public string Plain { get; }

    /// <summary>Rock Ridge with deep directories relocated to /RR_MOVED (CL/RE/PL), as mkisofs does.</summary>
    public string Relocated { get; }

    private string Make(string name, params string[] options)
    {
        var output = Folder[name];
        Tool.Run("xorriso", ["-as", "mkisofs", "-quiet", .. options, "-o", output, Tree]).EnsureSuccess("xorriso -as mkisofs " + name);
        return output;
    }

    public static string Text(Stream s)
    {
        using var r = new StreamReader(s, Encoding.UTF8);
        return r.ReadToEnd();
    }

    public void Dispose() => Folder.Dispose();
}
