namespace Periscope.Agent.Redaction;

/// <summary>How sure a key's name makes us that its value is a secret.</summary>
internal enum KeyStrength
{
    /// <summary>Not a secret's name (<c>user</c>, <c>tokenFile</c>, <c>public_key</c>).</summary>
    None,

    /// <summary>Sometimes a secret (<c>key</c>, <c>tokens</c>): the value must look random to be redacted.</summary>
    Weak,

    /// <summary>Often a secret (<c>auth</c>): the value is redacted unless it is a plain word.</summary>
    Medium,

    /// <summary>A secret's name (<c>password</c>, <c>discordToken</c>, <c>X_ACCESSKEY</c>): any value but a placeholder is redacted.</summary>
    Strong,
}

/// <summary>What a key's name says of its value: how sure, and the rule name a replacement is counted under.</summary>
internal readonly record struct KeyClass(KeyStrength Strength, string Rule)
{
    public static KeyClass None { get; } = new(KeyStrength.None, string.Empty);

    public bool IsSecret => Strength != KeyStrength.None;
}

/// <summary>
/// The key-name classifier: a name is split into words (<c>_</c>, <c>-</c>, <c>.</c>, camelCase and acronym
/// boundaries, digits: <c>AWSToken</c> → aws, token; <c>bot_token1</c> → bot, token), compared ignoring case against
/// a documented vocabulary (docs/redaction.md), and judged: a name that ends with a descriptor (<c>tokenFile</c>,
/// <c>password_length</c>, <c>secretName</c>, <c>keyRef</c>) or says "public" names no secret; a secret word anywhere
/// (<c>password_super_secure</c>, <c>db_pass</c>, <c>creds</c>) does; <c>key</c> does after a qualifier
/// (<c>certKey</c>, <c>private-key</c>, <c>AccessKey</c>) and is weak alone. Words written together
/// (<c>DBPASSWORD</c>, <c>X_ACCESSKEY</c>, <c>authtoken</c>) are found by their secret word's suffix.
/// </summary>
internal static class SecretKeyNames
{
    public const string PasswordRule = "password";
    public const string TokenRule = "token-value";
    public const string ApiKeyRule = "api-key";
    public const string SecretRule = "secret-value";
    public const string HeaderRule = "auth-header";
    public const string RegistryAuthRule = "registry-auth";

    private const int MaxWords = 16;

    /// <summary>Words that name a secret, and the rule their values are counted under.</summary>
    private static readonly Dictionary<string, string> StrongWords = new(StringComparer.OrdinalIgnoreCase)
    {
        ["password"] = PasswordRule, ["passwd"] = PasswordRule, ["pwd"] = PasswordRule, ["pass"] = PasswordRule,
        ["passphrase"] = PasswordRule, ["passcode"] = PasswordRule, ["pw"] = PasswordRule, ["pswd"] = PasswordRule,
        ["token"] = TokenRule, ["apikey"] = ApiKeyRule, ["secret"] = SecretRule, ["credential"] = SecretRule,
        ["credentials"] = SecretRule, ["creds"] = SecretRule, ["cred"] = SecretRule, ["privatekey"] = SecretRule,
        ["secretkey"] = SecretRule, ["accesskey"] = SecretRule, ["clientsecret"] = SecretRule, ["authtoken"] = TokenRule,
        ["accesstoken"] = TokenRule, ["refreshtoken"] = TokenRule, ["idtoken"] = TokenRule, ["sastoken"] = TokenRule,
        ["connectionstring"] = SecretRule, ["authorization"] = HeaderRule,
    };

    /// <summary>Secret words that may end a word written together with others (<c>DBPASSWORD</c>, <c>bottoken</c>).</summary>
    private static readonly (string Suffix, string Rule)[] StrongSuffixes =
    [
        ("password", PasswordRule), ("passwd", PasswordRule), ("passphrase", PasswordRule), ("secret", SecretRule),
        ("token", TokenRule), ("credentials", SecretRule), ("credential", SecretRule), ("apikey", ApiKeyRule),
    ];

    /// <summary>Plurals and generic words: a secret only when the value looks random.</summary>
    private static readonly HashSet<string> WeakWords = new(StringComparer.OrdinalIgnoreCase)
    {
        "key", "keys", "tokens", "secrets", "passwords", "keyring", "sig", "signature", "salt", "hmac", "pin",
    };

    /// <summary>Words that, before <c>key</c> (<c>private_key</c>, <c>certKey</c>), make it a secret's name.</summary>
    private static readonly HashSet<string> KeyQualifiers = new(StringComparer.OrdinalIgnoreCase)
    {
        "private", "secret", "access", "api", "account", "master", "signing", "sign", "encryption", "encrypt", "enc",
        "decryption", "client", "shared", "ssh", "auth", "storage", "subscription", "app", "application", "session",
        "hmac", "license", "licence", "primary", "secondary", "root", "admin", "service", "webhook", "cert",
        "certificate", "tls", "ssl", "crypt", "crypto", "aes", "gpg", "pgp", "deploy", "jwt", "cookie", "csrf", "xsrf",
        "machine", "consumer", "partner", "integration", "sas", "host", "server", "user", "bot", "instrumentation",
        "ingestion", "write", "read", "admin", "function", "functions", "sendgrid", "stripe", "mailgun", "twilio",
        "x", "kms", "wrapping", "unseal", "recovery", "join", "bootstrap", "node", "agent", "registration", "otp",
    };

    /// <summary>Words that make a name public (<c>public_key</c>, <c>ssh_authorized_keys</c>).</summary>
    private static readonly HashSet<string> PublicWords = new(StringComparer.OrdinalIgnoreCase)
    {
        "public", "pub", "authorized", "known", "publishable",
    };

    /// <summary>Last words that say the value is about a secret, not the secret (<c>tokenFile</c>, <c>secret_name</c>).</summary>
    private static readonly HashSet<string> Descriptors = new(StringComparer.OrdinalIgnoreCase)
    {
        "name", "names", "file", "filename", "files", "path", "paths", "dir", "directory", "url", "uri", "urls",
        "endpoint", "endpoints", "type", "types", "length", "len", "size", "count", "expiry", "expires", "expiration",
        "expired", "ttl", "timeout", "policy", "policies", "ref", "refs", "reference", "field", "fields", "kind",
        "format", "mode", "version", "enabled", "enable", "disabled", "disable", "required", "min", "max", "minimum",
        "maximum", "source", "provider", "providers", "prefix", "suffix", "location", "mount", "env", "template",
        "seconds", "secs", "sec", "ms", "minutes", "hours", "days", "time", "age", "rotation", "algorithm", "alg",
        "header", "hint", "selector", "label", "labels", "annotation", "store", "manager", "status", "error", "errors",
        "issuer", "audience", "lifetime", "validity", "duration", "interval", "period", "reset", "strength",
        "complexity", "history", "changed", "created", "updated", "schema", "used", "usage", "generator", "class",
        "flag", "flags", "option", "options", "namespace", "ns", "regex", "pattern", "validation", "limit", "limits",
        "exists", "present", "missing", "rotated", "lookup", "command", "cmd", "script", "helper", "plugin", "id",
        "ids", "owner", "mapping", "volume", "volumes", "projection", "dialog", "prompt", "message", "msg",
        "at", "on", "secs", "retries", "attempts", "request", "requests", "response", "review", "reviews", "auth",
        "provider", "handler", "config", "configuration", "settings", "spec", "bytes", "bits", "fingerprint",
        "version", "list", "storage", "backend", "controller", "metrics", "total", "failures", "errors", "duration",
        "set", "last", "go", "py", "rs", "java", "js", "ts", "c", "cc", "cpp", "h", "cs", "rb", "sh", "log", "yaml",
        "yml", "json", "conf", "toml", "ini", "cfg", "txt", "crt", "cer", "csr",
    };

    /// <summary>Words that, anywhere in a name, say its value is a digest of something (<c>checksum/secret</c>).</summary>
    private static readonly HashSet<string> DigestWords = new(StringComparer.OrdinalIgnoreCase)
    {
        "checksum", "digest", "fingerprint", "thumbprint", "sha", "md",
    };

    // Span lookups made once: a name is classified for every stem found in a triggered line.
    private static readonly Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> StrongLookup = StrongWords.GetAlternateLookup<ReadOnlySpan<char>>();
    private static readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> WeakLookup = WeakWords.GetAlternateLookup<ReadOnlySpan<char>>();
    private static readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> QualifierLookup = KeyQualifiers.GetAlternateLookup<ReadOnlySpan<char>>();
    private static readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> PublicLookup = PublicWords.GetAlternateLookup<ReadOnlySpan<char>>();
    private static readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> DescriptorLookup = Descriptors.GetAlternateLookup<ReadOnlySpan<char>>();
    private static readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> DigestLookup = DigestWords.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>What <paramref name="key"/> says of its value.</summary>
    public static KeyClass Classify(ReadOnlySpan<char> key)
    {
        Span<Range> words = stackalloc Range[MaxWords];
        var count = Split(key, words);
        if (count == 0)
        {
            return KeyClass.None;
        }


        // "auth" is a secret as a key of its own (docker's config.json, "user_auth") but a descriptor after one
        // ("token_auth" is about tokens); any other descriptor at the end names something about a secret.
        var last = key[words[count - 1]];
        if (count > 1 && DescriptorLookup.Contains(last) && !KeepsDescriptor(last, key[words[count - 2]]))
        {
            return KeyClass.None;
        }

        var strength = KeyStrength.None;
        var rule = SecretRule;
        for (var i = 0; i < count; i++)
        {
            var word = key[words[i]];
            if (PublicLookup.Contains(word) || DigestLookup.Contains(word))
            {
                return KeyClass.None;
            }

            if (StrongLookup.TryGetValue(word, out _, out var strongRule))
            {
                strength = KeyStrength.Strong;
                rule = strongRule;
                continue;
            }

            if (word.Equals("key", StringComparison.OrdinalIgnoreCase) || word.Equals("keys", StringComparison.OrdinalIgnoreCase))
            {
                var qualified = i > 0 && QualifierLookup.Contains(key[words[i - 1]]);
                if (qualified && strength != KeyStrength.Strong)
                {
                    strength = KeyStrength.Strong;
                    rule = key[words[i - 1]].Equals("api", StringComparison.OrdinalIgnoreCase) ? ApiKeyRule : SecretRule;
                }
                else if (strength == KeyStrength.None)
                {
                    strength = KeyStrength.Weak;
                }

                continue;
            }

            if (word.Equals("auth", StringComparison.OrdinalIgnoreCase))
            {
                if (strength < KeyStrength.Medium)
                {
                    strength = KeyStrength.Medium;
                    rule = count == 1 ? RegistryAuthRule : SecretRule; // "auth" alone: docker's and containerd's registry credentials
                }

                continue;
            }

            if (strength == KeyStrength.None && WeakLookup.Contains(word))
            {
                strength = KeyStrength.Weak;
                continue;
            }

            if (strength != KeyStrength.Strong && word.Length > 4 && StrongSuffix(word) is { } suffixRule)
            {
                strength = KeyStrength.Strong;
                rule = suffixRule;
            }
            else if (strength != KeyStrength.Strong && word.Length > 3 && word.EndsWith("key", StringComparison.OrdinalIgnoreCase)
                && QualifierLookup.Contains(word[..^3]))
            {
                strength = KeyStrength.Strong; // ACCESSKEY, privatekey, sslkey
                rule = word[..^3].Equals("api", StringComparison.OrdinalIgnoreCase) ? ApiKeyRule : SecretRule;
            }
        }

        return strength == KeyStrength.None ? KeyClass.None : new KeyClass(strength, strength == KeyStrength.Weak ? SecretRule : rule);
    }

    /// <summary>
    /// True when a last word that is usually a descriptor names a secret here: <c>auth</c> after a word that is not a
    /// secret's (<c>user_auth</c>, <c>basic_auth</c>; but <c>token_auth</c> is about tokens), and <c>id</c> after
    /// <c>secret</c> (Vault's AppRole <c>secret_id</c> is a credential).
    /// </summary>
    private static bool KeepsDescriptor(ReadOnlySpan<char> last, ReadOnlySpan<char> previous)
    {
        if (last.Equals("auth", StringComparison.OrdinalIgnoreCase))
        {
            return !StrongLookup.ContainsKey(previous) && !previous.Equals("key", StringComparison.OrdinalIgnoreCase);
        }

        return last.Equals("id", StringComparison.OrdinalIgnoreCase) && previous.Equals("secret", StringComparison.OrdinalIgnoreCase);
    }

    private static string? StrongSuffix(ReadOnlySpan<char> word)
    {
        foreach (var (suffix, rule) in StrongSuffixes)
        {
            if (word.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            {
                return rule;
            }
        }

        return null;
    }

    /// <summary>Splits a key's name into its words; digits are dropped. Returns how many.</summary>
    internal static int Split(ReadOnlySpan<char> key, Span<Range> words)
    {
        var count = 0;
        var start = -1;
        for (var i = 0; i <= key.Length; i++)
        {
            var c = i < key.Length ? key[i] : '\0';
            var boundary = !char.IsAsciiLetter(c);
            if (!boundary && start >= 0 && i > start)
            {
                var previous = key[i - 1];
                // fooBar: a capital after a small letter; AWSToken: a capital before a small letter ends an acronym.
                boundary = (char.IsAsciiLetterUpper(c) && char.IsAsciiLetterLower(previous))
                    || (char.IsAsciiLetterUpper(c) && char.IsAsciiLetterUpper(previous) && i + 1 < key.Length && char.IsAsciiLetterLower(key[i + 1]));
            }

            if (boundary && start >= 0)
            {
                if (count == words.Length)
                {
                    return count;
                }

                words[count++] = new Range(start, i);
                start = -1;
            }

            if (char.IsAsciiLetter(c) && start < 0)
            {
                start = i;
            }
        }

        return count;
    }
}
