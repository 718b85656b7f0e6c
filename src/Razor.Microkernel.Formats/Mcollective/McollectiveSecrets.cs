using System.Security.Cryptography;
using System.Text;

namespace Razor.Microkernel.Formats.Mcollective;

/// <summary>Where a secret came from.</summary>
public enum SecretSource
{
    None,
    Environment,
    File,
    Generated,
}

/// <summary>Development images tolerate (with warnings) what Production images refuse.</summary>
public enum MicrokernelFlavor
{
    Development,
    Production,
}

/// <summary>
/// The two MCollective secrets, <c>plugin.psk</c> and <c>plugin.stomp.password</c>. They come only from the
/// environment (<see cref="PskVariable"/>, <see cref="StompPasswordVariable"/>) or from a secrets file, never
/// from project settings. <see cref="ToString"/> never shows them.
/// </summary>
/// <remarks>
/// <para><b>Precedence: the environment wins over the file</b>, secret by secret (a CI system can override a
/// developer's file without editing it). Each file key that the environment overrode is listed in
/// <see cref="ShadowedFileKeys"/> so the caller can say so. An environment variable that is set but empty
/// counts as not set.</para>
/// <para><b>Secrets file format</b>: UTF-8 text, one <c>key = value</c> per line; blank lines and lines whose first
/// non-blank character is <c>#</c> are skipped; there are no inline comments. Key and value are trimmed of
/// spaces and tabs; the value is everything after the first <c>=</c>, quotes included (they are not removed).
/// Accepted keys (case-insensitive): for the PSK <c>plugin.psk</c>, <c>psk</c>, <c>MCOLLECTIVE_PSK</c>; for the
/// STOMP password <c>plugin.stomp.password</c>, <c>stomp.password</c>, <c>stomp_password</c>,
/// <c>MCOLLECTIVE_STOMP_PASSWORD</c>. Any other key, a line without <c>=</c>, an empty value or a secret given
/// twice is an error; error messages give line numbers, never line contents.</para>
/// </remarks>
public sealed class McollectiveSecrets
{
    public const string PskVariable = "MCOLLECTIVE_PSK";
    public const string StompPasswordVariable = "MCOLLECTIVE_STOMP_PASSWORD";

    private static readonly string[] PskKeys = [ServerConfigKeys.Psk, "psk", PskVariable];
    private static readonly string[] PasswordKeys = [ServerConfigKeys.StompPassword, "stomp.password", "stomp_password", StompPasswordVariable];

    public McollectiveSecrets(string? psk, SecretSource pskSource, string? stompPassword, SecretSource stompPasswordSource,
        IReadOnlyList<string>? shadowedFileKeys = null)
    {
        Psk = string.IsNullOrEmpty(psk) ? null : psk;
        PskSource = Psk is null ? SecretSource.None : pskSource;
        StompPassword = string.IsNullOrEmpty(stompPassword) ? null : stompPassword;
        StompPasswordSource = StompPassword is null ? SecretSource.None : stompPasswordSource;
        ShadowedFileKeys = shadowedFileKeys ?? [];
    }

    public static McollectiveSecrets None { get; } = new(null, SecretSource.None, null, SecretSource.None);

    public string? Psk { get; }
    public SecretSource PskSource { get; }
    public string? StompPassword { get; }
    public SecretSource StompPasswordSource { get; }

    /// <summary>Server.cfg keys (<c>plugin.psk</c>, <c>plugin.stomp.password</c>) the secrets file gave but the
    /// environment overrode.</summary>
    public IReadOnlyList<string> ShadowedFileKeys { get; }

    /// <summary>Reads the environment and, when <paramref name="secretsFile"/> is not null or empty, the secrets file.</summary>
    /// <param name="environment">Looks up an environment variable (e.g. <see cref="Environment.GetEnvironmentVariable(string)"/>).</param>
    /// <param name="secretsFile">Full path of the secrets file, or null.</param>
    /// <exception cref="ServerConfigException">The file is missing, unreadable or malformed (all problems).</exception>
    public static McollectiveSecrets Load(Func<string, string?> environment, string? secretsFile)
    {
        ArgumentNullException.ThrowIfNull(environment);
        string? filePsk = null, filePassword = null;
        if (!string.IsNullOrEmpty(secretsFile))
        {
            string text;
            try
            {
                text = File.ReadAllText(secretsFile);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new ServerConfigException(
                [
                    new("McollectiveSecretsFile", ServerConfigProblemKind.SecretsFileSyntax,
                        $"The secrets file '{secretsFile}' cannot be read: {e.GetType().Name}."),
                ]);
            }

            (filePsk, filePassword) = ParseFile(text);
        }

        var envPsk = environment(PskVariable);
        var envPassword = environment(StompPasswordVariable);
        var shadowed = new List<string>();
        if (!string.IsNullOrEmpty(envPsk) && filePsk is not null)
        {
            shadowed.Add(ServerConfigKeys.Psk);
        }

        if (!string.IsNullOrEmpty(envPassword) && filePassword is not null)
        {
            shadowed.Add(ServerConfigKeys.StompPassword);
        }

        var (psk, pskSource) = !string.IsNullOrEmpty(envPsk) ? (envPsk, SecretSource.Environment) : (filePsk, SecretSource.File);
        var (password, passwordSource) = !string.IsNullOrEmpty(envPassword)
            ? (envPassword, SecretSource.Environment)
            : (filePassword, SecretSource.File);
        return new McollectiveSecrets(psk, pskSource, password, passwordSource, shadowed);
    }

    /// <summary>Parses a secrets file's text (see the remarks on <see cref="McollectiveSecrets"/>).</summary>
    /// <exception cref="ServerConfigException">All problems, by line number.</exception>
    public static (string? Psk, string? StompPassword) ParseFile(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var problems = new List<ServerConfigProblem>();
        string? psk = null, password = null;
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var where = $"secrets file line {i + 1}";
            var line = lines[i].TrimEnd('\r').Trim(' ', '\t');
            if (i == 0)
            {
                line = line.TrimStart('\uFEFF');
            }

            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                problems.Add(new(where, ServerConfigProblemKind.SecretsFileSyntax,
                    $"The {where} is not 'key = value' (for example 'plugin.psk = …')."));
                continue;
            }

            var key = line[..eq].Trim(' ', '\t');
            var value = line[(eq + 1)..].Trim(' ', '\t');
            bool isPsk = PskKeys.Contains(key, StringComparer.OrdinalIgnoreCase);
            bool isPassword = PasswordKeys.Contains(key, StringComparer.OrdinalIgnoreCase);
            if (!isPsk && !isPassword)
            {
                problems.Add(new(where, ServerConfigProblemKind.SecretsFileUnknownKey,
                    $"The {where} names a key other than plugin.psk or plugin.stomp.password (also accepted: psk, stomp_password, " +
                    $"{PskVariable}, {StompPasswordVariable})."));
                continue;
            }

            var name = isPsk ? ServerConfigKeys.Psk : ServerConfigKeys.StompPassword;
            if (value.Length == 0)
            {
                problems.Add(new(where, ServerConfigProblemKind.SecretsFileSyntax, $"The {where} gives {name} an empty value."));
                continue;
            }

            if ((isPsk ? psk : password) is not null)
            {
                problems.Add(new(where, ServerConfigProblemKind.SecretsFileDuplicateKey, $"The {where} gives {name} a second time."));
                continue;
            }

            if (isPsk)
            {
                psk = value;
            }
            else
            {
                password = value;
            }
        }

        if (problems.Count > 0)
        {
            throw new ServerConfigException(problems);
        }

        return (psk, password);
    }

    /// <summary>
    /// A keyed hash (HMAC-SHA256, lower-case hex) of both secrets, for an up-to-date check: it changes when a secret
    /// changes and reveals nothing usable without <paramref name="key"/>. Keep the key out of the repository (for
    /// example random bytes kept in <c>obj/</c>); the secrets themselves never need to be written anywhere but the layer.
    /// </summary>
    public string Fingerprint(ReadOnlySpan<byte> key)
    {
        // Length-prefixed, so no two pairs of secrets give the same bytes.
        static string Part(string? secret) => secret is null ? "-" : $"{secret.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)}:{secret}";
        var data = Encoding.UTF8.GetBytes(Part(Psk) + Part(StompPassword));
        try
        {
            return Convert.ToHexStringLower(HMACSHA256.HashData(key, data));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(data);
        }
    }

    public override string ToString() => $"McollectiveSecrets(psk: {PskSource}, stomp password: {StompPasswordSource})";
}

/// <summary>The result of <see cref="McollectiveSecretPolicy.Apply(McollectiveSecrets, MicrokernelFlavor)"/>.</summary>
/// <param name="Secrets">The secrets to write (with a generated PSK in Development when none was given).</param>
/// <param name="Errors">Refusals; non-empty means the image must not be built.</param>
/// <param name="Warnings">What Development tolerates.</param>
public sealed record SecretPolicyResult(McollectiveSecrets Secrets, IReadOnlyList<ServerConfigProblem> Errors, IReadOnlyList<ServerConfigProblem> Warnings)
{
    /// <exception cref="ServerConfigException">When there are errors.</exception>
    public void ThrowIfErrors()
    {
        if (Errors.Count > 0)
        {
            throw new ServerConfigException(Errors);
        }
    }
}

/// <summary>
/// What each flavor accepts. Production refuses missing secrets, the example values published in the manual
/// procedure and secrets shorter than <see cref="MinimumLength"/>; Development warns about the same and, when
/// no PSK is given, generates a random one. Secrets that could not be written (CR, LF, NUL, surrounding
/// space) are errors in both flavors. No message ever contains a secret.
/// </summary>
public static class McollectiveSecretPolicy
{
    public const int MinimumLength = 16;
    public const int GeneratedLength = 32;
    private const string GeneratedAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";

    /// <summary>The PSK and STOMP password printed in the manual procedure.</summary>
    public static IReadOnlyList<string> ExampleValues { get; } = ["klot2oj2ked2tayn3hu5on7l", "iwillchangethispassword"];

    public static SecretPolicyResult Apply(McollectiveSecrets secrets, MicrokernelFlavor flavor)
        => Apply(secrets, flavor, GeneratePsk);

    /// <param name="secrets">What was loaded.</param>
    /// <param name="flavor">The image flavor.</param>
    /// <param name="generatePsk">Makes a PSK for Development when none is given (tests pass their own).</param>
    public static SecretPolicyResult Apply(McollectiveSecrets secrets, MicrokernelFlavor flavor, Func<string> generatePsk)
    {
        ArgumentNullException.ThrowIfNull(secrets);
        ArgumentNullException.ThrowIfNull(generatePsk);
        var errors = new List<ServerConfigProblem>();
        var warnings = new List<ServerConfigProblem>();
        var refusals = flavor == MicrokernelFlavor.Production ? errors : warnings;
        var consequence = flavor == MicrokernelFlavor.Production
            ? "Production images refuse it."
            : "Development images allow it; Production images refuse it.";

        var psk = secrets.Psk;
        var pskSource = secrets.PskSource;
        if (psk is null)
        {
            if (flavor == MicrokernelFlavor.Development)
            {
                psk = generatePsk();
                pskSource = SecretSource.Generated;
                warnings.Add(new(ServerConfigKeys.Psk, ServerConfigProblemKind.GeneratedPsk,
                    $"No MCollective PSK is given ({McollectiveSecrets.PskVariable} or plugin.psk in the McollectiveSecretsFile): " +
                    "the image uses a generated one, which is not shown here. The Razor server needs the same PSK to talk to it; " +
                    "give one to choose it."));
            }
            else
            {
                errors.Add(Missing(ServerConfigKeys.Psk, McollectiveSecrets.PskVariable, consequence));
            }
        }
        else
        {
            Check(ServerConfigKeys.Psk, psk, McollectiveSecrets.PskVariable);
        }

        if (secrets.StompPassword is null)
        {
            refusals.Add(Missing(ServerConfigKeys.StompPassword, McollectiveSecrets.StompPasswordVariable, consequence));
        }
        else
        {
            Check(ServerConfigKeys.StompPassword, secrets.StompPassword, McollectiveSecrets.StompPasswordVariable);
        }

        var result = new McollectiveSecrets(psk, pskSource, secrets.StompPassword, secrets.StompPasswordSource, secrets.ShadowedFileKeys);
        return new SecretPolicyResult(result, errors, warnings);

        void Check(string key, string value, string variable)
        {
            var before = errors.Count;
            ServerConfigValidation.CheckSecret(key, value, errors);
            if (errors.Count > before)
            {
                return;
            }

            if (ExampleValues.Contains(value, StringComparer.Ordinal))
            {
                refusals.Add(new(key, ServerConfigProblemKind.ExampleSecret,
                    $"{key} is an example value published in the manual procedure, so anyone can know it: set your own in {variable} " +
                    $"or the McollectiveSecretsFile. {consequence}"));
            }
            else if (value.Length < MinimumLength)
            {
                refusals.Add(new(key, ServerConfigProblemKind.ShortSecret,
                    $"{key} is shorter than {MinimumLength} characters. {consequence}"));
            }
        }
    }

    /// <summary>A random PSK: <see cref="GeneratedLength"/> characters of <c>[a-z0-9]</c> from the cryptographic RNG.</summary>
    public static string GeneratePsk() => RandomNumberGenerator.GetString(GeneratedAlphabet, GeneratedLength);

    private static ServerConfigProblem Missing(string key, string variable, string consequence)
        => new(key, ServerConfigProblemKind.MissingSecret,
            $"No {key} is given: set the {variable} environment variable or put it in the file named by McollectiveSecretsFile. {consequence}");
}
