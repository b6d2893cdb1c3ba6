namespace Periscope.Bundle;

/// <summary>Who the node is, as far as it could be told from the node itself.</summary>
public sealed record NodeIdentity
{
    /// <summary>Node name: <c>--node</c>, else <c>NODE_NAME</c>, else the host's <c>/etc/hostname</c>.</summary>
    public required string Name { get; init; }

    /// <summary>Agent pool (node pool) name, where known.</summary>
    public string? Pool { get; init; }

    /// <summary>OS image (PRETTY_NAME of <c>/etc/os-release</c>).</summary>
    public string? OsImage { get; init; }

    /// <summary>Kernel release.</summary>
    public string? KernelVersion { get; init; }

    /// <summary>Kubelet version, where known.</summary>
    public string? KubeletVersion { get; init; }

    /// <summary>Container runtime name and version, where known.</summary>
    public string? RuntimeVersion { get; init; }

    /// <summary>Topology zone, where known.</summary>
    public string? Zone { get; init; }

    /// <summary>Cloud instance type (VM size), where known.</summary>
    public string? InstanceType { get; init; }

    /// <summary>The pool's mode on AKS (<c>System</c> or <c>User</c>, label <c>kubernetes.azure.com/mode</c>), where known (schema 1.2).</summary>
    public string? Mode { get; init; }

    /// <summary>
    /// The VM's priority (<c>spot</c> or <c>regular</c>; AKS's label <c>kubernetes.azure.com/priority</c>, else the
    /// metadata service's <c>priority</c>), where known (schema 1.2).
    /// </summary>
    public string? Priority { get; init; }

    /// <summary>The node image version (AKS's label <c>kubernetes.azure.com/node-image-version</c>), where known (schema 1.2).</summary>
    public string? NodeImageVersion { get; init; }

    /// <summary>
    /// Where pool, zone, instance type, mode, priority and node image came from: <c>node</c> (the Node object's
    /// labels) or <c>kubelet-flags</c> (the kubelet's <c>--node-labels</c>); absent when neither had any (schema 1.2).
    /// </summary>
    public string? LabelsFrom { get; init; }

    /// <summary>Why the Node object was not read, when it was not (off Kubernetes, no access, a timeout) (schema 1.2).</summary>
    public string? NodeObjectError { get; init; }

    /// <summary>
    /// Whether the node was cordoned (the Node object's <c>spec.unschedulable</c>) when the run read it; absent when the
    /// Node object was not read. Kubernetes records no cordon time: the collector tells how long a node has been cordoned
    /// from this field in earlier runs (schema 1.2).
    /// </summary>
    public bool? Cordoned { get; init; }
}
