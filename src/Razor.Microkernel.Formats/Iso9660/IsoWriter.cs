namespace Razor.Microkernel.Formats.Iso9660;

/// <summary>
/// Writes an ISO 9660 image with Rock Ridge (RRIP 1.10: PX modes, owners and link counts, NM names of any
/// length, SL symlinks, TF dates; CE continuation areas where a record overflows) and optionally an El Torito
/// no-emulation boot image with its catalog and boot information table. Deterministic: entries are sorted,
/// every date is <see cref="IsoWriterOptions.Timestamp"/>, and the same input always gives the same bytes.
/// The output is written sequentially (never sought) and file contents are streamed from their openers; only
/// the boot image is held in memory. ISO 9660 names are uppercase d-characters (up to 30 characters, as
/// <c>mkisofs -l</c>), made unique per directory; real names come from Rock Ridge.
/// <para>With <see cref="IsoWriterOptions.Joliet"/> (the default) a Joliet tree follows, as <c>mkisofs -J</c>
/// writes it: the descriptor after the primary one (and the boot record), its path tables after the primary
/// ones, its directories after the primary directories; files are written once and both trees point at them.
/// Joliet names are the real names in UCS-2 (big-endian, no <c>;1</c> version, as genisoimage and xorriso),
/// with each of <c>* / : ; ? \</c>, control characters, characters outside the BMP and trailing dots (which
/// Linux and Windows drop when reading) replaced by <c>_</c>. A name longer than 64 UCS-2 characters is cut to
/// 64, keeping its extension (the last <c>.</c> and up to 15 characters after it); when a changed name meets
/// another name of the directory, <c>_1</c>, <c>_2</c>, … goes before the extension, the stem cut further to
/// stay within 64. Names that need no change are never renamed; changed ones are settled in ordinal order of
/// their real names, so the result is deterministic. (genisoimage cuts without keeping the extension and
/// fails on a clash; xorriso numbers every clashing name.) Names compare ordinally, as in both tools.
/// Symlinks have no Joliet form and are left out of the Joliet tree, as xorriso does (genisoimage lists them
/// as empty files). The Joliet volume id is the volume id cut to 16 characters.</para>
/// <para>With <see cref="IsoWriterOptions.EfiBootImage"/> the El Torito catalog gets a second, UEFI entry; with an
/// isohybrid MBR as well, the image gets the MBR and GPT of xorriso's <c>-isohybrid-gpt-basdat</c>
/// (<see cref="IsoHybrid"/>, <see cref="IsoHybridGpt"/>).</para>
/// </summary>
public static class IsoWriter
{
    private const int Block = IsoBytes.BlockSize;

    /// <summary>Size of an isohybrid MBR template (syslinux's <c>isohdpfx.bin</c>: the boot code before the partition table).</summary>
    public const int HybridMbrTemplateBytes = IsoHybrid.TemplateBytes;

    /// <summary>True when <paramref name="bootImage"/> (its first 0x44 bytes suffice) is an isohybrid-capable
    /// isolinux.bin (syslinux 3.72 and later): the signature the isohybrid MBR jumps by, at byte 0x40.</summary>
    public static bool IsHybridCapable(ReadOnlySpan<byte> bootImage) => IsoHybrid.IsCapable(bootImage);

    public static void Write(Stream output, IEnumerable<IsoWriterEntry> entries, IsoWriterOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(entries);
        ArgumentNullException.ThrowIfNull(options);
        var layout = new IsoLayout(options);
        layout.Build(entries);
        Emit(layout, output, cancellationToken);
    }

    /// <summary>Writes the image to a file atomically (a temporary sibling renamed over the target).</summary>
    public static void WriteFile(string path, IEnumerable<IsoWriterEntry> entries, IsoWriterOptions options, CancellationToken cancellationToken = default)
        => AtomicFile.Write(path, s => Write(s, entries, options, cancellationToken));

    /// <summary>What the GPT's GUIDs are derived from: the volume id, the time and the layout (so two images differ
    /// when their contents' sizes or places do, and one image is always the same).</summary>
    private static byte[] GptSeed(IsoLayout layout)
    {
        var o = layout.Options;
        return System.Text.Encoding.UTF8.GetBytes(string.Join('\n', "razor-microkernel-gpt", o.VolumeId, o.Timestamp.ToUnixTimeSeconds(), layout.VolumeBlocks,
            layout.Boot!.Block, layout.EfiBoot!.Block, layout.EfiBoot.Size, string.Join(',', layout.Files.Select(f => f.Size))));
    }

    /// <summary>Writes the structures in the order <see cref="IsoLayout"/> placed them.</summary>
    private static void Emit(IsoLayout layout, Stream output, CancellationToken cancellationToken)
    {
        var options = layout.Options;
        var w = new IsoBlockWriter(output);
        byte[]? backupGpt = null;
        if (options.HybridMbr is { } template && layout.EfiBoot is { } efi)
        {
            var efiPartition = (efi.Block * 4, (efi.Size + 511) / 512);
            w.Write(IsoHybrid.Mbr(template.Span, layout.Boot!.Block, options.HybridMbrId, layout.VolumeBlocks, efiPartition));
            var (primary, backup) = IsoHybridGpt.Build(layout.VolumeBlocks, efi.Block, efi.Size, GptSeed(layout));
            w.Write(primary);
            backupGpt = backup;
        }
        else if (options.HybridMbr is { } mbrTemplate)
        {
            w.Write(IsoHybrid.Mbr(mbrTemplate.Span, layout.Boot!.Block, options.HybridMbrId, layout.TotalBlocks));
            w.Zero((16 * Block) - 512);
        }
        else
        {
            w.Zero(16 * Block);
        }

        w.Write(VolumeDescriptors.Primary(options, layout.VolumeBlocks, layout.PathTableLocation, layout.Root));
        if (layout.Boot is not null)
        {
            w.Write(ElTorito.BootRecord(layout.CatalogBlock));
        }

        if (options.Joliet)
        {
            w.Write(VolumeDescriptors.Joliet(options, layout.VolumeBlocks, layout.JolietPathTableLocation, layout.Root));
        }

        w.Write(VolumeDescriptors.Terminator());
        w.Expect(layout.PathTableLBlock, "path table");
        w.WritePadded(layout.PathTables.L);
        w.WritePadded(layout.PathTables.M);
        if (options.Joliet)
        {
            w.Expect(layout.JolietPathTableLBlock, "Joliet path table");
            w.WritePadded(layout.JolietPathTables.L);
            w.WritePadded(layout.JolietPathTables.M);
        }

        if (layout.Catalog is not null)
        {
            w.Expect(layout.CatalogBlock, "boot catalog");
            w.Write(ElTorito.Catalog(options.BootLoadSectors, layout.Boot!.Block, layout.EfiBoot is { } e ? (e.Block, e.Size) : null));
        }

        foreach (var d in layout.Directories)
        {
            cancellationToken.ThrowIfCancellationRequested();
            w.Expect(d.Block, d.Path);
            w.Write(DirectoryRecords.Extent(d, options.Timestamp));
        }

        foreach (var d in layout.JolietDirectories)
        {
            cancellationToken.ThrowIfCancellationRequested();
            w.Expect(d.JolietBlock, "Joliet " + d.Path);
            w.Write(JolietTree.Extent(d, options.Timestamp));
        }

        ContinuationAreas.Write(layout.Areas, w);
        foreach (var f in layout.Files)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (f == layout.Catalog || f.Size == 0)
            {
                continue;
            }

            w.Expect(f.Block, f.Path);
            if (f == layout.Boot)
            {
                if (options.BootInfoTable)
                {
                    ElTorito.PatchBootInfoTable(f.Content!, f.Block);
                }

                w.WritePadded(f.Content!);
                continue;
            }

            using var s = f.Entry.OpenContent!();
            w.CopyPadded(s, f.Size, f.Path, cancellationToken);
        }

        w.Expect(layout.TotalBlocks, "end of image");
        if (backupGpt is not null)
        {
            w.Zero((layout.VolumeBlocks - layout.TotalBlocks - IsoHybridGpt.BackupBlocks) * Block);
            w.Write(backupGpt);
            w.Expect(layout.VolumeBlocks, "end of the backup GPT");
        }
        else if (options.HybridMbr is not null)
        {
            w.Zero(IsoHybrid.Padding(layout.TotalBlocks));
        }

        output.Flush();
    }
}
