namespace Razor.Microkernel.Formats.Iso9660;

/// <summary>What to write around the entries.</summary>
public sealed record IsoWriterOptions
{
    /// <summary>Volume identifier, printable ASCII, at most 32 characters.</summary>
    public string VolumeId { get; init; } = "CDROM";

    public string SystemId { get; init; } = "LINUX";

    public string ApplicationId { get; init; } = "RAZOR.MICROKERNEL.SDK";

    /// <summary>Every date in the image (volume descriptors, directory records, Rock Ridge TF).</summary>
    public DateTimeOffset Timestamp { get; init; } = DateTimeOffset.UnixEpoch;

    /// <summary>Path (in the tree) of a file to boot with El Torito, no emulation, e.g.
    /// <c>boot/isolinux/isolinux.bin</c>; null writes no boot record.</summary>
    public string? BootImage { get; init; }

    /// <summary>Path of the boot catalog file the writer adds (it must not be among the entries).</summary>
    public string BootCatalog { get; init; } = "boot/isolinux/boot.cat";

    /// <summary>512-byte sectors the BIOS loads (<c>-boot-load-size</c>).</summary>
    public int BootLoadSectors { get; init; } = 4;

    /// <summary>Patch the boot information table (<c>-boot-info-table</c>) into the boot image.</summary>
    public bool BootInfoTable { get; init; } = true;

    /// <summary>Path (in the tree) of a FAT image to boot on UEFI: a second El Torito entry, platform 0xEF, no
    /// emulation, as <c>-eltorito-alt-boot -e IMAGE -no-emul-boot</c>. Needs a <see cref="BootImage"/> (the BIOS
    /// entry stays the default); null writes no EFI entry.</summary>
    public string? EfiBootImage { get; init; }

    /// <summary>An isohybrid MBR template (the 432 bytes of syslinux's <c>isohdpfx.bin</c>): when given, the
    /// image gets an MBR as syslinux's <c>isohybrid</c> writes it (one active partition of type 0x17 from sector
    /// 0, 64 heads, 32 sectors) and is padded to whole 1 MiB cylinders, so the same file boots from USB. Needs a
    /// <see cref="BootImage"/> that is an isohybrid-capable isolinux.bin. With an <see cref="EfiBootImage"/> the
    /// layout is that of <c>-isohybrid-gpt-basdat</c>: the MBR's first partition becomes type 0 (still active),
    /// the second names the EFI image (type 0xEF), and a GPT follows (see <see cref="IsoWriter"/>).</summary>
    public ReadOnlyMemory<byte>? HybridMbr { get; init; }

    /// <summary>MBR disk signature of the isohybrid MBR (fixed, so the image is reproducible).</summary>
    public uint HybridMbrId { get; init; }

    /// <summary>Largest boot image accepted (it is held in memory to be patched).</summary>
    public int MaxBootImageBytes { get; init; } = 16 << 20;

    /// <summary>Add a Joliet tree (<c>mkisofs -J</c>): a supplementary volume descriptor (UCS-2 level 3) with its
    /// own directories and path tables, naming the same file extents as the primary tree. See
    /// <see cref="IsoWriter"/> for how names are mapped.</summary>
    public bool Joliet { get; init; } = true;
}
