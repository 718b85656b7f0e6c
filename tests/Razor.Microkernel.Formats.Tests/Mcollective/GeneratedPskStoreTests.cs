using Razor.Microkernel.Formats.Mcollective;
using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Formats.Tests.Mcollective;

/// <summary>The kept Development PSK: made once, owner-only, read back, replaced only when unusable.</summary>
public sealed class GeneratedPskStoreTests : IDisposable
{
    private readonly TempFolder _dir = new("rmk-psk");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void ReadOrCreate_MakesItOnce_OwnerOnly_ThenReadsIt()
    {
        var path = _dir["deep/er/dev.psk"];
        var psk = GeneratedPskStore.ReadOrCreate(path, McollectiveSecretPolicy.GeneratePsk, out var created);
        Assert.True(created);
        Assert.Equal(32, psk.Length);
        Assert.Equal(psk + "\n", File.ReadAllText(path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(_dir["deep/er"]));
        Assert.Equal(psk, GeneratedPskStore.ReadOrCreate(path, () => throw new InvalidOperationException("not again"), out created));
        Assert.False(created);
        Assert.Empty(Directory.GetFiles(_dir["deep/er"], "*.tmp"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("two\nlines\n")]
    [InlineData(" padded ")]
    public void ReadOrCreate_ReplacesAFileWithoutAUsablePsk(string content)
    {
        var path = _dir.Write("dev.psk", content);
        var psk = GeneratedPskStore.ReadOrCreate(path, () => "a-new-one-of-enough-length", out var created);
        Assert.True(created);
        Assert.Equal("a-new-one-of-enough-length", psk);
        Assert.Equal("a-new-one-of-enough-length\n", File.ReadAllText(path));
    }

    [Fact]
    public void ReadOrCreate_ManyAtOnce_AgreeOnOne()
    {
        // Many rounds: the race (one build finds the file missing, another creates it in between) is short.
        for (var round = 0; round < 100; round++)
        {
            var path = _dir[$"race/{round}/dev.psk"];
            var results = new string[16];
            var created = new bool[16];
            Parallel.For(0, results.Length, i => results[i] = GeneratedPskStore.ReadOrCreate(path, McollectiveSecretPolicy.GeneratePsk, out created[i]));
            Assert.Single(results.Distinct());
            Assert.Single(created, c => c);
            Assert.Equal(results[0] + "\n", File.ReadAllText(path));
        }
    }

    [Fact]
    public void DefaultPath_IsPerProject_InTheUsersConfigurationFolder()
    {
        var a = GeneratedPskStore.DefaultPath("/src/a/Microkernel.proj");
        var b = GeneratedPskStore.DefaultPath("/src/b/Microkernel.proj");
        Assert.NotEqual(a, b);
        Assert.StartsWith(Environment.GetFolderPath(Environment.SpecialFolder.ApplicationData), a, StringComparison.Ordinal);
        Assert.Contains("Microkernel-", Path.GetFileName(a), StringComparison.Ordinal);
    }
}
