using Periscope.Agent.Collection;
using Periscope.Bundle;

namespace Periscope.Agent.Export;

/// <summary>Everything a run produced on this node, ready to seal.</summary>
internal sealed record BundleContent
{
    public required string RunId { get; init; }
    public required NodeIdentity Node { get; init; }
    public required DateTimeOffset StartedAt { get; init; }
    public required DateTimeOffset Since { get; init; }
    public required DateTimeOffset Until { get; init; }
    public required bool Offline { get; init; }
    public required IReadOnlyList<CollectorResult> Results { get; init; }
    public required IReadOnlyList<Finding> Findings { get; init; }
}
