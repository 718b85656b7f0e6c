using Microsoft.Build.Framework;
using Razor.Microkernel.Formats.Boot;
using Razor.Microkernel.Formats.Gems;
using Razor.Microkernel.Formats.Layers;

namespace Razor.Microkernel.Tasks;

/// <summary>Writes the boot hook layer: the release's startup script calling /usr/local/etc/init.d/microkernel-setup.</summary>
public sealed class WriteBootHook : LayerTask
{
    /// <summary>TinyCoreVersion and TinyCoreArch: whose startup script, and where its tce-load looks for modules.</summary>
    [Required]
    public string TinyCoreVersion { get; set; } = string.Empty;

    [Required]
    public string TinyCoreArch { get; set; } = string.Empty;

    /// <summary>The kernel the extensions' modules are for (the resolved TinyCoreKernel); empty: the running one.</summary>
    public string? Kernel { get; set; }

    /// <summary>Installed extensions in install order (names without .tcz).</summary>
    public string[] Extensions { get; set; } = [];

    /// <summary>MicrokernelBootCommand items: one shell command each (Command metadata, else the Include).</summary>
    public ITaskItem[] Commands { get; set; } = [];

    /// <summary>With GemInstallMode=BootTime: install the staged gems first (GemHome and GemBinDir set).</summary>
    public bool InstallStagedGems { get; set; }

    public string? GemHome { get; set; }

    public string? GemBinDir { get; set; }

    /// <summary>The target's RubyGems: 3.x takes <c>--no-document</c> where 1.8 took <c>--no-ri --no-rdoc</c>.</summary>
    public string? RubyGemsVersion { get; set; }

    protected override bool Write(LayerWriter writer)
    {
        if (FindRelease(TinyCoreVersion, TinyCoreArch) is not { } release)
        {
            return false;
        }

        try
        {
            var commands = Commands.Select(c => c.GetMetadata("Command") is { Length: > 0 } command ? command : c.ItemSpec).ToList();
            if (InstallStagedGems)
            {
                var layout = GemLayouts.TryFor(RubyGemsVersion ?? "1.8.15", out var l) ? l : GemLayout.RubyGems18;
                commands.Insert(0, GemInstaller.BootInstallCommand(new GemInstallOptions { GemDir = GemHome!, BinDir = GemBinDir!, Layout = layout },
                    GemInstaller.DefaultStagingDir));
            }

            BootHook.Write(writer, release, string.IsNullOrWhiteSpace(Kernel) ? null : Kernel.Trim(), Extensions, commands, PackOptions.DefaultModificationTime);
            return true;
        }
        catch (InvalidBootCommandException e)
        {
            LogItemError(Commands.FirstOrDefault(c => (c.GetMetadata("Command") is { Length: > 0 } command ? command : c.ItemSpec) == e.Command), "MicrokernelBootCommand",
                "InvalidBootCommand", e.Command.ReplaceLineEndings(" "), e.Reason);
            return false;
        }
    }
}
