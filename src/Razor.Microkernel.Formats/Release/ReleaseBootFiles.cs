using Razor.Microkernel.Formats.Iso9660;

namespace Razor.Microkernel.Formats.Release;

/// <summary>A release's kernel and initrd: two files (<c>CoreKernel</c> and <c>CoreInitrd</c> items, or the mirror's
/// distribution files), or the two inside a release ISO at its <see cref="ReleaseIsoLayout"/>.</summary>
public abstract class ReleaseBootFiles : IDisposable
{
    /// <summary>A new stream over the kernel, from its start.</summary>
    public abstract Stream OpenKernel();

    /// <summary>A new stream over the initrd, from its start.</summary>
    public abstract Stream OpenInitrd();

    /// <summary>The initrd's path inside the ISO, or null for a file.</summary>
    public virtual string? InitrdPathInIso => null;

    public static ReleaseBootFiles FromFiles(string kernelPath, string initrdPath) => new Files(kernelPath, initrdPath);

    /// <exception cref="CoreIsoException">The ISO has no kernel or initrd at the layout's paths.</exception>
    /// <exception cref="IsoFormatException">Not an ISO 9660 image.</exception>
    public static ReleaseBootFiles FromIso(string isoPath, ReleaseIsoLayout layout) => new Iso(isoPath, layout);

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
    }

    private sealed class Files(string kernel, string initrd) : ReleaseBootFiles
    {
        public override Stream OpenKernel() => File.OpenRead(kernel);

        public override Stream OpenInitrd() => File.OpenRead(initrd);
    }

    private sealed class Iso : ReleaseBootFiles
    {
        private readonly IsoReader reader;
        private readonly IsoEntry kernel;
        private readonly IsoEntry initrd;
        private readonly string initrdPath;

        public Iso(string path, ReleaseIsoLayout layout)
        {
            reader = IsoReader.Open(path);
            try
            {
                kernel = reader.Find(layout.KernelPath) ?? throw new CoreIsoException($"has no /{layout.KernelPath}");
                initrd = reader.Find(layout.InitrdPath) ?? throw new CoreIsoException($"has no /{layout.InitrdPath}");
                initrdPath = layout.InitrdPath;
            }
            catch
            {
                reader.Dispose();
                throw;
            }
        }

        public override string? InitrdPathInIso => initrdPath;

        public override Stream OpenKernel() => reader.OpenRead(kernel);

        public override Stream OpenInitrd() => reader.OpenRead(initrd);

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                reader.Dispose();
            }
        }
    }
}
