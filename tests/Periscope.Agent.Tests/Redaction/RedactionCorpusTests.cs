using System.Text;
using System.Text.Json;
using Periscope.Agent.Redaction;
using Periscope.Testing;
using Xunit;

namespace Periscope.Agent.Tests.Redaction;

/// <summary>
/// Realistic secrets in realistic surroundings (tests/fixtures/redaction/secrets: each file lists its secrets in
/// FILE.secrets) must not survive; look-alikes (tests/fixtures/redaction/lookalikes) must survive byte for byte.
/// </summary>
public sealed class RedactionCorpusTests
{
    private static readonly string Corpus = Path.Combine(Fixtures.Repository, "tests/fixtures/redaction");

    public static TheoryData<string> SecretFiles()
        => [.. Directory.EnumerateFiles(Path.Combine(Corpus, "secrets")).Where(f => !f.EndsWith(".secrets", StringComparison.Ordinal)).Select(f => Path.GetFileName(f)!).Order(StringComparer.Ordinal)];

    [Theory]
    [MemberData(nameof(SecretFiles))]
    public void Redact_CorpusFile_LeavesNoSecretAndKeepsEveryLine(string name)
    {
        var input = File.ReadAllBytes(Path.Combine(Corpus, "secrets", name));
        var secrets = File.ReadAllLines(Path.Combine(Corpus, "secrets", name + ".secrets")).Where(s => s.Length > 0).ToList();
        Assert.All(secrets, s => Assert.Contains(s, RedactionTestSupport.Decoded(input, name), StringComparison.Ordinal)); // the corpus is honest

        var (output, counts) = RedactionTestSupport.Redact(input, name);

        var text = RedactionTestSupport.Decoded(output, name);
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
            Assert.DoesNotContain(secret, Encoding.UTF8.GetString(output), StringComparison.Ordinal);
        }

        Assert.Equal(input.Count(b => b == '\n'), output.Count(b => b == '\n'));
        Assert.NotEmpty(counts);
        if (name.EndsWith(".json", StringComparison.Ordinal))
        {
            using var _ = JsonDocument.Parse(output); // still a JSON document
        }
    }

    [Fact]
    public void Redact_Journal_NamesEachRuleInItsMarker()
    {
        var (output, counts) = RedactionTestSupport.Redact(File.ReadAllBytes(Path.Combine(Corpus, "secrets", "journal.log")), "journal.log");
        var lines = Encoding.UTF8.GetString(output).Split('\n');

        Assert.Contains("Authorization: Bearer ***REDACTED:bearer-token***", lines[1], StringComparison.Ordinal);
        Assert.EndsWith("node.zip?***REDACTED:azure-sas-url*** status=201", lines[2], StringComparison.Ordinal);
        Assert.Contains("AccountKey=***REDACTED:azure-storage-key***;EndpointSuffix", lines[3], StringComparison.Ordinal);
        Assert.Contains("postgres://***REDACTED:url-credentials***@db.internal", lines[6], StringComparison.Ordinal);
        Assert.Equal(lines[0], File.ReadAllLines(Path.Combine(Corpus, "secrets", "journal.log"))[0]); // nothing to redact: unchanged
        Assert.True(counts["password"] >= 1);
    }

    [Fact]
    public void Redact_BareVendorTokens_AreFoundByTheirOwnRuleWhateverPrecedesThem()
    {
        var (output, counts) = RedactionTestSupport.Redact(File.ReadAllBytes(Path.Combine(Corpus, "secrets", "vendor-tokens.log")), "vendor-tokens.log");
        var lines = Encoding.UTF8.GetString(output).Split('\n');

        string[] rules =
        [
            "github-token", "gitlab-token", "slack-token", "webhook-url", "openai-key", "anthropic-key", "huggingface-token",
            "vault-token", "openshift-token", "google-api-key", "entra-client-secret", "stripe-key", "sendgrid-key",
            "aws-access-key", "npm-token", "pypi-token", "jwt",
        ];
        Assert.All(rules, r => Assert.True(counts.GetValueOrDefault(r) >= 1, $"{r}: {string.Join(", ", counts)}"));
        Assert.Equal("***REDACTED:github-token***", lines[0]); // a token alone on its line
        Assert.Contains("https://hooks.slack.com/services/***REDACTED:webhook-url***", lines[7], StringComparison.Ordinal);
        Assert.EndsWith("(alg none)", lines[25], StringComparison.Ordinal);
    }

    [Fact]
    public void Redact_PgpAndPuttyPrivateKeys_LoseTheirBodiesAndKeepTheirPublicParts()
    {
        var (pgp, pgpCounts) = RedactionTestSupport.Redact(File.ReadAllBytes(Path.Combine(Corpus, "secrets", "release-signing.asc")), "release-signing.asc");
        var (ppk, ppkCounts) = RedactionTestSupport.Redact(File.ReadAllBytes(Path.Combine(Corpus, "secrets", "deploy.ppk")), "deploy.ppk");
        var pgpLines = Encoding.UTF8.GetString(pgp).TrimEnd('\n').Split('\n');
        var ppkLines = Encoding.UTF8.GetString(ppk).TrimEnd('\n').Split('\n');
        var original = File.ReadAllLines(Path.Combine(Corpus, "secrets", "deploy.ppk"));

        // Every line of the block but the blank one after the armour headers, BEGIN and END included.
        Assert.All(pgpLines.Where(l => l.Length > 0), l => Assert.Equal("***REDACTED:pem-private-key***", l));
        Assert.Equal(pgpLines.Count(l => l.Length > 0), pgpCounts["pem-private-key"]);
        Assert.Equal(original[..7], ppkLines[..7]); // the header and the public part
        Assert.Equal(["***REDACTED:putty-private-key***", "***REDACTED:putty-private-key***"], ppkLines[7..9]);
        Assert.Equal(original[9], ppkLines[9]); // Private-MAC
        Assert.Equal(2, ppkCounts["putty-private-key"]);
    }

    [Fact]
    public void Redact_PemBlock_BecomesOneMarkerPerLineAndTheNextLineSurvives()
    {
        var (output, counts) = RedactionTestSupport.Redact(File.ReadAllBytes(Path.Combine(Corpus, "secrets", "pem-in-log.log")), "pem-in-log.log");
        var lines = Encoding.UTF8.GetString(output).TrimEnd('\n').Split('\n');

        Assert.Equal("2025-11-20T10:00:00Z installer: writing key", lines[0]);
        Assert.All(lines[1..^1], l => Assert.Equal("2025-11-20T10:00:00Z ***REDACTED:pem-private-key***", l));
        Assert.Equal("2025-11-20T10:00:01Z installer: done", lines[^1]);
        Assert.Equal(lines.Length - 2, counts["pem-private-key"]);
    }

    public static TheoryData<string> LookalikeFiles()
        => [.. Directory.EnumerateFiles(Path.Combine(Corpus, "lookalikes")).Select(f => Path.GetFileName(f)!).Order(StringComparer.Ordinal)];

    [Theory]
    [MemberData(nameof(LookalikeFiles))]
    public void Redact_Lookalikes_SurviveByteForByte(string name)
    {
        var input = File.ReadAllBytes(Path.Combine(Corpus, "lookalikes", name));

        var (output, counts) = RedactionTestSupport.Redact(input, name);

        Assert.Empty(counts);
        Assert.Equal(Encoding.UTF8.GetString(input), Encoding.UTF8.GetString(output));
    }
}

internal static class RedactionTestSupport
{
    /// <summary>The text, and for JSON every string value decoded (escapes are not a hiding place).</summary>
    public static string Decoded(byte[] bytes, string name)
    {
        var text = Encoding.UTF8.GetString(bytes);
        if (!name.EndsWith(".json", StringComparison.Ordinal))
        {
            return text;
        }

        var strings = new StringBuilder(text);
        var reader = new Utf8JsonReader(bytes);
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.String)
            {
                strings.Append('\n').Append(reader.GetString());
            }
        }

        return strings.ToString();
    }

    /// <summary>Redacts as the agent does: JSON files value by value, other files as a stream of lines.</summary>
    public static (byte[] Output, Dictionary<string, long> Counts) Redact(byte[] input, string name, Redactor? redactor = null)
    {
        var lines = new LineRedactor(redactor ?? Redactor.Default);
        if (name.EndsWith(".json", StringComparison.Ordinal))
        {
            return (JsonRedaction.Redact(input, lines), lines.Counts);
        }

        using var output = new MemoryStream();
        using (var stream = new RedactingStream(output, lines, leaveOpen: true))
        {
            stream.Write(input);
        }

        return (output.ToArray(), lines.Counts);
    }
}
