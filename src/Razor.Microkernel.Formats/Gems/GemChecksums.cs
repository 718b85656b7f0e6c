using System.Security.Cryptography;
using System.Text;
using YamlDotNet.Core;

namespace Razor.Microkernel.Formats.Gems;

/// <summary>
/// Verifies <c>checksums.yaml.gz</c> (RubyGems 2.0 and later): a mapping of algorithm names to mappings of the
/// gem's parts to hex digests. It is read in every form RubyGems wrote it: plain (<c>SHA256: {data.tar.gz: ab12…}</c>),
/// and as RubyGems 2.1–2.4 on Ruby 2.0 wrote it, with values, and often the algorithm names too, as YAML
/// <c>!binary</c> (base64 of the hex text). Every digest listed is checked; nothing is skipped. What RubyGems
/// itself cannot verify (an algorithm it does not know, a part the gem does not have, a file that lists no digest
/// at all) is refused as well, with <see cref="GemChecksumsUnusableException"/>.
/// </summary>
internal static class GemChecksums
{
    /// <summary>Checks every digest; returns how many were checked.</summary>
    public static int Verify(string gem, string yaml, IReadOnlyDictionary<string, byte[]> parts, GemReadOptions limits,
        CancellationToken cancellationToken)
    {
        RubyYamlNode? root;
        try
        {
            root = RubyYaml.Load(yaml);
        }
        catch (YamlException e)
        {
            throw new GemChecksumsUnusableException(gem, $"the YAML cannot be read: {e.Message}", e);
        }

        if (root is not RubyYamlMapping algorithms)
        {
            throw new GemChecksumsUnusableException(gem, "it is not a mapping of algorithms to digests");
        }

        // Every node is visited once per use, so aliases cannot multiply the work.
        var budget = new RubyYamlBudget(limits.MaxMetadataNodes, limits.MaxMetadataChars);
        var digests = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        foreach (var (algNode, filesNode) in algorithms.Pairs)
        {
            var algorithm = Text(gem, algNode, budget, "an algorithm name");
            if (filesNode is not RubyYamlMapping files)
            {
                throw new GemChecksumsUnusableException(gem, $"'{algorithm}' is not a mapping of the gem's parts to digests");
            }

            var byFile = digests[algorithm] = new Dictionary<string, string>(StringComparer.Ordinal); // a later key replaces an earlier one, as in Ruby
            foreach (var (fileNode, digestNode) in files.Pairs)
            {
                byFile[Text(gem, fileNode, budget, "a part name")] = Text(gem, digestNode, budget, "a digest");
            }
        }

        var verified = 0;
        foreach (var (algorithm, byFile) in digests.OrderBy(d => d.Key, StringComparer.Ordinal))
        {
            var hash = Algorithm(algorithm)
                       ?? throw new GemChecksumsUnusableException(gem, $"it uses the algorithm '{algorithm}', which cannot be verified (MD5, SHA1, SHA256, SHA384 and SHA512 can)");
            foreach (var (file, digest) in byFile.OrderBy(d => d.Key, StringComparer.Ordinal))
            {
                if (!parts.TryGetValue(file, out var content))
                {
                    throw new GemChecksumsUnusableException(gem, $"it lists '{file}', which the gem does not have");
                }

                var expected = digest.Trim().ToLowerInvariant();
                var actual = Convert.ToHexStringLower(Hash(hash, content, cancellationToken));
                if (actual != expected)
                {
                    throw new GemChecksumException(gem, file, algorithm, expected, actual);
                }

                verified++;
            }
        }

        return verified > 0 ? verified : throw new GemChecksumsUnusableException(gem, "it lists no digest, so nothing in it verifies the gem");
    }

    private static HashAlgorithmName? Algorithm(string name) => name switch
    {
        "MD5" => HashAlgorithmName.MD5,
        "SHA1" => HashAlgorithmName.SHA1,
        "SHA256" => HashAlgorithmName.SHA256,
        "SHA384" => HashAlgorithmName.SHA384,
        "SHA512" => HashAlgorithmName.SHA512,
        _ => null,
    };

    /// <summary>A scalar's text; a <c>!binary</c> one decoded from base64 (RubyGems wrote the hex digest's text so).</summary>
    private static string Text(string gem, RubyYamlNode node, RubyYamlBudget budget, string what)
    {
        if (!budget.TryVisit(node))
        {
            throw new GemLimitException(gem, "checksums.yaml.gz", "YAML text", budget.ScalarChars, budget.MaxScalarChars);
        }

        if (node is not RubyYamlScalar s)
        {
            throw new GemChecksumsUnusableException(gem, $"{what} is not a text value");
        }

        if (!GemMetadataReader.IsBinary(s))
        {
            return s.Value;
        }

        try
        {
            var bytes = Convert.FromBase64String(string.Concat(s.Value.Where(c => !char.IsWhiteSpace(c))));
            return Encoding.ASCII.GetString(bytes);
        }
        catch (FormatException e)
        {
            throw new GemChecksumsUnusableException(gem, $"{what} is a !binary value that is not base64", e);
        }
    }

    /// <summary>The digest of a part, a megabyte at a time so that Ctrl+C is not held up by a big gem.</summary>
    private static byte[] Hash(HashAlgorithmName algorithm, byte[] content, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(algorithm);
        for (var offset = 0; offset < content.Length; offset += 1 << 20)
        {
            cancellationToken.ThrowIfCancellationRequested();
            hash.AppendData(content, offset, Math.Min(1 << 20, content.Length - offset));
        }

        return hash.GetHashAndReset();
    }
}
