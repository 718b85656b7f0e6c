using System.Buffers.Binary;
using System.IO.Hashing;
using System.Security.Cryptography;
using System.Text;
using Razor.Microkernel.Formats.Cpio;
using Razor.Microkernel.Formats.Iso9660;
using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Sdk.Tests;

/// <summary>
/// A Tiny Core 4.x project gives the same overlay and ISO bytes as before the SDK learnt other releases. The input is
/// generated the same way on every run and machine: extensions made by mksquashfs (their extracted content does not
/// depend on its version), a Core ISO written in-process (a newc core.gz in a stored-deflate gzip, no compressor
/// involved, laid out by the SDK's own ISO writer), fixed secrets and versions, the default entry time.
/// <para>
/// The pinned SHA-256 values were obtained by running this test, unchanged, on main at commit 3c51c40 (the
/// last commit before the release table): the assertion message printed the hashes that build produced, and
/// they were copied here. They also depend on the .NET runtime's zlib (the overlay is compressed by it); this
/// repository pins the SDK in global.json.
/// </para>
/// </summary>
public sealed class TinyCore4PinTests() : MirroredTests("rmk-pin4")
{
    private const string PinnedOverlaySha256 = "ecbd43ea4f04685a9060e92ac8e2df8af771c2ba5fbd0897b07e618a23abe6b3";
    private const string PinnedIsoSha256 = "233463718dce1d2525d43b546a07c6f87f2048a28234c829e4820544514d4a48";

    protected override void Populate()
    {
        Add("pinlib", "usr/local/lib/libpin.so.1", null);
        Add("scsi-3.0.21-tinycore", "usr/local/lib/modules/3.0.21-tinycore/kernel/drivers/scsi/pin_mod.ko.gz", "pinlib.tcz\n");
        Add("pintool", "usr/local/bin/pintool", "scsi-KERNEL.tcz\n", startup: true);
    }

    private void Add(string name, string file, string? dep, bool startup = false)
    {
        var tree = Path.Combine(Root.Path, "src", name);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(tree, file))!);
        File.WriteAllText(Path.Combine(tree, file), $"{name}:{file}\n");
        if (startup)
        {
            Directory.CreateDirectory(Path.Combine(tree, "usr/local/tce.installed"));
            File.WriteAllText(Path.Combine(tree, "usr/local/tce.installed", name), "#!/bin/sh\necho pin setup\n");
            File.SetUnixFileMode(Path.Combine(tree, "usr/local/tce.installed", name), (UnixFileMode)Convert.ToInt32("755", 8));
        }

        Builder.AddSquashfs(name + ".tcz", tree, dep);
    }

    /// <summary>A gzip member of stored deflate blocks: the same bytes from any zlib.</summary>
    internal static byte[] StoredGzip(byte[] data)
    {
        using var o = new MemoryStream();
        o.Write([0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 0xFF]);
        var offset = 0;
        Span<byte> len = stackalloc byte[4];
        do
        {
            var n = Math.Min(65535, data.Length - offset);
            var final = offset + n == data.Length;
            o.WriteByte(final ? (byte)1 : (byte)0);
            BinaryPrimitives.WriteUInt16LittleEndian(len, (ushort)n);
            BinaryPrimitives.WriteUInt16LittleEndian(len[2..], (ushort)~n);
            o.Write(len);
            o.Write(data, offset, n);
            offset += n;
        }
        while (offset < data.Length);
        Span<byte> trailer = stackalloc byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(trailer, Crc32.HashToUInt32(data));
        BinaryPrimitives.WriteUInt32LittleEndian(trailer[4..], (uint)data.Length);
        o.Write(trailer);
        return o.ToArray();
    }

    /// <summary>A Tiny Core 4.x release ISO's shape: boot/vmlinuz, boot/core.gz, boot/isolinux/ with isolinux.cfg and
    /// a boot image, all from fixed bytes.</summary>
    internal static void WriteCore4Iso(string path)
    {
        using var cpio = new MemoryStream();
        using (var w = new NewcWriter(cpio, modificationTime: 1_330_000_000, leaveOpen: true))
        {
            w.Write(new CpioEntry(".", CpioEntryType.Directory, 0x1ED));
            w.Write(new CpioEntry("etc", CpioEntryType.Directory, 0x1ED));
            var version = Encoding.ASCII.GetBytes("4.5.2\n");
            w.Write(new CpioEntry("etc/version", CpioEntryType.File, 0x1A4), new MemoryStream(version), version.Length);
            w.Write(new CpioEntry("home", CpioEntryType.Directory, 0x1ED));
            w.Write(new CpioEntry("home/tc", CpioEntryType.Directory, 0x1ED, 1001, 50));
            w.Write(new CpioEntry("opt", CpioEntryType.Directory, 0x1FD, 0, 50));
            var bootsync = Encoding.ASCII.GetBytes("#!/bin/sh\n/opt/bootlocal.sh &\n");
            w.Write(new CpioEntry("opt/bootsync.sh", CpioEntryType.File, 0x1FD, 0, 50), new MemoryStream(bootsync), bootsync.Length);
            w.Write(new CpioEntry("tmp", CpioEntryType.Directory, 0x3FF));
        }

        var coreGz = StoredGzip(cpio.ToArray());
        var kernel = new byte[40_000];
        new Random(45).NextBytes(kernel);
        var boot = new byte[4096];
        new Random(2048).NextBytes(boot);
        var cfg = Encoding.ASCII.GetBytes("default microcore\nlabel microcore\n  kernel /boot/vmlinuz\n  append initrd=/boot/core.gz quiet\n");
        static IsoWriterEntry F(string p, byte[] b) => IsoWriterEntry.File(p, b.Length, () => new MemoryStream(b, writable: false));
        IsoWriter.WriteFile(path,
        [
            IsoWriterEntry.Directory("boot"),
            IsoWriterEntry.Directory("boot/isolinux"),
            F("boot/vmlinuz", kernel),
            F("boot/core.gz", coreGz),
            F("boot/isolinux/isolinux.bin", boot),
            F("boot/isolinux/isolinux.cfg", cfg),
        ], new IsoWriterOptions
        {
            VolumeId = "Core",
            Timestamp = DateTimeOffset.FromUnixTimeSeconds(1_330_000_000),
            BootImage = "boot/isolinux/isolinux.bin",
        });
    }

    [Fact]
    public void TinyCore4Project_OverlayAndIso_StayByteIdentical()
    {
        var p = MirrorProject("pin4", """
            <TczExtension Include="pintool" />
            <CoreIso Include="Core-4.5.2.iso" />
            <OverlayFile Include="motd" Destination="/etc/motd" />
            <MicrokernelBootCommand Include="echo pinned" />
            """, """
            <MicrokernelVersion>0.4.5</MicrokernelVersion>
            <MicrokernelKernelArgs>rmk.pin=4</MicrokernelKernelArgs>
            <McollectiveStompHost>razor-pin.example</McollectiveStompHost>
            """);
        p.Write("motd", "pinned 4.x\n");
        WriteCore4Iso(p["Core-4.5.2.iso"]);
        p.Run("build", environment: TestSecrets.Variables()).AssertSuccess();
        var overlay = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(p.Overlay)));
        var iso = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(p.OutDir, "rz_mk_dev-image.0.4.5.iso"))));
        Assert.True((PinnedOverlaySha256, PinnedIsoSha256) == (overlay, iso),
            $"a 4.x project's outputs changed: overlay {overlay} (pinned {PinnedOverlaySha256}), ISO {iso} (pinned {PinnedIsoSha256})");

        // The property holds the 4.x default once the build has resolved the release (read by MSBuild's own -getProperty
        // after the targets ran), for a project's targets that run after the SDK's.
        var kernel = p.Run("build", ["-t:Build", "-getProperty:TinyCoreKernel"], TestSecrets.Variables()).AssertSuccess();
        Assert.Matches(@"(?m)^3\.0\.21-tinycore\r?$", kernel.Output);
    }
}
