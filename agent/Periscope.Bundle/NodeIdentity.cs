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
}
