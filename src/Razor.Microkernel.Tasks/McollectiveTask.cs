using Microsoft.Build.Utilities;
using Razor.Microkernel.Formats.Mcollective;

namespace Razor.Microkernel.Tasks;

/// <summary>Reports MCollective configuration problems with one code per kind. Messages never hold a secret.</summary>
internal static class McollectiveProblems
{
    private static readonly HashSet<ServerConfigProblemKind> WarningKinds = [ServerConfigProblemKind.GeneratedPsk, ServerConfigProblemKind.SuspiciousPluginKey];

    public static void Log(TaskLoggingHelper log, ServerConfigProblem problem, bool asWarning)
    {
        var text = problem.Suggestion is null ? problem.Message : $"{problem.Message} {problem.Suggestion}";
        if (asWarning || WarningKinds.Contains(problem.Kind))
        {
            log.LogWarningWithCodeFromResources("Mco" + problem.Kind, text);
        }
        else
        {
            log.LogErrorWithCodeFromResources("Mco" + problem.Kind, text);
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
                McollectiveProblems.Log(Log, p, asWarning: false);
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
