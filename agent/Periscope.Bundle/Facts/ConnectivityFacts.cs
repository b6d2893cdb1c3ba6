using System.Text.Json.Serialization;

namespace Periscope.Bundle.Facts;

/// <summary>The <c>connectivity</c> collector: whether this node reaches what it depends on (schema 1.2).</summary>
public sealed record ConnectivityFacts
{
    /// <summary>True when the run replayed a captured node: nothing was probed.</summary>
    [JsonRequired]
    public bool Offline { get; init; }

    /// <summary>The name servers names were resolved with (the node's resolv.conf).</summary>
    [JsonRequired]
    public IReadOnlyList<string> Nameservers { get; init; } = [];

    /// <summary>One probe per endpoint.</summary>
    [JsonRequired]
    public IReadOnlyList<ConnectivityProbe> Probes { get; init; } = [];

    /// <summary>The registries of the node's images (from the CRI image list), in name order.</summary>
    public IReadOnlyList<string> Registries { get; init; } = [];

    /// <summary>Why the image list could not be read, when it could not.</summary>
    public string? RegistriesError { get; init; }

    /// <summary>The HTTPS proxies the node's services use, as <c>unit: host:port</c> (never credentials).</summary>
    public IReadOnlyList<string> Proxies { get; init; } = [];
}

/// <summary>One endpoint probed: resolve, connect, TLS handshake.</summary>
public sealed record ConnectivityProbe
{
    /// <summary>
    /// <c>api-server</c> (the kubelet's kubeconfig), <c>registry</c> (a registry of the node's images), <c>azure</c> (the
    /// documented outbound set, on Azure) or <c>configured</c>.
    /// </summary>
    [JsonRequired]
    public string Role { get; init; } = "";

    /// <summary>The name or address probed.</summary>
    [JsonRequired]
    public string Host { get; init; } = "";

    /// <summary>The TCP port.</summary>
    [JsonRequired]
    public int Port { get; init; }

    /// <summary>
    /// Where it failed: <c>ok</c>, <c>dns</c>, <c>connect-timeout</c>, <c>refused</c>, <c>connect</c> or <c>tls</c>; through a
    /// proxy, <c>proxy-dns</c>, <c>proxy-connect-timeout</c>, <c>proxy-refused</c>, <c>proxy-connect</c> (reaching the
    /// proxy) or <c>proxy</c> (the proxy refused the tunnel).
    /// </summary>
    [JsonRequired]
    public string Step { get; init; } = "";

    /// <summary>What went wrong at that step.</summary>
    public string? Error { get; init; }

    /// <summary>The proxy the probe went through (<c>host:port</c>, as the node's service would), or null when direct.</summary>
    public string? Proxy { get; init; }

    /// <summary>The addresses the name resolved to (the proxy's, through a proxy).</summary>
    [JsonRequired]
    public IReadOnlyList<string> Addresses { get; init; } = [];

    /// <summary>The server certificate's subject, issuer and expiry, when a handshake happened.</summary>
    public string? CertificateSubject { get; init; }

    /// <summary>The certificate's issuer.</summary>
    public string? CertificateIssuer { get; init; }

    /// <summary>The certificate's expiry.</summary>
    public DateTimeOffset? CertificateNotAfter { get; init; }

    /// <summary><c>trusted</c>, <c>untrusted</c> (no chain to a trusted root), <c>name-mismatch</c> or <c>expired</c>.</summary>
    public string? Certificate { get; init; }

    /// <summary>How long the probe took, in milliseconds.</summary>
    [JsonRequired]
    public long DurationMs { get; init; }
}
