using System.Buffers;

namespace Periscope.Agent.Redaction;

/// <summary>A secret found in a line: where it is, and the rule it is counted under.</summary>
internal readonly record struct SecretSpan(int Index, int Length, string Rule);

/// <summary>
/// The quote- and operator-aware key/value recogniser. It looks for the key vocabulary's stems in a line
/// (<c>pass</c>, <c>pwd</c>, <c>secret</c>, <c>token</c>, <c>cred</c>, <c>key</c>, <c>auth</c>), takes the whole
/// key around each (<c>db_pass</c>, <c>spring.datasource.password</c>, <c>--client-secret</c>), asks
/// <see cref="SecretKeyNames"/> what the name says, and reads the value that follows by the syntax it finds:
/// <list type="bullet">
/// <item>operators <c>=</c> <c>:</c> <c>:=</c> <c>::=</c> <c>?=</c> <c>+=</c> <c>=&gt;</c> <c>==</c>, after an optional closing
/// quote or bracket of the key (<c>"password": …</c>, <c>\"token\":…</c>, <c>cfg["password"] = …</c>);</item>
/// <item>name/value pairs: <c>{"name": "DB_PASSWORD", "value": "…"}</c>, <c>Name:X_TOKEN Value:…</c>,
/// <c>&lt;add key="ClearTextPassword" value="…"/&gt;</c>, escaped or not;</item>
/// <item>XML elements <c>&lt;password&gt;…&lt;/password&gt;</c>, flags <c>--password X</c> and <c>["--token", "X"]</c>,
/// calls <c>setPassword("…")</c>;</item>
/// <item>values quoted (to the matching quote, escapes honoured, backslash-escaped quotes matched as such) or not: a
/// key at the start of a line (after indentation, <c>- </c>, <c>export</c>, a comment sign) owns the rest of the line
/// but a trailing comment or a next <c>NAME=</c>; elsewhere a value ends at white space, a quote, or a delimiter that
/// starts the next pair; a <c>;</c> before the key (a connection string) makes <c>;</c> the only end.</item>
/// </list>
/// The value then passes <see cref="SecretValues.IsSecret"/> (placeholders, references, paths and the shape gates).
/// </summary>
internal static class KeyValueRecognizer
{
    /// <summary>The key vocabulary's stems: every key the recogniser can judge holds one of them.</summary>
    public static readonly string[] Triggers = ["pass", "pwd", "secret", "token", "cred", "key", "auth"];

    public const string PairRule = "secret-env";

    private static readonly SearchValues<string> Stems = SearchValues.Create(Triggers, StringComparison.OrdinalIgnoreCase);

    private static readonly string[] Operators = ["::=", ":=", "?=", "+=", "=>", "===", "==", "=", ":"];

    private static readonly HashSet<string> LineStartWords = new(StringComparer.OrdinalIgnoreCase)
    {
        "-", "export", "set", "setx", "declare -x", "readonly", "local", "env", "ENV", "var", "const", "let", "val",
        "def", "my", "our", "#", "//", ";", "--", "*", "$", "$env:", "private", "public", "static", "final", "string",
        "String", "str", "- name", "#define", "define", "@set", "param", "[", "{", "- -",
    };

    /// <summary>True when <paramref name="text"/> holds one of the vocabulary's stems.</summary>
    public static bool MayHoldKey(ReadOnlySpan<char> text) => text.IndexOfAny(Stems) >= 0;

    /// <summary>Adds every secret value in <paramref name="line"/> to <paramref name="found"/>, in order.</summary>
    public static void Find(string line, List<SecretSpan> found)
    {
        var from = 0;
        var indent = line.AsSpan().IndexOfAnyExcept(' ', '\t');
        while (from < line.Length)
        {
            var hit = line.AsSpan(from).IndexOfAny(Stems);
            if (hit < 0)
            {
                return;
            }

            hit += from;
            var start = hit;
            while (start > 0 && IsKeyCharacter(line[start - 1]))
            {
                start--;
            }

            var end = hit + 1;
            while (end < line.Length && IsKeyCharacter(line[end]))
            {
                end++;
            }

            from = end;
            var rawStart = start;
            while (start < end && line[start] is '-' or '.')
            {
                start++;
            }

            var keyEnd = end;
            while (keyEnd > start && line[keyEnd - 1] is '-' or '.')
            {
                keyEnd--;
            }

            if (keyEnd - start < 2 || line.AsSpan(0, rawStart).EndsWith(Redactor.MarkerPrefix, StringComparison.Ordinal))
            {
                continue;
            }

            var key = SecretKeyNames.Classify(line.AsSpan(start, keyEnd - start));
            if (!key.IsSecret)
            {
                continue;
            }

            if (TryValue(line, indent, rawStart, start, end, key, out var value, out var valueEnd))
            {
                found.Add(value);
            }

            // A value judged not secret is not searched for keys either (arn:…:secret:x), unless it is a name itself:
            // the name of a pair ({"key": "DB_PASSWORD", "value": …}, <add key="ClearTextPassword" value="…"/>).
            if (valueEnd > end && !IsName(line.AsSpan(end, valueEnd - end).TrimStart(" \t\"'\\:=")))
            {
                from = valueEnd;
            }
        }
    }

    /// <summary>The value that begins at <paramref name="valueStart"/>, for a key named elsewhere (the line before, in YAML env lists).</summary>
    public static bool TryValueAt(string line, int valueStart, KeyClass key, out SecretSpan value)
    {
        value = default;
        var position = SkipSpaces(line, valueStart);
        if (!TryReadValue(line, position, lineStart: true, delimited: false, xmlElement: false, out var index, out var length))
        {
            return false;
        }

        if (!SecretValues.IsSecret(line.AsSpan(index, length), key))
        {
            return false;
        }

        value = new SecretSpan(index, length, key.Rule);
        return true;
    }

    private static bool TryValue(string line, int indent, int rawStart, int start, int end, KeyClass key, out SecretSpan value, out int valueEnd)
    {
        value = default;
        valueEnd = end;
        var flag = rawStart < start && line[rawStart] == '-';
        var xmlElement = rawStart > 0 && line[rawStart - 1] == '<' && (rawStart < 2 || line[rawStart - 2] != '<');
        var position = end;

        // Whatever closes the key: a quote (escaped or not), a bracket of an index expression.
        var closers = 0;
        while (position < line.Length && closers < 6 && line[position] is '"' or '\'' or '\\' or ']' or '`')
        {
            position++;
            closers++;
        }

        var afterKey = position;
        position = SkipSpaces(line, position);
        var spaced = position > afterKey;
        var rule = key.Rule;
        string? op = null;

        if (xmlElement && position < line.Length && line[position] == '>')
        {
            op = ">";
        }
        else
        {
            foreach (var candidate in Operators)
            {
                if (line.AsSpan(position).StartsWith(candidate, StringComparison.Ordinal))
                {
                    op = candidate;
                    break;
                }
            }
        }

        if (op is ":" && position + 1 < line.Length && (line[position + 1] == '/' || line[position + 1] == ':'))
        {
            op = null; // a URL's scheme or a C++ scope, not an assignment
        }

        if (op is null && PairValue(line, position) is var pair and >= 0)
        {
            position = pair; // {"name": "X_PASSWORD", "value": …}, <add key="…" value="…"/>, Name:X Value:…
            rule = PairRule;
        }
        else if (op is null && (flag || IsFirstArgument(line, rawStart)) && closers > 0 && position < line.Length && line[position] == ',')
        {
            position = SkipSpaces(line, position + 1); // ["--token", "X"], os.Setenv("DB_PASSWORD", "X"), cfg.set('token', 'X')
            if (position >= line.Length || line[position] is not ('"' or '\''))
            {
                return false;
            }
        }
        else if (op is null && flag && closers == 0 && spaced && position < line.Length && line[position] != '-')
        {
            // --password X: the next word
        }
        else if (op is null && closers == 0 && spaced && position < line.Length && key.Strength == KeyStrength.Strong
            && (IsWordBefore(line, indent, rawStart, "ENV") || (rawStart == indent && IsOneWord(line, position))))
        {
            // A Dockerfile's ENV DB_PASSWORD x; a .netrc's "password x" on its own line (or "machine h login u password x").
        }
        else if (op is null && closers == 0 && spaced && key.Rule == SecretKeyNames.PasswordRule && line.AsSpan(indent).StartsWith("machine ", StringComparison.Ordinal))
        {
            // .netrc on one line: machine host login user password x
        }
        else if (op is null && closers == 0 && !spaced && position < line.Length && line[position] == '(' && key.Strength == KeyStrength.Strong)
        {
            position = SkipSpaces(line, position + 1); // setPassword("…"), .token('…')
            if (position >= line.Length || line[position] is not ('"' or '\''))
            {
                return false;
            }
        }
        else if (op is null)
        {
            return false;
        }
        else
        {
            position = SkipSpaces(line, position + op.Length);
        }

        var lineStart = IsLineStart(line, indent, rawStart);
        var delimited = IsDelimited(line, rawStart);
        if (!TryReadValue(line, position, lineStart, delimited, xmlElement && op == ">", out var index, out var length))
        {
            return false;
        }

        valueEnd = index + length;
        var text = line.AsSpan(index, length);
        if (op == ":" && !lineStart && closers == 0 && IsProse(line, rawStart, start, end, index, length))
        {
            return false; // "failed to get token: context deadline exceeded"
        }

        if (rule == SecretKeyNames.HeaderRule)
        {
            // Authorization: <scheme> <credentials>. Mid-line, the value read so far may be the scheme alone.
            var schemeEnd = text.IndexOfAny(' ', '\t');
            if (schemeEnd > 0 && IsScheme(text[..schemeEnd]))
            {
                var credentials = SkipSpaces(line, index + schemeEnd);
                length = index + length - credentials;
                index = credentials;
            }
            else if (schemeEnd < 0 && IsScheme(text) && index + length < line.Length && line[index + length] is ' ' or '\t')
            {
                var credentials = SkipSpaces(line, index + length);
                var credentialsEnd = credentials;
                while (credentialsEnd < line.Length && !char.IsWhiteSpace(line[credentialsEnd]) && line[credentialsEnd] is not ('"' or '\'' or ',' or '\\' or ']'))
                {
                    credentialsEnd++;
                }

                index = credentials;
                length = credentialsEnd - credentials;
            }

            if (length <= 0)
            {
                return false;
            }

            text = line.AsSpan(index, length);
            key = key with { Strength = KeyStrength.Strong };
        }

        if (!SecretValues.IsSecret(text, key))
        {
            return false;
        }

        value = new SecretSpan(index, length, rule);
        return true;
    }

    /// <summary>Where the value of a pair begins when <paramref name="position"/> is followed by <c>, "value":</c> or <c> value=</c>; else -1.</summary>
    private static int PairValue(string line, int position)
    {
        var p = position;
        if (p < line.Length && line[p] is ',' or ';')
        {
            p = SkipSpaces(line, p + 1);
        }
        else if (p == position && (p >= line.Length || line[p - 1] is not (' ' or '\t')))
        {
            // "X_PASSWORD" directly followed by something else than a separator: no pair
            if (p >= line.Length || line[p] is not (' ' or '\t'))
            {
                return -1;
            }
        }

        while (p < line.Length && line[p] is '"' or '\'' or '\\')
        {
            p++;
        }

        if (!line.AsSpan(p).StartsWith("value", StringComparison.OrdinalIgnoreCase))
        {
            return -1;
        }

        p += 5;
        while (p < line.Length && line[p] is '"' or '\'' or '\\')
        {
            p++;
        }

        p = SkipSpaces(line, p);
        if (p >= line.Length || line[p] is not (':' or '='))
        {
            return -1;
        }

        return SkipSpaces(line, p + 1);
    }

    /// <summary>Reads a value that begins at <paramref name="position"/>: quoted to its quote, or unquoted to the end its context gives it.</summary>
    private static bool TryReadValue(string line, int position, bool lineStart, bool delimited, bool xmlElement, out int index, out int length)
    {
        index = position;
        length = 0;
        if (position >= line.Length)
        {
            return false;
        }

        // A string prefix: f"…", r'…', b"…", @"…", $"…".
        if (position + 1 < line.Length && line[position] is 'f' or 'r' or 'b' or 'u' or '@' or '$' && line[position + 1] is '"' or '\'')
        {
            position++;
        }

        var backslashes = 0;
        while (position + backslashes < line.Length && line[position + backslashes] == '\\')
        {
            backslashes++;
        }

        var q = position + backslashes < line.Length ? line[position + backslashes] : '\0';
        if (q is '"' or '\'' or '`')
        {
            var open = position + backslashes + 1;
            var close = ClosingQuote(line, open, q, backslashes);
            close = close < 0 ? line.Length : close;

            var marker = line.AsSpan(open, close - open).IndexOf(Redactor.MarkerPrefix, StringComparison.Ordinal);
            if (marker >= 0)
            {
                close = open + marker;
            }

            index = open;
            length = close - open;
            return length > 0;
        }

        if (backslashes > 0)
        {
            return false;
        }

        if (line[position] is '|' or '>' && SkipSpaces(line, position + 1) >= line.Length - 2 && !line.AsSpan(position + 1).Trim().ContainsAnyExcept(CharSets.BlockIndicator))
        {
            return false; // a YAML block scalar: its lines follow (the line redactor takes them)
        }

        var i = position;
        var depth = 0;
        while (i < line.Length)
        {
            var c = line[i];
            if (xmlElement)
            {
                if (c == '<' || (c == '*' && line.AsSpan(i).StartsWith(Redactor.MarkerPrefix, StringComparison.Ordinal)))
                {
                    break; // an element's text runs to its closing tag
                }

                i++;
                continue;
            }

            if (c is ' ' or '\t')
            {
                if (!lineStart && !delimited)
                {
                    break;
                }

                var next = SkipSpaces(line, i);
                if (next < line.Length && (line[next] == '#' || (line[next] == '/' && next + 1 < line.Length && line[next + 1] == '/')) || StartsPair(line, next))
                {
                    break; // a trailing comment, or the next NAME=value
                }
            }
            else if (c is '"' or '\'' or '`')
            {
                if (!lineStart)
                {
                    break;
                }
            }
            else if (c == '\\' && i + 1 < line.Length && line[i + 1] is '"' or '\'' or 'n' or 'r' or 't')
            {
                break;
            }
            else if (c == '&')
            {
                if (!lineStart || StartsPair(line, i + 1))
                {
                    break;
                }
            }
            else if (c is ';' or ',')
            {
                if (StartsPair(line, i + 1) || delimited && c == ';' || (!lineStart && (i + 1 == line.Length || line[i + 1] is ' ' or '\t' or '"' or '\'' or '\\')))
                {
                    break;
                }
            }
            else if (c is '(' or '[' or '{' or '<')
            {
                depth++;
            }
            else if (c is ')' or ']' or '}' or '>')
            {
                if (depth == 0 && !lineStart)
                {
                    break;
                }

                depth = Math.Max(0, depth - 1);
            }
            else if (c == '*' && line.AsSpan(i).StartsWith(Redactor.MarkerPrefix, StringComparison.Ordinal))
            {
                break;
            }

            i++;
        }

        var endOfValue = i;
        while (endOfValue > position && line[endOfValue - 1] is ' ' or '\t')
        {
            endOfValue--;
        }

        if (lineStart && endOfValue > position && line[endOfValue - 1] is ',' or ';' && SkipSpaces(line, endOfValue) >= line.Length)
        {
            endOfValue--;
        }

        index = position;
        length = endOfValue - position;
        return length > 0;
    }

    /// <summary>True when a <c>NAME=</c> or <c>Name Part=</c> pair begins at <paramref name="position"/> (after spaces).</summary>
    private static bool StartsPair(string line, int position)
    {
        var p = SkipSpaces(line, position);
        var start = p;
        if (p >= line.Length || !(char.IsAsciiLetter(line[p]) || line[p] == '_'))
        {
            return false;
        }

        while (p < line.Length && p - start < 40 && (char.IsAsciiLetterOrDigit(line[p]) || line[p] is '_' or '.' or '-' or ' '))
        {
            p++;
        }

        return p < line.Length && line[p] == '=' && (p + 1 >= line.Length || line[p + 1] != '=');
    }

    private static readonly HashSet<string> Schemes = new(StringComparer.OrdinalIgnoreCase)
    {
        "basic", "bearer", "token", "digest", "negotiate", "ntlm", "kerberos", "aws4-hmac-sha256", "sharedkey",
        "sharedkeylite", "sharedaccesssignature", "apikey", "api-key", "key", "oauth", "mac", "hoba", "mutual",
        "scram-sha-1", "scram-sha-256", "splunk", "ssws", "dpop", "gsskey", "otp",
    };

    private static bool IsScheme(ReadOnlySpan<char> word) => Schemes.GetAlternateLookup<ReadOnlySpan<char>>().Contains(word);

    /// <summary>True when the key is a call's first argument: <c>(</c>, then its quote.</summary>
    private static bool IsFirstArgument(string line, int rawStart)
    {
        var p = rawStart - 1;
        if (p < 0 || line[p] is not ('"' or '\''))
        {
            return false;
        }

        p--;
        while (p >= 0 && line[p] is ' ' or '\t')
        {
            p--;
        }

        return p >= 0 && line[p] == '(';
    }

    /// <summary>True when the line is <paramref name="word"/> and the key, after indentation (a Dockerfile's <c>ENV</c>).</summary>
    private static bool IsWordBefore(string line, int indent, int keyStart, string word)
        => keyStart - indent == word.Length + 1 && line.AsSpan(indent).StartsWith(word, StringComparison.Ordinal) && line[keyStart - 1] == ' ';

    /// <summary>True when one word, and nothing after it, begins at <paramref name="position"/>.</summary>
    private static bool IsOneWord(string line, int position)
    {
        var rest = line.AsSpan(position).TrimEnd();
        return !rest.IsEmpty && rest.IndexOfAny(' ', '\t') < 0;
    }

    /// <summary>True when only indentation, a list dash, a declaration word or a comment sign comes before the key.</summary>
    private static bool IsLineStart(string line, int indent, int keyStart)
    {
        if (keyStart - indent > 48)
        {
            return false; // more than a declaration before the key (and no search back through a long line)
        }

        var prefix = line.AsSpan(indent, keyStart - indent).TrimEnd();
        if (!prefix.IsEmpty && prefix[^1] is '"' or '\'')
        {
            prefix = prefix[..^1].TrimEnd();
        }

        if (prefix.IsEmpty || !prefix.ContainsAnyExcept(CharSets.LineStartPunctuation))
        {
            return true;
        }

        var lookup = LineStartWords.GetAlternateLookup<ReadOnlySpan<char>>();
        if (lookup.Contains(prefix))
        {
            return true;
        }

        // A declaration with a type: "private static final String", "const std::string".
        var lastSpace = prefix.LastIndexOf(' ');
        return lastSpace > 0 && lookup.Contains(prefix[..prefix.IndexOf(' ')]) && prefix.Length < 40 && !prefix.ContainsAny("=:\"'");
    }

    /// <summary>True when the key follows a <c>;</c>: a connection string, whose values end only at <c>;</c>.</summary>
    private static bool IsDelimited(string line, int keyStart)
    {
        var p = keyStart - 1;
        while (p >= 0 && line[p] is ' ' or '\t')
        {
            p--;
        }

        return p >= 0 && line[p] == ';';
    }

    /// <summary>
    /// "error getting token: context deadline exceeded": a lower-case key after a lower-case word, and a value that is
    /// a word followed by more words — a sentence, not an assignment.
    /// </summary>
    private static bool IsProse(string line, int rawStart, int start, int end, int index, int length)
    {
        if (rawStart != start || rawStart < 2 || line[rawStart - 1] != ' ' || !char.IsAsciiLetterLower(line[rawStart - 2])
            || line.AsSpan(start, end - start).ContainsAnyExcept(CharSets.Lower))
        {
            return false;
        }

        var value = line.AsSpan(index, length);
        return !value.ContainsAnyExcept(CharSets.Letters) && index + length < line.Length && line[index + length] == ' ';
    }

    /// <summary>
    /// Where the string opened just before <paramref name="open"/> ends (the first of its closing backslashes), or -1:
    /// unescaped, at the first <paramref name="quote"/> not escaped by a backslash (a single-quoted string has no
    /// escapes); opened as <c>\"</c> (<paramref name="escapes"/> backslashes), at a quote after exactly as many — a
    /// quote after more (<c>\\\"</c> in <c>\"…\"</c>) is a quote inside the value.
    /// </summary>
    internal static int ClosingQuote(string line, int open, char quote, int escapes)
    {
        if (escapes == 0)
        {
            for (var i = open; i < line.Length; i += line[i] == '\\' && quote != '\'' ? 2 : 1)
            {
                if (line[i] == quote)
                {
                    return i;
                }
            }

            return -1;
        }

        for (var at = line.IndexOf(quote, open); at >= 0; at = at + 1 < line.Length ? line.IndexOf(quote, at + 1) : -1)
        {
            var run = 0;
            while (at - run - 1 >= open && line[at - run - 1] == '\\')
            {
                run++;
            }

            if (run == escapes)
            {
                return at - run;
            }
        }

        return -1;
    }

    /// <summary>The first position at or after <paramref name="position"/> that is not a space or a tab.</summary>
    internal static int SkipSpaces(string line, int position)
    {
        while (position < line.Length && line[position] is ' ' or '\t')
        {
            position++;
        }

        return position;
    }

    private static bool IsName(ReadOnlySpan<char> value)
    {
        foreach (var c in value)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A key's characters: <c>spring.datasource.password</c>, <c>--client-secret</c>, <c>checksum/secret</c>.</summary>
    private static bool IsKeyCharacter(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.' or '/';
}
