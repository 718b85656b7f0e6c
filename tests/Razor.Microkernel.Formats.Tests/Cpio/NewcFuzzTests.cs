using Razor.Microkernel.Formats.Cpio;

namespace Razor.Microkernel.Formats.Tests.Cpio;

/// <summary>Seeded mutations of a small archive: <see cref="NewcReader"/> ends in success or a <see cref="CpioFormatException"/>.</summary>
public sealed class NewcFuzzTests
{
    [Fact]
    public void Fuzz_MutatedArchivesEndInSuccessOrATypedError()
    {
        using var ms = new MemoryStream();
        using (var w = new NewcWriter(ms, 99, leaveOpen: true))
        {
            w.Write(new CpioEntry("bin", CpioEntryType.Directory, 0x1ED));
            w.Write(new CpioEntry("bin/busybox", CpioEntryType.File, 0x9ED), new MemoryStream(new byte[777]), 777);
            w.Write(new CpioEntry("bin/sh", CpioEntryType.Symlink, 0x1FF, LinkTarget: "busybox"));
            w.Write(new CpioEntry("dev/null", CpioEntryType.CharacterDevice, 0x1B6, DeviceMajor: 1, DeviceMinor: 3));
            w.WriteHardLinks([new CpioEntry("a", CpioEntryType.File, 0x1A4), new CpioEntry("b", CpioEntryType.File, 0x1A4)], new MemoryStream(new byte[33]), 33);
        }

        var original = ms.ToArray();
        var rng = new Random(20261125);
        var failures = 0;
        for (var i = 0; i < 2000; i++)
        {
            var b = (byte[])original.Clone();
            var pos = rng.Next(b.Length);
            if (rng.Next(5) == 0)
            {
                b = b[..pos];
            }
            else
            {
                b[pos] = rng.Next(2) == 0 ? (byte)rng.Next(256) : (byte)"0123456789ABCDEF"[rng.Next(16)];
            }

            try
            {
                using var r = new NewcReader(new MemoryStream(b));
                while (r.ReadNext() is not null)
                {
                    r.OpenData().CopyTo(Stream.Null);
                }
            }
            catch (CpioFormatException)
            {
                failures++;
            }
        }

        Assert.True(failures > 200, $"{failures} failures");
    }
}
