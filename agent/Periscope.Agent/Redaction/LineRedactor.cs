using System.Text.RegularExpressions;

namespace Periscope.Agent.Redaction;

/// <summary>
/// Redaction state of one file: the counts by rule, and the multi-line forms, each with a stated, bounded reach:
/// <list type="bullet">
/// <item>a PEM or PGP private-key block begun on one line is redacted line by line — one marker per line, so line
/// numbers stay true — while its lines look like a key's, to its END line or 512 lines;</item>
/// <item>a PuTTY key file's private part (<c>Private-Lines: N</c>): its next N lines, at most 128;</item>
/// <item>a name on one line and its value on the next (<c>- name: DB_PASSWORD</c> / <c>value: …</c>, the same in
/// pretty-printed JSON), a flag and its argument as list items (<c>- --token</c> / <c>- X</c>), an XML element whose
/// text is on the next line (<c>&lt;password&gt;</c> / <c>…</c>): one line ahead;</item>
/// <item>a YAML block scalar under a secret's name (<c>private-key: |</c>): its more-indented lines, at most 512;</item>
/// <item>a Kubernetes Secret's <c>data:</c> / <c>stringData:</c> block, YAML or pretty-printed JSON: every value while
/// the lines are more indented than the block's key, at most 4096 lines. <c>stringData</c>, or <c>data</c> in an
/// object already seen to be <c>kind: Secret</c>, loses every value; a <c>data</c> block whose kind is not known yet
/// (kubectl prints <c>data</c> before <c>kind</c>) loses every value that is base64, which a Secret's always are.</item>
/// </list>
/// </summary>
internal sealed partial class LineRedactor(Redactor redactor, Dictionary<string, long> counts)
{
    public const string SecretDataRule = "kubernetes-secret";
    private const string PemRule = "pem-private-key";
    private const string PuttyRule = "putty-private-key";
    private const int MaxPemLines = 512;
    private const int MaxPuttyLines = 128;
    private const int MaxBlockLines = 512;
    private const int MaxDataLines = 4096;

    private int _pemLines = -1; // -1: not inside a block
    private int _puttyLines; // lines of a PuTTY private part still to come
    private KeyClass _pendingPair; // the previous line named a secret variable: its value line may follow
    private KeyClass _pendingElement; // the previous line opened <password>: its text may follow
    private KeyClass _pendingFlag; // the previous line was a list item "--token": its argument may follow
    private int _blockIndent = -1; // a YAML block scalar under a secret's name: lines more indented than this
    private int _blockLines;
    private string _blockRule = SecretKeyNames.SecretRule;
    private KeyClass _blockKey; // the block's key, or none for a Secret's data value (every line goes)
    private int _dataIndent = -1; // a Secret's data block: entries more indented than this
    private int _dataLines;
    private bool _dataAll; // every value of the data block, not only base64
    private int _secretKindIndent = -1; // where "kind: Secret" was last seen

    public LineRedactor(Redactor redactor)
        : this(redactor, new Dictionary<string, long>(StringComparer.Ordinal))
    {
    }

    /// <summary>The rule names only this class counts under.</summary>
    public static IReadOnlyList<string> RuleNames { get; } = [PuttyRule, SecretDataRule];

    /// <summary>Replacements made, by rule.</summary>
    public Dictionary<string, long> Counts { get; } = counts;

    /// <summary>True while a PEM block begun on an earlier line is open.</summary>
    public bool InsidePem => _pemLines >= 0;

    /// <summary>True when the next line must be looked at whatever it holds: a multi-line form is open or pending.</summary>
    public bool NeedsNextLine => _pemLines >= 0 || _puttyLines > 0 || _pendingPair.IsSecret || _pendingElement.IsSecret
        || _pendingFlag.IsSecret || _blockIndent >= 0 || _dataIndent >= 0;

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
                Count(PuttyRule);
                return line[..putty.Index] + redactor.Marker(PuttyRule, putty.ValueSpan);
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

                Count(PemRule);
                return RedactPrefix(line[..start]) + redactor.Marker(PemRule, line.AsSpan(start, end.Index + end.Length - start))
                    + Redact(line[(end.Index + end.Length)..]); // the block is closed: the rest is an ordinary line
            }

            if (string.IsNullOrWhiteSpace(line))
            {
                return line;
            }

            if (++_pemLines <= MaxPemLines && PemBodyLine().Match(line) is { Success: true } body)
            {
                var secret = body.Groups["body"];
                Count(PemRule);
                return RedactPrefix(line[..secret.Index]) + redactor.Marker(PemRule, secret.ValueSpan);
            }

            _pemLines = -1; // not a key's line: the block was cut short; this line is judged on its own
        }

        var begin = line.Contains("-----BEGIN", StringComparison.Ordinal) ? PemBegin().Match(line) : Match.Empty;
        if (begin.Success && !PemEnd().IsMatch(line, begin.Index))
        {
            _pemLines = 0;
            Count(PemRule);
            return redactor.RedactLine(line[..begin.Index], Counts) + redactor.Marker(PemRule, line.AsSpan(begin.Index));
        }

        if (_blockIndent >= 0 || _dataIndent >= 0)
        {
            if (TryBlockLine(line) is { } inBlock)
            {
                return inBlock;
            }
        }

        if (_pendingPair.IsSecret || _pendingElement.IsSecret || _pendingFlag.IsSecret)
        {
            var pair = _pendingPair;
            var element = _pendingElement;
            var flag = _pendingFlag;
            _pendingPair = _pendingElement = _pendingFlag = KeyClass.None;
            if (NextLineValue(line, pair, element, flag) is { } redacted)
            {
                return redacted;
            }
        }

        Observe(line);
        return redactor.RedactLine(line, Counts);
    }

    /// <summary>A line inside a block scalar or a Secret's data block; null when the line ends the block.</summary>
    private string? TryBlockLine(string line)
    {
        if (string.IsNullOrWhiteSpace(line))
        {
            return line;
        }

        var indent = Indentation(line);
        if (_blockIndent >= 0)
        {
            if (indent > _blockIndent && ++_blockLines <= MaxBlockLines)
            {
                return RedactWhole(line, indent, _blockRule, _blockKey);
            }

            _blockIndent = -1;
        }

        if (_dataIndent < 0)
        {
            return null;
        }

        if (indent <= _dataIndent || ++_dataLines > MaxDataLines)
        {
            _dataIndent = -1;
            return null;
        }

        var entry = DataEntry().Match(line);
        if (!entry.Success)
        {
            return redactor.RedactLine(line, Counts);
        }

        var value = entry.Groups["value"];
        var text = value.ValueSpan.Trim();
        if (text.Length > 0 && text[0] is '|' or '>' && !text[1..].ContainsAnyExcept(CharSets.BlockIndicator))
        {
            _blockIndent = indent; // a multi-line value: its lines follow, more indented
            _blockLines = 0;
            _blockRule = SecretDataRule;
            _blockKey = KeyClass.None;
            return line;
        }

        var quoted = value.Length >= 2 && line[value.Index] is '"' or '\'' && line[value.Index + value.Length - 1] == line[value.Index];
        var secretStart = quoted ? value.Index + 1 : value.Index;
        var secretLength = quoted ? value.Length - 2 : value.Length;
        var secret = line.AsSpan(secretStart, secretLength);
        if (secretLength == 0 || secret.StartsWith(Redactor.MarkerPrefix, StringComparison.Ordinal) || secret is "{" or "[" || !(_dataAll || SecretValues.LooksBase64(secret)))
        {
            return redactor.RedactLine(line, Counts);
        }

        Count(SecretDataRule);
        return redactor.RedactLine(line[..secretStart], Counts) + redactor.Marker(SecretDataRule, secret) + line[(secretStart + secretLength)..];
    }

    /// <summary>The line after a name, an opened element or a flag: its value, when it is one.</summary>
    private string? NextLineValue(string line, KeyClass pair, KeyClass element, KeyClass flag)
    {
        if (pair.IsSecret && ValueLine().Match(line) is { Success: true } valueLine
            && KeyValueRecognizer.TryValueAt(line, valueLine.Length, pair with { Rule = KeyValueRecognizer.PairRule }, out var value))
        {
            return Replace(line, value);
        }

        if (element.IsSecret && ElementText().Match(line) is { Success: true } text && SecretValues.IsSecret(text.Groups["text"].ValueSpan, element))
        {
            var group = text.Groups["text"];
            return Replace(line, new SecretSpan(group.Index, group.Length, element.Rule));
        }

        if (flag.IsSecret && ListItem().Match(line) is { Success: true } item && SecretValues.IsSecret(item.Groups["item"].ValueSpan, flag))
        {
            var group = item.Groups["item"];
            return Replace(line, new SecretSpan(group.Index, group.Length, flag.Rule));
        }

        return null;
    }

    /// <summary>Notes what this line opens for the lines after it.</summary>
    private void Observe(string line)
    {
        var trimmed = line.AsSpan().TrimEnd();
        if (trimmed.IsEmpty)
        {
            return;
        }

        // Every form below is named by a key of the vocabulary, or is a data block or a Secret's kind.
        var named = KeyValueRecognizer.MayHoldKey(trimmed);
        var last = trimmed[^1];
        if (last is '|' or '>' or '-' or '+' or '{' or ':' or '"' or '\'' or ',' || char.IsAsciiLetterOrDigit(last))
        {
            if ((line.Contains("data", StringComparison.Ordinal) || line.Contains("Data", StringComparison.Ordinal)) && DataLine().Match(line) is { Success: true } data)
            {
                var indent = Indentation(line) + data.Groups["dash"].Length;
                _dataIndent = indent;
                _dataLines = 0;
                _dataAll = data.Groups["key"].ValueSpan.Equals("stringData", StringComparison.Ordinal) || _secretKindIndent == indent;
                return;
            }

            if (line.Contains("Secret", StringComparison.Ordinal) && KindLine().Match(line) is { Success: true } kind)
            {
                _secretKindIndent = Indentation(line) + kind.Groups["dash"].Length;
                return;
            }

            if (!named)
            {
                return;
            }

            if (BlockScalar().Match(line) is { Success: true } block && SecretKeyNames.Classify(block.Groups["key"].ValueSpan) is { Strength: >= KeyStrength.Medium } blockKey)
            {
                _blockIndent = Indentation(line) + block.Groups["dash"].Length;
                _blockLines = 0;
                _blockRule = blockKey.Rule;
                _blockKey = blockKey with { Strength = KeyStrength.Strong };
                return;
            }

            if (NameLine().Match(line) is { Success: true } name)
            {
                _pendingPair = SecretKeyNames.Classify(name.Groups["name"].ValueSpan);
                return;
            }

            if (FlagItem().Match(line) is { Success: true } flag)
            {
                _pendingFlag = SecretKeyNames.Classify(flag.Groups["flag"].ValueSpan);
                return;
            }
        }

        if (named && last == '>' && OpenElement().Match(line) is { Success: true } element)
        {
            _pendingElement = SecretKeyNames.Classify(element.Groups["name"].ValueSpan);
        }
    }

    private string Replace(string line, SecretSpan secret)
    {
        Count(secret.Rule);
        return redactor.RedactLine(line[..secret.Index], Counts) + redactor.Marker(secret.Rule, line.AsSpan(secret.Index, secret.Length))
            + redactor.RedactLine(line[(secret.Index + secret.Length)..], Counts);
    }

    /// <summary>A line of a multi-line secret: its text after the indentation becomes one marker.</summary>
    private string RedactWhole(string line, int indent, string rule, KeyClass key)
    {
        var start = Math.Min(indent, line.Length);
        var text = line.AsSpan(start).TrimEnd();
        if (text.IsEmpty || text.StartsWith(Redactor.MarkerPrefix, StringComparison.Ordinal) || (key.IsSecret && !SecretValues.IsSecret(text, key)))
        {
            return redactor.RedactLine(line, Counts); // a placeholder: the line is judged as any other
        }

        Count(rule);
        return line[..start] + redactor.Marker(rule, text) + line[(start + text.Length)..];
    }

    private static int Indentation(string line) => KeyValueRecognizer.SkipSpaces(line, 0);

    private void Count(string rule) => Counts[rule] = Counts.GetValueOrDefault(rule) + 1;

    /// <summary>What comes before a key's line inside an open block: redacted as text; a key beginning in it runs to its end.</summary>
    private string RedactPrefix(string prefix)
    {
        var begin = PemBegin().Match(prefix);
        if (!begin.Success)
        {
            return redactor.RedactLine(prefix, Counts);
        }

        Count(PemRule);
        return redactor.RedactLine(prefix[..begin.Index], Counts) + redactor.Marker(PemRule, prefix.AsSpan(begin.Index));
    }

    private static bool IsBase64(char c) => char.IsAsciiLetterOrDigit(c) || c is '+' or '/' or '=';

    /// <summary>A name alone on its line: <c>- name: DB_PASSWORD</c>, <c>"name": "DB_PASSWORD",</c>, <c>key: X</c>.</summary>
    [GeneratedRegex("""^\s*(-\s+)?["']?(name|key|Name|Key)["']?\s*[:=]\s*["']?(?<name>[A-Za-z0-9_.-]+)["']?\s*,?\s*$""", RegexOptions.CultureInvariant)]
    private static partial Regex NameLine();

    /// <summary>The value line that follows a name: <c>value: …</c>, <c>"value": "…"</c>.</summary>
    [GeneratedRegex("""^\s*["']?(value|Value)["']?\s*[:=]""", RegexOptions.CultureInvariant)]
    private static partial Regex ValueLine();

    /// <summary>A flag alone as a list item: <c>- --token</c>, <c>"--password",</c>.</summary>
    [GeneratedRegex("""^\s*(-\s+)?["']?--?(?<flag>[A-Za-z][A-Za-z0-9_.-]*)["']?\s*,?\s*$""", RegexOptions.CultureInvariant)]
    private static partial Regex FlagItem();

    /// <summary>A list item's text: <c>- X</c>, <c>"X",</c>.</summary>
    [GeneratedRegex("""^\s*(-\s+)?("(?<item>([^"\\]|\\.)*)"|'(?<item>[^']*)'|(?<item>[^\s"'][^"']*?))\s*[,\]]?\s*$""", RegexOptions.CultureInvariant)]
    private static partial Regex ListItem();

    /// <summary>An element opened alone on its line: <c>&lt;password&gt;</c>, <c>&lt;ns:xToken attr="…"&gt;</c>.</summary>
    [GeneratedRegex("""^\s*<([A-Za-z_][\w.-]*:)?(?<name>[A-Za-z_][\w.-]*)(\s[^<>]*)?>\s*$""", RegexOptions.CultureInvariant)]
    private static partial Regex OpenElement();

    /// <summary>An element's text on its own line, up to its closing tag if that follows.</summary>
    [GeneratedRegex("""^\s*(?<text>[^\s<][^<]*?)\s*(</[^>]*>\s*)?$""", RegexOptions.CultureInvariant)]
    private static partial Regex ElementText();

    /// <summary>A YAML block scalar's header under a key: <c>private-key: |</c>, <c>- password: &gt;-</c>.</summary>
    [GeneratedRegex("""^\s*(?<dash>-\s+)?["']?(?<key>[A-Za-z0-9_.-]+)["']?\s*:\s*[|>][-+0-9]*\s*(#.*)?$""", RegexOptions.CultureInvariant)]
    private static partial Regex BlockScalar();

    /// <summary>The start of a data block: <c>data:</c>, <c>stringData:</c>, <c>"data": {</c>.</summary>
    [GeneratedRegex("""^\s*(?<dash>-\s+)?["']?(?<key>data|stringData)["']?\s*:\s*\{?\s*$""", RegexOptions.CultureInvariant)]
    private static partial Regex DataLine();

    /// <summary>A Secret's kind: <c>kind: Secret</c>, <c>"kind": "Secret",</c>.</summary>
    [GeneratedRegex("""^\s*(?<dash>-\s+)?["']?kind["']?\s*:\s*["']?Secret["']?\s*,?\s*$""", RegexOptions.CultureInvariant)]
    private static partial Regex KindLine();

    /// <summary>An entry of a data block: <c>key: value</c>, <c>"key": "value",</c>.</summary>
    [GeneratedRegex("""^\s*["']?[^"':\s][^"':]*["']?\s*:\s*(?<value>.*?)\s*,?\s*$""", RegexOptions.CultureInvariant)]
    private static partial Regex DataEntry();

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
