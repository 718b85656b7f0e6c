namespace Razor.Microkernel.Formats.Mcollective;

/// <summary>What is wrong with one server.cfg setting, secret or secrets file. The task maps each kind to
/// one <c>RMK</c> code.</summary>
public enum ServerConfigProblemKind
{
    /// <summary>Not a key MCollective 1.2 knows; <see cref="ServerConfigProblem.Suggestion"/> names the nearest known key.</summary>
    UnknownKey,

    /// <summary>A <c>plugin.*</c> key with characters outside <c>[A-Za-z0-9_.-]</c> (it would not parse back as written).</summary>
    InvalidKey,

    InvalidInteger,

    /// <summary>A port outside 1–65535.</summary>
    PortOutOfRange,

    /// <summary>Not one of the values the key allows; the suggestion names the nearest allowed value.</summary>
    InvalidEnum,

    /// <summary>Not one of true/false/yes/no/1/0 (any case).</summary>
    InvalidBoolean,

    /// <summary>The value holds CR, LF or NUL.</summary>
    ControlCharacters,

    /// <summary>The value starts or ends with white space, which MCollective strips.</summary>
    LeadingOrTrailingSpace,

    /// <summary>The value is empty (MCollective silently ignores <c>key =</c>), or a list holds an empty item.</summary>
    EmptyValue,

    MainCollectiveNotInCollectives,

    /// <summary>The identity holds characters outside <c>[A-Za-z0-9._-]</c>.</summary>
    InvalidIdentity,

    /// <summary>A path setting (libdir, logfile, classesfile, rpchelptemplate, plugin.yaml) is not absolute,
    /// or holds a character that makes it more than one path.</summary>
    InvalidPath,

    /// <summary><c>plugin.psk</c> or <c>plugin.stomp.password</c> was given as a project setting.</summary>
    SecretInProject,

    /// <summary>The stomp connector is used and no <c>plugin.stomp.host</c> was given.</summary>
    MissingStompHost,

    /// <summary>A secret is not given (Production: error; Development: warning).</summary>
    MissingSecret,

    /// <summary>A secret is one of the example values published in the manual procedure.</summary>
    ExampleSecret,

    /// <summary>A secret is shorter than <see cref="McollectiveSecretPolicy.MinimumLength"/> characters.</summary>
    ShortSecret,

    /// <summary>Development only: no PSK was given, a random one was generated for this image (a warning).</summary>
    GeneratedPsk,

    /// <summary>A secrets file cannot be read, or a line is not <c>key = value</c>.</summary>
    SecretsFileSyntax,

    /// <summary>A secrets file names a key other than the accepted ones.</summary>
    SecretsFileUnknownKey,

    /// <summary>A secrets file gives the same secret twice.</summary>
    SecretsFileDuplicateKey,

    /// <summary>A warning: a <c>plugin.*</c> key is one or two edits away from a well-known plugin key (probably a typo).</summary>
    SuspiciousPluginKey,
}

/// <summary>One problem. <paramref name="Message"/> names the key and never quotes a secret, nor the value
/// of a free-form setting (only values of integer, boolean and enumerated keys are quoted).</summary>
/// <param name="Key">The server.cfg key (or secrets file key) the problem is about.</param>
/// <param name="Kind">What is wrong.</param>
/// <param name="Message">A sentence for the user, without a code.</param>
/// <param name="Suggestion">The nearest valid key or value, when there is one.</param>
public sealed record ServerConfigProblem(string Key, ServerConfigProblemKind Kind, string Message, string? Suggestion = null)
{
    public override string ToString() => $"{Kind} {Key}: {Message}";
}

/// <summary>Every problem found in the MCollective inputs, collected: one exception for all of them.</summary>
public sealed class ServerConfigException : MicrokernelFormatException
{
    public ServerConfigException(IReadOnlyList<ServerConfigProblem> problems)
        : base(Describe(problems))
    {
        Problems = problems;
    }

    public IReadOnlyList<ServerConfigProblem> Problems { get; }

    private static string Describe(IReadOnlyList<ServerConfigProblem> problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        return problems.Count == 1
            ? problems[0].Message
            : $"{problems.Count} problems in the MCollective settings:" + string.Concat(problems.Select(p => "\n  " + p.Message));
    }
}
