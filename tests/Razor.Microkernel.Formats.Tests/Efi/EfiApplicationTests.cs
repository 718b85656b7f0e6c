using System.Buffers.Binary;
using Razor.Microkernel.Formats.Efi;

namespace Razor.Microkernel.Formats.Tests.Efi;

/// <summary>The PE/COFF check of a UEFI loader, against GRUB's real x86_64 EFI image and that image altered.</summary>
public sealed class EfiApplicationTests(GrubLoader grub) : IClassFixture<GrubLoader>
{
    private int PeOffset => (int)BinaryPrimitives.ReadUInt32LittleEndian(grub.Bytes.AsSpan(0x3C));

    private static string Refused(byte[] image) => Assert.Throws<EfiApplicationException>(() => EfiApplication.Check(new MemoryStream(image))).Reason;

    [Fact]
    public void Check_AcceptsGrubsX64EfiImage()
    {
        EfiApplication.Check(new MemoryStream(grub.Bytes));
    }

    [Fact]
    public void Check_RefusesAnotherMachine_AnotherSubsystem_AndPe32()
    {
        var i386 = (byte[])grub.Bytes.Clone();
        BinaryPrimitives.WriteUInt16LittleEndian(i386.AsSpan(PeOffset + 4), 0x014C);
        Assert.Contains("machine 0x014C (i386), not x86_64", Refused(i386));

        var arm = (byte[])grub.Bytes.Clone();
        BinaryPrimitives.WriteUInt16LittleEndian(arm.AsSpan(PeOffset + 4), 0xAA64);
        Assert.Contains("ARM64", Refused(arm));

        var driver = (byte[])grub.Bytes.Clone();
        BinaryPrimitives.WriteUInt16LittleEndian(driver.AsSpan(PeOffset + 24 + 68), 11);
        Assert.Contains("subsystem is 11 (EFI boot service driver)", Refused(driver));

        var windows = (byte[])grub.Bytes.Clone();
        BinaryPrimitives.WriteUInt16LittleEndian(windows.AsSpan(PeOffset + 24 + 68), 3);
        Assert.Contains("Windows console", Refused(windows));

        var pe32 = (byte[])grub.Bytes.Clone();
        BinaryPrimitives.WriteUInt16LittleEndian(pe32.AsSpan(PeOffset + 24), 0x10B);
        Assert.Contains("not PE32+", Refused(pe32));
    }

    [Fact]
    public void Check_RefusesWhatIsNoPeImage()
    {
        Assert.Contains("no MZ header", Refused(File.ReadAllBytes("/bin/busybox"))); // an ELF program
        Assert.Contains("no MZ header", Refused([]));
        var dos = new byte[512];
        dos[0] = (byte)'M';
        dos[1] = (byte)'Z';
        BinaryPrimitives.WriteUInt32LittleEndian(dos.AsSpan(0x3C), 0x80);
        Assert.Contains("no PE signature", Refused(dos));
        BinaryPrimitives.WriteUInt32LittleEndian(dos.AsSpan(0x3C), 0x7FFFFFF0);
        Assert.Contains("outside", Refused(dos));
        var big = new MemoryStream();
        big.SetLength(EfiApplication.MaxBytes + 1);
        Assert.Contains("more than", Assert.Throws<EfiApplicationException>(() => EfiApplication.Check(big)).Reason);
    }
}
