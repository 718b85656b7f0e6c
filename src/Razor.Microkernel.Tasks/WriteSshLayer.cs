using Microsoft.Build.Framework;
using Razor.Microkernel.Formats.Layers;

namespace Razor.Microkernel.Tasks;

/// <summary>
/// SSH access for development images: SshAuthorizedKey items (public key files) become
/// /home/tc/.ssh/authorized_keys (tc:staff, folder 0700, file 0600); SshHostKey items (the host keys a
/// developer keeps, so a machine keeps its identity across reboots) go to /usr/local/etc/ssh/ under their
/// own names, private keys 0600 and .pub files 0644. No password is set.
/// </summary>
public sealed class WriteSshLayer : LayerTask
{
    public ITaskItem[] AuthorizedKeys { get; set; } = [];

    public ITaskItem[] HostKeys { get; set; } = [];

    protected override bool Write(LayerWriter writer)
    {
        foreach (var missing in AuthorizedKeys.Concat(HostKeys).Where(k => !File.Exists(k.GetMetadata("FullPath"))))
        {
            Log.LogErrorWithCodeFromResources("SourceFileMissing", "SSH key", missing.ItemSpec);
        }

        if (Log.HasLoggedErrors)
        {
            return false;
        }

        var mtime = PackOptions.DefaultModificationTime;
        var tc = new Ownership(1001, 50, "tc", "staff");
        if (AuthorizedKeys.Length > 0)
        {
            var keys = new System.Text.StringBuilder();
            foreach (var k in AuthorizedKeys)
            {
                var text = File.ReadAllText(k.GetMetadata("FullPath")).Trim();
                if (text.Contains("PRIVATE KEY", StringComparison.Ordinal))
                {
                    Log.LogErrorWithCodeFromResources("SshPrivateKeyAsAuthorized", k.ItemSpec);
                    return false;
                }

                keys.Append(text).Append('\n');
            }

            writer.AddDirectory("home/tc", new EntryAttributes(0x1ED, tc, mtime));
            writer.AddDirectory("home/tc/.ssh", new EntryAttributes(0x1C0, tc, mtime));
            writer.AddFile("home/tc/.ssh/authorized_keys", new EntryAttributes(0x180, tc, mtime), System.Text.Encoding.UTF8.GetBytes(keys.ToString()));
        }

        foreach (var k in HostKeys)
        {
            var name = Path.GetFileName(k.GetMetadata("FullPath"));
            var isPublic = name.EndsWith(".pub", StringComparison.Ordinal);
            using var content = File.OpenRead(k.GetMetadata("FullPath"));
            writer.AddFile($"usr/local/etc/ssh/{name}", new EntryAttributes(isPublic ? 0x1A4 : 0x180, Ownership.Root, mtime), content, content.Length);
        }

        return true;
    }
}
