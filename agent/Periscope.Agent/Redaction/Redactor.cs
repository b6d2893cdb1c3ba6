using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Periscope.Agent.Collection;

namespace Periscope.Agent.Redaction;

/// <summary>
/// Replaces secrets in text with markers that name the rule (<c>***REDACTED:jwt***</c>). One instance serves one
/// bundle: with stable tokens on, a marker also carries a short HMAC of the secret under a random key that lives only
/// in this instance, so equal secrets get equal markers within the bundle and nobody can test guesses against them.
/// Lines are looked at through the rules' trigger literals first (one vectorised search for all of them); only a line
/// holding a trigger is run through the patterns of the rules it triggers. Thread-safe; per-file state (an open PEM
/// block, the counts) lives in <see cref="LineRedactor"/>.
/// </summary>
internal sealed class Redactor : IEvidenceRedaction
{
    public const string MarkerPrefix = "***REDACTED:";

    /// <summary>The header of a PuTTY key file's private part; its body follows on the next lines.</summary>
    internal const string PuttyPrivateLines = "Private-Lines:";

    /// <summary>Opens a Kubernetes Secret's data block (<c>data:</c>, <c>stringData:</c>), whose entries hold no key name.</summary>
    internal const string DataBlockTrigger = "data";
    private const string MarkerSuffix = "***";
    private readonly byte[]? _tokenKey;
    private readonly string[] _literals;
    private readonly bool _everyLine;

    public Redactor(IReadOnlyList<RedactionRule> rules, bool stableTokens = false, IReadOnlyList<string>? literals = null)
    {
        ArgumentNullException.ThrowIfNull(rules);
        Rules = rules;
        _literals = literals?.Where(l => l.Length >= 4).Distinct(StringComparer.Ordinal).OrderByDescending(l => l.Length).ToArray() ?? [];
        var triggers = rules.Where(r => !r.ExactTriggers).SelectMany(r => r.Triggers).Concat(_literals).Append("-----BEGIN").Append(PuttyPrivateLines).Append(DataBlockTrigger).ToList();
        _everyLine = triggers.Any(string.IsNullOrEmpty); // a user rule without triggers is tried on every line
        Triggers = SearchValues.Create(Minimal(triggers, StringComparison.OrdinalIgnoreCase), StringComparison.OrdinalIgnoreCase);
        // Token prefixes are searched apart, case for case: one set of both would put more literals in each of the
        // vectorised search's buckets, and every false candidate costs a comparison (measured: 4.5 times slower).
        // Single characters among them (a token's separator) get a character search of their own.
        // A literal holding one of those characters is found by the character search already.
        var exact = rules.Where(r => r.ExactTriggers).SelectMany(r => r.Triggers).Where(t => t.Length > 0).Distinct(StringComparer.Ordinal).ToArray();
        var characters = string.Concat(exact.Where(t => t.Length == 1));
        var prefixes = exact.Where(t => t.Length > 1 && t.AsSpan().IndexOfAny(characters) < 0).ToArray();
        ExactTriggers = prefixes.Length > 0 ? SearchValues.Create(Minimal(prefixes, StringComparison.Ordinal), StringComparison.Ordinal) : null;
        ExactCharacters = characters.Length > 0 ? SearchValues.Create(characters) : null;
        _tokenKey = stableTokens ? RandomNumberGenerator.GetBytes(32) : null;
    }

    /// <summary>
    /// The literals a line must hold one of, without those that hold another (<c>AccountKey</c> holds <c>key</c>): a
    /// line with the longer holds the shorter, so the search finds it all the same, and fewer literals keep the
    /// vectorised search's buckets light. Each rule still checks its own triggers.
    /// </summary>
    private static string[] Minimal(IEnumerable<string> triggers, StringComparison comparison)
    {
        var distinct = triggers.Where(t => t.Length > 0).Distinct(StringComparer.FromComparison(comparison)).ToList();
        return [.. distinct.Where(t => !distinct.Any(o => o.Length < t.Length && t.Contains(o, comparison)))];
    }

    /// <summary>The default rules, no stable tokens.</summary>
    public static Redactor Default { get; } = new(DefaultRedactionRules.All);

    public IReadOnlyList<RedactionRule> Rules { get; }

    /// <summary>Every case-insensitive trigger (the key vocabulary, structures), and every literal, for one search.</summary>
    public SearchValues<string> Triggers { get; }

    /// <summary>The token prefixes, matched case for case, for a second search; null without such rules.</summary>
    public SearchValues<string>? ExactTriggers { get; }

    /// <summary>Single-character token triggers (<c>~</c>), for a third, character search; null without any.</summary>
    public SearchValues<char>? ExactCharacters { get; }

    /// <summary>True when the text may hold a secret (holds a trigger).</summary>
    public bool MayHoldSecret(ReadOnlySpan<char> text) => MayHoldSecretAt(text) >= 0;

    /// <summary>Where the first trigger in <paramref name="text"/> is, or -1.</summary>
    public int MayHoldSecretAt(ReadOnlySpan<char> text)
    {
        if (_everyLine)
        {
            return text.IsEmpty ? -1 : 0;
        }

        var first = text.IndexOfAny(Triggers);
        var scope = first < 0 ? text : text[..first];
        if (ExactTriggers is not null && scope.IndexOfAny(ExactTriggers) is >= 0 and var token)
        {
            first = token;
            scope = scope[..token];
        }

        if (ExactCharacters is not null && scope.IndexOfAny(ExactCharacters) is >= 0 and var character)
        {
            first = character;
        }

        return first;
    }

    /// <summary>True when <paramref name="line"/> holds a token trigger (a prefix or a token's character).</summary>
    private bool MayHoldToken(ReadOnlySpan<char> line)
        => (ExactTriggers is not null && line.IndexOfAny(ExactTriggers) >= 0) || (ExactCharacters is not null && line.IndexOfAny(ExactCharacters) >= 0);

    /// <summary>A fresh per-file state.</summary>
    public LineRedactor ForFile() => new(this);

    /// <inheritdoc/>
    public Stream RedactText(Stream destination, Dictionary<string, long> counts) => new RedactingStream(destination, new LineRedactor(this, counts));

    /// <inheritdoc/>
    public byte[] RedactJson(byte[] json, Dictionary<string, long> counts) => JsonRedaction.Redact(json, new LineRedactor(this, counts));

    /// <summary>Redacts one line; <paramref name="counts"/> gains one per replacement, by rule.</summary>
    /// <returns>The line, or the same instance when nothing was replaced.</returns>
    internal string RedactLine(string line, Dictionary<string, long> counts)
    {
        // One rule's marker can complete another rule's match (or remove what kept it from matching): repeat to a
        // fixed point, so that redacting a redacted line changes nothing.
        var result = line;
        for (var pass = 0; pass < 4; pass++)
        {
            var next = RedactOnce(result, counts);
            if (ReferenceEquals(next, result))
            {
                break;
            }

            result = next;
        }

        return result;
    }

    /// <summary>One pass of every rule. Markers already in the line are boundaries no match may cross.</summary>
    private string RedactOnce(string line, Dictionary<string, long> counts)
    {
        if (!MayHoldSecret(line))
        {
            return line;
        }

        if (!line.Contains(MarkerPrefix, StringComparison.Ordinal))
        {
            return RedactSegment(line, counts, triggered: true);
        }

        StringBuilder? builder = null;
        var position = 0;
        while (position <= line.Length)
        {
            var marker = line.IndexOf(MarkerPrefix, position, StringComparison.Ordinal);
            var segmentEnd = marker < 0 ? line.Length : marker;
            var close = marker < 0 ? -1 : line.IndexOf(MarkerSuffix, marker + MarkerPrefix.Length, StringComparison.Ordinal);
            var after = marker < 0 ? line.Length : close < 0 ? line.Length : close + MarkerSuffix.Length;
            var segment = line[position..segmentEnd];
            var redacted = RedactSegment(segment, counts);
            if (!ReferenceEquals(redacted, segment) && builder is null)
            {
                builder = new StringBuilder(line.Length + 32).Append(line, 0, position);
            }

            builder?.Append(redacted).Append(line, segmentEnd, after - segmentEnd);
            if (marker < 0)
            {
                break;
            }

            position = after;
        }

        return builder?.ToString() ?? line;
    }

    private string RedactSegment(string line, Dictionary<string, long> counts, bool triggered = false)
    {
        if (line.Length == 0 || (!triggered && !MayHoldSecret(line)))
        {
            return line;
        }

        foreach (var literal in _literals)
        {
            if (line.Contains(literal, StringComparison.Ordinal))
            {
                var occurrences = Count(line, literal);
                line = line.Replace(literal, Marker("literal", literal), StringComparison.Ordinal);
                counts["literal"] = counts.GetValueOrDefault("literal") + occurrences;
            }
        }

        // Most lines that reach here were sent by a key name, not a token prefix: one search rules out every token rule.
        var mayHoldToken = MayHoldToken(line);
        foreach (var rule in Rules)
        {
            if ((rule.ExactTriggers && !mayHoldToken) || !rule.IsTriggeredBy(line))
            {
                continue;
            }

            try
            {
                line = Replace(rule, line, counts);
            }
            catch (RegexMatchTimeoutException)
            {
                // A line this rule cannot decide on in time is withheld whole: losing one line beats leaking a secret.
                counts[rule.Name] = counts.GetValueOrDefault(rule.Name) + 1;
                return Marker(rule.Name, line);
            }
        }

        return line;
    }

    /// <summary>The marker for <paramref name="secret"/> under <paramref name="rule"/>.</summary>
    public string Marker(string rule, ReadOnlySpan<char> secret)
    {
        if (_tokenKey is null)
        {
            return MarkerPrefix + rule + MarkerSuffix;
        }

        Span<byte> hash = stackalloc byte[32];
        var bytes = Encoding.UTF8.GetBytes(secret.ToArray());
        HMACSHA256.HashData(_tokenKey, bytes, hash);
        return $"{MarkerPrefix}{rule}:{Convert.ToHexStringLower(hash[..4])}{MarkerSuffix}";
    }

    private string Replace(RedactionRule rule, string line, Dictionary<string, long> counts)
    {
        if (rule.Finder is not null)
        {
            return ReplaceFound(rule.Finder, line, counts);
        }

        StringBuilder? builder = null;
        var copied = 0;
        for (var match = rule.Pattern!.Match(line); match.Success; match = match.NextMatch())
        {
            var secret = RedactionRule.SecretOf(match);
            if (secret.Length == 0 || line.AsSpan(secret.Index).StartsWith(MarkerPrefix, StringComparison.Ordinal))
            {
                continue;
            }

            builder ??= new StringBuilder(line.Length + 32);
            builder.Append(line, copied, secret.Index - copied).Append(Marker(rule.Name, secret.ValueSpan));
            copied = secret.Index + secret.Length;
            counts[rule.Name] = counts.GetValueOrDefault(rule.Name) + 1;
        }

        return builder is null ? line : builder.Append(line, copied, line.Length - copied).ToString();
    }

    private string ReplaceFound(Action<string, List<SecretSpan>> finder, string line, Dictionary<string, long> counts)
    {
        var found = new List<SecretSpan>();
        finder(line, found);
        if (found.Count == 0)
        {
            return line;
        }

        var builder = new StringBuilder(line.Length + 32);
        var copied = 0;
        foreach (var secret in found)
        {
            if (secret.Index < copied || secret.Length == 0)
            {
                continue; // overlaps one already replaced
            }

            builder.Append(line, copied, secret.Index - copied).Append(Marker(secret.Rule, line.AsSpan(secret.Index, secret.Length)));
            copied = secret.Index + secret.Length;
            counts[secret.Rule] = counts.GetValueOrDefault(secret.Rule) + 1;
        }

        return builder.Append(line, copied, line.Length - copied).ToString();
    }

    private static int Count(string text, string literal)
    {
        var count = 0;
        for (var i = text.IndexOf(literal, StringComparison.Ordinal); i >= 0; i = text.IndexOf(literal, i + literal.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}

