using Razor.Microkernel.Formats.Layers;

namespace Razor.Microkernel.Formats.Tar;

/// <summary>What <see cref="TarStreamWriter"/> writes for one entry. <see cref="Name"/> is the archive
/// name exactly (directories end with '/'); <see cref="LinkName"/> is the symlink or hard-link target.</summary>
public readonly record struct TarHeader(
    string Name,
    LayerEntryType Type,
    int Mode,
    Ownership Owner,
    long ModificationTime,
    long Size = 0,
    string LinkName = "",
    int DeviceMajor = 0,
    int DeviceMinor = 0,
    IReadOnlyList<KeyValuePair<string, string>>? ExtraAttributes = null);
