using System.Text.Json.Serialization;

namespace Periscope.Bundle;

/// <summary>
/// The <c>manifest.json</c> entry: who made the bundle, when, and a record of every other entry with its hash.
/// It is the last entry written.
/// </summary>
public sealed record Manifest
{
    /// <summary>Schema version, <c>MAJOR.MINOR</c>.</summary>
    [JsonRequired]
    public string SchemaVersion { get; init; } = BundleSchema.Version;

    /// <summary>The run this bundle belongs to.</summary>
    public required string RunId { get; init; }

    /// <summary>The node it was collected on.</summary>
    public required NodeIdentity Node { get; init; }

    /// <summary>The agent that wrote it, <c>periscope-agent/VERSION</c>.</summary>
    public required string Agent { get; init; }

    /// <summary>When the run started on this node (UTC).</summary>
    public required DateTimeOffset StartedAt { get; init; }

    /// <summary>When the bundle was sealed (UTC).</summary>
    public required DateTimeOffset EndedAt { get; init; }

    /// <summary>Start of the time window collected, where one was set.</summary>
    public DateTimeOffset? Since { get; init; }

    /// <summary>End of the time window collected, where one was set.</summary>
    public DateTimeOffset? Until { get; init; }

    /// <summary>Whether live probes were disabled (a replay of a captured node root).</summary>
    public bool Offline { get; init; }

    /// <summary>What each collector did, with the files it wrote.</summary>
    [JsonRequired]
    public IReadOnlyList<CollectorRecord> Collectors { get; init; } = [];

    /// <summary>The bundle-level documents (<c>facts.json</c>, <c>findings.json</c>) and their hashes.</summary>
    [JsonRequired]
    public IReadOnlyList<BundleFileRecord> Documents { get; init; } = [];
}
