using Periscope.Agent.Collection;
using Periscope.Bundle;

namespace Periscope.Agent.Export;

/// <summary>Everything a run produced on this node, ready to seal.</summary>
internal sealed record BundleContent
{
    public required RunId RunId { get; init; }
    public required NodeIdentity Node { get; init; }
    public required DateTimeOffset StartedAt { get; init; }
    public required DateTimeOffset Since { get; init; }
    public required DateTimeOffset Until { get; init; }
    public required bool Offline { get; init; }
    public required IReadOnlyList<CollectorResult> Results { get; init; }
    /// <summary>The findings, already redacted.</summary>
    public required IReadOnlyList<Finding> Findings { get; init; }

    /// <summary>What redacting the findings replaced, by rule.</summary>
    public IReadOnlyDictionary<string, long> FindingsRedactions { get; init; } = new Dictionary<string, long>();

    /// <summary>The node's signals when the bundle was sealed (findings.json, schema 1.1).</summary>
    public NodeSignals? Signals { get; init; }

    /// <summary>The bundle's redactor, for the facts and the manifest's free text.</summary>
    public required Redaction.Redactor Redactor { get; init; }
}
