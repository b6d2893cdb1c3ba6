using Periscope.Agent.Collection;
using Periscope.Agent.Collection.Node;
using Periscope.Testing;
using Xunit;

namespace Periscope.Agent.Tests.Collection;

/// <summary>One answer to "is this a Kubernetes node?" for every collector: a kubelet config or kubeconfig, or a kubelet process.</summary>
public sealed class KubernetesNodeTests
{
    [Fact]
    public void AHostWithoutKubeletFilesOrProcess_IsNoKubernetesNode()
    {
        using var root = new NodeRoot();
        root.File("/proc/1/cmdline", "/sbin/init\0splash\0").File("/etc/containerd/config.toml", "version = 2\n");

        Assert.Null(KubernetesNode.Evidence(new HostRoot(root.Path), "/var/lib/kubelet/config.yaml"));
        Assert.False(KubernetesNode.Is(new HostRoot(root.Path)));
    }

    [Theory]
    [InlineData("/var/lib/kubelet/config.yaml")]
    [InlineData("/etc/kubernetes/kubelet.conf")]
    [InlineData("/var/lib/kubelet/kubeconfig")]
    public void AKubeletFile_MakesItOne_AndIsNamedAsTheEvidence(string marker)
    {
        using var root = new NodeRoot();
        root.File(marker, "apiVersion: v1\n");

        Assert.Equal($"{marker} is present", KubernetesNode.Evidence(new HostRoot(root.Path)));
    }

    [Fact]
    public void TheConfiguredKubeletConfig_IsTriedFirst()
    {
        using var root = new NodeRoot();
        root.File("/opt/k8s/kubelet.yaml", "kind: KubeletConfiguration\n").File("/etc/kubernetes/kubelet.conf", "apiVersion: v1\n");

        Assert.Equal("/opt/k8s/kubelet.yaml is present", KubernetesNode.Evidence(new HostRoot(root.Path), "/opt/k8s/kubelet.yaml"));
    }

    [Fact]
    public void AKubeletProcess_MakesItOne()
    {
        using var root = new NodeRoot();
        root.File("/proc/1/cmdline", "/sbin/init\0").File("/proc/812/cmdline", "/usr/local/bin/kubelet\0--config=/etc/k/config.yaml\0");

        Assert.Equal("a kubelet process is running", KubernetesNode.Evidence(new HostRoot(root.Path)));
    }
}
