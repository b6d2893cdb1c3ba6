using System.Text.RegularExpressions;

namespace Periscope.Agent.Collection;

/// <summary>
/// Node paths the agent never opens or lists, whatever a collector asks: private key files under the kubelet's,
/// kubeadm's and etcd's pki directories, and pods' secret, projected and CSI volumes. Checked on the path a symlink
/// resolves to, so a link cannot lead around it.
/// </summary>
internal static partial class NeverRead
{
    /// <summary>Why <paramref name="nodePath"/> is never read, or null.</summary>
    public static string? Reason(string nodePath)
    {
        ArgumentNullException.ThrowIfNull(nodePath);
        if (PkiKey().IsMatch(nodePath))
        {
            return "a private key file under a pki directory";
        }

        return PodSecretVolume().IsMatch(nodePath) ? "a pod's secret, projected or CSI volume" : null;
    }

    [GeneratedRegex(@"^/(var/lib/kubelet/pki|etc/kubernetes/pki|etc/etcd|var/lib/etcd)(/.*)?/[^/]*\.key$", RegexOptions.CultureInvariant)]
    private static partial Regex PkiKey();

    [GeneratedRegex(@"^/var/lib/kubelet/pods/[^/]+/volumes/kubernetes\.io~(secret|projected|csi)(/|$)", RegexOptions.CultureInvariant)]
    private static partial Regex PodSecretVolume();
}
