using System.Text.Json.Serialization;

namespace Periscope.Bundle.Facts;

/// <summary>What the container runtime said through the CRI API.</summary>
public sealed record ContainerdFacts
{
    /// <summary>The CRI socket as a node path.</summary>
    public required string Socket { get; init; }

    /// <summary><c>ok</c>, <c>socket-missing</c>, <c>refused</c>, <c>timed-out</c> or <c>error</c>.</summary>
    public required string Reachability { get; init; }

    /// <summary>Runtime name (<c>containerd</c>).</summary>
    public string? RuntimeName { get; init; }

    /// <summary>Runtime version.</summary>
    public string? RuntimeVersion { get; init; }

    /// <summary>CRI API version the runtime speaks.</summary>
    public string? RuntimeApiVersion { get; init; }

    /// <summary>Runtime conditions (RuntimeReady, NetworkReady, …).</summary>
    [JsonRequired]
    public IReadOnlyList<RuntimeConditionFacts> Conditions { get; init; } = [];

    /// <summary>Pod sandboxes.</summary>
    [JsonRequired]
    public IReadOnlyList<SandboxFacts> Sandboxes { get; init; } = [];

    /// <summary>Containers with their status.</summary>
    [JsonRequired]
    public IReadOnlyList<ContainerFacts> Containers { get; init; } = [];

    /// <summary>Number of images and their total size.</summary>
    public int Images { get; init; }

    /// <summary>Total size of the images in bytes.</summary>
    public long ImagesBytes { get; init; }

    /// <summary>Image filesystems as the runtime reports them, with capacity where it could be measured.</summary>
    [JsonRequired]
    public IReadOnlyList<ImageFsFacts> ImageFilesystems { get; init; } = [];

    /// <summary>Every CRI call made, with its duration and outcome.</summary>
    [JsonRequired]
    public IReadOnlyList<CriCallFacts> Calls { get; init; } = [];
}

/// <summary>One runtime condition.</summary>
/// <param name="Type">RuntimeReady, NetworkReady, …</param>
/// <param name="Status">Whether it holds.</param>
/// <param name="Reason">CamelCase reason.</param>
/// <param name="Message">Human-readable message.</param>
public sealed record RuntimeConditionFacts([property: JsonRequired] string Type, [property: JsonRequired] bool Status, string? Reason, string? Message);

/// <summary>One pod sandbox.</summary>
public sealed record SandboxFacts
{
    /// <summary>Sandbox id.</summary>
    public required string Id { get; init; }

    /// <summary>Pod namespace.</summary>
    public required string Namespace { get; init; }

    /// <summary>Pod name.</summary>
    public required string Pod { get; init; }

    /// <summary>Pod uid.</summary>
    public required string Uid { get; init; }

    /// <summary>Creation attempt.</summary>
    public uint Attempt { get; init; }

    /// <summary><c>ready</c> or <c>notready</c>.</summary>
    public required string State { get; init; }

    /// <summary>Creation time.</summary>
    public DateTimeOffset? CreatedAt { get; init; }
}

/// <summary>One container with its status.</summary>
public sealed record ContainerFacts
{
    /// <summary>Container id.</summary>
    public required string Id { get; init; }

    /// <summary>Sandbox id.</summary>
    public required string SandboxId { get; init; }

    /// <summary>Pod namespace (from the kubelet's labels).</summary>
    public string? Namespace { get; init; }

    /// <summary>Pod name.</summary>
    public string? Pod { get; init; }

    /// <summary>Pod uid.</summary>
    public string? PodUid { get; init; }

    /// <summary>Container name.</summary>
    public required string Name { get; init; }

    /// <summary>Creation attempt.</summary>
    public uint Attempt { get; init; }

    /// <summary><c>created</c>, <c>running</c>, <c>exited</c> or <c>unknown</c>.</summary>
    public required string State { get; init; }

    /// <summary>Exit code, when exited.</summary>
    public int? ExitCode { get; init; }

    /// <summary>Reason (OOMKilled, Error, Completed, ContainerCannotRun…).</summary>
    public string? Reason { get; init; }

    /// <summary>Restart count from the kubelet's annotation.</summary>
    public int? RestartCount { get; init; }

    /// <summary>Image.</summary>
    public string? Image { get; init; }

    /// <summary>Started.</summary>
    public DateTimeOffset? StartedAt { get; init; }

    /// <summary>Finished.</summary>
    public DateTimeOffset? FinishedAt { get; init; }

    /// <summary>Log path as a node path.</summary>
    public string? LogPath { get; init; }

    /// <summary>Working set in bytes, where stats were answered.</summary>
    public long? WorkingSetBytes { get; init; }
}

/// <summary>One image filesystem.</summary>
/// <param name="Mountpoint">Mount point as the runtime reports it.</param>
/// <param name="UsedBytes">Bytes used by images.</param>
/// <param name="InodesUsed">Inodes used by images.</param>
/// <param name="CapacityBytes">Filesystem size, where measured.</param>
/// <param name="AvailableBytes">Bytes available, where measured.</param>
public sealed record ImageFsFacts([property: JsonRequired] string Mountpoint, long? UsedBytes, long? InodesUsed, long? CapacityBytes, long? AvailableBytes);

/// <summary>One CRI call.</summary>
/// <param name="Method">Service/method.</param>
/// <param name="DurationMs">Wall time.</param>
/// <param name="Outcome"><c>ok</c> or the gRPC status code.</param>
public sealed record CriCallFacts([property: JsonRequired] string Method, [property: JsonRequired] double DurationMs, [property: JsonRequired] string Outcome);
