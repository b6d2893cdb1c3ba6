using Periscope.Agent.Collection;
using Periscope.Testing;
using Xunit;

namespace Periscope.Agent.Tests.Collection;

public sealed class NeverReadTests
{
    [Theory]
    [InlineData("/var/lib/kubelet/pki/kubelet.key")]
    [InlineData("/etc/kubernetes/pki/etcd/server.key")]
    [InlineData("/etc/kubernetes/pki/apiserver.key")]
    [InlineData("/var/lib/kubelet/pods/0b1c/volumes/kubernetes.io~secret/db/password")]
    [InlineData("/var/lib/kubelet/pods/0b1c/volumes/kubernetes.io~projected/kube-api-access/token")]
    [InlineData("/var/lib/kubelet/pods/0b1c/volumes/kubernetes.io~csi/vault/mount/key")]
    public void OpenRead_SecretPath_IsRefusedWithTheReason(string nodePath)
    {
        using var root = new NodeRoot().File(nodePath, "secret material\n");
        var host = new HostRoot(root.Path);

        var error = Assert.Throws<UnauthorizedAccessException>(() => host.OpenRead(nodePath));
        Assert.Contains("is never read", error.Message, StringComparison.Ordinal);
        if (nodePath.Contains("/volumes/", StringComparison.Ordinal))
        {
            Assert.Empty(host.ListDirectory(nodePath[..nodePath.LastIndexOf('/')])); // not even the names
        }
    }

    [Fact]
    public void OpenRead_SymlinkToAKey_IsRefusedToo()
    {
        using var root = new NodeRoot().File("/var/lib/kubelet/pki/kubelet.key", "key\n").Symlink("/tmp/innocent.txt", "/var/lib/kubelet/pki/kubelet.key");

        Assert.Throws<UnauthorizedAccessException>(() => new HostRoot(root.Path).OpenRead("/tmp/innocent.txt"));
    }

    [Theory]
    [InlineData("/var/lib/kubelet/pki/kubelet-client-current.pem")]
    [InlineData("/etc/kubernetes/pki/ca.crt")]
    [InlineData("/var/lib/kubelet/pods/0b1c/volumes/kubernetes.io~empty-dir/cache/data")]
    [InlineData("/var/lib/kubelet/config.yaml")]
    public async Task OpenRead_OtherPaths_AreRead(string nodePath)
    {
        using var root = new NodeRoot().File(nodePath, "content\n");

        Assert.Equal("content\n", await new HostRoot(root.Path).TryReadTextAsync(nodePath, 1024, CancellationToken.None));
    }
}
