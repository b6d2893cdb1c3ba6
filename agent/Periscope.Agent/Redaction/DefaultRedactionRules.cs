using System.Text.RegularExpressions;

namespace Periscope.Agent.Redaction;

/// <summary>
/// The rules every bundle is redacted with. Value patterns never take a quote, a backslash or whitespace, so that a
/// secret inside a JSON string is replaced without touching the document's syntax, and never take the marker that
/// replaced them (<c>***REDACTED:…***</c>), so redaction is idempotent. Look-alikes that must survive: digests
/// (<c>sha256:…</c>), UUIDs, base64 that is not a key, and the words themselves in prose.
/// </summary>
internal static partial class DefaultRedactionRules
{
    private const int TimeoutMs = 250;

    public static IReadOnlyList<RedactionRule> All { get; } =
    [
        new("pem-private-key", PemPrivateKey(), ["PRIVATE KEY"]),
        new("azure-sas-url", AzureSasUrl(), ["core.windows.net"]),
        new("azure-sas-signature", AzureSasSignature(), ["sig="]),
        new("azure-storage-key", AzureStorageKey(), ["AccountKey", "SharedAccessKey"]),

        // Vendor tokens by prefix and shape, whatever precedes them (a key of any name, or none), before the rules
        // that go by key names so that the marker names the vendor. A format's checksum is never checked: a token
        // whose checksum is wrong is still a token.
        new("github-token", GitHubToken(), ["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"], ExactTriggers: true),
        new("gitlab-token", GitLabToken(), ["glpat-", "gldt-", "glrt-", "glptt-", "glsoat-"], ExactTriggers: true),
        new("slack-token", SlackToken(), ["xox", "xapp-"], ExactTriggers: true),
        // Trigger literals start with rare characters: "/api/", "webhook", "outlook" and "sha256" begin countless kubelet
        // and containerd lines, and every position that starts like a literal is compared in full.
        new("webhook-url", WebhookUrl(), ["hooks.slack.com/", "ffice.com/webhook", "hooks/"], ExactTriggers: true),
        new("anthropic-key", AnthropicKey(), ["sk-ant-"], ExactTriggers: true),
        new("openai-key", OpenAiKey(), ["sk-"], ExactTriggers: true),
        new("huggingface-token", HuggingFaceToken(), ["hf_"], ExactTriggers: true),
        new("vault-token", VaultToken(), ["hvs.", "hvb.", "hvr."], ExactTriggers: true),
        new("openshift-token", OpenShiftToken(), ["56~"], ExactTriggers: true),
        new("google-api-key", GoogleApiKey(), ["AIza"], ExactTriggers: true),
        // "~" is rare in node logs and found by a single-character search; "Q~" (two characters) or "0Q~"…"9Q~"
        // (ten more literals) made the token-prefix search two to three times slower on every line.
        new("entra-client-secret", EntraClientSecret(), ["~"], ExactTriggers: true),
        new("stripe-key", StripeKey(), ["k_live_", "k_test_"], ExactTriggers: true),
        new("sendgrid-key", SendGridKey(), ["SG."], ExactTriggers: true),
        new("npm-token", NpmToken(), ["npm_"], ExactTriggers: true),
        new("pypi-token", PyPiToken(), ["pypi-AgE"], ExactTriggers: true),

        new("bearer-token", Bearer(), ["bearer"]),
        new("basic-auth", Basic(), ["basic"]),
        new("jwt", Jwt(), ["eyJ"]),
        new("url-credentials", UrlCredentials(), ["://"]),
        new("kubeconfig-credential", KubeconfigCredential(), ["-data", "token"]),
        new("registry-auth", RegistryAuth(), ["auth"]),
        new("aws-access-key", AwsAccessKey(), ["AKIA", "ASIA", "ABIA", "ACCA", "A3T"], ExactTriggers: true),
        new("cli-credentials", CliCredentials(), ["curl", "-user", "mysql", "mariadb", "sshpass", "redis-cli", "login"]),
        new("dsn-credentials", DsnCredentials(), ["@tcp", "@unix", "@udp"]),
        new(LineRedactor.SecretDataRule, null, SecretManifests.Triggers) { Finder = SecretManifests.FindInline },

        // Values by their keys' names, in every syntax (KeyValueRecognizer): last, so that a token's own rule names it.
        new("key-value", null, KeyValueRecognizer.Triggers)
        {
            Finder = KeyValueRecognizer.Find,
            Names = [SecretKeyNames.PasswordRule, SecretKeyNames.SecretRule, SecretKeyNames.TokenRule, SecretKeyNames.ApiKeyRule, SecretKeyNames.HeaderRule, KeyValueRecognizer.PairRule],
        },
    ];

    /// <summary>Every name a default rule counts replacements under, the line redactor's multi-line forms included.</summary>
    public static IEnumerable<string> Names => All.SelectMany(r => r.Names).Concat(LineRedactor.RuleNames).Distinct(StringComparer.Ordinal);

    /// <summary>A whole PEM private key on one line (a JSON string with <c>\n</c> escapes, a flattened log line).</summary>
    [GeneratedRegex("""(?<secret>-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----[^"]*?(-----END [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----|(?=")|$))""", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex PemPrivateKey();

    /// <summary>The query of an Azure Storage URL that carries a SAS (its <c>sv</c>, <c>se</c>, <c>sp</c> and <c>sig</c>).</summary>
    [GeneratedRegex("""https?://[A-Za-z0-9-]+\.(blob|file|queue|table|dfs)\.core\.windows\.net[^\s"'?<>\\]*\?(?<secret>[^\s"'<>\\]*sig=(?!\*\*\*REDACTED)[^\s"'<>\\]*)""", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, TimeoutMs)]
    private static partial Regex AzureSasUrl();

    [GeneratedRegex("""([?&;]|\\u0026)sig=(?<secret>(?!\*\*\*REDACTED)[A-Za-z0-9%+/=_-]{8,})""", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, TimeoutMs)]
    private static partial Regex AzureSasSignature();

    [GeneratedRegex("""(AccountKey|SharedAccessKey)\s*=\s*(?<secret>(?=(?-i:[A-Za-z0-9+/]*[A-Z0-9+]))[A-Za-z0-9+/]{16,}={0,2})""", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, TimeoutMs)]
    private static partial Regex AzureStorageKey();

    /// <summary>JSON Web Tokens, signed or not (an unsigned token ends with its second dot).</summary>
    [GeneratedRegex("""(?<secret>eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.([A-Za-z0-9_-]{8,})?)""", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex Jwt();

    [GeneratedRegex("""(?<![A-Za-z0-9])bearer\s+(?<secret>(?!\*\*\*REDACTED)[A-Za-z0-9._~+/-]{16,}=*)""", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, TimeoutMs)]
    private static partial Regex Bearer();

    /// <summary>Basic credentials only where an Authorization header names them: "basic" alone is a common word.</summary>
    [GeneratedRegex("""authorization[\\"'\]]*\s*[:=]\s*[\[\\"']*\s*basic\s+(?<secret>[A-Za-z0-9+/]{4,}={0,2})""", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, TimeoutMs)]
    private static partial Regex Basic();

    [GeneratedRegex("""(?<=(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{1,20})://(?<secret>(?!\*\*\*REDACTED)[^/\s:@"'<>\\]+:[^/\s@"'<>\\]+)@""", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex UrlCredentials();

    /// <summary>kubeconfig user credentials: <c>client-key-data</c>, <c>client-certificate-data</c>, <c>id-token</c>, <c>refresh-token</c>.</summary>
    [GeneratedRegex("""(?<![A-Za-z0-9_-])(client-key-data|client-certificate-data|id-token|refresh-token)["']?\s*:\s*["']?(?<secret>(?!\*\*\*REDACTED)[^\s"',}]{3,})""", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex KubeconfigCredential();

    /// <summary>Registry credentials as base64 <c>user:password</c>: docker's config.json, containerd's registry auth.</summary>
    [GeneratedRegex("""(?<![A-Za-z0-9_])auth["']?\s*[:=]\s*["']?(?<secret>(?=(?-i:[A-Za-z0-9+/]*[A-Z0-9+]))[A-Za-z0-9+/]{8,}={0,2})(?![A-Za-z0-9+/=])""", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, TimeoutMs)]
    private static partial Regex RegistryAuth();

    /// <summary>AWS access key ids: long-term (AKIA), temporary (ASIA), bearer (ABIA), context (ACCA), and A3T….</summary>
    [GeneratedRegex("""(?<![A-Z0-9])(?<secret>(AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[0-9A-Z]{16})(?![A-Z0-9])""", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex AwsAccessKey();

    /// <summary>GitHub: classic and app tokens (<c>ghp_</c>, <c>gho_</c>, <c>ghu_</c>, <c>ghs_</c>, <c>ghr_</c>) and fine-grained PATs.</summary>
    [GeneratedRegex("""(?<![A-Za-z0-9_])(?<secret>gh[pousr]_[A-Za-z0-9]{30,255}|github_pat_[A-Za-z0-9_]{22,255})(?![A-Za-z0-9_])""", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex GitHubToken();

    /// <summary>GitLab personal, deploy, runner, pipeline-trigger and service-account tokens.</summary>
    [GeneratedRegex("""(?<![A-Za-z0-9_-])(?<secret>(glpat|gldt|glrt|glptt|glsoat)-[A-Za-z0-9_-]{20,})""", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex GitLabToken();

    /// <summary>Slack bot, user, app, refresh and configuration tokens.</summary>
    [GeneratedRegex("""(?<![A-Za-z0-9_-])(?<secret>(xox[abposr]|xoxe(\.xox[bp])?|xapp)-[A-Za-z0-9-]{10,})""", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex SlackToken();

    /// <summary>Incoming-webhook URLs (Slack, Microsoft Teams/Office 365, Discord): the path is the credential.</summary>
    [GeneratedRegex("""(hooks\.slack\.com/(services|workflows|triggers)/|[A-Za-z0-9.-]*webhook\.office\.com/webhookb2/|outlook\.office\.com/webhook/|discord(app)?\.com/api/webhooks/)(?<secret>(?!\*\*\*REDACTED)[^\s"'<>\\]{8,})""", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, TimeoutMs)]
    private static partial Regex WebhookUrl();

    /// <summary>Anthropic API and admin keys.</summary>
    [GeneratedRegex("""(?<![A-Za-z0-9_-])(?<secret>sk-ant-[A-Za-z0-9_-]{20,})""", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex AnthropicKey();

    /// <summary>OpenAI keys (<c>sk-</c>, <c>sk-proj-</c>, <c>sk-svcacct-</c>, <c>sk-admin-</c>): 20 or more characters with a digit, so kebab-case words stay.</summary>
    [GeneratedRegex("""(?<![A-Za-z0-9_-])(?<secret>sk-(?!ant-)(proj-|svcacct-|admin-|None-)?(?=[A-Za-z0-9_-]*[0-9])(?=[A-Za-z0-9_-]*[A-Z])[A-Za-z0-9_-]{20,})""", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex OpenAiKey();

    /// <summary>Hugging Face access tokens: <c>hf_</c> and 30 or more letters and digits (identifiers like <c>hf_hub_download</c> stay).</summary>
    [GeneratedRegex("""(?<![A-Za-z0-9_])(?<secret>hf_[A-Za-z0-9]{30,})(?![A-Za-z0-9_])""", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex HuggingFaceToken();

    /// <summary>HashiCorp Vault service, batch and recovery tokens.</summary>
    [GeneratedRegex("""(?<![A-Za-z0-9_.])(?<secret>hv[sbr]\.[A-Za-z0-9_-]{20,})""", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex VaultToken();

    /// <summary>OpenShift OAuth access tokens (<c>sha256~</c>; image digests use <c>sha256:</c>).</summary>
    [GeneratedRegex("""(?<secret>sha256~[A-Za-z0-9_-]{40,})""", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex OpenShiftToken();

    [GeneratedRegex("""(?<![A-Za-z0-9_-])(?<secret>AIza[0-9A-Za-z_-]{35})(?![A-Za-z0-9_-])""", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex GoogleApiKey();

    /// <summary>Microsoft Entra ID client secrets: three characters, a digit, <c>Q~</c>, then 31 to 34 more.</summary>
    [GeneratedRegex("""(?<![A-Za-z0-9_~.-])(?<secret>[A-Za-z0-9_~.-]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34})(?![A-Za-z0-9_~.-])""", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex EntraClientSecret();

    /// <summary>Stripe secret and restricted keys (publishable <c>pk_</c> keys are public by design).</summary>
    [GeneratedRegex("""(?<![A-Za-z0-9_])(?<secret>[sr]k_(live|test)_[A-Za-z0-9]{16,})""", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex StripeKey();

    [GeneratedRegex("""(?<![A-Za-z0-9_-])(?<secret>SG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{40,50})""", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex SendGridKey();

    [GeneratedRegex("""(?<![A-Za-z0-9_])(?<secret>npm_[A-Za-z0-9]{36})(?![A-Za-z0-9_])""", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex NpmToken();

    /// <summary>PyPI API tokens: a macaroon whose base64 begins with the encoding of "pypi.org".</summary>
    [GeneratedRegex("""(?<secret>pypi-AgE[A-Za-z0-9_-]{50,})""", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex PyPiToken();

    /// <summary>
    /// Credentials on command lines whose syntax makes an argument a password: <c>--user u:p</c> and curl's <c>-u u:p</c>
    /// (the part after the colon), the MySQL clients' <c>-pSECRET</c>, <c>sshpass -p X</c>, <c>redis-cli -a X</c>, and
    /// <c>login -p X</c> (docker, podman, helm registry and others). <c>--password X</c> and <c>--token X</c> are key/value pairs.
    /// </summary>
    [GeneratedRegex("""((?<![A-Za-z0-9_-])--(proxy-)?user(=|\s+)|(?<=\b(curl|wget)\b[^\n]{0,4000}?)\s-[uU]\s*)["']?[^\s:"'@]+:(?<secret>(?!\*\*\*REDACTED)[^\s"']+)|(?<=\b(mysql|mysqladmin|mysqldump|mysqlimport|mysqlshow|mariadb|mariadb-dump)\b[^\n]{0,4000}?)\s-p(?<secret>(?!\*\*\*REDACTED)[^\s"']+)|(?<=\b(sshpass|redis-cli|login)\b[^\n]{0,4000}?)\s-[pa]\s+["']?(?<secret>(?!\*\*\*REDACTED)[^\s"']+)""", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex CliCredentials();

    /// <summary>Go's MySQL driver DSN without a scheme: <c>user:password@tcp(host:3306)/db</c>, <c>@unix(/path)</c>.</summary>
    [GeneratedRegex("""(?<![A-Za-z0-9_.%+/:@-])[A-Za-z0-9_.%+-]{1,64}:(?<secret>(?!\*\*\*REDACTED)[^\s@"'\\]{1,256})@(tcp6?|unix|udp)\(""", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex DsnCredentials();
}
