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
        new("bearer-token", Bearer(), ["bearer"]),
        new("basic-auth", Basic(), ["basic"]),
        new("jwt", Jwt(), ["eyJ"]),
        new("url-credentials", UrlCredentials(), ["://"]),
        new("kubeconfig-credential", KubeconfigCredential(), ["-data", "token"]),
        new("password", Password(), ["pass", "pwd"]),
        new("secret-value", SecretValue(), ["secret"]),
        new("token-value", TokenValue(), ["token"]),
        new("registry-auth", RegistryAuth(), ["auth"]),
        new("api-key", ApiKey(), ["apikey", "api_key", "api-key"]),
        new("aws-access-key", AwsAccessKey(), ["AKIA", "ASIA"]),
        new("secret-env", SecretEnv(), ["SECRET", "PASSWORD", "PASSWD", "TOKEN", "KEY", "CREDENTIAL"]),
        new("secret-env", SecretEnvJson(), ["SECRET", "PASSWORD", "PASSWD", "TOKEN", "KEY", "CREDENTIAL"]),
    ];

    /// <summary>A whole PEM private key on one line (a JSON string with <c>\n</c> escapes, a flattened log line).</summary>
    [GeneratedRegex("""(?<secret>-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[^"]*?(-----END [A-Z0-9 ]*PRIVATE KEY-----|(?=")|$))""", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex PemPrivateKey();

    /// <summary>The query of an Azure Storage URL that carries a SAS (its <c>sv</c>, <c>se</c>, <c>sp</c> and <c>sig</c>).</summary>
    [GeneratedRegex("""https?://[A-Za-z0-9-]+\.(blob|file|queue|table|dfs)\.core\.windows\.net[^\s"'?<>\\]*\?(?<secret>[^\s"'<>\\]*sig=(?!\*\*\*REDACTED)[^\s"'<>\\]*)""", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, TimeoutMs)]
    private static partial Regex AzureSasUrl();

    [GeneratedRegex("""([?&;]|\\u0026)sig=(?<secret>(?!\*\*\*REDACTED)[A-Za-z0-9%+/=_-]{8,})""", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, TimeoutMs)]
    private static partial Regex AzureSasSignature();

    [GeneratedRegex("""(AccountKey|SharedAccessKey)\s*=\s*(?<secret>[A-Za-z0-9+/]{16,}={0,2})""", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, TimeoutMs)]
    private static partial Regex AzureStorageKey();

    [GeneratedRegex("""(?<secret>eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})""", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex Jwt();

    [GeneratedRegex("""(?<![A-Za-z0-9])bearer\s+(?<secret>(?!\*\*\*REDACTED)[A-Za-z0-9._~+/-]{16,}=*)""", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, TimeoutMs)]
    private static partial Regex Bearer();

    /// <summary>Basic credentials only where an Authorization header names them: "basic" alone is a common word.</summary>
    [GeneratedRegex("""authorization["']?\s*[:=]\s*["']?basic\s+(?<secret>[A-Za-z0-9+/]{4,}={0,2})""", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, TimeoutMs)]
    private static partial Regex Basic();

    [GeneratedRegex("""(?<=(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{1,20})://(?<secret>(?!\*\*\*REDACTED)[^/\s:@"'<>\\]+:[^/\s@"'<>\\]+)@""", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex UrlCredentials();

    /// <summary>kubeconfig user credentials: <c>client-key-data</c>, <c>client-certificate-data</c>, <c>id-token</c>, <c>refresh-token</c>.</summary>
    [GeneratedRegex("""(?<![A-Za-z0-9_-])(client-key-data|client-certificate-data|id-token|refresh-token)["']?\s*:\s*["']?(?<secret>(?!\*\*\*REDACTED)[^\s"',}]{3,})""", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex KubeconfigCredential();

    [GeneratedRegex("""(?<![A-Za-z0-9])(password|passwd|passphrase|pwd)["']?\s*[:=]\s*["']?(?<secret>(?!\*\*\*REDACTED)[^\s"',;&<>{}()\[\]\\]{3,})""", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, TimeoutMs)]
    private static partial Regex Password();

    [GeneratedRegex("""(?<![A-Za-z0-9])(secret|client[_-]?secret|secret[_-]?key|secret[_-]?access[_-]?key)["']?\s*[:=]\s*["']?(?<secret>(?!\*\*\*REDACTED)[^\s"',;&<>{}()\[\]\\]{3,})""", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, TimeoutMs)]
    private static partial Regex SecretValue();

    [GeneratedRegex("""(?<![A-Za-z0-9])((access|auth|bootstrap|refresh|session|api|identity|registry|id)[_-]?)?token["']?\s*[:=]\s*["']?(?<secret>(?!\*\*\*REDACTED)[^\s"',;&<>{}()\[\]\\]{3,})""", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, TimeoutMs)]
    private static partial Regex TokenValue();

    /// <summary>Registry credentials as base64 <c>user:password</c>: docker's config.json, containerd's registry auth.</summary>
    [GeneratedRegex("""(?<![A-Za-z0-9_])auth["']?\s*[:=]\s*["']?(?<secret>[A-Za-z0-9+/]{8,}={0,2})(?![A-Za-z0-9+/=])""", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, TimeoutMs)]
    private static partial Regex RegistryAuth();

    [GeneratedRegex("""(?<![A-Za-z0-9])(x-)?api[_-]?key["']?\s*[:=]\s*["']?(?<secret>(?!\*\*\*REDACTED)[^\s"',;&<>{}()\[\]\\]{3,})""", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, TimeoutMs)]
    private static partial Regex ApiKey();

    [GeneratedRegex("""(?<![A-Z0-9])(?<secret>(AKIA|ASIA)[0-9A-Z]{16})(?![A-Z0-9])""", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex AwsAccessKey();

    /// <summary><c>NAME=value</c> where the upper-case name says it holds a secret (env dumps, /proc/*/environ, OCI specs).</summary>
    [GeneratedRegex("""(?<![A-Za-z0-9_])[A-Z][A-Z0-9_]*(SECRET|PASSWORD|PASSWD|TOKEN|KEY|CREDENTIALS?)[A-Z0-9_]*=(?<secret>(?!\*\*\*REDACTED)[^\s"'\\]+)""", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex SecretEnv();

    /// <summary>An environment variable name that says it holds a secret (<c>DB_PASSWORD</c>, <c>API_TOKEN</c>).</summary>
    [GeneratedRegex("""^[A-Z0-9_]*(SECRET|PASSWORD|PASSWD|TOKEN|CREDENTIALS?|[A-Z0-9]_?KEY)[A-Z0-9_]*$""", RegexOptions.CultureInvariant, TimeoutMs)]
    public static partial Regex SecretName();

    /// <summary>The CRI's environment form on one line: <c>{"key":"DB_PASSWORD","value":"…"}</c>.</summary>
    [GeneratedRegex("""
        "key"\s*:\s*"[A-Z0-9_]*(SECRET|PASSWORD|PASSWD|TOKEN|KEY|CREDENTIALS?)[A-Z0-9_]*"\s*,\s*"value"\s*:\s*"(?<secret>(?!\*\*\*REDACTED)([^"\\]|\\.)+)"
        """, RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex SecretEnvJson();
}
