namespace Periscope.Agent.Collectors.Kernel;

/// <summary>
/// Names pods and containers from what the kubelet leaves on the node, so a kernel OOM kill can say which container
/// it hit without asking the runtime: <c>/var/log/containers/&lt;pod&gt;_&lt;namespace&gt;_&lt;container&gt;-&lt;id&gt;.log</c> and
/// <c>/var/log/pods/&lt;namespace&gt;_&lt;pod&gt;_&lt;uid&gt;</c>. Pod, namespace and container names cannot hold '_'.
/// </summary>
internal sealed class ContainerDirectory
{
    private readonly Dictionary<string, (string Namespace, string Pod, string Container)> _containers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (string Namespace, string Pod)> _pods = new(StringComparer.Ordinal);

    public static ContainerDirectory Load(Collection.INodeFileSystem host)
    {
        ArgumentNullException.ThrowIfNull(host);
        var directory = new ContainerDirectory();
        foreach (var name in host.ListDirectory("/var/log/containers"))
        {
            if (!name.EndsWith(".log", StringComparison.Ordinal))
            {
                continue;
            }

            var parts = name[..^4].Split('_');
            var dash = parts.Length == 3 ? parts[2].LastIndexOf('-') : -1;
            if (dash > 0 && parts[2].Length - dash - 1 == 64)
            {
                directory._containers[parts[2][(dash + 1)..]] = (parts[1], parts[0], parts[2][..dash]);
            }
        }

        foreach (var name in host.ListDirectory("/var/log/pods"))
        {
            var parts = name.Split('_');
            if (parts.Length == 3)
            {
                directory._pods[parts[2]] = (parts[0], parts[1]);
            }
        }

        return directory;
    }

    public (string Namespace, string Pod, string Container)? FindContainer(string containerId)
        => _containers.TryGetValue(containerId, out var found) ? found : null;

    public (string Namespace, string Pod)? FindPod(string podUid)
        => _pods.TryGetValue(podUid, out var found) ? found : null;
}
