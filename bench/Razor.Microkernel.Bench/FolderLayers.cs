using Razor.Microkernel.Formats.Layers;

namespace Razor.Microkernel.Bench;

/// <summary>
/// Writes a folder into one or more layers with <see cref="LayerWriter"/>, walking it in tree order
/// (a folder, then its children by ordinal name). With several layers every layer gets every folder (as
/// every Tiny Core extension carries usr/, usr/local/, …) and each file or symlink goes to one layer
/// chosen by a hash of its path, so the merge interleaves all layers through every folder.
/// </summary>
internal static class FolderLayers
{
    public static void Write(string root, IReadOnlyList<string> layerPaths)
    {
        var writers = new List<(FileStream File, LayerWriter Writer)>();
        try
        {
            foreach (var path in layerPaths)
            {
                var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
                writers.Add((file, new LayerWriter(file, PackOptions.DefaultModificationTime, leaveOpen: true)));
            }

            Walk(new DirectoryInfo(root), "", writers.Select(w => w.Writer).ToArray());
            foreach (var (_, writer) in writers)
            {
                writer.Finish();
            }
        }
        finally
        {
            foreach (var (file, writer) in writers)
            {
                writer.Dispose();
                file.Dispose();
            }
        }
    }

    private static void Walk(DirectoryInfo folder, string prefix, LayerWriter[] layers)
    {
        var children = folder.EnumerateFileSystemInfos().ToArray();
        Array.Sort(children, (a, b) => string.CompareOrdinal(a.Name, b.Name));
        foreach (var info in children)
        {
            var path = prefix + info.Name;
            var attributes = new EntryAttributes((int)info.UnixFileMode & 0xFFF, Ownership.Root,
                new DateTimeOffset(info.LastWriteTimeUtc).ToUnixTimeSeconds());
            if (info.LinkTarget is { } target)
            {
                Pick(layers, path).AddSymlink(path, target, attributes);
            }
            else if (info is DirectoryInfo d)
            {
                foreach (var layer in layers)
                {
                    layer.AddDirectory(path, attributes);
                }

                Walk(d, path + "/", layers);
            }
            else
            {
                var file = (FileInfo)info;
                using var content = new FileStream(file.FullName, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
                Pick(layers, path).AddFile(path, attributes, content, file.Length);
            }
        }
    }

    private static LayerWriter Pick(LayerWriter[] layers, string path)
    {
        var hash = 2166136261u;
        foreach (var c in path)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return layers[hash % (uint)layers.Length];
    }
}
