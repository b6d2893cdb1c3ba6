using Periscope.Bundle;

namespace Periscope.Collector.Correlation;

/// <summary>One node's finding on the merged timeline: first seen, last seen (by that node's clock), how often.</summary>
internal sealed record TimelineEvent
{
    public required DateTimeOffset Time { get; init; }
    public DateTimeOffset? LastSeen { get; init; }
    public required string Node { get; init; }
    public required string Collector { get; init; }
    public required string Code { get; init; }
    public required Severity Severity { get; init; }
    public required string Title { get; init; }
    public required long Count { get; init; }
    public required string Bundle { get; init; }
}
