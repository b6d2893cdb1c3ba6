using System.Diagnostics;
using System.Text;
using Periscope.Agent.Redaction;
using Xunit;

namespace Periscope.Agent.Tests.Redaction;

/// <summary>
/// Properties that hold for any input, checked on seeded random and adversarial text: line counts are kept, lines
/// grow by a bounded factor, a UTF-8 sequence is never split, redacting twice changes nothing, and nothing hangs.
/// </summary>
public sealed class RedactionPropertyTests
{
    private static readonly string[] Fragments =
    [
        "password=", "pwd: ", "token=", "Authorization: Bearer ", "authorization: basic ", "eyJhbGciOiJIUzI1NiJ9.", "eyJzdWIiOiIxIn0.",
        "-----BEGIN RSA PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----", "-----BEGIN ", "PRIVATE KEY", "MIIEowIBAAKCAQEA", "sig=",
        "?sv=2022&sig=", "https://a.blob.core.windows.net/c?", "AccountKey=", "postgres://u:p@h", "://", "AKIA", "DB_PASSWORD=", "\"key\":\"API_TOKEN\",\"value\":\"",
        "name: DB_PASSWORD", "value: ", "***REDACTED:jwt***", "é", "漢字", "\U0001F600", "\"", "\\", " ", "\t", "=", ":", "&", ";", ",", "\r", "\n",
    ];

    [Fact]
    public void Redact_RandomMixes_KeepLinesBoundGrowthAndAreIdempotent()
    {
        var random = new Random(20261123);
        for (var i = 0; i < 2000; i++)
        {
            var text = RandomText(random, random.Next(0, 400));
            var input = Encoding.UTF8.GetBytes(text);

            var (once, _) = RedactionTestSupport.Redact(input, "x.log");
            var (twice, counts) = RedactionTestSupport.Redact(once, "x.log");

            Assert.Equal(input.Count(b => b == '\n'), once.Count(b => b == '\n'));
            Assert.True(once.Length <= (input.Length * 6) + 64, $"grew from {input.Length} to {once.Length}: {text}");
            Assert.Equal(Encoding.UTF8.GetString(once), Encoding.UTF8.GetString(once.AsSpan())); // valid where the input was
            Assert.True(Encoding.UTF8.GetString(once) == Encoding.UTF8.GetString(twice),
                $"not idempotent ({string.Join(",", counts.Keys)}):\nIN {Escape(text)}\nONCE {Escape(Encoding.UTF8.GetString(once))}\nTWICE {Escape(Encoding.UTF8.GetString(twice))}");
        }
    }

    [Fact]
    public void Redact_InvalidUtf8WithoutSecrets_IsWrittenBackByteForByte()
    {
        var input = new byte[] { 0x66, 0x6F, 0xC3, 0x0A, 0xFF, 0xFE, 0x20, 0x6F, 0x6B, 0x0A, 0xE6, 0xBC, 0xA2, 0x0A };

        var (output, _) = RedactionTestSupport.Redact(input, "x.log");

        Assert.Equal(input, output);
    }

    [Fact]
    public void Redact_LongLineWithoutNewlines_IsCutAtDelimitersNeverInsideACharacter()
    {
        // 5 MiB, one line: multi-byte characters and secrets scattered through it.
        var builder = new StringBuilder();
        var random = new Random(7);
        while (builder.Length < 5 * 1024 * 1024)
        {
            builder.Append(random.Next(10) switch
            {
                0 => "password=hunter2hunter2 ",
                1 => "漢字漢字",
                2 => "\U0001F600",
                _ => "lorem ipsum dolor ",
            });
        }

        var input = Encoding.UTF8.GetBytes(builder.ToString());
        var (output, counts) = RedactionTestSupport.Redact(input, "x.log");

        var text = new UTF8Encoding(false, true).GetString(output); // throws on a split sequence
        Assert.DoesNotContain("hunter2", text, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', text);
        Assert.True(counts["password"] > 1000);
    }

    [Fact]
    public void Redact_AdversarialInputs_FinishQuickly()
    {
        var inputs = new[]
        {
            new string('a', 2 * 1024 * 1024),
            string.Concat(Enumerable.Repeat("-----BEGIN ", 200_000)),
            "-----BEGIN RSA PRIVATE KEY-----\n" + string.Concat(Enumerable.Repeat(new string('A', 64) + "\n", 5000)),
            string.Concat(Enumerable.Repeat("password=", 300_000)),
            "https://" + string.Concat(Enumerable.Repeat("a:", 400_000)),
            string.Concat(Enumerable.Repeat("eyJ", 500_000)),
            "token=" + new string('"', 1_000_000),
            string.Concat(Enumerable.Repeat("\"key\":\"A_TOKEN\",\"value\":\"\\", 100_000)),
            string.Concat(Enumerable.Repeat("a_token=\"x\" ", 200_000)), // many keys on one line: no search back per key
            new string(' ', 500_000) + string.Concat(Enumerable.Repeat("secret: v, ", 100_000)),
            string.Concat(Enumerable.Repeat("\\\"password\\\":\\\"", 100_000)),
            "data:\n" + string.Concat(Enumerable.Repeat("  k: dmFsdWU=\n", 100_000)),
        };
        foreach (var input in inputs)
        {
            var stopwatch = Stopwatch.StartNew();
            var (output, _) = RedactionTestSupport.Redact(Encoding.UTF8.GetBytes(input), "x.log");
            Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(20), $"{stopwatch.Elapsed} for {input[..20]}");
            Assert.Equal(input.Count(c => c == '\n'), output.Count(b => b == '\n'));
        }
    }

    [Fact]
    public void Fuzz_RandomBytes_NeverThrowAndKeepLines()
    {
        // Seeded and time-bounded: the same inputs on every machine, at most a few seconds.
        var random = new Random(424242);
        var stopwatch = Stopwatch.StartNew();
        var runs = 0;
        while (stopwatch.Elapsed < TimeSpan.FromSeconds(3) && runs < 20_000)
        {
            var input = new byte[random.Next(0, 4096)];
            random.NextBytes(input);
            var fragment = Encoding.UTF8.GetBytes(Fragments[random.Next(Fragments.Length)]);
            if (random.Next(2) == 0 && input.Length >= fragment.Length)
            {
                fragment.CopyTo(input.AsSpan(random.Next(input.Length - fragment.Length + 1)));
            }

            var (output, _) = RedactionTestSupport.Redact(input, "x.log");
            Assert.Equal(input.Count(b => b == '\n'), output.Count(b => b == '\n'));
            runs++;
        }

        Assert.True(runs > 100);
    }

    [Fact]
    public void StableTokens_SameSecretSameMarkerWithinABundle_DifferentAcrossBundles()
    {
        var first = new Redactor(DefaultRedactionRules.All, stableTokens: true);
        var second = new Redactor(DefaultRedactionRules.All, stableTokens: true);
        var line = "password=hunter2hunter2 and later password=hunter2hunter2 but pwd=other-value";

        var a = first.ForFile().Redact(line);
        var b = second.ForFile().Redact(line);

        var markers = System.Text.RegularExpressions.Regex.Matches(a, @"\*\*\*REDACTED:password:[0-9a-f]{8}\*\*\*").Select(m => m.Value).ToList();
        Assert.Equal(3, markers.Count);
        Assert.Equal(markers[0], markers[1]);
        Assert.NotEqual(markers[0], markers[2]);
        Assert.NotEqual(a, b); // another bundle, another key
        Assert.DoesNotContain("hunter2", a, StringComparison.Ordinal);
    }

    private static string Escape(string text) => text.Replace("\r", "\\r", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private static string RandomText(Random random, int parts)
    {
        var builder = new StringBuilder();
        for (var i = 0; i < parts; i++)
        {
            builder.Append(random.Next(3) == 0
                ? Fragments[random.Next(Fragments.Length)]
                : new string((char)random.Next('0', 'z'), random.Next(1, 30)));
        }

        return builder.ToString();
    }
}
