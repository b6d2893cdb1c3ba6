using System.Text.RegularExpressions;

namespace Periscope.Agent.Collectors.Kernel;

/// <summary>
/// Tells the pod uid, container id and QoS class from a Kubernetes cgroup path, for every layout in use:
/// cgroup v1 or v2 with the cgroupfs driver (<c>/kubepods/burstable/pod&lt;uid&gt;/&lt;id&gt;</c>) and with the systemd
/// driver (<c>/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod&lt;uid_&gt;.slice/cri-containerd-&lt;id&gt;.scope</c>).
/// </summary>
internal static partial class CgroupPath
{
    public static CgroupIdentity Parse(string? path)
    {
        if (string.IsNullOrEmpty(path) || !path.Contains("kubepods", StringComparison.Ordinal))
        {
            return CgroupIdentity.None;
        }

        string? podUid = null;
        var pod = PodPattern().Match(path);
        if (pod.Success)
        {
            podUid = pod.Groups["uid"].Value.Replace('_', '-'); // the systemd driver writes the uid with '_'
        }

        var qos = path.Contains("burstable", StringComparison.Ordinal) ? "burstable"
            : path.Contains("besteffort", StringComparison.Ordinal) ? "besteffort"
            : podUid is not null ? "guaranteed" : null;

        var lastSegment = path.TrimEnd('/');
        lastSegment = lastSegment[(lastSegment.LastIndexOf('/') + 1)..];
        var container = ContainerPattern().Match(lastSegment);
        var containerId = container.Success ? container.Groups["id"].Value : null;
        return new CgroupIdentity(podUid, containerId, qos);
    }

    [GeneratedRegex("pod(?<uid>[0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})", RegexOptions.CultureInvariant)]
    private static partial Regex PodPattern();

    [GeneratedRegex("^(?:(?:cri-containerd|crio|docker|containerd)-)?(?<id>[0-9a-f]{64})(?:\\.scope)?\\z", RegexOptions.CultureInvariant)]
    private static partial Regex ContainerPattern();
}

/// <summary>What a cgroup path says about a pod and container.</summary>
internal sealed record CgroupIdentity(string? PodUid, string? ContainerId, string? QosClass)
{
    public static readonly CgroupIdentity None = new(null, null, null);
}
