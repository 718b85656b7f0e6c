using System.Text;
using Razor.Microkernel.Formats.Layers;

namespace Razor.Microkernel.Formats.Ssh;

/// <summary>A key given as an authorized (public) key is a private key.</summary>
public sealed class SshKeyException(string key, string reason) : MicrokernelFormatException($"'{key}': {reason}")
{
    public string Key { get; } = key;
}

/// <summary>A host key file to install: its file name and content.</summary>
public sealed record SshHostKey(string FileName, Func<Stream> Open, long Length);

/// <summary>
/// SSH access for development images: public keys become /home/tc/.ssh/authorized_keys (tc:staff, folder
/// 0700, file 0600); host keys go to /usr/local/etc/ssh/ under their own names, private keys 0600 and .pub
/// files 0644. No password is set.
/// </summary>
public static class SshLayer
{
    public static void Write(LayerWriter writer, IReadOnlyList<(string Name, string Text)> authorizedKeys, IReadOnlyList<SshHostKey> hostKeys)
    {
        var mtime = writer.DefaultModificationTime;
        var tc = new Ownership(1001, 50, "tc", "staff");
        if (authorizedKeys.Count > 0)
        {
            var keys = new StringBuilder();
            foreach (var (name, text) in authorizedKeys)
            {
                if (text.Contains("PRIVATE KEY", StringComparison.Ordinal))
                {
                    throw new SshKeyException(name, "it holds a private key");
                }

                keys.Append(text.Trim()).Append('\n');
            }

            writer.AddDirectory("home/tc", new EntryAttributes(0x1ED, tc, mtime));
            writer.AddDirectory("home/tc/.ssh", new EntryAttributes(0x1C0, tc, mtime));
            writer.AddFile("home/tc/.ssh/authorized_keys", new EntryAttributes(0x180, tc, mtime), Encoding.UTF8.GetBytes(keys.ToString()));
        }

        foreach (var k in hostKeys)
        {
            var isPublic = k.FileName.EndsWith(".pub", StringComparison.Ordinal);
            using var content = k.Open();
            writer.AddFile($"usr/local/etc/ssh/{k.FileName}", new EntryAttributes(isPublic ? 0x1A4 : 0x180, Ownership.Root, mtime), content, k.Length);
        }
    }
}
