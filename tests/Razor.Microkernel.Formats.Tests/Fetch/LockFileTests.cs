using Razor.Microkernel.Formats.Fetch;
using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Formats.Tests.Fetch;

public class LockFileTests
{
    private static readonly string ShaA = new('a', 64);
    private static readonly string ShaB = new('b', 64);

    private static LockFile Sample() => new LockFile
    {
        Mirror = "http://distro.ibiblio.org/tinycorelinux",
        Version = "4.x",
        Arch = "x86",
        Kernel = "3.0.21-tinycore",
        Extensions =
        [
            new LockedExtension("gdbm.tcz", new string('1', 32), ShaA, 1234, []),
            new LockedExtension("ruby.tcz", new string('2', 32), ShaB, 5678, ["gdbm.tcz"]),
        ],
    }.WithDownloads([new LockedDownload("https://z.example/b.tgz", ShaB, 2), new LockedDownload("https://a.example/a.tgz", ShaA, 1)]);

    [Fact]
    public void ToJson_IsDeterministicIndentedWithLfAndSortedDownloads()
    {
        var json = Sample().ToJson();
        Assert.DoesNotContain("\r", json);
        Assert.EndsWith("}\n", json);
        Assert.StartsWith("{\n  \"formatVersion\": 1,\n  \"tinyCore\": {\n    \"mirror\": \"http://distro.ibiblio.org/tinycorelinux\",", json);
        Assert.True(json.IndexOf("a.example", StringComparison.Ordinal) < json.IndexOf("z.example", StringComparison.Ordinal));
        Assert.True(json.IndexOf("gdbm.tcz\",", StringComparison.Ordinal) < json.IndexOf("\"ruby.tcz\"", StringComparison.Ordinal));
        Assert.Equal(json, Sample().ToJson());
    }

    [Fact]
    public void Parse_RoundTrips()
    {
        var original = Sample();
        var parsed = LockFile.Parse(original.ToJson());
        Assert.Equal(original.ToJson(), parsed.ToJson());
        Assert.True(LockFile.Compare(original, parsed).IsEmpty);
        Assert.Equal(["gdbm.tcz"], parsed.FindExtension("ruby.tcz")!.Dependencies);
        Assert.Equal(ShaA, parsed.FindDownload("https://a.example/a.tgz")!.Sha256);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("{\"formatVersion\": 99, \"tinyCore\": {}, \"extensions\": []}")]
    [InlineData("{\"formatVersion\": 1, \"tinyCore\": {\"mirror\": \"m\", \"version\": \"4.x\", \"arch\": \"x86\", \"kernel\": \"k\"}, \"extensions\": [{\"name\": \"a.tcz\"}]}")]
    public void Parse_Invalid_TypedError(string json)
        => Assert.Throws<InvalidLockFileException>(() => LockFile.Parse(json, "/p/microkernel.lock.json"));

    [Fact]
    public void WriteIfChanged_WritesOnlyWhenContentDiffers()
    {
        using var tmp = new TempFolder();
        var path = tmp[LockFile.FileName];
        Assert.True(Sample().WriteIfChanged(path));
        var stamp = new DateTime(2001, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(path, stamp);
        Assert.False(Sample().WriteIfChanged(path));
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(path));
        Assert.True((Sample() with { Kernel = "3.0.3-tinycore" }).WriteIfChanged(path));
        Assert.Equal("3.0.3-tinycore", LockFile.TryRead(path)!.Kernel);
        Assert.Null(LockFile.TryRead(tmp["none.json"]));
    }

    [Fact]
    public void Compare_ReportsEachKindOfChange()
    {
        var old = Sample();
        var current = old with
        {
            Mirror = "http://other.example/tc",
            Extensions =
            [
                new LockedExtension("ruby.tcz", new string('2', 32), ShaA, 5678, ["gdbm.tcz"]),
                new LockedExtension("gdbm.tcz", new string('1', 32), ShaA, 1234, []),
                new LockedExtension("bash.tcz", new string('3', 32), ShaB, 10, []),
            ],
            Downloads = [new LockedDownload("https://a.example/a.tgz", ShaB, 1), new LockedDownload("https://n.example/n.tgz", ShaA, 3)],
        };
        var diff = LockFile.Compare(old, current);
        Assert.Contains(diff.Changes, c => c is { Section: "tinyCore", Name: "mirror", Kind: LockChangeKind.Changed, New: "http://other.example/tc" });
        Assert.Contains(diff.Changes, c => c is { Section: "extension", Name: "ruby.tcz", Kind: LockChangeKind.Changed });
        Assert.Contains(diff.Changes, c => c is { Section: "extension", Name: "bash.tcz", Kind: LockChangeKind.Added });
        Assert.Contains(diff.Changes, c => c is { Section: "tinyCore", Name: "order", Old: "gdbm.tcz, ruby.tcz", New: "ruby.tcz, gdbm.tcz" });
        Assert.Contains(diff.Changes, c => c is { Section: "download", Name: "https://z.example/b.tgz", Kind: LockChangeKind.Removed });
        Assert.Contains(diff.Changes, c => c is { Section: "download", Name: "https://a.example/a.tgz", Kind: LockChangeKind.Changed });
        Assert.Contains(diff.Changes, c => c is { Section: "download", Name: "https://n.example/n.tgz", Kind: LockChangeKind.Added });
        Assert.True(diff.ChangesResolution);
        Assert.Contains("ruby.tcz", diff.ToString());

        var mirrorOnly = LockFile.Compare(old, old with { Mirror = "file:///srv/mirror" });
        Assert.False(mirrorOnly.IsEmpty);
        Assert.False(mirrorOnly.ChangesResolution);
        Assert.True(LockFile.Compare(null, old).Changes.All(c => c.Kind == LockChangeKind.Added));
    }
}
