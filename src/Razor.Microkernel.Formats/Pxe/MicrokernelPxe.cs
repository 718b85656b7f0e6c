using System.Security.Cryptography;
using System.Text;
using Razor.Microkernel.Formats.Iso9660;
using Razor.Microkernel.Formats.Layers;
using Razor.Microkernel.Formats.Release;

namespace Razor.Microkernel.Formats.Pxe;

public sealed record MicrokernelPxeOptions
{
    /// <summary>Names the kernel and initrd files.</summary>
    public required TinyCoreRelease Release { get; init; }

    /// <summary>The kernel command line (one line; MicrokernelKernelArgs).</summary>
    public string KernelArgs { get; init; } = string.Empty;

    /// <summary>How the initrd is made: the same options, and so the same bytes, as the ISO's.</summary>
    public InitrdWriteOptions Initrd { get; init; } = new();
}

/// <summary>One file of the network boot folder: its path relative to the folder ('/'-separated), SHA-256 and size.</summary>
public sealed record PxeFile(string RelativePath, string Sha256, long Size);

/// <param name="Files">Every file of the folder but <c>SHA256SUMS</c>, in ordinal order of their paths.</param>
public sealed record MicrokernelPxeResult(IReadOnlyList<PxeFile> Files, InitrdSummary Initrd);

/// <summary>
/// The network boot files of the microkernel, in one folder: the release's kernel under its own name, the
/// release's initrd name holding the release's initrd and the overlay (made by <see cref="MicrokernelInitrd.WriteInitrd"/>,
/// as the ISO's), an iPXE script <c>boot.ipxe</c> and a PXELINUX configuration <c>pxelinux.cfg/default</c> that load
/// them by names relative to the folder, and <c>SHA256SUMS</c> (<c>sha256sum -c</c> format) of all of them.
/// Deterministic. Every file is written to a temporary sibling first and the set is renamed into place only when
/// all are complete, so a failure leaves the previous files as they were. Every file is created owner-only (0600 on
/// Unix, <see cref="AtomicFile.CreateNewOptions"/>), as the ISO and the overlay are: the initrd holds the overlay and
/// with it the MCollective secrets, and the rest follow the rule for everything the SDK writes into the output folder.
/// </summary>
public static class MicrokernelPxe
{
    public const string IpxeScriptName = "boot.ipxe";
    public const string PxelinuxConfigName = "pxelinux.cfg/default";
    public const string SumsName = "SHA256SUMS";

    /// <summary>Copies the release's kernel into <paramref name="folder"/> under the release's kernel name (atomically).</summary>
    public static PxeFile WriteKernel(ReleaseBootFiles source, string folder, TinyCoreRelease release, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(release);
        using var files = new PendingFiles(folder);
        var temp = files.Create(release.KernelFile);
        using (var input = source.OpenKernel())
        {
            var buffer = new byte[1 << 16];
            int n;
            while ((n = input.Read(buffer)) > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                temp.Write(buffer, 0, n);
            }
        }

        temp.Dispose();
        files.Commit();
        return Describe(folder, release.KernelFile);
    }

    /// <summary>Writes the initrd, <c>boot.ipxe</c>, <c>pxelinux.cfg/default</c> and <c>SHA256SUMS</c> into
    /// <paramref name="folder"/>, which already holds the kernel (<see cref="WriteKernel"/>).</summary>
    /// <exception cref="ReleaseInitrdException">The release's initrd is not a gzip'd or plain newc cpio, or is beyond the limits.</exception>
    public static MicrokernelPxeResult Build(ReleaseBootFiles source, OverlayMerge overlay, string folder, MicrokernelPxeOptions options,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(overlay);
        ArgumentNullException.ThrowIfNull(options);
        var release = options.Release;
        var kernel = Describe(folder, release.KernelFile);
        using var files = new PendingFiles(folder);
        InitrdSummary summary;
        var initrd = files.Create(release.InitrdFile);
        summary = MicrokernelInitrd.WriteInitrd(source.OpenInitrd, overlay, initrd, options.Initrd, files.Folder, cancellationToken);
        initrd.Flush(flushToDisk: false);
        initrd.Dispose();
        var written = new List<PxeFile>
        {
            kernel,
            new(release.InitrdFile, files.Sha256(release.InitrdFile), files.Length(release.InitrdFile)),
            files.WriteText(IpxeScriptName, IpxeScript(release, options.KernelArgs)),
            files.WriteText(PxelinuxConfigName, PxelinuxConfig(release, options.KernelArgs)),
        };
        written.Sort((a, b) => string.CompareOrdinal(a.RelativePath, b.RelativePath));
        files.WriteText(SumsName, Sums(written));
        files.Commit();
        return new MicrokernelPxeResult(written, summary);
    }

    /// <summary>The iPXE script: kernel with its arguments (and <c>initrd=</c>, which EFI kernels need), initrd, boot.
    /// The names are relative, so iPXE fetches them from wherever it fetched the script.</summary>
    public static string IpxeScript(TinyCoreRelease release, string kernelArgs)
    {
        ArgumentNullException.ThrowIfNull(release);
        return "#!ipxe\n" +
            $"# The Razor microkernel ({release}), generated by Razor.Microkernel.Sdk.\n" +
            $"kernel {release.KernelFile} {CommandLine(release, kernelArgs)}\n" +
            $"initrd {release.InitrdFile}\n" +
            "boot\n";
    }

    /// <summary>The PXELINUX configuration (names relative to the folder of <c>pxelinux.0</c>).</summary>
    public static string PxelinuxConfig(TinyCoreRelease release, string kernelArgs)
    {
        ArgumentNullException.ThrowIfNull(release);
        return $"# The Razor microkernel ({release}), generated by Razor.Microkernel.Sdk.\n" +
            "DEFAULT microkernel\n" +
            "LABEL microkernel\n" +
            $"  KERNEL {release.KernelFile}\n" +
            $"  APPEND {CommandLine(release, kernelArgs)}\n";
    }

    /// <summary><c>sha256sum</c>'s format: <c>HASH  PATH</c> per line.</summary>
    public static string Sums(IEnumerable<PxeFile> files) => string.Concat(files.Select(f => $"{f.Sha256}  {f.RelativePath}\n"));

    private static string CommandLine(TinyCoreRelease release, string kernelArgs)
    {
        if (kernelArgs.IndexOfAny(['\r', '\n', '\0']) >= 0)
        {
            throw new ArgumentException("the kernel arguments hold a line break or NUL", nameof(kernelArgs));
        }

        var args = kernelArgs.Trim();
        return $"initrd={release.InitrdFile}" + (args.Length > 0 ? " " + args : "");
    }

    private static PxeFile Describe(string folder, string relative)
    {
        var path = Path.Combine(folder, relative);
        using var s = File.OpenRead(path);
        return new PxeFile(relative, Convert.ToHexStringLower(SHA256.HashData(s)), s.Length);
    }

    /// <summary>Files written beside their final paths as <c>.NAME.GUID.tmp</c>, owner-only from creation (as
    /// <see cref="AtomicFile"/> writes one file, so a clean finds what a killed build left), and renamed into place by
    /// <see cref="Commit"/>; disposed without a commit, they are deleted.</summary>
    private sealed class PendingFiles : IDisposable
    {
        private readonly List<(string Temp, string Final, FileStream? Stream)> pending = [];
        private bool committed;

        public PendingFiles(string folder)
        {
            Folder = Path.GetFullPath(folder);
            Directory.CreateDirectory(Folder);
        }

        public string Folder { get; }

        public FileStream Create(string relative)
        {
            var final = Path.Combine(Folder, relative);
            var dir = Path.GetDirectoryName(final)!;
            Directory.CreateDirectory(dir);
            var temp = Path.Combine(dir, $".{Path.GetFileName(final)}.{Guid.NewGuid():N}.tmp");
            var stream = new FileStream(temp, AtomicFile.CreateNewOptions());
            pending.Add((temp, final, stream));
            return stream;
        }

        public PxeFile WriteText(string relative, string text)
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            using (var s = Create(relative))
            {
                s.Write(bytes);
            }

            return new PxeFile(relative, Convert.ToHexStringLower(SHA256.HashData(bytes)), bytes.Length);
        }

        public string Sha256(string relative)
        {
            using var s = File.OpenRead(TempOf(relative));
            return Convert.ToHexStringLower(SHA256.HashData(s));
        }

        public long Length(string relative) => new FileInfo(TempOf(relative)).Length;

        public void Commit()
        {
            foreach (var (temp, final, stream) in pending)
            {
                stream?.Dispose();
                File.Move(temp, final, overwrite: true);
            }

            committed = true;
        }

        public void Dispose()
        {
            if (committed)
            {
                return;
            }

            foreach (var (temp, _, stream) in pending)
            {
                stream?.Dispose();
                try
                {
                    File.Delete(temp);
                }
                catch (IOException)
                {
                }
                catch (UnauthorizedAccessException)
                {
                }
            }
        }

        private string TempOf(string relative)
        {
            var final = Path.Combine(Folder, relative);
            return pending.Last(p => p.Final == final).Temp;
        }
    }
}
