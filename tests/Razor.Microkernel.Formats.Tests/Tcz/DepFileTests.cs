using Razor.Microkernel.Formats.Tcz;

namespace Razor.Microkernel.Formats.Tests.Tcz;

public class DepFileTests
{
    private const string Kernel = "3.0.21-tinycore";

    [Fact]
    public void Parse_RealWorldMess_StripsBlanksSkipsEmptyLinesAndHandlesCrlfWithoutFinalNewline()
    {
        var text = "gdbm.tcz\r\n\r\n  \t\r\n  readline .tcz \r\n\topenssl-0.9.8.tcz\t\r\n\r\nncurses";
        Assert.Equal(["gdbm.tcz", "readline.tcz", "openssl-0.9.8.tcz", "ncurses.tcz"], DepFile.Parse(text, Kernel));
    }

    [Fact]
    public void Parse_KernelPlaceholder_BecomesTheKernelVersion()
    {
        Assert.Equal(["scsi-3.0.21-tinycore.tcz", "filesystems-3.0.21-tinycore.tcz"],
            DepFile.Parse("scsi-KERNEL.tcz\nfilesystems-KERNEL\n", Kernel));
    }

    [Theory]
    [InlineData("")]
    [InlineData("\n\n \t \r\n")]
    public void Parse_EmptyOrBlank_NoDependencies(string text) => Assert.Empty(DepFile.Parse(text, Kernel));

    [Fact]
    public void Parse_Duplicates_KeptOnceInFirstOrder()
        => Assert.Equal(["b.tcz", "a.tcz"], DepFile.Parse("b.tcz\na.tcz\nb\n", Kernel));

    [Fact]
    public void Parse_PathInName_IsRejected()
        => Assert.Throws<InvalidExtensionNameException>(() => DepFile.Parse("../../etc/passwd.tcz\n", Kernel));
}

public class ExtensionNameTests
{
    [Theory]
    [InlineData("ruby", "ruby.tcz")]
    [InlineData("ruby.tcz", "ruby.tcz")]
    [InlineData(" ruby ", "ruby.tcz")]
    [InlineData("scsi-KERNEL", "scsi-3.0.21-tinycore.tcz")]
    [InlineData("scsi-KERNEL.tcz", "scsi-3.0.21-tinycore.tcz")]
    [InlineData("KERNELtools", "KERNELtools.tcz")]
    [InlineData("libssl-0.9.8", "libssl-0.9.8.tcz")]
    public void Normalize_AddsSuffixAndSubstitutesKernel(string input, string expected)
        => Assert.Equal(expected, ExtensionName.Normalize(input, "3.0.21-tinycore"));

    [Fact]
    public void WithAndWithoutSuffix_RoundTrip()
    {
        Assert.Equal("ruby", ExtensionName.WithoutSuffix("ruby.tcz"));
        Assert.Equal("ruby", ExtensionName.WithoutSuffix("ruby"));
        Assert.Equal("ruby.tcz", ExtensionName.WithSuffix("ruby"));
        Assert.True(ExtensionName.HasKernelPlaceholder("scsi-KERNEL.tcz"));
        Assert.False(ExtensionName.HasKernelPlaceholder("scsi-3.0.21-tinycore.tcz"));
    }

    [Theory]
    [InlineData("")]
    [InlineData(".tcz")]
    [InlineData("a/b")]
    [InlineData("a b")]
    [InlineData(".hidden")]
    public void Normalize_InvalidNames_Throw(string name)
        => Assert.Throws<InvalidExtensionNameException>(() => ExtensionName.Normalize(name, "3.0.21-tinycore"));

    [Fact]
    public void Normalize_KernelPlaceholderWithoutKernel_Throws()
        => Assert.Equal("scsi-KERNEL", Assert.Throws<KernelVersionRequiredException>(() => ExtensionName.Normalize("scsi-KERNEL", "")).Name);
}
