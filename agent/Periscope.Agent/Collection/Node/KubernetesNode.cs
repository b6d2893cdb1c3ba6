namespace Periscope.Agent.Collection.Node;

/// <summary>
/// "Is this a Kubernetes node?", asked one way by every collector: a kubelet config or kubeconfig on the host
/// (the configured kubelet config, <c>/var/lib/kubelet/config.yaml</c>, <c>/etc/kubernetes/kubelet.conf</c>,
/// <c>/var/lib/kubelet/kubeconfig</c>), or a kubelet process in the host's process table. On a host that is not one, a
/// missing runtime socket, CNI config or kubelet is no fault.
/// </summary>
internal static class KubernetesNode
{
    /// <summary>Files only a Kubernetes node carries.</summary>
    public static IReadOnlyList<string> Markers { get; } = ["/var/lib/kubelet/config.yaml", "/etc/kubernetes/kubelet.conf", "/var/lib/kubelet/kubeconfig"];

    /// <summary>Why <paramref name="host"/> is a Kubernetes node (what was found), or null when it is not.</summary>
    /// <param name="host">The node's file system.</param>
    /// <param name="kubeletConfigPath">The kubelet config a collector is configured with, tried first.</param>
    public static string? Evidence(INodeFileSystem host, string? kubeletConfigPath = null)
    {
        ArgumentNullException.ThrowIfNull(host);
        if (!string.IsNullOrEmpty(kubeletConfigPath) && host.FileExists(kubeletConfigPath))
        {
            return $"{kubeletConfigPath} is present";
        }

        foreach (var marker in Markers)
        {
            if (host.FileExists(marker))
            {
                return $"{marker} is present";
            }
        }

        return KubeletProcess.Find(host) is not null ? "a kubelet process is running" : null;
    }

    /// <summary>True when <paramref name="host"/> is a Kubernetes node.</summary>
    public static bool Is(INodeFileSystem host, string? kubeletConfigPath = null) => Evidence(host, kubeletConfigPath) is not null;
}
