using Razor.Microkernel.Formats.Mcollective;
using Razor.Microkernel.TestSupport;
using static Razor.Microkernel.Formats.Tests.Mcollective.McollectiveTestSupport;

namespace Razor.Microkernel.Formats.Tests.Mcollective;

public class McollectiveSecretsTests
{
    private const string GoodPsk = "q7w8e9r0t1y2u3i4o5p6";
    private const string GoodPassword = "correct-horse-battery-staple";

    private static Func<string, string?> Env(string? psk = null, string? password = null)
        => name => name switch
        {
            McollectiveSecrets.PskVariable => psk,
            McollectiveSecrets.StompPasswordVariable => password,
            _ => null,
        };

    [Fact]
    public void Load_FromEnvironment()
    {
        var s = McollectiveSecrets.Load(Env(GoodPsk, GoodPassword), null);
        Assert.Equal(GoodPsk, s.Psk);
        Assert.Equal(GoodPassword, s.StompPassword);
        Assert.Equal(SecretSource.Environment, s.PskSource);
        Assert.Equal(SecretSource.Environment, s.StompPasswordSource);
    }

    [Fact]
    public void Load_EmptyEnvironmentVariable_CountsAsNotSet()
    {
        var s = McollectiveSecrets.Load(Env("", ""), null);
        Assert.Null(s.Psk);
        Assert.Equal(SecretSource.None, s.PskSource);
    }

    [Fact]
    public void Load_FromFile_WithCommentsBlankLinesCrLfAndSpaces()
    {
        using var tmp = new TempFolder();
        var file = tmp.Write("secrets.txt", "\uFEFF# MCollective secrets, keep out of git\r\n\r\n  plugin.psk =  " + GoodPsk + "  \r\n\t# another\nplugin.stomp.password=" + GoodPassword);
        var s = McollectiveSecrets.Load(Env(), file);
        Assert.Equal(GoodPsk, s.Psk);
        Assert.Equal(GoodPassword, s.StompPassword);
        Assert.Equal(SecretSource.File, s.PskSource);
        Assert.Empty(s.ShadowedFileKeys);
    }

    [Theory]
    [InlineData("psk", "stomp_password")]
    [InlineData("PSK", "Stomp.Password")]
    [InlineData("MCOLLECTIVE_PSK", "MCOLLECTIVE_STOMP_PASSWORD")]
    public void ParseFile_AcceptsTheShortNamesUsersGuess(string pskKey, string passwordKey)
    {
        var (psk, password) = McollectiveSecrets.ParseFile($"{pskKey} = {GoodPsk}\n{passwordKey} = {GoodPassword}\n");
        Assert.Equal(GoodPsk, psk);
        Assert.Equal(GoodPassword, password);
    }

    [Fact]
    public void ParseFile_ValueKeepsInnerEqualsHashAndQuotes()
    {
        var (psk, _) = McollectiveSecrets.ParseFile("plugin.psk = \"a=b # c\"\n");
        Assert.Equal("\"a=b # c\"", psk);
    }

    [Fact]
    public void ParseFile_Problems_AreAllReportedByLineWithoutContent()
    {
        const string text = "just-the-secret-on-a-line\nplugin.token = tok-secret-value\nplugin.psk =\npsk = first-secret-value-1\nplugin.psk = second-secret-value\n= orphan-secret-value\n";
        var e = Assert.Throws<ServerConfigException>(() => McollectiveSecrets.ParseFile(text));
        Assert.Equal(
            [ServerConfigProblemKind.SecretsFileSyntax, ServerConfigProblemKind.SecretsFileUnknownKey, ServerConfigProblemKind.SecretsFileSyntax,
             ServerConfigProblemKind.SecretsFileDuplicateKey, ServerConfigProblemKind.SecretsFileSyntax],
            e.Problems.Select(p => p.Kind));
        Assert.Equal(["secrets file line 1", "secrets file line 2", "secrets file line 3", "secrets file line 5", "secrets file line 6"], e.Problems.Select(p => p.Key));
        foreach (var leak in new[] { "just-the-secret", "tok-secret", "first-secret", "second-secret", "orphan-secret" })
        {
            Assert.DoesNotContain(leak, e.ToString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Load_MissingFile_IsAProblemNamingThePath()
    {
        using var tmp = new TempFolder();
        var e = Assert.Throws<ServerConfigException>(() => McollectiveSecrets.Load(Env(), tmp["nope.txt"]));
        var p = Assert.Single(e.Problems);
        Assert.Equal(ServerConfigProblemKind.SecretsFileSyntax, p.Kind);
        Assert.Contains("nope.txt", p.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_EnvironmentWinsOverFile_SecretBySecret_AndSaysWhichFileKeysItShadowed()
    {
        using var tmp = new TempFolder();
        var file = tmp.Write("secrets.txt", "plugin.psk = file-psk-0123456789\nplugin.stomp.password = file-password-0123456789\n");
        var s = McollectiveSecrets.Load(Env(psk: GoodPsk), file);
        Assert.Equal(GoodPsk, s.Psk);
        Assert.Equal(SecretSource.Environment, s.PskSource);
        Assert.Equal("file-password-0123456789", s.StompPassword);
        Assert.Equal(SecretSource.File, s.StompPasswordSource);
        Assert.Equal([ServerConfigKeys.Psk], s.ShadowedFileKeys);
    }

    [Fact]
    public void Secrets_ToString_NeverShowsThem()
    {
        var s = new McollectiveSecrets(GoodPsk, SecretSource.File, GoodPassword, SecretSource.Environment);
        Assert.DoesNotContain(GoodPsk, s.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(GoodPassword, s.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(MicrokernelFlavor.Development)]
    [InlineData(MicrokernelFlavor.Production)]
    public void Policy_GoodSecrets_PassSilently(MicrokernelFlavor flavor)
    {
        var r = McollectiveSecretPolicy.Apply(new McollectiveSecrets(GoodPsk, SecretSource.File, GoodPassword, SecretSource.File), flavor);
        Assert.Empty(r.Errors);
        Assert.Empty(r.Warnings);
        Assert.Equal(GoodPsk, r.Secrets.Psk);
        r.ThrowIfErrors();
    }

    public static TheoryData<string?, string?, ServerConfigProblemKind, string> Refusals => new()
    {
        { null, GoodPassword, ServerConfigProblemKind.MissingSecret, ServerConfigKeys.Psk },
        { GoodPsk, null, ServerConfigProblemKind.MissingSecret, ServerConfigKeys.StompPassword },
        { ExamplePsk, GoodPassword, ServerConfigProblemKind.ExampleSecret, ServerConfigKeys.Psk },
        { GoodPsk, ExamplePassword, ServerConfigProblemKind.ExampleSecret, ServerConfigKeys.StompPassword },
        { ExamplePassword, GoodPassword, ServerConfigProblemKind.ExampleSecret, ServerConfigKeys.Psk },
        { "fifteen-chars-x", GoodPassword, ServerConfigProblemKind.ShortSecret, ServerConfigKeys.Psk },
        { GoodPsk, "x9!kQ", ServerConfigProblemKind.ShortSecret, ServerConfigKeys.StompPassword },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void Policy_Production_RefusesWithATypedProblem(string? psk, string? password, ServerConfigProblemKind kind, string key)
    {
        var r = McollectiveSecretPolicy.Apply(new McollectiveSecrets(psk, SecretSource.File, password, SecretSource.File), MicrokernelFlavor.Production);
        var p = Assert.Single(r.Errors);
        Assert.Equal(kind, p.Kind);
        Assert.Equal(key, p.Key);
        Assert.Empty(r.Warnings);
        var e = Assert.Throws<ServerConfigException>(r.ThrowIfErrors);
        AssertNoSecretIn(e.ToString(), psk, password);
        AssertNoSecretIn(p.Message, psk, password);
    }

    [Theory]
    [MemberData(nameof(Refusals))]
    public void Policy_Development_WarnsInstead(string? psk, string? password, ServerConfigProblemKind kind, string key)
    {
        var r = McollectiveSecretPolicy.Apply(new McollectiveSecrets(psk, SecretSource.File, password, SecretSource.File),
            MicrokernelFlavor.Development, () => "z8k2m4q6w1e3r5t7y9u0x");
        Assert.Empty(r.Errors);
        var expected = psk is null ? ServerConfigProblemKind.GeneratedPsk : kind;
        var w = Assert.Single(r.Warnings);
        Assert.Equal(expected, w.Kind);
        Assert.Equal(key, w.Key);
        AssertNoSecretIn(w.Message, psk, password, r.Secrets.Psk);
    }

    [Fact]
    public void Policy_Development_WithoutPsk_GeneratesARandomOneAndNeverPrintsIt()
    {
        var r = McollectiveSecretPolicy.Apply(new McollectiveSecrets(null, SecretSource.None, GoodPassword, SecretSource.File), MicrokernelFlavor.Development);
        var psk = r.Secrets.Psk!;
        Assert.Equal(SecretSource.Generated, r.Secrets.PskSource);
        Assert.Matches("^[a-z0-9]{32}$", psk);
        var w = Assert.Single(r.Warnings);
        Assert.Equal(ServerConfigProblemKind.GeneratedPsk, w.Kind);
        AssertNoSecretIn(w.ToString(), psk);
        AssertNoSecretIn(r.Secrets.ToString(), psk);

        // The generated PSK passes the Production rules itself, and goes into server.cfg.
        Assert.Empty(McollectiveSecretPolicy.Apply(r.Secrets, MicrokernelFlavor.Production).Errors);
        var config = ServerConfigBuilder.Build(Host(), null, r.Secrets);
        Assert.Contains($"plugin.psk = {psk}\n", ServerConfigWriter.Write(config), StringComparison.Ordinal);
        AssertNoSecretIn(config.ToString(), psk, GoodPassword);
    }

    [Fact]
    public void GeneratePsk_IsRandomEachTime()
    {
        var many = Enumerable.Range(0, 50).Select(_ => McollectiveSecretPolicy.GeneratePsk()).ToHashSet();
        Assert.Equal(50, many.Count);
        Assert.All(many, p => Assert.Matches("^[a-z0-9]{24,}$", p));
        var alphabet = string.Concat(many).Distinct().Count();
        Assert.True(alphabet > 30, $"only {alphabet} distinct characters in 1600");
    }

    [Fact]
    public void Policy_Production_NothingGiven_RefusesBothAndGeneratesNothing()
    {
        var r = McollectiveSecretPolicy.Apply(McollectiveSecrets.None, MicrokernelFlavor.Production);
        Assert.Equal([ServerConfigProblemKind.MissingSecret, ServerConfigProblemKind.MissingSecret], r.Errors.Select(p => p.Kind));
        Assert.Null(r.Secrets.Psk);
        Assert.All(r.Errors, p => Assert.Contains("McollectiveSecretsFile", p.Message, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(MicrokernelFlavor.Development)]
    [InlineData(MicrokernelFlavor.Production)]
    public void Policy_UnwritableSecret_IsAnErrorInBothFlavors(MicrokernelFlavor flavor)
    {
        const string psk = "0123456789abcdef\r\nloglevel = debug";
        var r = McollectiveSecretPolicy.Apply(new McollectiveSecrets(psk, SecretSource.Environment, GoodPassword + " ", SecretSource.Environment), flavor);
        Assert.Equal([ServerConfigProblemKind.ControlCharacters, ServerConfigProblemKind.LeadingOrTrailingSpace], r.Errors.Select(p => p.Kind));
        AssertNoSecretIn(string.Join("\n", r.Errors.Concat(r.Warnings)), "0123456789abcdef", GoodPassword);
    }

    /// <summary>Every message any step can produce, for real and generated secrets, in both flavors: none holds a
    /// secret (nor any 10-character piece of one).</summary>
    [Fact]
    public void NoMessageAnywhere_ContainsASecret()
    {
        var secrets = new List<(string? Psk, string? Password)>
        {
            (GoodPsk, GoodPassword), (ExamplePsk, ExamplePassword), ("k2#Lm9", "Zq8@v1"), (null, null),
            (GoodPsk + "\n", "\0" + GoodPassword), (" " + GoodPsk, GoodPassword + "\t"),
        };
        foreach (var (psk, password) in secrets)
        {
            foreach (var flavor in new[] { MicrokernelFlavor.Development, MicrokernelFlavor.Production })
            {
                var generated = Guid.NewGuid().ToString("N");
                var r = McollectiveSecretPolicy.Apply(new McollectiveSecrets(psk, SecretSource.File, password, SecretSource.Environment), flavor, () => generated);
                var texts = r.Errors.Concat(r.Warnings).SelectMany(p => new[] { p.Message, p.ToString(), p.Suggestion ?? "" }).ToList();
                texts.Add(r.Secrets.ToString());
                try
                {
                    var config = ServerConfigBuilder.Build(Host(), [("plugin.psk", psk ?? "x"), ("plugin.stomp.password", password ?? "x")], r.Secrets);
                    texts.Add(config.ToString());
                }
                catch (ServerConfigException e)
                {
                    texts.Add(e.ToString());
                    texts.AddRange(e.Problems.Select(p => p.ToString()));
                }

                foreach (var text in texts)
                {
                    AssertNoSecretIn(text, psk, password, generated, r.Secrets.Psk);
                }
            }
        }
    }

    private static void AssertNoSecretIn(string text, params string?[] secrets)
    {
        foreach (var secret in secrets)
        {
            var trimmed = secret?.Trim(' ', '\t', '\r', '\n', '\0');
            if (string.IsNullOrEmpty(trimmed))
            {
                continue;
            }

            // Any 10-character piece (or the whole of a shorter secret) counts as a leak.
            var piece = Math.Min(10, trimmed.Length);
            for (var i = 0; i + piece <= trimmed.Length; i++)
            {
                Assert.False(text.Contains(trimmed.Substring(i, piece), StringComparison.Ordinal),
                    $"a message holds part of a secret: {text}");
            }
        }
    }
}

public class McollectiveSecretsFingerprintTests
{
    [Fact]
    public void Fingerprint_ChangesWithEitherSecretOrTheKey_AndHoldsNeitherSecret()
    {
        byte[] key = [1, 2, 3, 4, 5, 6, 7, 8];
        static McollectiveSecrets S(string? psk, string? pw) => new(psk, SecretSource.File, pw, SecretSource.File);
        var a = S("psk-aaaaaaaaaaaaaaaa", "pw-bbbbbbbbbbbbbbbbb").Fingerprint(key);
        Assert.Matches("^[0-9a-f]{64}$", a);
        Assert.Equal(a, S("psk-aaaaaaaaaaaaaaaa", "pw-bbbbbbbbbbbbbbbbb").Fingerprint(key));
        Assert.NotEqual(a, S("psk-aaaaaaaaaaaaaaaX", "pw-bbbbbbbbbbbbbbbbb").Fingerprint(key));
        Assert.NotEqual(a, S("psk-aaaaaaaaaaaaaaaa", "pw-bbbbbbbbbbbbbbbbX").Fingerprint(key));
        Assert.NotEqual(a, S("psk-aaaaaaaaaaaaaaaa", "pw-bbbbbbbbbbbbbbbbb").Fingerprint([9]));
        Assert.NotEqual(S("x", null).Fingerprint(key), S(null, "x").Fingerprint(key));
        Assert.NotEqual(S("a\0+b\0-", null).Fingerprint(key), S("a", "b\0-").Fingerprint(key));
        Assert.NotEqual(S("1:a", null).Fingerprint(key), S(null, "1:a").Fingerprint(key));
    }
}
