using Periscope.Bundle;

namespace Periscope.Collector.Correlation;

/// <summary>
/// What a correlation rule found across nodes: a code of its own (docs/report.md), its scope (<c>cluster</c>,
/// <c>pool</c> or <c>node</c>), the nodes concerned and the evidence — bundle paths and, where a node's finding
/// points into its evidence, file and line.
/// </summary>
internal sealed record ClusterFinding
{
    public required string Code { get; init; }
    public required Severity Severity { get; init; }
    public required string Scope { get; init; }
    public string? Pool { get; init; }
    public required string Title { get; init; }
    public required string Detail { get; init; }
    public required IReadOnlyList<string> Nodes { get; init; }
    public IReadOnlyList<ClusterEvidence> Evidence { get; init; } = [];
}

/// <summary>
/// Where to look: a node's bundle, and a file and line inside it when there is one; a note when the bundle alone does
/// not say why it is named (since 1.2).
/// </summary>
internal sealed record ClusterEvidence(string Node, string Bundle, string? File = null, long? Line = null, string? Note = null);

/// <summary>A finding code and how many nodes share it.</summary>
internal sealed record SharedFinding
{
    public required string Code { get; init; }
    public required Severity Severity { get; init; }
    public required string Title { get; init; }

    /// <summary><c>cluster</c>, <c>pool</c> or <c>node</c> (<see cref="FindingScope"/>). Since 1.1.</summary>
    public string Scope { get; init; } = "node";

    /// <summary>With scope <c>pool</c>: the pools where it is pool-wide. Since 1.1.</summary>
    public IReadOnlyList<string> Pools { get; init; } = [];

    public required int NodeCount { get; init; }
    public required int ReportingNodes { get; init; }
    public required IReadOnlyList<string> Nodes { get; init; }
    public required long Occurrences { get; init; }
    public DateTimeOffset? FirstSeen { get; init; }
    public DateTimeOffset? LastSeen { get; init; }

    /// <summary>Per node (in name order, at most MaxEvidence): its bundle and the file and line of its finding. Since 1.1.</summary>
    public IReadOnlyList<ClusterEvidence> Evidence { get; init; } = [];
}
