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
/// A keyed fingerprint (HMAC-SHA256) of the MCollective secrets from the environment and the secrets file,
/// so that a changed secret re-runs the settings layer while no secret is ever written outside it.
/// The key is random bytes kept in obj/.
/// </summary>
public sealed class McollectiveFingerprint : RmkTask
{
    [Microsoft.Build.Framework.Required]
    public string KeyFile { get; set; } = string.Empty;

    public string? SecretsFile { get; set; }

    [Microsoft.Build.Framework.Output]
    public string Fingerprint { get; private set; } = string.Empty;

    protected override void ExecuteCore()
    {
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

        Fingerprint = secrets.Fingerprint(key);
    }
}

/// <summary>
/// Checks made before anything is downloaded: the flavor, and secrets given as project properties (the names an
/// MSBuild user would guess, <c>McollectivePsk</c> and <c>McollectiveStompPassword</c>). The targets pass only the
/// names of the secret properties that are set, never their values; errors point at the property's element.
/// </summary>
public sealed class CheckMicrokernelProperties : RmkTask
{
    public string Flavor { get; set; } = string.Empty;

    /// <summary>The names of the secret properties the project sets.</summary>
    public string[] SecretProperties { get; set; } = [];

    protected override void ExecuteCore()
    {
        if (!TryParseFlavor(Flavor, out _))
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
    }
}
