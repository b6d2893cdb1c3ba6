using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Options;
using Periscope.Agent.Collection;
using Periscope.Agent.Collection.Cri;
using Periscope.Agent.Collectors.Connectivity;
using Periscope.Agent.Tests.Collectors.Containerd;
using Periscope.Agent.Tests.Collectors.Dns;
using Periscope.Bundle;
using Periscope.Bundle.Facts;
using Periscope.Testing;
using Xunit;

namespace Periscope.Agent.Tests.Collectors.Connectivity;

/// <summary>
/// The connectivity collector against loopback listeners only (never a real internet endpoint): TLS servers whose
/// certificates a private test CA signed (valid, for another name, expired), one whose CA nobody trusts (as a
/// TLS-inspecting firewall re-signs), one that accepts and never answers, a closed port, and a name the tests' own
/// dnsmasq does not know.
/// </summary>
[Collection(LoopbackDnsTests.Name)]
public sealed class ConnectivityCollectorTests(LoopbackDnsServers dns) : IAsyncLifetime
{
    private readonly TestCertificates _certificates = new();
    private readonly List<TcpListener> _listeners = [];
    private readonly CancellationTokenSource _stop = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listeners.ForEach(l => l.Stop());
        _certificates.Dispose();
        _stop.Dispose();
        return ValueTask.CompletedTask;
    }

    [Fact]
    public async Task ApiServerSignedByTheClusterCa_IsTrusted_AndRaisesNothing()
    {
        var api = Serve(_certificates.Server);
        using var root = KubernetesNode(api);

        var result = await CollectAsync(root);

        Assert.Empty(result.Observations);
        var probe = Assert.Single(Assert.IsType<ConnectivityFacts>(result.Facts).Probes);
        Assert.Equal(("api-server", "ok", "trusted"), (probe.Role, probe.Step, probe.Certificate));
        Assert.Equal("CN=Periscope Test CA", probe.CertificateIssuer);
    }

    [Fact]
    public async Task ApiServerRefused_IsCritical()
    {
        using var root = KubernetesNode(ClosedPort());

        var result = await CollectAsync(root);

        var finding = Assert.Single(result.Observations);
        Assert.Equal(("API_SERVER_UNREACHABLE", Severity.Critical, "refused"), (finding.Code, finding.Severity, finding.Attributes["step"]));
    }

    [Fact]
    public async Task Endpoints_EachFailureIsNamedAtItsStep_AndAReSigningMiddleboxIsTlsIntercepted()
    {
        var api = Serve(_certificates.Server);
        var silent = Silent();
        var wrongName = Serve(Signed("CN=registry.other.example", "registry.other.example", DateTimeOffset.UtcNow.AddDays(5)));
        var expired = Serve(Signed("CN=127.0.0.1", "127.0.0.1", DateTimeOffset.UtcNow.AddMinutes(-1)));
        var intercepted = Serve(SelfSignedElsewhere());
        using var root = KubernetesNode(api);

        var result = await CollectAsync(root, o =>
        {
            o.Endpoints = [$"127.0.0.1:{silent}", $"127.0.0.1:{wrongName}", $"127.0.0.1:{expired}", $"127.0.0.1:{intercepted}", $"127.0.0.1:{ClosedPort()}"];
            o.TrustedCaFile = _certificates.AuthorityPem;
            o.ProbeTimeout = TimeSpan.FromMilliseconds(700);
        });

        string Step(int port) => Assert.Single(result.Observations, o => o.Subject.Id == $"127.0.0.1:{port}").Attributes["step"];
        Assert.Equal("tls", Step(silent));
        Assert.Contains("no TLS handshake", Assert.Single(result.Observations, o => o.Subject.Id == $"127.0.0.1:{silent}").Detail, StringComparison.Ordinal);
        Assert.Equal("tls", Step(wrongName));
        Assert.Contains("does not name 127.0.0.1", Assert.Single(result.Observations, o => o.Subject.Id == $"127.0.0.1:{wrongName}").Detail, StringComparison.Ordinal);
        Assert.Contains("expired", Assert.Single(result.Observations, o => o.Subject.Id == $"127.0.0.1:{expired}").Detail, StringComparison.Ordinal);
        var middlebox = Assert.Single(result.Observations, o => o.Code == "TLS_INTERCEPTED");
        Assert.Equal($"127.0.0.1:{intercepted}", middlebox.Subject.Id);
        Assert.Equal("CN=Inspecting Firewall CA", middlebox.Attributes["issuer"]);
        Assert.Equal(4, result.Observations.Count(o => o.Code == "EGRESS_BLOCKED"));
        Assert.DoesNotContain(result.Observations, o => o.Code == "API_SERVER_UNREACHABLE");
    }

    [Fact]
    public async Task NameTheNodesResolverDoesNotKnow_IsBlockedAtDns()
    {
        dns.Require();
        var api = Serve(_certificates.Server);
        using var root = KubernetesNode(api);

        var result = await CollectAsync(root, o => o.Endpoints = ["registry.missing.periscope:443"]);

        var finding = Assert.Single(result.Observations);
        Assert.Equal(("EGRESS_BLOCKED", "dns"), (finding.Code, finding.Attributes["step"]));
        Assert.Contains(LoopbackDnsServers.Dnsmasq, Assert.IsType<ConnectivityFacts>(result.Facts).Nameservers);
    }

    [Fact]
    public async Task AzureEndpoints_OnlyWhereDmiSaysAzure_AndNothingOffAKubernetesNode()
    {
        var api = Serve(_certificates.Server);
        var closed = ClosedPort();
        using var plain = KubernetesNode(api);
        using var azure = KubernetesNode(api).File("/sys/class/dmi/id/chassis_asset_tag", "7783-7084-3265-9085-8269-3286-77\n");
        void Configure(ConnectivityCollectorOptions o) => o.AzureEndpoints = [$"127.0.0.1:{closed}"];

        var off = Assert.IsType<ConnectivityFacts>((await CollectAsync(plain, Configure)).Facts);
        var on = await CollectAsync(azure, Configure);

        Assert.DoesNotContain(off.Probes, p => p.Role == "azure");
        Assert.Equal(("azure", "refused"), (Assert.Single(Assert.IsType<ConnectivityFacts>(on.Facts).Probes, p => p.Role == "azure").Role, Assert.Single(on.Observations).Attributes["step"]));
        using var laptop = new NodeRoot().File("/etc/resolv.conf", "nameserver 127.0.0.61\n");
        Assert.False(new ConnectivityCollector(Options.Create(new ConnectivityCollectorOptions())).CheckSupport(new HostRoot(laptop.Path)).IsSupported);
        var offline = await CollectorHarness.RunAsync(new ConnectivityCollector(Options.Create(new ConnectivityCollectorOptions())), new HostRoot(plain.Path), offline: true);
        Assert.Empty(Assert.IsType<ConnectivityFacts>(offline.Facts).Probes);
    }

    [Fact]
    public async Task RegistriesOfTheNodesImages_AreProbedThroughContainerdsProxy_WithItsCredentials_WhichTheBundleNeverHolds()
    {
        var api = Serve(_certificates.Server);
        var registry = Serve(Signed("CN=registry.periscope.test", "registry.periscope.test", DateTimeOffset.UtcNow.AddDays(5)));
        await using var proxy = new FakeConnectProxy { RequiredAuthorization = "Basic " + Convert.ToBase64String("periscope:s3cret!"u8.ToArray()) };
        proxy.Route("registry.periscope.test:443", registry);
        using var root = KubernetesNode(api)
            .File("/etc/systemd/system/containerd.service.d/http-proxy.conf",
                $"[Service]\nEnvironment=\"HTTPS_PROXY=http://periscope:s3cret%21@127.0.0.1:{proxy.Port}\" \"NO_PROXY=localhost,.svc.cluster.local,10.0.0.0/8\"\n")
            .File("/etc/systemd/system/kubelet.service.d/10-proxy.conf", "[Service]\nEnvironmentFile=-/etc/proxy.env\n")
            .File("/etc/proxy.env", $"https_proxy=http://127.0.0.1:{proxy.Port}\nno_proxy=.internal\n")
            .Dir("/run/containerd");
        var state = new FakeCriState();
        state.Images.Add(new Image { Id = "sha256:aa", RepoTags = { "registry.periscope.test:443/team/app:1.2" }, RepoDigests = { "registry.periscope.test:443/team/app@sha256:bb" } });
        state.Images.Add(new Image { Id = "sha256:cc", RepoTags = { "busybox:1.36" } });
        await using var cri = await FakeCriServer.StartAsync(Path.Combine(root.Path, "run/containerd/containerd.sock"), state);

        var result = await CollectAsync(root, o =>
        {
            o.TrustedCaFile = _certificates.AuthorityPem;
            o.Endpoints = ["blocked.periscope.test:443"];
        });

        var facts = Assert.IsType<ConnectivityFacts>(result.Facts);
        Assert.Equal(["docker.io", "registry.periscope.test:443"], facts.Registries);
        Assert.Equal([$"kubelet: 127.0.0.1:{proxy.Port}", $"containerd: 127.0.0.1:{proxy.Port}"], facts.Proxies);
        var through = Assert.Single(facts.Probes, p => p.Host == "registry.periscope.test");
        Assert.Equal(("registry", "ok", "trusted", $"127.0.0.1:{proxy.Port}"), (through.Role, through.Step, through.Certificate, through.Proxy));
        Assert.Null(Assert.Single(facts.Probes, p => p.Role == "api-server").Proxy); // a loopback API server is never proxied, as in Go
        var hub = Assert.Single(result.Observations, o => o.Subject.Id == "registry-1.docker.io:443");
        Assert.Equal(("EGRESS_BLOCKED", "proxy"), (hub.Code, hub.Attributes["step"]));
        Assert.Contains("403 Forbidden", hub.Detail, StringComparison.Ordinal);
        Assert.Equal("proxy", Assert.Single(result.Observations, o => o.Subject.Id == "blocked.periscope.test:443").Attributes["step"]);
        Assert.All(proxy.Requests, r => Assert.Equal(proxy.RequiredAuthorization, r.Authorization));
        Assert.Contains(proxy.Requests, r => r.Target == "registry.periscope.test:443");
        var json = global::System.Text.Json.JsonSerializer.Serialize(facts, Periscope.Bundle.BundleJsonContext.Default.ConnectivityFacts);
        Assert.DoesNotContain("s3cret", json, StringComparison.Ordinal);
        Assert.DoesNotContain("periscope:", json, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AProxyThatRefuses_OrWantsCredentials_IsBlockedAtTheProxy()
    {
        var api = Serve(_certificates.Server);
        await using var proxy = new FakeConnectProxy { RequiredAuthorization = "Basic c29tZW9uZTplbHNl" };
        var closed = ClosedPort();
        using var wantsCredentials = KubernetesNode(api)
            .File("/etc/systemd/system/containerd.service.d/http-proxy.conf", $"[Service]\nEnvironment=HTTPS_PROXY=http://127.0.0.1:{proxy.Port}\n");
        using var refused = KubernetesNode(api)
            .File("/etc/systemd/system/containerd.service.d/http-proxy.conf", $"[Service]\nEnvironment=HTTPS_PROXY=127.0.0.1:{closed}\n");
        void Configure(ConnectivityCollectorOptions o) => o.Endpoints = ["registry.periscope.test:443", "registry.svc.internal:443"];

        var auth = await CollectAsync(wantsCredentials, Configure);
        var down = await CollectAsync(refused, Configure);

        var finding = Assert.Single(auth.Observations, o => o.Subject.Id == "registry.periscope.test:443");
        Assert.Equal("proxy", finding.Attributes["step"]);
        Assert.Contains("wants credentials", finding.Detail, StringComparison.Ordinal);
        Assert.Equal(["proxy-refused", "proxy-refused"], down.Observations.Select(o => o.Attributes["step"]));
        Assert.Empty(((ConnectivityFacts)down.Facts!).Registries);
        Assert.Contains("no runtime socket", ((ConnectivityFacts)down.Facts!).RegistriesError, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("registry.periscope.test", 443, "", true)]
    [InlineData("localhost", 443, "", false)]
    [InlineData("127.0.0.1", 6443, "", false)]
    [InlineData("anything.example", 443, "*", false)]
    [InlineData("mcr.microsoft.com", 443, "microsoft.com", false)]
    [InlineData("microsoft.com", 443, "microsoft.com", false)]
    [InlineData("microsoft.com", 443, ".microsoft.com", true)]
    [InlineData("mcr.microsoft.com", 443, "*.microsoft.com", false)]
    [InlineData("notmicrosoft.com", 443, "microsoft.com", true)]
    [InlineData("10.1.2.3", 443, "10.0.0.0/8", false)]
    [InlineData("10.1.2.3", 443, "10.1.2.3", false)]
    [InlineData("kubernetes.default.svc", 443, "kubernetes.default.svc:6443", true)]
    [InlineData("kubernetes.default.svc", 6443, "kubernetes.default.svc:6443", false)]
    public void NoProxy_FollowsGosRules(string host, int port, string noProxy, bool proxied)
        => Assert.Equal(proxied, new ProxyRoute("proxy.corp", 3128, null, noProxy.Split(','), "containerd").Applies(host, port));

    [Theory]
    [InlineData("docker.io/library/busybox:1.36", "docker.io")]
    [InlineData("busybox", "docker.io")]
    [InlineData("library/busybox@sha256:0123", "docker.io")]
    [InlineData("mcr.microsoft.com/oss/kubernetes/pause:3.6", "mcr.microsoft.com")]
    [InlineData("localhost/app:dev", "localhost")]
    [InlineData("myregistry:5000/app:1", "myregistry:5000")]
    [InlineData("MyAcr.AzureCR.io/app:1", "myacr.azurecr.io")]
    [InlineData("sha256:0123", null)]
    [InlineData("", null)]
    public void ImageReference_NamesItsRegistry(string reference, string? registry)
        => Assert.Equal(registry, ImageReference.Registry(reference));

    [Fact]
    public void SystemdEnvironment_QuotedWordsAndProxyUrls_AreReadAsSystemdAndGoDo()
    {
        Assert.Equal(["HTTPS_PROXY=http://p:3128", "NO_PROXY=a,b c", "X="], NodeProxySettings.UnitWords("\"HTTPS_PROXY=http://p:3128\" 'NO_PROXY=a,b c' X=").ToList());
        var route = NodeProxySettings.Parse("http://user%40corp:p%3Ass@proxy.corp", [], "kubelet")!;
        Assert.Equal(("proxy.corp", 80, "Basic " + Convert.ToBase64String("user@corp:p:ss"u8.ToArray()), "proxy.corp:80"), (route.Host, route.Port, route.Authorization, route.ToString()));
        Assert.Null(NodeProxySettings.Parse("socks5://proxy.corp:1080", [], "kubelet"));
    }

    private static Task<CollectorResult> CollectAsync(NodeRoot root, Action<ConnectivityCollectorOptions>? configure = null)
    {
        var o = new ConnectivityCollectorOptions { ProbeTimeout = TimeSpan.FromSeconds(2) };
        configure?.Invoke(o);
        return CollectorHarness.RunAsync(new ConnectivityCollector(Options.Create(o)), new HostRoot(root.Path));
    }

    /// <summary>A replayed Kubernetes node whose kubelet talks to the API server at <paramref name="apiPort"/>, trusting the test CA.</summary>
    private NodeRoot KubernetesNode(int apiPort)
    {
        var ca = Convert.ToBase64String(global::System.Text.Encoding.UTF8.GetBytes(_certificates.Authority.ExportCertificatePem()));
        return new NodeRoot()
            .File("/var/lib/kubelet/config.yaml", "kind: KubeletConfiguration\n")
            .File("/etc/resolv.conf", $"nameserver {LoopbackDnsServers.Dnsmasq}\n")
            .File("/var/lib/kubelet/kubeconfig", $"apiVersion: v1\nkind: Config\nclusters:\n- name: cluster\n  cluster:\n    server: https://127.0.0.1:{apiPort}\n    certificate-authority-data: {ca}\n");
    }

    /// <summary>A TLS server on loopback presenting <paramref name="certificate"/>.</summary>
    private int Serve(X509Certificate2 certificate)
    {
        var listener = Listen();
        _ = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                var client = await listener.AcceptTcpClientAsync(_stop.Token);
                _ = Task.Run(async () =>
                {
                    using (client)
                    {
                        await using var tls = new SslStream(client.GetStream());
                        try
                        {
                            await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = certificate }, _stop.Token);
                            await Task.Delay(TimeSpan.FromSeconds(5), _stop.Token);
                        }
                        catch (Exception ex) when (ex is IOException or OperationCanceledException or global::System.Security.Authentication.AuthenticationException)
                        {
                        }
                    }
                });
            }
        });
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Accepts and never answers.</summary>
    private int Silent() => ((IPEndPoint)Listen().LocalEndpoint).Port;

    private TcpListener Listen()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        _listeners.Add(listener);
        return listener;
    }

    private static int ClosedPort()
    {
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }

    /// <summary>A server certificate the test CA signed, for <paramref name="name"/> (an address or a DNS name).</summary>
    private X509Certificate2 Signed(string subject, string name, DateTimeOffset notAfter)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        if (IPAddress.TryParse(name, out var address))
        {
            names.AddIpAddress(address);
        }
        else
        {
            names.AddDnsName(name);
        }

        request.CertificateExtensions.Add(names.Build());
        var notBefore = new DateTimeOffset(_certificates.Authority.NotBefore.ToUniversalTime()).AddMinutes(1); // inside the CA's own validity
        using var signed = request.Create(_certificates.Authority, notBefore, notAfter, RandomNumberGenerator.GetBytes(8));
        using var withKey = signed.CopyWithPrivateKey(key);
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>A certificate for 127.0.0.1 from a CA nobody here trusts, as an inspecting firewall mints them.</summary>
    private static X509Certificate2 SelfSignedElsewhere()
    {
        using var caKey = RSA.Create(2048);
        var caRequest = new CertificateRequest("CN=Inspecting Firewall CA", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var signed = request.Create(ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(20), RandomNumberGenerator.GetBytes(8));
        using var withKey = signed.CopyWithPrivateKey(key);
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }
}
