using Periscope.Agent.Collection.Node;
using Periscope.Bundle;

namespace Periscope.Agent.Collection;

/// <summary>
/// Who the node is: the name from <c>--node</c>, else <c>NODE_NAME</c>, else the host's <c>/etc/hostname</c>; OS image
/// and kernel from the host root; the runtime version from the runtime's Version call (containerd facts); pool, zone,
/// instance type, mode, priority and node image from the Node object's labels (what the cloud node manager and the
/// node pool set), else the kubelet's <c>--node-labels</c> (kubelet facts), else — instance type, zone and priority —
/// the Azure metadata service (azure facts); the kubelet version from its binary.
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

    /// <param name="name">The node's name.</param>
    /// <param name="host">The host root.</param>
    /// <param name="results">The run's collector results.</param>
    /// <param name="nodeLabels">The Node object's labels, or null when they were not read.</param>
    /// <param name="nodeObjectError">Why the Node object was not read.</param>
    /// <param name="cancellationToken">Cancels the reads.</param>
    /// <param name="unschedulable">The Node object's <c>spec.unschedulable</c>, or null when it was not read.</param>
    public static async Task<NodeIdentity> ResolveAsync(string name, INodeFileSystem host, IReadOnlyList<CollectorResult> results,
        IReadOnlyDictionary<string, string>? nodeLabels, string? nodeObjectError, CancellationToken cancellationToken, bool? unschedulable = null)
    {
        ArgumentNullException.ThrowIfNull(results);
        var runtime = results.Select(r => r.Facts).OfType<Periscope.Bundle.Facts.ContainerdFacts>().FirstOrDefault(f => f.RuntimeName is not null);
        var kubelet = results.Select(r => r.Facts).OfType<Periscope.Bundle.Facts.KubeletFacts>().FirstOrDefault();
        var compute = results.Select(r => r.Facts).OfType<Periscope.Bundle.Facts.AzureFacts>().FirstOrDefault()?.Compute;
        var (labels, labelsFrom) = nodeLabels is { Count: > 0 } ? (nodeLabels, "node")
            : kubelet?.NodeLabels is { Count: > 0 } flags ? (flags, "kubelet-flags")
            : ((IReadOnlyDictionary<string, string>)new Dictionary<string, string>(), (string?)null);
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
            Zone = Label(labels, "topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone")
                ?? (compute is { Location: { } location, Zone: { } zone } ? $"{location}-{zone}" : null),
            InstanceType = Label(labels, "node.kubernetes.io/instance-type", "beta.kubernetes.io/instance-type") ?? compute?.VmSize,
            Mode = Label(labels, "kubernetes.azure.com/mode"),
            Priority = Label(labels, "kubernetes.azure.com/priority") ?? compute?.Priority?.ToLowerInvariant(),
            NodeImageVersion = Label(labels, "kubernetes.azure.com/node-image-version"),
            LabelsFrom = labelsFrom,
            NodeObjectError = nodeLabels is null ? nodeObjectError : null,
            Cordoned = nodeLabels is null ? null : unschedulable,
        };
    }

    private static string? Label(IReadOnlyDictionary<string, string> labels, params string[] keys)
        => keys.Select(k => labels.GetValueOrDefault(k)).FirstOrDefault(v => !string.IsNullOrEmpty(v));
}
