using Periscope.Bundle;

namespace Periscope.Agent.Collection;

/// <summary>One run on this node.</summary>
internal sealed record RunRequest
{
    public required RunId RunId { get; init; }
    public required string NodeName { get; init; }
    public required INodeFileSystem Host { get; init; }
    public required DateTimeOffset Since { get; init; }
    public required DateTimeOffset Until { get; init; }
    public required string StagingDirectory { get; init; }

    /// <summary>Collector names to run; null runs every registered collector.</summary>
    public IReadOnlyCollection<string>? Collectors { get; init; }

    public bool Offline { get; init; }

    /// <summary>The bundle's redactor: every evidence file passes through it on its way to the staging area.</summary>
    public required IEvidenceRedaction Redactor { get; init; }
}
