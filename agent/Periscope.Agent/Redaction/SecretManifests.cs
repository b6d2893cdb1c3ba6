namespace Periscope.Agent.Redaction;

/// <summary>
/// A Kubernetes Secret written as JSON on one line (kubectl's compact output, a log line quoting an object, the
/// <c>last-applied-configuration</c> annotation, escaped or not): the values of its <c>data</c> / <c>stringData</c>
/// object, whatever their keys are called. With <c>"kind":"Secret"</c> on the line every value goes; without it (the
/// object is cut, or <c>kind</c> is on another line) the values that are base64, as a Secret's data always is.
/// <c>stringData</c> only Secrets have. Multi-line manifests are the line redactor's (<see cref="LineRedactor"/>).
/// </summary>
internal static class SecretManifests
{
    public static readonly string[] Triggers = ["data\\\"", "data\""];

    /// <summary>Adds the values of every one-line data object in <paramref name="line"/>.</summary>
    public static void FindInline(string line, List<SecretSpan> found)
    {
        var secretKind = line.Contains("Secret", StringComparison.Ordinal) && IsSecretKind(line);
        var from = 0;
        while (from < line.Length)
        {
            var at = line.IndexOf("ata", from, StringComparison.Ordinal);
            if (at < 0)
            {
                return;
            }

            from = at + 3;
            var stringData = at >= 7 && line.AsSpan(at - 7, 7).SequenceEqual("stringD");
            if (!(stringData || (at >= 1 && line[at - 1] == 'd' && (at < 2 || !char.IsAsciiLetterOrDigit(line[at - 2])))))
            {
                continue;
            }

            // data" : {   or   data\" : {
            var p = from;
            var escape = 0;
            while (p < line.Length && line[p] == '\\')
            {
                p++;
                escape++;
            }

            if (p >= line.Length || line[p] != '"')
            {
                continue;
            }

            p = KeyValueRecognizer.SkipSpaces(line, p + 1);
            if (p >= line.Length || line[p] != ':')
            {
                continue;
            }

            p = KeyValueRecognizer.SkipSpaces(line, p + 1);
            if (p >= line.Length || line[p] != '{')
            {
                continue;
            }

            from = ReadObject(line, p + 1, escape, secretKind || stringData, found);
        }
    }

    /// <summary>Reads <c>"k":"v",…}</c> at the given escape depth; returns where it ended.</summary>
    private static int ReadObject(string line, int p, int escape, bool all, List<SecretSpan> found)
    {
        while (p < line.Length)
        {
            p = KeyValueRecognizer.SkipSpaces(line, p);
            if (p < line.Length && line[p] == '}')
            {
                return p + 1;
            }

            if (!ReadString(line, ref p, escape, out _, out _))
            {
                return p;
            }

            p = KeyValueRecognizer.SkipSpaces(line, p);
            if (p >= line.Length || line[p] != ':')
            {
                return p;
            }

            p = KeyValueRecognizer.SkipSpaces(line, p + 1);
            if (!ReadString(line, ref p, escape, out var start, out var length))
            {
                return p;
            }

            var value = line.AsSpan(start, length);
            if (length > 0 && !value.StartsWith(Redactor.MarkerPrefix, StringComparison.Ordinal) && (all || SecretValues.LooksBase64(value)))
            {
                found.Add(new SecretSpan(start, length, LineRedactor.SecretDataRule));
            }

            p = KeyValueRecognizer.SkipSpaces(line, p);
            if (p < line.Length && line[p] == ',')
            {
                p++;
            }
        }

        return p;
    }

    /// <summary>Reads a string quoted with <paramref name="escape"/> backslashes before each quote.</summary>
    private static bool ReadString(string line, ref int p, int escape, out int start, out int length)
    {
        start = length = 0;
        for (var i = 0; i < escape; i++, p++)
        {
            if (p >= line.Length || line[p] != '\\')
            {
                return false;
            }
        }

        if (p >= line.Length || line[p] != '"')
        {
            return false;
        }

        start = ++p;
        var close = KeyValueRecognizer.ClosingQuote(line, start, '"', escape);
        if (close < 0)
        {
            return false;
        }

        length = close - start;
        p = close + escape + 1;
        return true;
    }

    private static bool IsSecretKind(string line)
    {
        for (var at = line.IndexOf("kind", StringComparison.Ordinal); at >= 0; at = line.IndexOf("kind", at + 4, StringComparison.Ordinal))
        {
            var p = at + 4;
            while (p < line.Length && line[p] is '"' or '\\' or ' ' or ':')
            {
                p++;
            }

            if (line.AsSpan(p).StartsWith("Secret", StringComparison.Ordinal) && (p + 6 >= line.Length || line[p + 6] is '"' or '\\'))
            {
                return true;
            }
        }

        return false;
    }
}
