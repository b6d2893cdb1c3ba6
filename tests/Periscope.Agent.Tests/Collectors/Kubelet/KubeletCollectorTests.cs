using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Periscope.Agent.Collection;
using Periscope.Agent.Collectors.Kubelet;
using Periscope.Bundle;
using Periscope.Bundle.Facts;
using Periscope.Testing;
using Xunit;

namespace Periscope.Agent.Tests.Collectors.Kubelet;

public sealed class KubeletCollectorTests
{
    [Fact]
    public async Task Collect_RunningKubelet_ReadsFlagsConfigServerLabelsAndCertificatesWithoutCopyingSecrets()
    {
        using var root = KubeletNode(clientNotAfter: DateTimeOffset.UtcNow.AddDays(3), servingNotAfter: DateTimeOffset.UtcNow.AddDays(-1));
        await using var healthz = await FakeKubeletHealthz.StartAsync(StatusCodes.Status200OK, "ok");

        var result = await CollectorHarness.RunAsync(Collector(healthz.Url), new HostRoot(root.Path));

        var facts = (KubeletFacts)result.Facts!;
        Assert.True(facts.Running);
        Assert.Equal(110, facts.MaxPods);
        Assert.Equal("systemd", facts.CgroupDriver);
        Assert.Equal(["10.0.0.10"], facts.ClusterDns);
        Assert.Equal("cluster.local", facts.ClusterDomain);
        Assert.Equal("100Mi", facts.EvictionHard!["memory.available"]);
        Assert.Equal("https://aks-dns-1234.hcp.eastus.azmk8s.io:443", facts.ApiServer);
        Assert.Equal("nodepool1", facts.NodeLabels!["kubernetes.azure.com/agentpool"]);
        Assert.Equal(200, facts.Healthz!.StatusCode);
        Assert.Contains(facts.CommandLine, a => a == "--bootstrap-kubeconfig-token=***REDACTED:kubelet-flag***");

        Assert.Equal(["KUBELET_CERT_EXPIRED", "KUBELET_CERT_EXPIRING"], result.Observations.Select(o => o.Code).Order());
        Assert.Equal("/var/lib/kubelet/pki/kubelet-client-current.pem", result.Observations.Single(o => o.Code == "KUBELET_CERT_EXPIRING").Subject.Id);

        // The client .pem holds the private key and the kubeconfig a client key: neither reaches the bundle.
        foreach (var file in result.Files)
        {
            var text = await File.ReadAllTextAsync(file.StagedPath);
            Assert.DoesNotContain("PRIVATE KEY", text, StringComparison.Ordinal);
            Assert.DoesNotContain("client-key-data", text, StringComparison.Ordinal);
            Assert.DoesNotContain("s3cr3t-bootstrap", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Collect_HealthzFailing_RaisesUnhealthyWithTheBody()
    {
        using var root = KubeletNode(DateTimeOffset.UtcNow.AddDays(300), DateTimeOffset.UtcNow.AddDays(300));
        await using var healthz = await FakeKubeletHealthz.StartAsync(StatusCodes.Status500InternalServerError, "[-]syncloop failed: reason withheld\nhealthz check failed");

        var result = await CollectorHarness.RunAsync(Collector(healthz.Url), new HostRoot(root.Path));

        var unhealthy = Assert.Single(result.Observations);
        Assert.Equal("KUBELET_UNHEALTHY", unhealthy.Code);
        Assert.Contains("syncloop failed", unhealthy.Attributes["body"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Collect_ConfigButNoProcess_IsNotRunningAndTheConfigStillRead()
    {
        using var root = new NodeRoot().File("/var/lib/kubelet/config.yaml", "kind: KubeletConfiguration\nmaxPods: 30\n").Dir("/proc");

        var result = await CollectorHarness.RunAsync(Collector("http://127.0.0.1:9/healthz"), new HostRoot(root.Path));

        Assert.Equal("KUBELET_NOT_RUNNING", Assert.Single(result.Observations).Code);
        Assert.Equal(30, ((KubeletFacts)result.Facts!).MaxPods);
    }

    [Fact]
    public async Task Collect_MalformedConfig_IsPartialWithAClearError()
    {
        using var root = new NodeRoot().File("/var/lib/kubelet/config.yaml", "kind: KubeletConfiguration\nmaxPods: [unclosed\n").Dir("/proc");

        var result = await CollectorHarness.RunAsync(Collector("http://127.0.0.1:9/healthz"), new HostRoot(root.Path));

        Assert.Contains("not valid YAML", ((KubeletFacts)result.Facts!).ConfigError, StringComparison.Ordinal);
        Assert.Equal(CollectorStatus.Partial, result.Status);
    }

    [Fact]
    public void CheckSupport_PlainMachine_IsSkipped()
    {
        using var root = new NodeRoot().Dir("/proc");

        Assert.False(Collector("http://127.0.0.1:9/healthz").CheckSupport(new HostRoot(root.Path)).IsSupported);
    }

    [Fact]
    public async Task Collect_HostileKubeletBinary_IsNeverRunAndItsVersionIsReadFromItsBytes()
    {
        using var root = KubeletNode(DateTimeOffset.UtcNow.AddDays(300), DateTimeOffset.UtcNow.AddDays(300));
        using var outside = new TempDirectory();
        var marker = outside.Combine("ran-as-root");
        // A shell script where the kubelet binary should be: run, it would leave a marker (and could do anything).
        root.File("/usr/local/bin/kubelet", $"#!/bin/sh\ntouch {marker}\necho Kubernetes v9.9.9\n");
        File.SetUnixFileMode(root.Real("/usr/local/bin/kubelet"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        var script = await CollectorHarness.RunAsync(Collector("http://127.0.0.1:9/healthz"), new HostRoot(root.Path));

        Assert.False(File.Exists(marker), "the host's kubelet binary was executed");
        Assert.Null(((KubeletFacts)script.Facts!).Version);

        // A real kubelet is a Go binary: its version is linked into the build information, read without running it.
        await File.WriteAllBytesAsync(root.Real("/usr/local/bin/kubelet"), Collection.GoBuildInfoTests.Elf(Collection.GoBuildInfoTests.BuildInfo(
            "go1.22.5", "path\tk8s.io/kubernetes/cmd/kubelet\nbuild\t-ldflags=-X k8s.io/component-base/version.gitVersion=v1.30.4\n")));

        var binary = await CollectorHarness.RunAsync(Collector("http://127.0.0.1:9/healthz"), new HostRoot(root.Path));

        Assert.Equal("v1.30.4", ((KubeletFacts)binary.Facts!).Version);
        Assert.DoesNotContain(binary.Commands, c => c.CommandLine.Contains("kubelet", StringComparison.Ordinal));
    }

    private static KubeletCollector Collector(string healthzUrl)
        => new(Options.Create(new KubeletCollectorOptions { HealthzUrl = healthzUrl, HealthzTimeout = TimeSpan.FromSeconds(2) }), NullLogger<KubeletCollector>.Instance);

    private static NodeRoot KubeletNode(DateTimeOffset clientNotAfter, DateTimeOffset servingNotAfter)
    {
        var root = new NodeRoot()
            .File("/proc/4242/cmdline", string.Join('\0',
                "/usr/local/bin/kubelet", "--config=/etc/default/kubelet-config.yaml", "--kubeconfig", "/var/lib/kubelet/kubeconfig",
                "--node-labels=kubernetes.azure.com/agentpool=nodepool1,topology.kubernetes.io/zone=eastus-1,node.kubernetes.io/instance-type=Standard_D4s_v5",
                "--bootstrap-kubeconfig-token=s3cr3t-bootstrap") + "\0")
            .File("/etc/default/kubelet-config.yaml", """
                kind: KubeletConfiguration
                apiVersion: kubelet.config.k8s.io/v1beta1
                maxPods: 110
                cgroupDriver: systemd
                clusterDNS:
                  - 10.0.0.10
                evictionHard:
                  memory.available: 100Mi
                  nodefs.available: 10%
                """)
            .File("/var/lib/kubelet/kubeconfig", """
                apiVersion: v1
                kind: Config
                clusters:
                - name: localcluster
                  cluster:
                    certificate-authority: /etc/kubernetes/certs/ca.crt
                    server: https://aks-dns-1234.hcp.eastus.azmk8s.io:443
                users:
                - name: client
                  user:
                    client-key-data: c2VjcmV0LWtleQ==
                """)
            .File("/var/lib/kubelet/pki/kubelet-client-2026.pem", Pem("system:node:node-1", clientNotAfter, withKey: true))
            .Symlink("/var/lib/kubelet/pki/kubelet-client-current.pem", "/var/lib/kubelet/pki/kubelet-client-2026.pem")
            .File("/var/lib/kubelet/pki/kubelet.crt", Pem("node-1", servingNotAfter, withKey: false));
        return root;
    }

    private static string Pem(string subject, DateTimeOffset notAfter, bool withKey)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={subject}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(notAfter.AddDays(-30), notAfter);
        var pem = certificate.ExportCertificatePem() + "\n";
        return withKey ? pem + key.ExportPkcs8PrivateKeyPem() + "\n" : pem;
    }

    /// <summary>A FAKE kubelet healthz endpoint on loopback (no kubelet can run here): the real path and plain-text body.</summary>
    private sealed class FakeKubeletHealthz(WebApplication app, string url) : IAsyncDisposable
    {
        public string Url { get; } = url;

        public static async Task<FakeKubeletHealthz> StartAsync(int status, string body)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            var app = builder.Build();
            app.MapGet("/healthz", (HttpContext context) =>
            {
                context.Response.StatusCode = status;
                return context.Response.WriteAsync(body);
            });
            await app.StartAsync();
            var address = app.Urls.First();
            return new FakeKubeletHealthz(app, $"{address}/healthz");
        }

        public async ValueTask DisposeAsync()
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
