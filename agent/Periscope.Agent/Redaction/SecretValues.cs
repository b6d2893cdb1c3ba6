using System.Buffers;

namespace Periscope.Agent.Redaction;

/// <summary>
/// The placeholder and reference filter, and the shape gates. A value under a secret's name stays readable when it
/// is not a secret but a pointer to one — a placeholder (<c>${VAR}</c>, <c>$(VAR)</c>, <c>{{ .Values.x }}</c>,
/// <c>&lt;your-token&gt;</c>, <c>****</c>), a reference (<c>var.db_password</c>, <c>os.getenv("X")</c>, a Key Vault
/// or Secrets Manager reference, the name of another key such as <c>api-key</c>), a file path (<c>/etc/app/token</c>)
/// or a URL without credentials — or a word that is no value (<c>true</c>, <c>none</c>). Names that are only sometimes
/// a secret's (<c>key</c>, <c>auth</c>) are further gated by the value's shape.
/// </summary>
internal static class SecretValues
{
    private static readonly HashSet<string> NonValues = new(StringComparer.OrdinalIgnoreCase)
    {
        "true", "false", "yes", "no", "on", "off", "null", "nil", "none", "undefined", "empty", "required", "optional",
        "disabled", "enabled", "redacted", "hidden", "masked", "omitted", "removed", "unset", "notset", "n/a", "na",
        "tbd", "todo", "placeholder", "string", "str", "bool", "int", "object", "nullptr", "nothing", "stdin",
        "prompt", "changed", "expired", "reset", "updated", "incorrect", "invalid", "wrong", "accepted", "rejected",
        "failed", "denied", "saved", "mismatch", "missing", "supplied", "provided", "ok", "<nil>", "[]", "{}", "()",
        "[redacted]", "<redacted>", "(redacted)", "...", "…",
    };

    /// <summary>The first segment of a dotted reference (<c>var.x</c>, <c>process.env.X</c>, <c>.Values.x</c>).</summary>
    private static readonly HashSet<string> ReferenceRoots = new(StringComparer.OrdinalIgnoreCase)
    {
        "var", "vars", "local", "locals", "data", "module", "env", "secrets", "process", "settings", "config", "cfg",
        "conf", "self", "this", "args", "params", "values", "inputs", "context", "ctx", "props", "options", "opts",
        "os", "environ", "system", "environment", "credentials", "creds", "secret", "spec", "parameters", "variables",
        "steps", "needs", "matrix", "github", "app", "request", "req", "keyvault", "vault", "aws", "azure", "gcp",
    };

    private static readonly string[] ReferencePrefixes =
    [
        "@Microsoft.KeyVault(", "arn:aws:", "arn:aws-", "vault:", "ref+", "secretref:", "keyvaultref:", "azurekeyvault://",
        "akvs://", "secretsmanager:", "ssm:", "gcp:secretmanager:", "sm://", "op://", "doppler://", "file:", "env:",
        "secret:", "valueFrom:", "projects/",
    ];

    private static readonly SearchValues<char> TokenCharacters = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_.~-");
    private static readonly SearchValues<char> PathCharacters = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./~:\\-@");

    /// <summary>True when <paramref name="value"/>, under a name of <paramref name="key"/>'s strength, is to be redacted.</summary>
    public static bool IsSecret(ReadOnlySpan<char> value, KeyClass key)
    {
        value = value.Trim();
        if (value.IsEmpty || !key.IsSecret || IsPlaceholderOrReference(value))
        {
            return false;
        }

        return key.Strength switch
        {
            KeyStrength.Strong => true,
            KeyStrength.Medium => !IsPlainWord(value),
            _ => LooksRandom(value),
        };
    }

    /// <summary>True for a placeholder, a reference, a path or URL without credentials, or a word that is no value.</summary>
    public static bool IsPlaceholderOrReference(ReadOnlySpan<char> value)
    {
        if (value.StartsWith(Redactor.MarkerPrefix, StringComparison.Ordinal) || NonValues.GetAlternateLookup<ReadOnlySpan<char>>().Contains(value))
        {
            return true;
        }

        var first = value[0];
        var end = value[^1];
        // ${VAR} $(VAR) ${{ secrets.X }} {{ .Values.x }} %VAR% #{x} <your-token> [REDACTED] @VAR@ __VAR__
        if ((value.StartsWith("${", StringComparison.Ordinal) && end == '}') || (value.StartsWith("$(", StringComparison.Ordinal) && end == ')')
            || (value.StartsWith("{{", StringComparison.Ordinal) && value.EndsWith("}}", StringComparison.Ordinal))
            || (value.StartsWith("#{", StringComparison.Ordinal) && end == '}')
            || (first == '%' && end == '%' && value.Length > 2) || (first == '<' && end == '>') || (first == '[' && end == ']' && value.Length > 2)
            || (first == '@' && end == '@' && value.Length > 2) || (value.StartsWith("__", StringComparison.Ordinal) && value.EndsWith("__", StringComparison.Ordinal) && value.Length > 4))
        {
            return true;
        }

        if (first == '$' && value.Length > 1 && IsIdentifier(value[1..], allowDots: false))
        {
            return true; // $VAR, $password
        }

        if (value.Length >= 3 && !value.ContainsAnyExcept(CharSets.Masks) && value.ContainsAnyExcept(CharSets.Separators))
        {
            return true; // ****, xxxx, XXXXXXXX
        }

        if (value.StartsWith("your", StringComparison.OrdinalIgnoreCase) && (value.Length == 4 || !char.IsAsciiLetterLower(value[4]) || value.Length > 8)
            || value.StartsWith("replace", StringComparison.OrdinalIgnoreCase) || value.StartsWith("insert-", StringComparison.OrdinalIgnoreCase)
            || value.StartsWith("insert_", StringComparison.OrdinalIgnoreCase) || value.StartsWith("enter-", StringComparison.OrdinalIgnoreCase)
            || value.StartsWith("enter_", StringComparison.OrdinalIgnoreCase))
        {
            return true; // your-token-here, YOUR_API_KEY, replace-me
        }

        foreach (var prefix in ReferencePrefixes)
        {
            if (value.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return IsTimestamp(value) || IsCall(value) || IsDottedReference(value) || IsKeyNameReference(value) || IsPath(value) || IsPlainUrl(value) || IsObjectReference(value);
    }

    /// <summary>A date or a timestamp: <c>2025-11-20</c>, <c>2025-11-20T10:00:11Z</c>, <c>2025-11-20 10:00:11.5+01:00</c>.</summary>
    private static bool IsTimestamp(ReadOnlySpan<char> value)
        => value.Length is >= 10 and <= 35 && char.IsAsciiDigit(value[0]) && value[4] == '-' && value[7] == '-'
            && !value.ContainsAnyExcept(CharSets.TimestampCharacters) && value[..4].ContainsAnyExcept(CharSets.Digits) is false;

    /// <summary>A Kubernetes object as <c>namespace/name</c> (kubelet's <c>secret="kube-system/azure-cloud-provider"</c>).</summary>
    private static bool IsObjectReference(ReadOnlySpan<char> value)
    {
        var slash = value.IndexOf('/');
        return slash > 0 && slash < value.Length - 1 && value.Count('/') == 1 && IsDnsName(value[..slash]) && IsDnsName(value[(slash + 1)..]);
    }

    /// <summary>A lower-case DNS name made of words: with a dash or a dot, or letters only (a password's digits make it none).</summary>
    private static bool IsDnsName(ReadOnlySpan<char> part)
    {
        if (part.Length > 253 || !char.IsAsciiLetterOrDigit(part[0]) || !char.IsAsciiLetterOrDigit(part[^1]) || part.ContainsAnyExcept(CharSets.DnsName))
        {
            return false;
        }

        return part.IndexOfAny('-', '.') >= 0 || !part.ContainsAnyInRange('0', '9');
    }

    /// <summary>A lower-case word or kebab-case words, short: <c>kubernetes</c>, <c>client-cert</c>.</summary>
    public static bool IsPlainWord(ReadOnlySpan<char> value)
        => value.Length <= 24 && !value.ContainsAnyExcept(CharSets.LowerAndDash);

    /// <summary>
    /// Looks like key material: 16 characters or more of base64, base64url or token characters, with a digit and a
    /// letter, and either both cases or base64 padding — not a UUID, a hexadecimal hash, a dotted or slashed name.
    /// </summary>
    public static bool LooksRandom(ReadOnlySpan<char> value)
    {
        if (value.Length < 16 || value.ContainsAnyExcept(TokenCharacters) || !value.ContainsAnyInRange('0', '9') || IsHex(value) || IsUuid(value))
        {
            return false;
        }

        var upper = value.ContainsAnyInRange('A', 'Z');
        var lower = value.ContainsAnyInRange('a', 'z');
        return (upper && lower) || (value[^1] == '=' && value.Length % 4 == 0 && (upper || lower));
    }

    /// <summary>
    /// Base64 as a Secret's <c>data</c> holds it: length a multiple of four, padded or eight characters or more, with a
    /// letter and a digit, capital, <c>+</c>, <c>/</c> or padding (so <c>1000</c> and <c>abcdefgh</c> are not).
    /// </summary>
    public static bool LooksBase64(ReadOnlySpan<char> value)
    {
        if (value.Length < 4 || value.Length % 4 != 0 || value.ContainsAnyExcept(CharSets.Base64))
        {
            return false;
        }

        var padding = value.IndexOf('=');
        if (padding >= 0 && (padding < value.Length - 2 || value[padding..].ContainsAnyExcept('=')))
        {
            return false;
        }

        var letter = value.ContainsAnyInRange('a', 'z') || value.ContainsAnyInRange('A', 'Z');
        return (value.Length >= 8 || padding >= 0) && letter
            && (padding >= 0 || value.ContainsAnyInRange('0', '9') || value.ContainsAnyInRange('A', 'Z') || value.IndexOfAny('+', '/') >= 0);
    }

    private static bool IsHex(ReadOnlySpan<char> value)
    {
        var colon = value.IndexOf(':');
        var hex = colon > 0 && colon < 8 ? value[(colon + 1)..] : value; // sha256:…
        return !hex.IsEmpty && !hex.ContainsAnyExcept(CharSets.Hex);
    }

    private static bool IsUuid(ReadOnlySpan<char> value)
        => value.Length == 36 && value[8] == '-' && value[13] == '-' && value[18] == '-' && value[23] == '-'
            && !value.ContainsAnyExcept(CharSets.HexAndDash);

    private static bool IsIdentifier(ReadOnlySpan<char> value, bool allowDots)
    {
        if (value.IsEmpty || !(char.IsAsciiLetter(value[0]) || value[0] == '_'))
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '_' || (allowDots && c == '.')))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary><c>os.getenv("X")</c>, <c>get_password()</c>, <c>Environment.GetEnvironmentVariable("X")</c>.</summary>
    private static bool IsCall(ReadOnlySpan<char> value)
    {
        var open = value.IndexOf('(');
        var trimmed = value.TrimEnd(';');
        return open >= 3 && trimmed.Length > open && trimmed[^1] == ')' && IsIdentifier(value[..open], allowDots: true);
    }

    /// <summary><c>var.db_password</c>, <c>process.env.TOKEN</c>, <c>.Values.db.password</c>, <c>secrets.X</c>.</summary>
    private static bool IsDottedReference(ReadOnlySpan<char> value)
    {
        var v = value.TrimStart('.');
        var dot = v.IndexOf('.');
        return dot > 0 && dot < v.Length - 1 && IsIdentifier(v, allowDots: true) && ReferenceRoots.GetAlternateLookup<ReadOnlySpan<char>>().Contains(v[..dot]);
    }

    /// <summary>
    /// The name of another key that holds the secret, written in one case as names are: <c>api-key</c>,
    /// <c>db-password</c>, <c>DB_PASSWORD</c> (<c>Ado-First-Pw</c>, mixed, is a password).
    /// </summary>
    private static bool IsKeyNameReference(ReadOnlySpan<char> value)
    {
        if (value.Length > 64 || !char.IsAsciiLetter(value[0]) || value.IndexOfAny(CharSets.Separators) < 0 || value.ContainsAnyExcept(CharSets.LettersAndSeparators)
            || (value.ContainsAnyInRange('a', 'z') && value.ContainsAnyInRange('A', 'Z')))
        {
            return false;
        }

        return SecretKeyNames.Classify(value).IsSecret;
    }

    /// <summary>A file path: absolute, relative with <c>./</c>, <c>../</c> or <c>~/</c>, or a Windows drive path.</summary>
    private static bool IsPath(ReadOnlySpan<char> value)
    {
        var rooted = value[0] == '/' || value.StartsWith("./", StringComparison.Ordinal) || value.StartsWith("../", StringComparison.Ordinal)
            || value.StartsWith("~/", StringComparison.Ordinal) || (value.Length > 3 && char.IsAsciiLetter(value[0]) && value[1] == ':' && value[2] is '\\' or '/');
        if (!rooted || value.ContainsAnyExcept(PathCharacters) || value[^1] == '=')
        {
            return false;
        }

        // Base64 may begin with a slash too: a path has no empty segment and no segment that looks like key material.
        var start = value[0] == '/' ? 1 : 0;
        foreach (var segment in value[start..].SplitAny('/', '\\'))
        {
            var part = value[start..][segment];
            if (part.IsEmpty && segment.End.Value < value.Length - start)
            {
                return false;
            }

            if (part.Length >= 8 && part.ContainsAnyInRange('0', '9') && part.ContainsAnyInRange('a', 'z') && part.ContainsAnyInRange('A', 'Z'))
            {
                return false;
            }
        }

        var separators = value.Count('/') + value.Count('\\');
        var name = value[(value.LastIndexOfAny('/', '\\') + 1)..];
        return separators >= 2 || (name.IndexOf('.') > 0 && name.Length - name.IndexOf('.') <= 6);
    }

    private static bool IsPlainUrl(ReadOnlySpan<char> value)
    {
        var scheme = value.IndexOf("://", StringComparison.Ordinal);
        return scheme > 1 && scheme < 12 && IsIdentifier(value[..scheme], allowDots: false) && value.IndexOf('@') < 0
            && value.IndexOfAny(' ', '\t') < 0;
    }
}

/// <summary>The character sets the recogniser and the filters test values against.</summary>
internal static class CharSets
{
    private const string LowerLetters = "abcdefghijklmnopqrstuvwxyz";
    private const string UpperLetters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

    public static SearchValues<char> Lower { get; } = SearchValues.Create(LowerLetters);

    public static SearchValues<char> Letters { get; } = SearchValues.Create(LowerLetters + UpperLetters);

    public static SearchValues<char> LowerAndDash { get; } = SearchValues.Create(LowerLetters + "-");

    public static SearchValues<char> LettersAndSeparators { get; } = SearchValues.Create(LowerLetters + UpperLetters + "-_.");

    public static SearchValues<char> Separators { get; } = SearchValues.Create("-_.");

    public static SearchValues<char> Base64 { get; } = SearchValues.Create(UpperLetters + LowerLetters + "0123456789+/=");

    public static SearchValues<char> Hex { get; } = SearchValues.Create("0123456789abcdefABCDEF");

    public static SearchValues<char> HexAndDash { get; } = SearchValues.Create("0123456789abcdefABCDEF-");

    public static SearchValues<char> Masks { get; } = SearchValues.Create("*xX.\u2022#?-_");

    public static SearchValues<char> DnsName { get; } = SearchValues.Create(LowerLetters + "0123456789-.");

    public static SearchValues<char> Digits { get; } = SearchValues.Create("0123456789");

    public static SearchValues<char> TimestampCharacters { get; } = SearchValues.Create("0123456789-:T Z.+");

    public static SearchValues<char> BlockIndicator { get; } = SearchValues.Create("-+0123456789");

    public static SearchValues<char> LineStartPunctuation { get; } = SearchValues.Create("-#/;*{[ \t");
}
