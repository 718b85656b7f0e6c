namespace Razor.Microkernel.Formats.Iso9660;

/// <summary>
/// Everything the writer decides before it writes a byte: the tree with its names and records, the boot image and
/// catalog, and the block of every structure. In image order: 16 system blocks, the volume descriptors (primary,
/// boot record, Joliet, terminator), the path tables (primary L and M, then Joliet's), the boot catalog, the
/// primary directories, the Joliet directories, the continuation areas, then the files in tree order.
/// </summary>
internal sealed class IsoLayout(IsoWriterOptions options)
{
    private const int Block = IsoBytes.BlockSize;
    private readonly IsoTree _tree = new();

    public IsoWriterOptions Options => options;

    public IsoNode Root => _tree.Root;

    /// <summary>Primary directories in path-table order.</summary>
    public List<IsoNode> Directories { get; } = [];

    /// <summary>Joliet directories in Joliet path-table order.</summary>
    public List<IsoNode> JolietDirectories { get; } = [];

    /// <summary>Regular files in the order their bytes are written.</summary>
    public List<IsoNode> Files { get; } = [];

    public List<ContinuationArea> Areas { get; } = [];

    public PathTablePair PathTables { get; private set; } = new([], []);

    public PathTablePair JolietPathTables { get; private set; } = new([], []);

    public PathTableLocation PathTableLocation => new(PathTables.L.Length, PathTableLBlock, PathTableMBlock);

    public PathTableLocation JolietPathTableLocation => new(JolietPathTables.L.Length, JolietPathTableLBlock, JolietPathTableMBlock);

    public long PathTableLBlock { get; private set; }

    public long PathTableMBlock { get; private set; }

    public long JolietPathTableLBlock { get; private set; }

    public long JolietPathTableMBlock { get; private set; }

    /// <summary>The El Torito boot image, its content held to be patched; null without one.</summary>
    public IsoNode? Boot { get; private set; }

    /// <summary>The boot catalog file the writer adds; null without a boot image.</summary>
    public IsoNode? Catalog { get; private set; }

    public long CatalogBlock { get; private set; }

    /// <summary>The FAT image of the El Torito EFI entry; null without one.</summary>
    public IsoNode? EfiBoot { get; private set; }

    /// <summary>Blocks of the ISO's structures and files (the isohybrid padding and a backup GPT not counted).</summary>
    public long TotalBlocks { get; private set; }

    /// <summary>True when the image gets an isohybrid MBR and a GPT (an isohybrid MBR and an EFI boot image).</summary>
    public bool HybridGpt => options.HybridMbr is not null && EfiBoot is not null;

    /// <summary>The volume space size the descriptors give: with a GPT the whole image (padding and backup GPT
    /// included, as xorriso), else <see cref="TotalBlocks"/>.</summary>
    public long VolumeBlocks => HybridGpt ? IsoHybridGpt.ImageBlocks(TotalBlocks) : TotalBlocks;

    public void Build(IEnumerable<IsoWriterEntry> entries)
    {
        VolumeDescriptors.CheckIdentifier(options.VolumeId, "volume id");
        VolumeDescriptors.CheckIdentifier(options.SystemId, "system id");
        VolumeDescriptors.CheckIdentifier(options.ApplicationId, "application id", 128);
        foreach (var e in entries)
        {
            _tree.Add(e);
        }

        if (options.HybridMbr is not null && options.BootImage is null)
        {
            throw new IsoWriteException("/", "an isohybrid MBR needs a boot image");
        }

        if (options.BootImage is { } bootPath)
        {
            AddBoot(bootPath);
        }

        if (options.EfiBootImage is { } efiPath)
        {
            AddEfiBoot(efiPath);
        }

        IsoNames.Assign(Root);
        foreach (var d in IsoTree.BreadthFirst(Root, n => n.Children))
        {
            d.DirNumber = Directories.Count + 1;
            Directories.Add(d);
        }

        DirectoryRecords.Plan(Root, Directories, Areas, options.Timestamp);
        if (options.Joliet)
        {
            JolietTree.AssignNames(Root);
            foreach (var d in IsoTree.BreadthFirst(Root, n => n.JolietChildren))
            {
                d.JolietDirNumber = JolietDirectories.Count + 1;
                JolietDirectories.Add(d);
            }
        }

        AssignBlocks();
    }

    private void AddBoot(string bootPath)
    {
        var boot = _tree.Find(bootPath) ?? throw new IsoWriteException(bootPath, "the boot image is not among the entries");
        if (boot.Entry.Type != IsoEntryType.File)
        {
            throw new IsoWriteException(bootPath, "the boot image is not a regular file");
        }

        if (boot.Entry.Size > options.MaxBootImageBytes || (options.BootInfoTable && boot.Entry.Size < 64))
        {
            throw new IsoWriteException(bootPath, $"a boot image of {boot.Entry.Size} bytes is not supported");
        }

        if (options.BootLoadSectors is < 1 or > 0xFFFF)
        {
            throw new IsoWriteException(bootPath, $"boot load size {options.BootLoadSectors} is out of range");
        }

        boot.Content = IsoTree.ReadAll(boot.Entry);
        if (options.HybridMbr is { } mbr)
        {
            if (mbr.Length != IsoHybrid.TemplateBytes)
            {
                throw new IsoWriteException(bootPath, $"the isohybrid MBR template has {mbr.Length} bytes, not {IsoHybrid.TemplateBytes}");
            }

            if (!IsoHybrid.IsCapable(boot.Content))
            {
                throw new IsoWriteException(bootPath, "the boot image is not isohybrid-capable (no signature at byte 0x40)");
            }
        }

        Boot = boot;
        Catalog = _tree.Add(IsoWriterEntry.File(options.BootCatalog, Block, () => Stream.Null, 0x124)); // r--r--r--, as xorriso
        Catalog.Content = new byte[Block];
    }

    private void AddEfiBoot(string efiPath)
    {
        if (Boot is null)
        {
            throw new IsoWriteException(efiPath, "an EFI boot image needs a BIOS boot image beside it");
        }

        var efi = _tree.Find(efiPath) ?? throw new IsoWriteException(efiPath, "the EFI boot image is not among the entries");
        if (efi.Entry.Type != IsoEntryType.File || efi.Entry.Size == 0)
        {
            throw new IsoWriteException(efiPath, "the EFI boot image is not a regular file with content");
        }

        if (efi == Boot)
        {
            throw new IsoWriteException(efiPath, "the EFI boot image is the BIOS boot image");
        }

        EfiBoot = efi;
    }

    private void AssignBlocks()
    {
        var next = 16L + 1 + (Boot is null ? 0 : 1) + (options.Joliet ? 1 : 0) + 1; // PVD, boot record, Joliet SVD, terminator
        BuildPathTables();
        PathTableLBlock = next;
        next += Blocks(PathTables.L.Length);
        PathTableMBlock = next;
        next += Blocks(PathTables.M.Length);
        if (options.Joliet)
        {
            JolietPathTableLBlock = next;
            next += Blocks(JolietPathTables.L.Length);
            JolietPathTableMBlock = next;
            next += Blocks(JolietPathTables.M.Length);
        }

        if (Catalog is not null)
        {
            CatalogBlock = next++;
            Catalog.Block = CatalogBlock;
            Catalog.Size = Block;
        }

        foreach (var d in Directories)
        {
            d.Size = DirectoryRecords.ExtentSize(d.Records.Select(r => r.RecordLength));
            d.Block = next;
            next += d.Size / Block;
        }

        foreach (var d in JolietDirectories)
        {
            d.JolietSize = JolietTree.ExtentSize(d);
            d.JolietBlock = next;
            next += d.JolietSize / Block;
        }

        next = ContinuationAreas.Assign(Areas, next);
        IsoTree.CollectFiles(Root, Files);
        foreach (var f in Files)
        {
            f.Size = f.Entry.Size;
            if (f == Catalog)
            {
                continue;
            }

            f.Block = f.Size == 0 ? 0 : next;
            next += Blocks(f.Size);
        }

        TotalBlocks = next;
        // The path tables were built before directories had blocks: rebuild them with real locations.
        BuildPathTables();
    }

    private static long Blocks(long bytes) => (bytes + Block - 1) / Block;

    private void BuildPathTables()
    {
        PathTables = Iso9660.PathTables.Build(Root, Directories, d => d.IsoId, d => d.Block, d => d.DirNumber);
        if (options.Joliet)
        {
            JolietPathTables = Iso9660.PathTables.Build(Root, JolietDirectories, d => d.JolietId, d => d.JolietBlock, d => d.JolietDirNumber);
        }
    }
}
