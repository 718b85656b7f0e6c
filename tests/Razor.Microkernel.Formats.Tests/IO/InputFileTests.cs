using Razor.Microkernel.Formats.IO;
using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Formats.Tests.IO;

/// <summary>The per-input fingerprint the build's up-to-date check uses, against files made with the real tools.</summary>
public sealed class InputFileTests : IDisposable
{
    private readonly TempFolder _dir = new("rmk-input");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Fingerprint_ChangesWhenContentIsReplacedAndDatedBack()
    {
        var motd = _dir.Write("motd", "hello\n");
        Tool.Run("touch", ["-d", "2020-01-01", motd]).EnsureSuccess("touch");
        var before = InputFile.Stat(motd);
        Assert.Equal(InputFileKind.Regular, before.Kind);

        // Same size, same (old) modification time: only the change time tells.
        File.WriteAllText(motd, "HELLO\n");
        Tool.Run("touch", ["-d", "2020-01-01", motd]).EnsureSuccess("touch");
        var after = InputFile.Stat(motd);
        Assert.NotEqual(before.Fingerprint, after.Fingerprint);
        Assert.Contains("size=6 ", after.Fingerprint, StringComparison.Ordinal);
    }

    [Fact]
    public void Fingerprint_ChangesWhenAnOlderFileIsCopiedOverWithItsDate()
    {
        var motd = _dir.Write("motd", "new\n");
        var old = _dir.Write("old/motd", "old\n");
        Tool.Run("touch", ["-d", "2015-01-01", old]).EnsureSuccess("touch");
        var before = InputFile.Stat(motd);
        Tool.Run("cp", ["-p", old, motd]).EnsureSuccess("cp -p");
        Assert.NotEqual(before.Fingerprint, InputFile.Stat(motd).Fingerprint);
    }

    [Fact]
    public void Fingerprint_IsStableForAnUntouchedFile()
    {
        var motd = _dir.Write("motd", "hello\n");
        Assert.Equal(InputFile.Stat(motd), InputFile.Stat(motd));
        File.ReadAllBytes(motd);
        Assert.Equal(InputFile.Stat(motd), InputFile.Stat(motd));
    }

    [Fact]
    public void Stat_FollowsSymlinks_AndTellsNonRegularFilesWithoutOpeningThem()
    {
        Tool.Run("ln", ["-s", "/dev/zero", _dir["zero.tgz"]]).EnsureSuccess("ln -s");
        Tool.Run("mkfifo", [_dir["fifo.tgz"]]).EnsureSuccess("mkfifo");
        Directory.CreateDirectory(_dir["folder.tgz"]);
        Tool.Run("ln", ["-s", "missing", _dir["dangling.tgz"]]).EnsureSuccess("ln -s");
        Tool.Run("ln", ["-s", "loop.tgz", _dir["loop.tgz"]]).EnsureSuccess("ln -s");
        var real = _dir.Write("real.tgz", "x");
        Tool.Run("ln", ["-s", real, _dir["link.tgz"]]).EnsureSuccess("ln -s");

        Assert.Equal(InputFileKind.CharacterDevice, InputFile.Stat(_dir["zero.tgz"]).Kind);
        Assert.Equal(InputFileKind.Fifo, InputFile.Stat(_dir["fifo.tgz"]).Kind); // a read would block: it returned
        Assert.Equal(InputFileKind.Directory, InputFile.Stat(_dir["folder.tgz"]).Kind);
        Assert.Equal(InputFileKind.Missing, InputFile.Stat(_dir["dangling.tgz"]).Kind);
        Assert.Equal(InputFileKind.Missing, InputFile.Stat(_dir["nothing/at/all"]).Kind);
        Assert.Equal(InputFileKind.Other, InputFile.Stat(_dir["loop.tgz"]).Kind);
        Assert.Equal(InputFile.Stat(real), InputFile.Stat(_dir["link.tgz"]));
    }
}
