using Microsoft.Extensions.Options;
using Periscope.Agent.Collection;
using Periscope.Agent.Collectors.Connectivity;
using Periscope.Bundle.Facts;
using Periscope.Testing;
using Xunit;

namespace Periscope.Agent.Tests.Collectors.Containerd;

/// <summary>The connectivity collector reads the registries of a node's images from a real containerd's CRI image list.</summary>
[Collection(RealContainerdTests.Name)]
public sealed class RealContainerdRegistriesTests(RealContainerd containerd)
{
    [Fact]
    public async Task Registries_AreTheImagesRegistries_DockerHubForShortNames()
    {
        containerd.Require();
        // A replayed Kubernetes node whose runtime socket is the real containerd's (a hard link to the socket: the host
        // root re-roots symbolic links). Its name server is one nothing answers on, and no registry is probed: the test
        // images name real registries and the tests never reach the internet.
        using var root = new NodeRoot()
            .File("/var/lib/kubelet/config.yaml", "kind: KubeletConfiguration\n")
            .File("/etc/resolv.conf", "nameserver 127.0.0.1\n")
            .Dir("/run/containerd");
        var (exit, _, stderr) = await TestProcess.RunAsync("ln", containerd.Socket, Path.Combine(root.Path, "run/containerd/containerd.sock"));
        Assert.True(exit == 0, $"ln: {stderr}");

        var collector = new ConnectivityCollector(Options.Create(new ConnectivityCollectorOptions { MaxRegistries = 0 }));
        var result = await CollectorHarness.RunAsync(collector, new HostRoot(root.Path));

        var facts = Assert.IsType<ConnectivityFacts>(result.Facts);
        Assert.Null(facts.RegistriesError);
        Assert.Equal(["docker.io", "registry.k8s.io"], facts.Registries); // busybox:periscope and the sandbox image
        Assert.Empty(facts.Probes);
    }
}
