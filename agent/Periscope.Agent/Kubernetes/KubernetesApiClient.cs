using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using k8s;

namespace Periscope.Agent.Kubernetes;

/// <summary>
/// An HTTP client for the Kubernetes API built from KubernetesClient.Aot's configuration: the in-cluster service
/// account (whose projected token the library re-reads as it rotates) or a kubeconfig (token, client certificate,
/// basic auth, exec plugin), the cluster's CA, and its server address. Only the configuration is used: constructing the
/// library's <c>Kubernetes</c> client roots its JSON context of every API type, which would double the agent's binary
/// and its resident memory (measured: 40 MiB binary and 66 MiB idle RSS with it).
/// </summary>
internal sealed class KubernetesApiClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly KubernetesClientConfiguration _config;

    private KubernetesApiClient(KubernetesClientConfiguration config, HttpClient http)
    {
        _config = config;
        _http = http;
        var host = config.Host ?? throw new ArgumentException("the Kubernetes configuration names no API server");
        BaseUri = new Uri(host.EndsWith('/') ? host : host + "/");
    }

    public Uri BaseUri { get; }

    /// <summary>
    /// A client from a kubeconfig file, or from the pod's service account when <paramref name="kubeconfig"/> is empty;
    /// the configuration's namespace comes with it. Throws with the reason when neither can be read.
    /// </summary>
    /// <param name="kubeconfig">A kubeconfig file, or null.</param>
    /// <param name="defaultChain">Without a file: kubectl's chain (KUBECONFIG, ~/.kube/config, then in-cluster) rather than in-cluster only.</param>
    public static async Task<(KubernetesApiClient Client, string? Namespace)> FromConfigurationAsync(string? kubeconfig, bool defaultChain = false)
    {
        var config = !string.IsNullOrEmpty(kubeconfig) ? await KubernetesClientConfiguration.BuildConfigFromConfigFileAsync(new FileInfo(kubeconfig))
            : defaultChain ? KubernetesClientConfiguration.BuildDefaultConfig()
            : KubernetesClientConfiguration.InClusterConfig();
        return (Create(config), config.Namespace);
    }

    /// <summary>Whether an exception from <see cref="FromConfigurationAsync"/> means "no usable configuration".</summary>
    public static bool IsConfigurationError(Exception ex)
        => ex is k8s.Exceptions.KubeConfigException or IOException or UnauthorizedAccessException or ArgumentException or FormatException
            or System.Security.Cryptography.CryptographicException;

    public static KubernetesApiClient Create(KubernetesClientConfiguration config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var handler = new SocketsHttpHandler
        {
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2),
            ConnectTimeout = TimeSpan.FromSeconds(15),
        };
        if (config.SkipTlsVerify)
        {
            // The agent reads what starts runs on every node: it does not talk to an API server it cannot verify.
            throw new ArgumentException("the kubeconfig sets insecure-skip-tls-verify, which the agent does not accept; give it the cluster's CA (certificate-authority-data)");
        }

        if (config.SslCaCerts is { Count: > 0 } authorities)
        {
            // The cluster's own CA, not the machine's trust store: an API server certificate is signed by it.
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                errors == SslPolicyErrors.None || (errors == SslPolicyErrors.RemoteCertificateChainErrors && ChainsTo(certificate, authorities));
        }

        if (!string.IsNullOrEmpty(config.ClientCertificateData) || !string.IsNullOrEmpty(config.ClientCertificateFilePath))
        {
            handler.SslOptions.ClientCertificates = [ClientCertificate(config)];
        }

        // Watches stay open for minutes: no overall timeout here, every request carries its own deadline.
        return new KubernetesApiClient(config, new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan });
    }

    /// <summary>Sends an authenticated GET and returns once the headers are in (the body may be a watch stream).</summary>
    public Task<HttpResponseMessage> GetAsync(string relativeUri, CancellationToken cancellationToken)
        => SendAsync(HttpMethod.Get, relativeUri, null, cancellationToken);

    /// <summary>
    /// Sends an authenticated request with a JSON body of the given media type (a POST, or a PATCH with
    /// <c>application/strategic-merge-patch+json</c>) and returns the body of a 2xx answer; any other status throws a
    /// <see cref="KubernetesApiException"/> with the API's own Status message.
    /// </summary>
    public async Task<string> SendJsonAsync(HttpMethod method, string relativeUri, string? body, string mediaType, CancellationToken cancellationToken)
    {
        using var content = body is null ? null : new StringContent(body, Encoding.UTF8, mediaType);
        using var response = await SendAsync(method, relativeUri, content, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new KubernetesApiException(response.StatusCode, StatusMessage(text));
        }

        return text;
    }

    /// <summary>The <c>message</c> of a meta/v1 Status body, or null when the body is not one (a proxy's page).</summary>
    public static string? StatusMessage(string body)
    {
        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(body);
            return document.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object
                && document.RootElement.TryGetProperty("message", out var message) && message.ValueKind == System.Text.Json.JsonValueKind.String
                ? message.GetString() : null;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string relativeUri, HttpContent? content, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, new Uri(BaseUri, relativeUri)) { Content = content };
        request.Headers.Accept.ParseAdd("application/json");
        if (_config.TokenProvider is { } provider)
        {
            request.Headers.Authorization = await provider.GetAuthenticationHeaderAsync(cancellationToken);
        }
        else if (!string.IsNullOrEmpty(_config.AccessToken))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _config.AccessToken);
        }
        else if (!string.IsNullOrEmpty(_config.Username))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic",
                Convert.ToBase64String(Encoding.UTF8.GetBytes($"{_config.Username}:{_config.Password}")));
        }

        return await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
    }

    /// <summary>The kubeconfig's client certificate and key (inline base64 PEM, or files).</summary>
    private static X509Certificate2 ClientCertificate(KubernetesClientConfiguration config)
    {
        var certificate = !string.IsNullOrEmpty(config.ClientCertificateData)
            ? Encoding.UTF8.GetString(Convert.FromBase64String(config.ClientCertificateData))
            : File.ReadAllText(config.ClientCertificateFilePath);
        var key = !string.IsNullOrEmpty(config.ClientCertificateKeyData)
            ? Encoding.UTF8.GetString(Convert.FromBase64String(config.ClientCertificateKeyData))
            : File.ReadAllText(config.ClientKeyFilePath);
        return X509Certificate2.CreateFromPem(certificate, key);
    }

    private static bool ChainsTo(X509Certificate? certificate, X509Certificate2Collection authorities)
    {
        if (certificate is null)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = new X509Certificate2(certificate);
        return chain.Build(leaf);
    }

    public void Dispose() => _http.Dispose();
}
