using System.Buffers.Binary;
using System.Text;
using Razor.Microkernel.Formats.Release;
using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Formats.Tests.Release;

/// <summary>The kernel release from a bzImage's setup header, checked against the <c>file</c> command.</summary>
public sealed class KernelImageTests : IDisposable
{
    private readonly TempFolder _dir = new("rmk-kernel");

    public void Dispose() => _dir.Dispose();

    /// <summary>A setup area as the kernel's boot/header.S lays it out: boot flag, HdrS, protocol, version pointer.</summary>
    private static byte[] BzImage(string version, int pointer = 0x3C0, ushort protocol = 0x020F, int setupSectors = 31, int size = 0x10000)
    {
        var b = new byte[size];
        b[0x1F1] = (byte)setupSectors;
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(0x1FE), 0xAA55);
        Encoding.ASCII.GetBytes("HdrS").CopyTo(b, 0x202);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(0x206), protocol);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(0x20E), (ushort)pointer);
        Encoding.ASCII.GetBytes(version + "\0").CopyTo(b, pointer + 0x200);
        return b;
    }

    private static string FileCommandVersion(string path)
    {
        var text = Tool.Run("file", "-b", path).EnsureSuccess("file").StdOut;
        var at = text.IndexOf("version ", StringComparison.Ordinal);
        Assert.True(at >= 0, $"file does not see a kernel version: {text}");
        return text[(at + "version ".Length)..].Split(' ', 2)[0];
    }

    [Fact]
    public void ReadRelease_DebiansKernel_IsWhatTheFileCommandReads()
    {
        var kernels = Directory.Exists("/boot") ? Directory.GetFiles("/boot", "vmlinuz-*") : [];
        Assert.True(kernels.Length > 0, "no kernel in /boot: the test needs Debian's linux-image-amd64 (build/test.sh installs it)");
        foreach (var k in kernels)
        {
            Assert.Equal(FileCommandVersion(k), KernelImage.ReadRelease(k));
            Assert.Equal(Path.GetFileName(k)["vmlinuz-".Length..], KernelImage.ReadRelease(k));
        }
    }

    [Theory]
    [InlineData(0x3C0)] // within the first KiB read
    [InlineData(0x2C00)] // further into the setup code
    public void ReadRelease_ATinyCoreStyleHeader_GivesTheFirstWord(int pointer)
    {
        var path = _dir.Write($"vmlinuz64-{pointer}", BzImage("6.18.2-tinycore64 (tc@box) #1 SMP Mon Dec 1 2025", pointer));
        Assert.Equal("6.18.2-tinycore64", KernelImage.ReadRelease(path));
        Assert.Equal("6.18.2-tinycore64", FileCommandVersion(path));
        using var nonSeekable = new NonSeekable(File.ReadAllBytes(path));
        Assert.Equal("6.18.2-tinycore64", KernelImage.ReadRelease(nonSeekable));
    }

    public static TheoryData<string, byte[], long> Broken()
    {
        var noFlag = BzImage("6.1.2-tinycore64");
        noFlag[0x1FE] = 0;
        var noMagic = BzImage("6.1.2-tinycore64");
        noMagic[0x202] = (byte)'X';
        var unterminated = BzImage(new string('x', 2000), pointer: 0x3C0);
        return new TheoryData<string, byte[], long>
        {
            { "short", new byte[0x100], 0x100 },
            { "no boot flag", noFlag, 0x1FE },
            { "no HdrS", noMagic, 0x202 },
            { "old protocol", BzImage("6.1.2-tinycore64", protocol: 0x0105), 0x206 },
            { "no pointer", Zero(BzImage("6.1.2-tinycore64")), 0x20E },
            { "pointer beyond setup", BzImage("6.1.2-tinycore64", pointer: 0x3C0, setupSectors: 1), 0x20E },
            { "not terminated", unterminated, 0x5C0 },
            { "no release word", BzImage("(none) #1"), 0x5C0 },
            { "cut inside the string", BzImage("6.1.2-tinycore64")[..0x5C4], 0x5C4 },
        };
    }

    private static byte[] Zero(byte[] b)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(0x20E), 0);
        return b;
    }

    [Theory]
    [MemberData(nameof(Broken))]
    public void ReadRelease_NotABzImageWithAVersion_ThrowsWithTheOffset(string what, byte[] image, long offset)
    {
        var e = Assert.Throws<KernelImageException>(() => KernelImage.ReadRelease(new MemoryStream(image)));
        Assert.True(e.Offset == offset, $"{what}: offset {e.Offset}, expected {offset} ({e.Reason})");
    }

    [Theory]
    [InlineData("6.18.2-tinycore64", true)]
    [InlineData("3.0.21-tinycore", true)]
    [InlineData("6.1.0-57-amd64", true)]
    [InlineData("", false)]
    [InlineData("6.18 2", false)]
    [InlineData("6.18;reboot", false)]
    [InlineData("-6.18", false)]
    [InlineData("6.18.2/x", false)]
    public void IsKernelRelease_AcceptsShellSafeVersions(string value, bool ok) => Assert.Equal(ok, KernelImage.IsKernelRelease(value));

    private sealed class NonSeekable(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;

        public override long Seek(long offset, SeekOrigin loc) => throw new NotSupportedException();
    }
}
