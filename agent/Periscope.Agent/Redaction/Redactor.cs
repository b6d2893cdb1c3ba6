using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Periscope.Agent.Redaction;

/// <summary>
/// Replaces secrets in text with markers that name the rule (<c>***REDACTED:jwt***</c>). One instance serves one
/// bundle: with stable tokens on, a marker also carries a short HMAC of the secret under a random key that lives only
/// in this instance, so equal secrets get equal markers within the bundle and nobody can test guesses against them.
/// Lines are looked at through the rules' trigger literals first (one vectorised search for all of them); only a line
/// holding a trigger is run through the patterns of the rules it triggers. Thread-safe; per-file state (an open PEM
/// block, the counts) lives in <see cref="LineRedactor"/>.
/// </summary>
internal sealed class Redactor
{
    public const string MarkerPrefix = "***REDACTED:";
    private const string MarkerSuffix = "***";
    private readonly byte[]? _tokenKey;
    private readonly string[] _literals;
    private readonly bool _everyLine;

    public Redactor(IReadOnlyList<RedactionRule> rules, bool stableTokens = false, IReadOnlyList<string>? literals = null)
    {
        ArgumentNullException.ThrowIfNull(rules);
        Rules = rules;
        _literals = literals?.Where(l => l.Length >= 4).Distinct(StringComparer.Ordinal).OrderByDescending(l => l.Length).ToArray() ?? [];
        var triggers = rules.SelectMany(r => r.Triggers).Concat(_literals).Append("-----BEGIN").ToList();
        _everyLine = triggers.Any(string.IsNullOrEmpty); // a user rule without triggers is tried on every line
        Triggers = SearchValues.Create([.. triggers.Where(t => t.Length > 0).Distinct(StringComparer.OrdinalIgnoreCase)], StringComparison.OrdinalIgnoreCase);
        _tokenKey = stableTokens ? RandomNumberGenerator.GetBytes(32) : null;
    }

    /// <summary>The default rules, no stable tokens.</summary>
    public static Redactor Default { get; } = new(DefaultRedactionRules.All);

    public IReadOnlyList<RedactionRule> Rules { get; }

    /// <summary>Every rule's triggers, and every literal, for one search.</summary>
    public SearchValues<string> Triggers { get; }

    /// <summary>True when the text may hold a secret (holds a trigger).</summary>
    public bool MayHoldSecret(ReadOnlySpan<char> text) => _everyLine || text.IndexOfAny(Triggers) >= 0;

    /// <summary>Where the first trigger in <paramref name="text"/> is, or -1.</summary>
    public int MayHoldSecretAt(ReadOnlySpan<char> text) => _everyLine ? (text.IsEmpty ? -1 : 0) : text.IndexOfAny(Triggers);

    /// <summary>A fresh per-file state.</summary>
    public LineRedactor ForFile() => new(this);

    /// <summary>Redacts one line; <paramref name="counts"/> gains one per replacement, by rule.</summary>
    /// <returns>The line, or the same instance when nothing was replaced.</returns>
    internal string RedactLine(string line, Dictionary<string, long> counts)
    {
        if (!MayHoldSecret(line))
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

        foreach (var rule in Rules)
        {
            if (!Triggered(rule, line))
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

    private static bool Triggered(RedactionRule rule, string line)
    {
        foreach (var trigger in rule.Triggers)
        {
            if (line.Contains(trigger, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    private string Replace(RedactionRule rule, string line, Dictionary<string, long> counts)
    {
        StringBuilder? builder = null;
        var copied = 0;
        for (var match = rule.Pattern.Match(line); match.Success; match = match.NextMatch())
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

/// <summary>
/// Redaction state of one file: the counts by rule, and an open PEM private-key block. A block begun on one line is
/// redacted line by line — one marker per line, so line numbers stay true — while its lines look like a key's
/// (base64, or a <c>Proc-Type</c>/<c>DEK-Info</c> header, or blank), up to its END line or 512 lines.
/// </summary>
internal sealed partial class LineRedactor(Redactor redactor, Dictionary<string, long> counts)
{
    private const int MaxPemLines = 512;
    private int _pemLines = -1; // -1: not inside a block

    public LineRedactor(Redactor redactor)
        : this(redactor, new Dictionary<string, long>(StringComparer.Ordinal))
    {
    }

    /// <summary>Replacements made, by rule.</summary>
    public Dictionary<string, long> Counts { get; } = counts;

    /// <summary>True while a PEM block begun on an earlier line is open.</summary>
    public bool InsidePem => _pemLines >= 0;

    public Redactor Redactor => redactor;

    /// <summary>Redacts one line (without its newline).</summary>
    /// <returns>The line, or the same instance when nothing was replaced.</returns>
    public string Redact(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        if (_pemLines >= 0)
        {
            var end = PemEnd().Match(line);
            if (end.Success)
            {
                _pemLines = -1;
                var start = end.Index;
                while (start > 0 && IsBase64(line[start - 1]))
                {
                    start--;
                }

                Count();
                return line[..start] + redactor.Marker("pem-private-key", line.AsSpan(start, end.Index + end.Length - start))
                    + redactor.RedactLine(line[(end.Index + end.Length)..], Counts);
            }

            if (string.IsNullOrWhiteSpace(line))
            {
                return line;
            }

            if (++_pemLines <= MaxPemLines && PemBodyLine().Match(line) is { Success: true } body)
            {
                var secret = body.Groups["body"];
                Count();
                return line[..secret.Index] + redactor.Marker("pem-private-key", secret.ValueSpan);
            }

            _pemLines = -1; // not a key's line: the block was cut short; this line is judged on its own
        }

        var redacted = redactor.RedactLine(line, Counts);
        var begin = PemBegin().Match(redacted);
        if (begin.Success && !PemEnd().IsMatch(redacted, begin.Index))
        {
            _pemLines = 0;
            Count();
            return redacted[..begin.Index] + redactor.Marker("pem-private-key", redacted.AsSpan(begin.Index));
        }

        return redacted;
    }

    private void Count() => Counts["pem-private-key"] = Counts.GetValueOrDefault("pem-private-key") + 1;

    private static bool IsBase64(char c) => char.IsAsciiLetterOrDigit(c) || c is '+' or '/' or '=';

    [GeneratedRegex("-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----", RegexOptions.CultureInvariant)]
    private static partial Regex PemBegin();

    [GeneratedRegex("-----END [A-Z0-9 ]*PRIVATE KEY-----", RegexOptions.CultureInvariant)]
    private static partial Regex PemEnd();

    /// <summary>
    /// A line of a key's body: a run of base64 of 16 or more at the end of the line (after a log prefix), a short
    /// padded last run, a short run that is the whole line, or a PEM header.
    /// </summary>
    [GeneratedRegex("""((^|(?<=\s))(?<body>[A-Za-z0-9+/]{16,}={0,2}|[A-Za-z0-9+/]{1,15}={1,2}|Proc-Type:.*|DEK-Info:.*)|^\s*(?<body>[A-Za-z0-9+/]{1,15}))\s*$""", RegexOptions.CultureInvariant)]
    private static partial Regex PemBodyLine();
}
