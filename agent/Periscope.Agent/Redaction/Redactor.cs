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

    /// <summary>The header of a PuTTY key file's private part; its body follows on the next lines.</summary>
    internal const string PuttyPrivateLines = "Private-Lines:";
    private const string MarkerSuffix = "***";
    private readonly byte[]? _tokenKey;
    private readonly string[] _literals;
    private readonly bool _everyLine;

    public Redactor(IReadOnlyList<RedactionRule> rules, bool stableTokens = false, IReadOnlyList<string>? literals = null)
    {
        ArgumentNullException.ThrowIfNull(rules);
        Rules = rules;
        _literals = literals?.Where(l => l.Length >= 4).Distinct(StringComparer.Ordinal).OrderByDescending(l => l.Length).ToArray() ?? [];
        var triggers = rules.Where(r => !r.ExactTriggers).SelectMany(r => r.Triggers).Concat(_literals).Append("-----BEGIN").Append(PuttyPrivateLines).ToList();
        _everyLine = triggers.Any(string.IsNullOrEmpty); // a user rule without triggers is tried on every line
        Triggers = SearchValues.Create([.. triggers.Where(t => t.Length > 0).Distinct(StringComparer.OrdinalIgnoreCase)], StringComparison.OrdinalIgnoreCase);
        // Token prefixes are searched apart, case for case: one set of both would put more literals in each of the
        // vectorised search's buckets, and every false candidate costs a comparison (measured: 4.5 times slower).
        // Single characters among them (a token's separator) get a character search of their own.
        var exact = rules.Where(r => r.ExactTriggers).SelectMany(r => r.Triggers).Where(t => t.Length > 0).Distinct(StringComparer.Ordinal).ToArray();
        ExactTriggers = exact.Any(t => t.Length > 1) ? SearchValues.Create([.. exact.Where(t => t.Length > 1)], StringComparison.Ordinal) : null;
        ExactCharacters = exact.Any(t => t.Length == 1) ? SearchValues.Create(string.Concat(exact.Where(t => t.Length == 1))) : null;
        _tokenKey = stableTokens ? RandomNumberGenerator.GetBytes(32) : null;
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
            return RedactSegment(line, counts);
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

    private string RedactSegment(string line, Dictionary<string, long> counts)
    {
        if (line.Length == 0 || !MayHoldSecret(line))
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
/// Redaction state of one file: the counts by rule, and an open PEM or PGP private-key block. A block begun on one
/// line is redacted line by line — one marker per line, so line numbers stay true — while its lines look like a key's
/// (base64, a <c>Proc-Type</c>/<c>DEK-Info</c> header, a PGP armour header or checksum, or blank), up to its END line
/// or 512 lines. A PuTTY key file's private part (<c>Private-Lines: N</c>) has its next N lines (at most 128) redacted.
/// </summary>
internal sealed partial class LineRedactor(Redactor redactor, Dictionary<string, long> counts)
{
    private const int MaxPemLines = 512;
    private const int MaxPuttyLines = 128;
    private int _pemLines = -1; // -1: not inside a block
    private int _puttyLines; // lines of a PuTTY private part still to come
    private bool _secretNameLine; // the previous line was "name: SOME_PASSWORD"

    public LineRedactor(Redactor redactor)
        : this(redactor, new Dictionary<string, long>(StringComparer.Ordinal))
    {
    }

    /// <summary>Replacements made, by rule.</summary>
    public Dictionary<string, long> Counts { get; } = counts;

    /// <summary>True while a PEM block begun on an earlier line is open.</summary>
    public bool InsidePem => _pemLines >= 0;

    /// <summary>True when the next line must be looked at whatever it holds: a PEM block is open, or an env name waits for its value.</summary>
    public bool NeedsNextLine => _pemLines >= 0 || _secretNameLine || _puttyLines > 0;

    public Redactor Redactor => redactor;

    /// <summary>Redacts one line (without its newline).</summary>
    /// <returns>The line, or the same instance when nothing was replaced.</returns>
    public string Redact(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        if (_puttyLines > 0)
        {
            _puttyLines--;
            if (PuttyBodyLine().Match(line) is { Success: true } putty)
            {
                Counts["putty-private-key"] = Counts.GetValueOrDefault("putty-private-key") + 1;
                return line[..putty.Index] + redactor.Marker("putty-private-key", putty.ValueSpan);
            }

            _puttyLines = 0; // not a key's line: the part was cut short
        }

        if (line.Contains(Redactor.PuttyPrivateLines, StringComparison.Ordinal) && PuttyHeader().Match(line) is { Success: true } header)
        {
            _puttyLines = Math.Min(int.Parse(header.Groups["lines"].ValueSpan, System.Globalization.CultureInfo.InvariantCulture), MaxPuttyLines);
            return redactor.RedactLine(line, Counts);
        }

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
                return RedactPrefix(line[..start]) + redactor.Marker("pem-private-key", line.AsSpan(start, end.Index + end.Length - start))
                    + Redact(line[(end.Index + end.Length)..]); // the block is closed: the rest is an ordinary line
            }

            if (string.IsNullOrWhiteSpace(line))
            {
                return line;
            }

            if (++_pemLines <= MaxPemLines && PemBodyLine().Match(line) is { Success: true } body)
            {
                var secret = body.Groups["body"];
                Count();
                return RedactPrefix(line[..secret.Index]) + redactor.Marker("pem-private-key", secret.ValueSpan);
            }

            _pemLines = -1; // not a key's line: the block was cut short; this line is judged on its own
        }

        var begin = line.Contains("-----BEGIN", StringComparison.Ordinal) ? PemBegin().Match(line) : Match.Empty;
        if (begin.Success && !PemEnd().IsMatch(line, begin.Index))
        {
            _pemLines = 0;
            Count();
            return redactor.RedactLine(line[..begin.Index], Counts) + redactor.Marker("pem-private-key", line.AsSpan(begin.Index));
        }

        // A YAML env entry names the variable on one line and gives its value on the next.
        if (_secretNameLine && line.Contains("value:", StringComparison.Ordinal) && SecretValueLine().Match(line) is { Success: true } value)
        {
            _secretNameLine = false;
            var secret = value.Groups["secret"];
            Counts["secret-env"] = Counts.GetValueOrDefault("secret-env") + 1;
            return line[..secret.Index] + redactor.Marker("secret-env", secret.ValueSpan) + line[(secret.Index + secret.Length)..];
        }

        _secretNameLine = line.Contains("name:", StringComparison.Ordinal)
            && SecretNameLine().Match(line) is { Success: true } name && DefaultRedactionRules.SecretName().IsMatch(name.Groups["name"].Value);
        return redactor.RedactLine(line, Counts);
    }

    private void Count() => Counts["pem-private-key"] = Counts.GetValueOrDefault("pem-private-key") + 1;

    /// <summary>What comes before a key's line inside an open block: redacted as text; a key beginning in it runs to its end.</summary>
    private string RedactPrefix(string prefix)
    {
        var begin = PemBegin().Match(prefix);
        if (!begin.Success)
        {
            return redactor.RedactLine(prefix, Counts);
        }

        Count();
        return redactor.RedactLine(prefix[..begin.Index], Counts) + redactor.Marker("pem-private-key", prefix.AsSpan(begin.Index));
    }

    private static bool IsBase64(char c) => char.IsAsciiLetterOrDigit(c) || c is '+' or '/' or '=';

    [GeneratedRegex("""^\s*(-\s+)?name:\s*["']?(?<name>[A-Za-z0-9_]+)["']?\s*$""", RegexOptions.CultureInvariant)]
    private static partial Regex SecretNameLine();

    [GeneratedRegex("""^\s*value:\s*["']?(?<secret>(?!\*\*\*REDACTED)[^"'\s][^"']*?)["']?\s*$""", RegexOptions.CultureInvariant)]
    private static partial Regex SecretValueLine();

    [GeneratedRegex("-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----", RegexOptions.CultureInvariant)]
    private static partial Regex PemBegin();

    [GeneratedRegex("-----END [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----", RegexOptions.CultureInvariant)]
    private static partial Regex PemEnd();

    [GeneratedRegex("""^\s*Private-Lines:\s*(?<lines>[0-9]{1,4})\s*$""", RegexOptions.CultureInvariant)]
    private static partial Regex PuttyHeader();

    [GeneratedRegex("""(?<=^|\s)[A-Za-z0-9+/]{4,}={0,2}\s*$""", RegexOptions.CultureInvariant)]
    private static partial Regex PuttyBodyLine();

    /// <summary>
    /// A line of a key's body: a run of base64 of 16 or more at the end of the line (after a log prefix), a short
    /// padded last run, a short run that is the whole line, a PEM header, a PGP armour header or its checksum line.
    /// </summary>
    [GeneratedRegex("""((^|(?<=\s))(?<body>[A-Za-z0-9+/]{16,}={0,2}|[A-Za-z0-9+/]{1,15}={1,2}|=[A-Za-z0-9+/]{4}|Proc-Type:.*|DEK-Info:.*|(Version|Comment|Hash|Charset|MessageID):.*)|^\s*(?<body>[A-Za-z0-9+/]{1,15}))\s*$""", RegexOptions.CultureInvariant)]
    private static partial Regex PemBodyLine();
}
