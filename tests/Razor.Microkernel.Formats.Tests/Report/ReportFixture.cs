using Razor.Microkernel.Formats.Layers;
using Razor.Microkernel.Formats.Report;
using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Formats.Tests.Report;

/// <summary>A small overlay shaped like the microkernel's (ruby, bash, gems, mcollective, the project's files),
/// written as real layers and merged, plus the info a build would pass.</summary>
internal static class ReportFixture
{
    public const string HostileName = "<script>alert('x')</script>&amp;\"q\"";

    public static EntryAttributes Attr(LayerEntryType t) => EntryAttributes.Default(t, 0);

    public static LayerSource Layer(TempFolder tmp, string name, Action<LayerWriter> write)
    {
        var path = tmp[$"layer{Directory.GetFiles(tmp.Path).Length}.tar"];
        using var w = new LayerWriter(File.Create(path));
        write(w);
        w.Finish();
        return new LayerSource(name, path);
    }

    public static void Put(LayerWriter w, string path, int size)
        => w.AddFile(path, Attr(LayerEntryType.File), new byte[size]);

    /// <summary>The microkernel-like overlay: a few big files, many small ones, links, a conflict and hostile names.</summary>
    public static OverlayMerge MicrokernelOverlay(TempFolder tmp, bool hostile = true)
    {
        var files = Layer(tmp, "files", w =>
        {
            Put(w, "etc/motd", 120);
            Put(w, "usr/local/etc/mcollective/facts.yaml", 300);
            if (hostile)
            {
                Put(w, "opt/" + HostileName + "/x<y>.rb", 40_000);
                Put(w, "opt/tab\tand\nnewline", 60_000);
            }
        });
        var ruby = Layer(tmp, "tcz/ruby", w =>
        {
            Put(w, "usr/local/lib/libruby.so.1.8", 250_000);
            Put(w, "usr/local/bin/ruby", 6_000);
            for (var i = 0; i < 60; i++)
            {
                Put(w, $"usr/local/lib/ruby/1.8/lib{i:D2}.rb", 500 + (i * 97 % 1500));
            }

            for (var i = 0; i < 8; i++)
            {
                Put(w, $"usr/local/lib/ruby/1.8/i486-linux/ext{i}.so", 9_000 + i * 700);
            }

            w.AddSymlink("usr/local/bin/irb", "ruby", Attr(LayerEntryType.Symlink));
            Put(w, "etc/motd", 50); // loses to the project's file
        });
        var bash = Layer(tmp, "tcz/bash", w =>
        {
            Put(w, "usr/local/bin/bash", 80_000);
            w.AddHardLink("usr/local/bin/sh", "usr/local/bin/bash", Attr(LayerEntryType.File));
        });
        var firmware = Layer(tmp, "tcz/firmware-bnx2", w =>
        {
            for (var i = 0; i < 12; i++)
            {
                Put(w, $"usr/local/lib/firmware/bnx2/bnx2-{i:D2}.fw", 12_000 + i * 1000);
            }
        });
        var gems = Layer(tmp, "gems", w =>
        {
            foreach (var (gem, n) in new[] { ("facter-1.6.5", 40), ("stomp-1.2.0", 12), ("json_pure-1.6.5", 20), ("daemons-1.1.6", 8) })
            {
                for (var i = 0; i < n; i++)
                {
                    Put(w, $"usr/local/lib/ruby/gems/1.8/gems/{gem}/lib/f{i:D2}.rb", 300 + i * 37);
                }
            }
        });
        var mco = Layer(tmp, "mcollective", w =>
        {
            for (var i = 0; i < 30; i++)
            {
                Put(w, $"usr/local/tce.installed/mcollective-1.2.1/lib/mcollective/m{i:D2}.rb", 1000 + i * 50);
            }

            w.AddSymlink("usr/local/mcollective", "/usr/local/tce.installed/mcollective-1.2.1", Attr(LayerEntryType.Symlink));
        });
        var layers = new List<LayerSource> { files, ruby, bash, firmware, gems, mco };
        if (hostile)
        {
            layers.Add(Layer(tmp, "layer " + HostileName, w => Put(w, "opt/hostile-layer/data.bin", 5_000)));
        }

        return OverlayMerge.Create(layers);
    }

    public static OverlayReportInfo Info(bool hostile = true) => new()
    {
        ProjectName = hostile ? "Razor" + HostileName : "RazorMicrokernel",
        CompressedBytes = 123_456,
        Extensions =
        [
            new ReportPackage("ruby.tcz", "", new string('a', 64), 2_105_344, "http://distro.ibiblio.org/tinycorelinux/4.x/x86/tcz/ruby.tcz"),
            new ReportPackage("bash.tcz", "", new string('b', 64), 331_776),
            new ReportPackage(hostile ? "x" + HostileName + ".tcz" : "firmware-bnx2.tcz", "", new string('c', 64), 200_704),
        ],
        Gems =
        [
            new ReportPackage("rubygems-update", "1.8.15", new string('d', 64), 254_976, "https://user:hunter2@example.org/rubygems-1.8.15.tgz?sig=s3cr3t"),
            new ReportPackage("facter", "1.6.5", new string('e', 64), 62_464, "gems/facter-1.6.5.gem"),
            new ReportPackage("stomp", hostile ? HostileName : "1.2.0", new string('f', 64), 28_160),
        ],
        Downloads = [new ReportPackage("mcollective-1.2.1.tgz", "", new string('0', 64), 402_124, "https://downloads.puppetlabs.com/mcollective/mcollective-1.2.1.tgz")],
        Properties =
        [
            new("MicrokernelFlavor", "Development"),
            new("TinyCoreKernel", "3.0.21-tinycore"),
        ],
        Settings =
        [
            new("connector", "stomp"),
            new("plugin.stomp.host", hostile ? "razor-server" + HostileName : "razor-server"),
            new("plugin.psk", "PSK-VALUE-MUST-NOT-APPEAR"),
            new("plugin.stomp.password", "STOMP-PASSWORD-MUST-NOT-APPEAR"),
            new("securityprovider", "psk"),
        ],
    };
}
