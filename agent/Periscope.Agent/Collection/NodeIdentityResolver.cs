using Periscope.Agent.Collection.Node;
using Periscope.Bundle;

namespace Periscope.Agent.Collection;

/// <summary>
/// Who the node is: the name from <c>--node</c>, else <c>NODE_NAME</c>, else the host's <c>/etc/hostname</c>; OS image
/// and kernel from the host root; the runtime version from the runtime's Version call (containerd facts); pool, zone,
/// instance type and kubelet version from the kubelet's <c>--node-labels</c> and binary (kubelet facts).
/// </summary>
internal static class NodeIdentityResolver
{
    public static async Task<string> ResolveNameAsync(string? flag, INodeFileSystem host, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(host);
        var name = flag;
        if (string.IsNullOrWhiteSpace(name))
        {
            name = Environment.GetEnvironmentVariable("NODE_NAME");
        }

        if (string.IsNullOrWhiteSpace(name))
        {
            name = (await host.TryReadTextAsync("/etc/hostname", 1024, cancellationToken))?.Trim();
        }

        if (string.IsNullOrWhiteSpace(name))
        {
            name = Environment.MachineName;
        }

        return NodeName.Validate(name.Trim());
    }

    public static async Task<NodeIdentity> ResolveAsync(string name, INodeFileSystem host, IReadOnlyList<CollectorResult> results, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(results);
        var runtime = results.Select(r => r.Facts).OfType<Periscope.Bundle.Facts.ContainerdFacts>().FirstOrDefault(f => f.RuntimeName is not null);
        var kubelet = results.Select(r => r.Facts).OfType<Periscope.Bundle.Facts.KubeletFacts>().FirstOrDefault();
        var labels = kubelet?.NodeLabels ?? new Dictionary<string, string>();
        ArgumentNullException.ThrowIfNull(host);

        // The system collector has read both already; the host is read only for what it did not give (not selected,
        // or it failed).
        var system = results.Select(r => r.Facts).OfType<Periscope.Bundle.Facts.SystemFacts>().FirstOrDefault();
        string? osImage = system?.OsImage, kernel = system?.KernelRelease;
        try
        {
            if (osImage is null
                && (await host.TryReadTextAsync("/etc/os-release", 64 * 1024, cancellationToken)
                    ?? await host.TryReadTextAsync("/usr/lib/os-release", 64 * 1024, cancellationToken)) is { } osRelease)
            {
                var values = ProcParsers.OsRelease(osRelease);
                osImage = values.GetValueOrDefault("PRETTY_NAME") ?? values.GetValueOrDefault("NAME");
            }

            if (string.IsNullOrEmpty(kernel))
            {
                kernel = (await host.TryReadTextAsync("/proc/sys/kernel/osrelease", 1024, cancellationToken))?.Trim();
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Identity is best effort; the system collector records what could not be read.
        }

        return new NodeIdentity
        {
            Name = name,
            OsImage = osImage,
            KernelVersion = string.IsNullOrEmpty(kernel) ? null : kernel,

            // As the kubelet reports it in the node status: containerd://1.7.15.
            RuntimeVersion = runtime is null ? null : $"{runtime.RuntimeName}://{runtime.RuntimeVersion}",
            KubeletVersion = kubelet?.Version,
            Pool = Label(labels, "kubernetes.azure.com/agentpool", "agentpool", "eks.amazonaws.com/nodegroup", "cloud.google.com/gke-nodepool"),
            Zone = Label(labels, "topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone"),
            InstanceType = Label(labels, "node.kubernetes.io/instance-type", "beta.kubernetes.io/instance-type"),
        };
    }

    private static string? Label(IReadOnlyDictionary<string, string> labels, params string[] keys)
        => keys.Select(k => labels.GetValueOrDefault(k)).FirstOrDefault(v => !string.IsNullOrEmpty(v));
}
