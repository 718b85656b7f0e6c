namespace Razor.Microkernel.Sdk.Tests;

/// <summary>The MCollective secrets end-to-end builds pass in their environment (never in the project).</summary>
internal static class TestSecrets
{
    public const string Psk = "q7c2v9x4m1n8b5z3k6j0h2g4";

    public const string Password = "correct-horse-battery-staple-42";

    /// <summary>MCOLLECTIVE_PSK and MCOLLECTIVE_STOMP_PASSWORD (null removes the variable).</summary>
    public static Dictionary<string, string?> Variables(string? psk = Psk, string? password = Password) => new()
    {
        ["MCOLLECTIVE_PSK"] = psk,
        ["MCOLLECTIVE_STOMP_PASSWORD"] = password,
    };
}
