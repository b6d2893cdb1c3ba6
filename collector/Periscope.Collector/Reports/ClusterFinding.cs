using Periscope.Bundle;

namespace Periscope.Collector.Reports;

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
