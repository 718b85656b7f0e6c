using Microsoft.Build.Framework;
using Razor.Microkernel.Formats.Layers;
using Razor.Microkernel.Formats.Ssh;

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
            LogItemError(missing, AuthorizedKeys.Contains(missing) ? "SshAuthorizedKey" : "SshHostKey", "SourceFileMissing", "SSH key", missing.ItemSpec);
        }

        if (Log.HasLoggedErrors)
        {
            return false;
        }

        try
        {
            SshLayer.Write(writer,
                AuthorizedKeys.Select(k => (k.ItemSpec, File.ReadAllText(k.GetMetadata("FullPath")))).ToList(),
                HostKeys.Select(k => k.GetMetadata("FullPath"))
                    .Select(path => new SshHostKey(Path.GetFileName(path), () => File.OpenRead(path), new FileInfo(path).Length)).ToList());
        }
        catch (SshKeyException e)
        {
            LogItemError(AuthorizedKeys.FirstOrDefault(k => k.ItemSpec == e.Key), "SshAuthorizedKey", "SshPrivateKeyAsAuthorized", e.Key);
            return false;
        }

        return true;
    }
}
