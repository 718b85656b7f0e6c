using Microsoft.Build.Framework;
using Razor.Microkernel.Formats;
using Razor.Microkernel.Formats.Layers;
using Razor.Microkernel.Formats.Mcollective;

namespace Razor.Microkernel.Tasks;

/// <summary>
/// Writes MCollective's server.cfg (mode 0640) and the facts file its plugin.yaml names into the settings
/// layer. Settings: the Mcollective* properties, then McollectiveSetting items (Include = key, Value), then
/// the secrets, read here from MCOLLECTIVE_PSK / MCOLLECTIVE_STOMP_PASSWORD or the McollectiveSecretsFile,
/// never from project properties. In Development a missing PSK is the generated one McollectiveFingerprint keeps
/// in <see cref="GeneratedPskFile"/>. The secrets policy's warnings and refusals are logged by McollectiveFingerprint
/// on every build, not here (this step is skipped when nothing changed).
/// </summary>
public sealed class WriteServerCfg : LayerTask
{
    public string? StompHost { get; set; }

    public string? StompPort { get; set; }

    public string? StompUser { get; set; }

    public string? Identity { get; set; }

    public string? Collectives { get; set; }

    public string? MainCollective { get; set; }

    public string? LogLevel { get; set; }

    public string? LibDir { get; set; }

    public string? FactsPath { get; set; }

    public string? ConfigPath { get; set; }

    public ITaskItem[] Settings { get; set; } = [];

    public ITaskItem[] Facts { get; set; } = [];

    public string? SecretsFile { get; set; }

    /// <summary>The generated Development PSK's file (McollectiveFingerprint's UsedGeneratedPskFile), when the image uses it.</summary>
    public string? GeneratedPskFile { get; set; }

    [Required]
    public string Flavor { get; set; } = "Development";

    protected override bool Write(LayerWriter writer)
    {
        if (!TryParseFlavor(Flavor, out var flavor))
        {
            LogPropertyError("MicrokernelFlavor", "InvalidFlavor", Flavor);
            return false;
        }

        string configPath;
        try
        {
            configPath = ImagePath.Normalize(string.IsNullOrWhiteSpace(ConfigPath) ? ServerConfigWriter.DefaultPath : ConfigPath);
        }
        catch (InvalidImagePathException e)
        {
            LogPropertyError("McollectiveConfigPath", "InvalidImagePath", "property", "McollectiveConfigPath", e.ImagePathText, e.Reason);
            return false;
        }

        try
        {
            var secrets = McollectiveSecrets.Load(Environment.GetEnvironmentVariable, string.IsNullOrWhiteSpace(SecretsFile) ? null : SecretsFile);
            var kept = string.IsNullOrWhiteSpace(GeneratedPskFile) ? null : GeneratedPskStore.TryRead(GeneratedPskFile);
            var policy = McollectiveSecretPolicy.Apply(secrets, flavor,
                () => kept ?? throw new ServerConfigException([new ServerConfigProblem(ServerConfigKeys.Psk, ServerConfigProblemKind.MissingSecret,
                    $"the generated PSK file '{GeneratedPskFile}' is missing or unusable; build again to have it made")]));
            foreach (var e in policy.Errors)
            {
                McollectiveProblems.Log(this, e, asWarning: false, Settings, SecretsFile);
            }

            if (policy.Errors.Count > 0)
            {
                return false;
            }

            var config = ServerConfigBuilder.Build(
                new ServerConfigInputs
                {
                    StompHost = StompHost,
                    StompPort = StompPort,
                    StompUser = StompUser,
                    Identity = Identity,
                    Collectives = Collectives,
                    MainCollective = MainCollective,
                    LogLevel = LogLevel,
                    LibDir = LibDir,
                    FactsPath = FactsPath,
                },
                Settings.Select(s => (s.ItemSpec, s.GetMetadata("Value"))),
                policy.Secrets);
            foreach (var w in config.Warnings)
            {
                McollectiveProblems.Log(this, w, asWarning: true, Settings, SecretsFile);
            }

            McollectiveLayer.WriteSettings(writer, configPath, config, Facts.Select(f => (f.ItemSpec, f.GetMetadata("Value"))).ToList());

            Log.LogMessageFromResources(MessageImportance.Normal, "ServerCfgWritten", "/" + configPath, config.Settings.Count, flavor);
            return true;
        }
        catch (ServerConfigException e)
        {
            foreach (var p in e.Problems)
            {
                McollectiveProblems.Log(this, p, asWarning: false, Settings, SecretsFile);
            }
        }
        catch (FactsFileException e)
        {
            LogItemError(Facts.LastOrDefault(f => f.ItemSpec.Trim() == e.FactName), "McollectiveFact", "InvalidFact", e.FactName, e.Reason);
        }
        catch (LayerConflictException e)
        {
            LogPropertyError("McollectiveFactsPath", "LayerConflict", "McollectiveFactsPath", FactsPath ?? "", "/" + e.PathInImage, e.Reason);
        }

        return false;
    }
}
