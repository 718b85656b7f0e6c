using Microsoft.Build.Framework;
using Razor.Microkernel.Formats.Mcollective;

namespace Razor.Microkernel.Tasks;

/// <summary>
/// Reports MCollective configuration problems with one code per kind, at what caused them: the
/// McollectiveSetting item that gives the key (the last one, which wins), else the Mcollective* property that
/// sets it, else the secrets file for its own problems, else the project. Messages never hold a secret.
/// </summary>
internal static class McollectiveProblems
{
    private static readonly HashSet<ServerConfigProblemKind> WarningKinds = [ServerConfigProblemKind.GeneratedPsk, ServerConfigProblemKind.SuspiciousPluginKey];

    private static readonly HashSet<ServerConfigProblemKind> SecretsFileKinds =
        [ServerConfigProblemKind.SecretsFileSyntax, ServerConfigProblemKind.SecretsFileUnknownKey, ServerConfigProblemKind.SecretsFileDuplicateKey];

    /// <summary>The property that sets each server.cfg key.</summary>
    private static readonly Dictionary<string, string> Properties = new(StringComparer.Ordinal)
    {
        [ServerConfigKeys.StompHost] = "McollectiveStompHost",
        [ServerConfigKeys.StompPort] = "McollectiveStompPort",
        [ServerConfigKeys.StompUser] = "McollectiveStompUser",
        [ServerConfigKeys.Identity] = "McollectiveIdentity",
        [ServerConfigKeys.Collectives] = "McollectiveCollectives",
        [ServerConfigKeys.MainCollective] = "McollectiveMainCollective",
        [ServerConfigKeys.LogLevel] = "McollectiveLogLevel",
        [ServerConfigKeys.LibDir] = "McollectiveLibDir",
        [ServerConfigKeys.Yaml] = "McollectiveFactsPath",
    };

    public static void Log(RmkTask task, ServerConfigProblem problem, bool asWarning, IReadOnlyList<ITaskItem>? settings = null, string? secretsFile = null)
    {
        // The message already names the suggestion ("did you mean 'loglevel'?").
        var text = problem.Message;
        var warning = asWarning || WarningKinds.Contains(problem.Kind);
        var resource = "Mco" + problem.Kind;
        var setting = settings?.LastOrDefault(s => string.Equals(s.ItemSpec.Trim(), problem.Key, StringComparison.OrdinalIgnoreCase));
        if (setting is not null)
        {
            var key = setting.ItemSpec.Trim();
            var message = text.StartsWith($"'{key}' ", StringComparison.Ordinal) ? $"McollectiveSetting {text}" : $"McollectiveSetting '{key}': {text}";
            if (warning)
            {
                task.LogItemWarning(setting, "McollectiveSetting", resource, message);
            }
            else
            {
                task.LogItemError(setting, "McollectiveSetting", resource, message);
            }
        }
        else if (Properties.TryGetValue(problem.Key, out var property))
        {
            task.LogPropertyDiagnostic(warning, property, resource, $"{property}: {text}");
        }
        else
        {
            task.LogFileDiagnostic(warning, SecretsFileKinds.Contains(problem.Kind) ? secretsFile : null, resource, text);
        }
    }
}

/// <summary>
/// Runs on every build of an image with MCollective settings, before any layer is written, and does no layer
/// work: loads the secrets (environment, McollectiveSecretsFile), applies the flavor's policy, and logs its
/// warnings (RMK4115–RMK4118: missing, example, short or generated secrets in a Development image) every time,
/// so that a no-op build says what a full one says; a Production image's refusals fail here, before any work.
/// In Development without a PSK it reads (or makes) the generated PSK kept in <see cref="GeneratedPskFile"/>
/// (outside obj/, so it survives dotnet clean), and warns (RMK4130) when a new one replaces the one the previous
/// image had. Its output is a keyed fingerprint (HMAC-SHA256, random key kept in obj/) of the secrets the image
/// gets, so a changed secret re-runs the settings layer while no secret is written outside it.
/// </summary>
public sealed class McollectiveFingerprint : RmkTask
{
    [Microsoft.Build.Framework.Required]
    public string KeyFile { get; set; } = string.Empty;

    public string? SecretsFile { get; set; }

    [Microsoft.Build.Framework.Required]
    public string Flavor { get; set; } = "Development";

    /// <summary>Where a generated Development PSK is kept (MicrokernelGeneratedPskFile); empty: the default in the user's
    /// configuration folder (<see cref="GeneratedPskStore.DefaultPath"/>).</summary>
    public string? GeneratedPskFile { get; set; }

    /// <summary>The settings layer of the previous build, to tell whether a newly generated PSK changes the image's.</summary>
    public string? SettingsLayer { get; set; }

    /// <summary>MCollective's server.cfg path in the image (McollectiveConfigPath); empty: the default.</summary>
    public string? ConfigPath { get; set; }

    /// <summary>Only names the generated PSK's file, for the fast up-to-date check's design-time build: in Development,
    /// <see cref="UsedGeneratedPskFile"/> is that file when it exists; nothing is read, written or logged.</summary>
    public bool ListOnly { get; set; }

    [Microsoft.Build.Framework.Output]
    public string Fingerprint { get; private set; } = string.Empty;

    /// <summary>The generated PSK's file when the image uses it (no PSK given, Development); else empty.</summary>
    [Microsoft.Build.Framework.Output]
    public string UsedGeneratedPskFile { get; private set; } = string.Empty;

    protected override void ExecuteCore()
    {
        if (!TryParseFlavor(Flavor, out var flavor))
        {
            return; // CheckMicrokernelProperties reported it
        }

        var pskFile = string.IsNullOrWhiteSpace(GeneratedPskFile) ? GeneratedPskStore.DefaultPath(ProjectFile ?? KeyFile) : Path.GetFullPath(GeneratedPskFile);
        if (ListOnly)
        {
            UsedGeneratedPskFile = flavor == Formats.Mcollective.MicrokernelFlavor.Development && File.Exists(pskFile) ? pskFile : string.Empty;
            return;
        }

        McollectiveSecrets secrets;
        try
        {
            secrets = McollectiveSecrets.Load(Environment.GetEnvironmentVariable, string.IsNullOrWhiteSpace(SecretsFile) ? null : SecretsFile);
        }
        catch (ServerConfigException e)
        {
            foreach (var p in e.Problems)
            {
                McollectiveProblems.Log(this, p, asWarning: false, secretsFile: SecretsFile);
            }

            return;
        }

        var created = false;
        SecretPolicyResult policy;
        try
        {
            policy = McollectiveSecretPolicy.Apply(secrets, flavor, () => GeneratedPskStore.ReadOrCreate(pskFile, McollectiveSecretPolicy.GeneratePsk, out created));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogPropertyError("MicrokernelGeneratedPskFile", "GeneratedPskUnusable", pskFile, e.Message);
            return;
        }

        foreach (var w in policy.Warnings)
        {
            var warning = w.Kind == ServerConfigProblemKind.GeneratedPsk
                ? w with { Message = w.Message + $" It is kept in '{pskFile}' (outside obj/, so it stays the same after dotnet clean); read it there to configure the server." }
                : w;
            McollectiveProblems.Log(this, warning, asWarning: true, secretsFile: SecretsFile);
        }

        foreach (var e in policy.Errors)
        {
            McollectiveProblems.Log(this, e, asWarning: false, secretsFile: SecretsFile);
        }

        if (policy.Errors.Count > 0)
        {
            return;
        }

        if (policy.Secrets.PskSource == SecretSource.Generated)
        {
            UsedGeneratedPskFile = pskFile;
            if (created && !string.IsNullOrEmpty(SettingsLayer)
                && McollectiveLayer.ReadPsk(SettingsLayer, Formats.Layers.ImagePath.TryNormalize(string.IsNullOrWhiteSpace(ConfigPath) ? ServerConfigWriter.DefaultPath : ConfigPath, out var cfg, out _) ? cfg : ServerConfigWriter.DefaultPath) is { } previous
                && !string.Equals(previous, policy.Secrets.Psk, StringComparison.Ordinal))
            {
                LogPropertyDiagnostic(true, "MicrokernelGeneratedPskFile", "GeneratedPskChanged", pskFile);
            }
        }

        byte[] key;
        if (File.Exists(KeyFile) && new FileInfo(KeyFile).Length == 32)
        {
            key = File.ReadAllBytes(KeyFile);
        }
        else
        {
            key = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
            Formats.AtomicFile.Write(KeyFile, s => s.Write(key));
        }

        Fingerprint = policy.Secrets.Fingerprint(key);
    }
}

/// <summary>
/// Checks made before anything is downloaded or written, so that a property a late step would refuse fails the
/// build before any layer, overlay or ISO is touched: the flavor, secrets given as project properties (the names
/// an MSBuild user would guess, <c>McollectivePsk</c> and <c>McollectiveStompPassword</c>; the targets pass only
/// the names of those that are set, never their values), and every property a step parses (the same
/// <see cref="PropertyChecks"/> the steps use, with the same codes), and the release: TinyCoreVersion/TinyCoreArch,
/// TinyCoreKernel, MicrokernelPxe, the CoreKernel and CoreInitrd counts (the rules ResolveTinyCoreRelease applies).
/// Errors point at the property's element. A second call from the ISO's preparation checks the ISO's properties
/// (<see cref="Iso"/>), or, when no ISO is built, the network boot files' preparation the ones they share with it
/// (<see cref="Pxe"/>).
/// </summary>
public sealed class CheckMicrokernelProperties : RmkTask
{
    /// <summary>MicrokernelFlavor; null: not checked by this call.</summary>
    public string? Flavor { get; set; }

    /// <summary>The names of the secret properties the project sets.</summary>
    public string[] SecretProperties { get; set; } = [];

    public string? CompressionLevel { get; set; }

    public string? SourceDateEpoch { get; set; }

    /// <summary>Limit properties as items: Include = property name, Value = its text.</summary>
    public Microsoft.Build.Framework.ITaskItem[] Limits { get; set; } = [];

    /// <summary>Checked when the project has gems.</summary>
    public bool Gems { get; set; }

    public string? GemInstallMode { get; set; }

    public string? RubyVersion { get; set; }

    /// <summary>TinyCoreVersion and TinyCoreArch (RMK4012 for a release the SDK does not know); null: not checked by this call.</summary>
    public string? TinyCoreVersion { get; set; }

    public string? TinyCoreArch { get; set; }

    /// <summary>TinyCoreKernel as the project set it (RMK4014), checked with the release.</summary>
    public string? TinyCoreKernel { get; set; }

    /// <summary>The CoreKernel and CoreInitrd items: one of each, or none (RMK2060, RMK2061).</summary>
    public Microsoft.Build.Framework.ITaskItem[] CoreKernel { get; set; } = [];

    public Microsoft.Build.Framework.ITaskItem[] CoreInitrd { get; set; } = [];

    /// <summary>MicrokernelPxe as the project set it: empty, true or false (RMK4017).</summary>
    public string? MicrokernelPxe { get; set; }

    /// <summary>The ISO will be built: check its properties.</summary>
    public bool Iso { get; set; }

    /// <summary>The network boot files will be built: check the properties they share with the ISO (MicrokernelInitrdMode,
    /// MicrokernelKernelArgs).</summary>
    public bool Pxe { get; set; }

    public string? InitrdMode { get; set; }

    public string? Version { get; set; }

    public string? KernelArgs { get; set; }

    public bool Hybrid { get; set; }

    /// <summary>MicrokernelIsoHybridMbr after the SDK's search of syslinux's usual places.</summary>
    public string? HybridMbr { get; set; }

    protected override void ExecuteCore()
    {
        if (Flavor is not null && !TryParseFlavor(Flavor, out _))
        {
            LogPropertyError("MicrokernelFlavor", "InvalidFlavor", Flavor);
        }

        foreach (var property in SecretProperties)
        {
            var (variable, key) = property == "McollectivePsk"
                ? (McollectiveSecrets.PskVariable, ServerConfigKeys.Psk)
                : (McollectiveSecrets.StompPasswordVariable, ServerConfigKeys.StompPassword);
            LogPropertyError(property, "McoSecretInProject",
                $"{property} is a secret and cannot be a project property (it would end up in logs, binlogs and the repository). " +
                $"Set the {variable} environment variable, or put '{key} = …' in the file named by McollectiveSecretsFile.");
        }

        if (!PropertyChecks.TryCompressionLevel(CompressionLevel, out _))
        {
            LogPropertyError("OverlayCompressionLevel", "InvalidCompressionLevel", CompressionLevel);
        }

        TryGetModificationTime(SourceDateEpoch, out _);
        foreach (var limit in Limits)
        {
            TryLimit(limit.GetMetadata("Value"), limit.ItemSpec, _ => { });
        }

        if (Gems && !PropertyChecks.IsGemInstallMode(GemInstallMode))
        {
            LogPropertyError("GemInstallMode", "InvalidGemInstallMode", GemInstallMode);
        }

        if (Gems && !PropertyChecks.IsRubyVersion(RubyVersion))
        {
            LogPropertyError("RubyVersion", "InvalidRubyVersion", RubyVersion);
        }

        if (TinyCoreVersion is not null && FindRelease(TinyCoreVersion, TinyCoreArch) is { } release)
        {
            CheckTinyCoreKernel(TinyCoreKernel, release);
        }

        CheckReleaseBootFileItems(CoreKernel, CoreInitrd);
        if (!PropertyChecks.TryParseSwitch(MicrokernelPxe, out _))
        {
            LogPropertyError("MicrokernelPxe", "InvalidMicrokernelPxe", MicrokernelPxe);
        }

        if (Iso || Pxe)
        {
            if (!PropertyChecks.TryInitrdMode(InitrdMode, out _))
            {
                LogPropertyError("MicrokernelInitrdMode", "InitrdModeUnsupported", InitrdMode);
            }

            if (!PropertyChecks.IsKernelArgs(KernelArgs))
            {
                LogPropertyError("MicrokernelKernelArgs", "InvalidKernelArgs");
            }
        }

        if (!Iso)
        {
            return;
        }

        if (!PropertyChecks.IsMicrokernelVersion(Version))
        {
            LogPropertyError("MicrokernelVersion", "InvalidMicrokernelVersion", Version);
        }

        if (Hybrid && string.IsNullOrWhiteSpace(HybridMbr))
        {
            LogPropertyError("MicrokernelIsoHybrid", "HybridMbrNotFound");
        }
    }
}
