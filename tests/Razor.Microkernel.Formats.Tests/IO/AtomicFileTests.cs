using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Formats.Tests.IO;

/// <summary>AtomicFile writes owner-only from the temporary file's creation on, whatever the umask says.</summary>
public sealed class AtomicFileTests : IDisposable
{
    private readonly TempFolder _dir = new("rmk-atomic");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Write_TheTemporaryFileIsAlreadyOwnerOnly_AndSoIsTheResult()
    {
        var path = _dir["out/overlay.tar.gz"];
        File.WriteAllText(_dir.Write("out/overlay.tar.gz", "old"), "old");
        File.SetUnixFileMode(path, (UnixFileMode)Convert.ToInt32("644", 8));
        UnixFileMode during = 0;
        string? temp = null;
        AtomicFile.Write(path, s =>
        {
            temp = s.Name;
            during = File.GetUnixFileMode(s.Name);
            s.Write("new"u8);
        });
        Assert.NotEqual(path, temp);
        Assert.Equal(AtomicFile.OwnerOnly, during);
        Assert.Equal(AtomicFile.OwnerOnly, File.GetUnixFileMode(path));
        Assert.Equal("new", File.ReadAllText(path));
    }

    [Fact]
    public void Write_Shared_FollowsTheUmask()
    {
        var path = _dir["microkernel.lock.json"];
        AtomicFile.WriteAllText(path, "{}", shared: true);
        Assert.True((File.GetUnixFileMode(path) & UnixFileMode.OtherRead) != 0 || (File.GetUnixFileMode(path) & UnixFileMode.GroupRead) != 0
            || Tool.Run("sh", ["-c", "umask"]).StdOut.Trim() == "0077");
    }
}
