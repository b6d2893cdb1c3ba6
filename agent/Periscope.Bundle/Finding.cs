using System.Text.Json.Serialization;

namespace Periscope.Bundle;

/// <summary>
/// One thing found wrong (or worth knowing) on a node. Repeated events aggregate on <see cref="Code"/> and
/// <see cref="Subject"/>: one pod's ten OOM kills are one finding with <see cref="Count"/> 10.
/// </summary>
public sealed record Finding
{
    /// <summary>Stable public code, documented in docs/findings.md (<c>KERNEL_OOM_KILL</c>).</summary>
    public required string Code { get; init; }

    /// <summary>How bad it is.</summary>
    public required Severity Severity { get; init; }

    /// <summary>One line for a human.</summary>
    public required string Title { get; init; }

    /// <summary>What was seen, with the figures that matter.</summary>
    public string? Detail { get; init; }

    /// <summary>The collector that found it (<c>kernel</c>), or <c>analysis</c> for findings that join collectors.</summary>
    public required string Collector { get; init; }

    /// <summary>What the finding is about.</summary>
    public required FindingSubject Subject { get; init; }

    /// <summary>Named details (namespace, pod, container, containerId, device, pid, ...).</summary>
    [JsonRequired]
    public IReadOnlyDictionary<string, string> Attributes { get; init; } = new Dictionary<string, string>();

    /// <summary>How many times it was seen.</summary>
    [JsonRequired]
    public long Count { get; init; } = 1;

    /// <summary>When it was first seen, where known.</summary>
    public DateTimeOffset? FirstSeen { get; init; }

    /// <summary>When it was last seen, where known.</summary>
    public DateTimeOffset? LastSeen { get; init; }

    /// <summary>Where in the bundle the evidence is (bounded list; the most recent places are kept).</summary>
    [JsonRequired]
    public IReadOnlyList<EvidenceReference> Evidence { get; init; } = [];
}
