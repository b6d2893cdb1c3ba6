using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using DnsClient;
using Microsoft.Extensions.Options;
using Periscope.Agent.Collection;
using Periscope.Agent.Collection.Cri;
using Periscope.Agent.Collection.Node;
using Periscope.Bundle;
using Periscope.Bundle.Facts;
using YamlDotNet.RepresentationModel;

namespace Periscope.Agent.Collectors.Connectivity;

/// <summary>
/// Can this node reach what it depends on? For each endpoint, concurrently and each step under its own deadline: the
/// name resolved through the node's own name servers (its resolv.conf; never the agent's resolver), a TCP connect, a
/// TLS handshake whose certificate is checked (chain to a trusted root — the cluster's CA for the API server, the
/// system's roots and <see cref="ConnectivityCollectorOptions.TrustedCaFile"/> for the rest —, name, expiry). The
/// endpoints: the API server of the kubelet's kubeconfig, the registries of the node's images (the CRI image list), the
/// configured ones, and where DMI says Azure, AKS's documented outbound set. Where the kubelet (for the API server) or
/// containerd (for the rest) is started with an HTTPS proxy, the probe goes through it as they would (HTTP CONNECT,
/// their NO_PROXY honoured). Off a Kubernetes node the collector is skipped; an offline replay probes nothing.
/// Nothing is sent after the handshake.
/// </summary>
internal sealed class ConnectivityCollector(IOptions<ConnectivityCollectorOptions> options) : ICollector
{
    public string Name => "connectivity"; // bundle folder + config key: never rename

    public string Description => "DNS, TCP and TLS to the API server, configured endpoints and (on Azure) AKS's outbound dependencies.";

    public CollectorSupport CheckSupport(INodeFileSystem host)
        => KubernetesNode.Evidence(host) is { } evidence
            ? CollectorSupport.Supported(evidence)
            : CollectorSupport.Unsupported("not a Kubernetes node: what it depends on is not known, so nothing is probed");

    public async Task CollectAsync(CollectionContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var o = options.Value;
        var nameservers = await NameserversAsync(context.Host, cancellationToken);
        if (context.Offline)
        {
            context.Output.SetFacts(new ConnectivityFacts { Offline = true, Nameservers = nameservers });
            return;
        }

        var (apiServer, clusterCa) = await ApiServerAsync(context, o, cancellationToken);
        var endpoints = new List<ConnectivityEndpoint>();
        if (apiServer is not null)
        {
            endpoints.Add(apiServer);
        }

        var (registries, registriesError) = o.Registries ? await RegistriesAsync(context, o, cancellationToken) : ([], null);
        endpoints.AddRange(registries.Take(o.MaxRegistries)
            .Select(r => ConnectivityEndpoint.TryParse(ImageReference.Endpoint(r), "registry", out var parsed) ? parsed : null).OfType<ConnectivityEndpoint>());
        endpoints.AddRange(o.Endpoints.Select(e => ConnectivityEndpoint.TryParse(e, "configured", out var parsed) ? parsed : null).OfType<ConnectivityEndpoint>());
        if (DmiIdentity.Read(context.Host).IsAzure)
        {
            endpoints.AddRange(o.AzureEndpoints.Select(e => ConnectivityEndpoint.TryParse(e, "azure", out var parsed) ? parsed : null).OfType<ConnectivityEndpoint>());
        }

        var kubeletProxy = o.UseNodeProxy ? await NodeProxySettings.ReadAsync(context.Host, "kubelet", cancellationToken) : null;
        var containerdProxy = o.UseNodeProxy ? await NodeProxySettings.ReadAsync(context.Host, "containerd", cancellationToken) : null;
        ProxyRoute? RouteOf(ConnectivityEndpoint e)
            => (e.Role == "api-server" ? kubeletProxy : containerdProxy ?? kubeletProxy) is { } proxy && proxy.Applies(e.Host, e.Port) ? proxy : null;

        var extraRoots = LoadRoots(o.TrustedCaFile);
        var probed = endpoints.DistinctBy(e => e.ToString()).Take(o.MaxEndpoints).ToList();
        var probes = await Task.WhenAll(probed
            .Select(e => ProbeAsync(e, nameservers, e.Role == "api-server" ? clusterCa : extraRoots, o.ProbeTimeout, context.Time, cancellationToken, RouteOf(e))));
        foreach (var (endpoint, probe) in probed.Zip(probes))
        {
            Observations.Report(context, Judge(context, endpoint, probe));
        }

        context.Output.SetFacts(new ConnectivityFacts
        {
            Nameservers = nameservers,
            Probes = probes,
            Registries = registries,
            RegistriesError = registriesError,
            Proxies = [.. new[] { kubeletProxy, containerdProxy }.OfType<ProxyRoute>().Select(p => $"{p.Source}: {p}")],
        });
    }

    /// <summary>
    /// The registries of the node's images, most images first (then by name), from the runtime's CRI image list; none,
    /// with the reason, when the socket is not there or does not answer.
    /// </summary>
    private static async Task<(IReadOnlyList<string> Registries, string? Error)> RegistriesAsync(CollectionContext context, ConnectivityCollectorOptions o, CancellationToken cancellationToken)
    {
        if (!context.Host.FileExists(o.CriSocketPath))
        {
            return ([], $"no runtime socket at {o.CriSocketPath}");
        }

        using var cri = new CriClient(context.Host.Resolve(o.CriSocketPath), o.ProbeTimeout, context.Time);
        var images = await cri.CallAsync("ImageService/ListImages", c => cri.Images.ListImagesAsync(new ListImagesRequest(), c), cancellationToken);
        if (images.Response is not { } list)
        {
            return ([], $"the image list could not be read: {images.Describe()}");
        }

        return ([.. list.Images
            .SelectMany(i => i.RepoTags.Concat(i.RepoDigests).Select(ImageReference.Registry).OfType<string>().Distinct(StringComparer.Ordinal))
            .GroupBy(r => r, StringComparer.Ordinal)
            .OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => g.Key)], null);
    }

    /// <summary>The finding a probe makes, if any.</summary>
    internal static Observation? Judge(CollectionContext context, ConnectivityEndpoint endpoint, ConnectivityProbe probe)
    {
        var subject = new FindingSubject(SubjectKind.Server, endpoint.ToString());
        var problem = probe.Step != "ok" ? $"{probe.Step}: {probe.Error}"
            : probe.Certificate is "name-mismatch" or "expired" ? $"tls: {probe.Error}"
            : null;
        if (problem is not null)
        {
            var step = probe.Step == "ok" ? "tls" : probe.Step;
            return endpoint.Role == "api-server"
                ? Observations.Of(context, FindingCodes.ApiServerUnreachable, Severity.Critical, $"The API server {endpoint} cannot be reached from this node ({step})", subject,
                    $"{problem}. The kubelet on this node cannot post its status or read its pods: the node goes NotReady. Check the node's DNS, routes, NSG or firewall rules to the API server, and its private endpoint or authorised IP ranges.",
                    null, ("step", step), ("endpoint", endpoint.ToString()))
                : Observations.Of(context, FindingCodes.EgressBlocked, Severity.Warning, $"{endpoint} cannot be reached from this node ({step})", subject,
                    $"{problem}. Image pulls, node bootstrap or sign-in that need it fail from this node. Check the egress path: firewall rules, UDRs, NSGs, DNS, proxy.",
                    null, ("step", step), ("endpoint", endpoint.ToString()), ("role", endpoint.Role));
        }

        return probe.Certificate == "untrusted"
            ? Observations.Of(context, FindingCodes.TlsIntercepted, Severity.Warning, $"{endpoint} answers with a certificate no trusted root signed", subject,
                $"Its certificate for {probe.CertificateSubject} was issued by {probe.CertificateIssuer}, which chains to no root this node trusts: a TLS-inspecting firewall or proxy re-signs the traffic. Image pulls and sign-in reject it unless its CA is trusted on the node; exempt the endpoint from inspection or install the CA.",
                null, ("issuer", probe.CertificateIssuer), ("endpoint", endpoint.ToString()))
            : null;
    }

    /// <param name="endpoint">What to probe.</param>
    /// <param name="nameservers">The node's name servers.</param>
    /// <param name="roots">More trusted roots, or null.</param>
    /// <param name="timeout">Each step's deadline.</param>
    /// <param name="time">The clock.</param>
    /// <param name="cancellationToken">Cancels the probe.</param>
    /// <param name="proxy">The HTTPS proxy the node's service would go through, or null for a direct connection.</param>
    internal static async Task<ConnectivityProbe> ProbeAsync(ConnectivityEndpoint endpoint, IReadOnlyList<string> nameservers, X509Certificate2Collection? roots, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken,
        ProxyRoute? proxy = null)
    {
        var started = time.GetTimestamp();
        ConnectivityProbe Done(string step, string? error, IReadOnlyList<string> addresses) => new()
        {
            Role = endpoint.Role, Host = endpoint.Host, Port = endpoint.Port, Step = step, Error = error, Addresses = addresses,
            Proxy = proxy?.ToString(),
            DurationMs = (long)time.GetElapsedTime(started).TotalMilliseconds,
        };

        // Through a proxy the proxy resolves the endpoint's name; the node resolves and connects to the proxy.
        var (host, port, step) = proxy is null ? (endpoint.Host, endpoint.Port, string.Empty) : (proxy.Host, proxy.Port, "proxy-");

        // Resolve through the node's name servers (an address is taken as it is).
        IReadOnlyList<IPAddress> addresses;
        if (IPAddress.TryParse(host, out var literal))
        {
            addresses = [literal];
        }
        else
        {
            var servers = nameservers.Select(s => IPAddress.TryParse(s, out var a) ? a : null).OfType<IPAddress>().Take(3).Select(a => new NameServer(a, 53)).ToArray();
            if (servers.Length == 0)
            {
                return Done(step + "dns", "the node's resolv.conf names no name server", []);
            }

            try
            {
                var client = new LookupClient(new LookupClientOptions(servers) { Timeout = timeout, Retries = 0, UseCache = false, ThrowDnsErrors = false, ContinueOnDnsError = true, UseTcpFallback = true });
                var answer = await client.QueryAsync(host, QueryType.A, QueryClass.IN, cancellationToken);
                addresses = [.. answer.Answers.ARecords().Select(r => r.Address)];
                if (addresses.Count == 0)
                {
                    return Done(step + "dns", answer.HasError ? $"{host} does not resolve ({answer.ErrorMessage})" : $"{host} has no address", []);
                }
            }
            catch (DnsResponseException ex)
            {
                return Done(step + "dns", $"{host} could not be resolved: {ex.Message}", []);
            }
        }

        var shown = addresses.Select(a => a.ToString()).ToList();
        using var socket = new Socket(addresses[0].AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        using (var connect = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            connect.CancelAfter(timeout);
            var what = proxy is null ? "the connection" : $"the connection to the proxy {proxy}";
            try
            {
                await socket.ConnectAsync(new IPEndPoint(addresses[0], port), connect.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return Done(step + "connect-timeout", $"no answer to {what} within {timeout.TotalSeconds:0.#} s (dropped by a firewall or no route)", shown);
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionRefused)
            {
                return Done(step + "refused", $"{what} was refused (nothing listens, or a firewall rejects it)", shown);
            }
            catch (SocketException ex)
            {
                return Done(step + "connect", ex.Message, shown);
            }
        }

        await using var stream = new NetworkStream(socket, ownsSocket: false);
        if (proxy is not null && await TunnelAsync(stream, endpoint, proxy, timeout, cancellationToken) is { } refused)
        {
            return Done("proxy", refused, shown);
        }

        X509Certificate2? certificate = null;
        var errors = SslPolicyErrors.None;
        await using var tls = new SslStream(stream, leaveInnerStreamOpen: false);
        using (var handshake = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            handshake.CancelAfter(timeout);
            try
            {
                await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                {
                    TargetHost = endpoint.Host,
                    // The certificate is kept whatever it is and judged below with the right roots; an untrusted one ends
                    // the handshake here (nothing is ever sent over this connection).
                    RemoteCertificateValidationCallback = (_, cert, _, policy) =>
                    {
                        certificate = cert is null ? null : new X509Certificate2(cert);
                        errors = policy;
                        return policy == SslPolicyErrors.None;
                    },
                }, handshake.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return Done("tls", $"no TLS handshake within {timeout.TotalSeconds:0.#} s", shown);
            }
            catch (global::System.Security.Authentication.AuthenticationException) when (certificate is not null)
            {
                // Refused by the check above: judged below.
            }
            catch (Exception ex) when (ex is IOException or global::System.Security.Authentication.AuthenticationException)
            {
                return Done("tls", $"the TLS handshake failed: {ex.Message}", shown);
            }
        }

        using (certificate)
        {
            if (certificate is null)
            {
                return Done("tls", "the server sent no certificate", shown);
            }

            var (verdict, why) = Judge(certificate, errors, roots, time.GetUtcNow(), endpoint.Host);
            return Done("ok", why, shown) with
            {
                CertificateSubject = certificate.Subject,
                CertificateIssuer = certificate.Issuer,
                CertificateNotAfter = new DateTimeOffset(certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero),
                Certificate = verdict,
            };
        }
    }

    /// <summary>
    /// Asks the proxy for a tunnel to the endpoint (<c>CONNECT host:port HTTP/1.1</c>, with the proxy's credentials when
    /// its URL has them) and reads its answer's head: null when it answered 2xx (the stream is then the tunnel), else why not.
    /// </summary>
    private static async Task<string?> TunnelAsync(Stream stream, ConnectivityEndpoint endpoint, ProxyRoute proxy, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var target = endpoint.ToString();
        var request = $"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n"
            + (proxy.Authorization is { } authorization ? $"Proxy-Authorization: {authorization}\r\n" : string.Empty) + "\r\n";
        var head = new List<byte>(256);
        try
        {
            await stream.WriteAsync(global::System.Text.Encoding.ASCII.GetBytes(request), deadline.Token);
            var one = new byte[1];
            while (head.Count < 8192 && !(head.Count >= 4 && head[^4] == '\r' && head[^3] == '\n' && head[^2] == '\r' && head[^1] == '\n'))
            {
                if (await stream.ReadAsync(one, deadline.Token) == 0)
                {
                    return $"the proxy {proxy} closed the connection without answering CONNECT {target}";
                }

                head.Add(one[0]);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return $"the proxy {proxy} did not answer CONNECT {target} within {timeout.TotalSeconds:0.#} s";
        }
        catch (IOException ex)
        {
            return $"the proxy {proxy} failed during CONNECT {target}: {ex.Message}";
        }

        var statusLine = global::System.Text.Encoding.ASCII.GetString([.. head]).Split("\r\n")[0];
        var parts = statusLine.Split(' ', 3);
        if (parts.Length >= 2 && parts[0].StartsWith("HTTP/", StringComparison.Ordinal) && int.TryParse(parts[1], global::System.Globalization.CultureInfo.InvariantCulture, out var status))
        {
            return status switch
            {
                >= 200 and < 300 => null,
                407 => $"the proxy {proxy} wants credentials for CONNECT {target} (407){(proxy.Authorization is null ? string.Empty : ": it refused the ones in the unit's proxy URL")}",
                _ => $"the proxy {proxy} refused CONNECT {target}: {statusLine}",
            };
        }

        return $"the proxy {proxy} answered CONNECT {target} with something that is not HTTP";
    }

    /// <summary>trusted, untrusted, name-mismatch or expired, and why.</summary>
    private static (string Verdict, string? Why) Judge(X509Certificate2 certificate, SslPolicyErrors errors, X509Certificate2Collection? roots, DateTimeOffset now, string host)
    {
        if (certificate.NotAfter.ToUniversalTime() < now.UtcDateTime)
        {
            return ("expired", $"its certificate expired at {UtcTimestampConverter.Format(new DateTimeOffset(certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero))}");
        }

        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
        {
            return ("name-mismatch", $"its certificate ({certificate.Subject}) does not name {host}");
        }

        if (!errors.HasFlag(SslPolicyErrors.RemoteCertificateChainErrors))
        {
            return ("trusted", null);
        }

        if (roots is { Count: > 0 })
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(roots);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            if (chain.Build(certificate))
            {
                return ("trusted", null);
            }
        }

        return ("untrusted", $"its certificate's issuer ({certificate.Issuer}) chains to no trusted root");
    }

    /// <summary>The API server of the kubelet's kubeconfig, and the cluster CA it names (file or inline data).</summary>
    private static async Task<(ConnectivityEndpoint? Endpoint, X509Certificate2Collection? Ca)> ApiServerAsync(CollectionContext context, ConnectivityCollectorOptions o, CancellationToken cancellationToken)
    {
        foreach (var path in o.KubeconfigPaths)
        {
            if (await context.Host.TryReadTextAsync(path, 1024 * 1024, cancellationToken) is not { } text)
            {
                continue;
            }

            YamlMappingNode? kubeconfig;
            try
            {
                kubeconfig = KubeletYaml.Load(text);
            }
            catch (YamlDotNet.Core.YamlException)
            {
                continue;
            }

            if (KubeletYaml.KubeconfigServer(kubeconfig) is not { } server || !ConnectivityEndpoint.TryParse(server, "api-server", out var endpoint))
            {
                continue;
            }

            var cluster = (kubeconfig!.Children.TryGetValue(new YamlScalarNode("clusters"), out var node) && node is YamlSequenceNode clusters)
                ? clusters.Children.OfType<YamlMappingNode>().Select(c => KubeletYaml.Mapping(c, "cluster")).FirstOrDefault()
                : null;
            var pem = KubeletYaml.Scalar(cluster, "certificate-authority-data") is { } data
                ? global::System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(data))
                : KubeletYaml.Scalar(cluster, "certificate-authority") is { } file ? await context.Host.TryReadTextAsync(file, 1024 * 1024, cancellationToken) : null;
            var ca = new X509Certificate2Collection();
            if (pem is not null)
            {
                ca.ImportFromPem(pem);
            }

            return (endpoint, ca);
        }

        return (null, null);
    }

    private static X509Certificate2Collection? LoadRoots(string? file)
    {
        if (string.IsNullOrEmpty(file) || !File.Exists(file))
        {
            return null;
        }

        var roots = new X509Certificate2Collection();
        roots.ImportFromPemFile(file);
        return roots;
    }

    /// <summary>The <c>nameserver</c> lines of the node's /etc/resolv.conf.</summary>
    private static async Task<IReadOnlyList<string>> NameserversAsync(INodeFileSystem host, CancellationToken cancellationToken)
        => (await host.TryReadTextAsync("/etc/resolv.conf", 64 * 1024, cancellationToken) ?? string.Empty)
            .Split('\n')
            .Select(l => l.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length >= 2 && f[0] == "nameserver")
            .Select(f => f[1])
            .ToList();
}
