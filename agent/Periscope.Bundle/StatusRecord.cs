using System.Text.Json.Serialization;

namespace Periscope.Bundle;

/// <summary>
/// The <c>&lt;runId&gt;/&lt;node&gt;.status.json</c> record written after the bundle: its presence is what makes a
/// bundle complete, and it is all a reader needs to list a run.
/// </summary>
public sealed record StatusRecord
{
    /// <summary>Schema version, <c>MAJOR.MINOR</c>.</summary>
    [JsonRequired]
    public string SchemaVersion { get; init; } = BundleSchema.Version;

    /// <summary>Node name (the bundle's file name).</summary>
    public required string Node { get; init; }

    /// <summary>The run.</summary>
    public required string RunId { get; init; }

    /// <summary>The node's health as judged from its findings.</summary>
    public required HealthStatus Status { get; init; }

    /// <summary>Worst collector outcome: ok, or partial when any collector did not finish cleanly.</summary>
    public required CollectorStatus Collection { get; init; }

    /// <summary>Findings per severity.</summary>
    public required FindingCounts Findings { get; init; }

    /// <summary>Size of the zip in bytes.</summary>
    public required long BundleSize { get; init; }

    /// <summary>Sum of the uncompressed entry sizes in bytes.</summary>
    public required long ContentSize { get; init; }

    /// <summary>Lower-case hex SHA-256 of the zip.</summary>
    public required string Sha256 { get; init; }

    /// <summary>When the run started on the node.</summary>
    public required DateTimeOffset StartedAt { get; init; }

    /// <summary>When the bundle was sealed on the node.</summary>
    public required DateTimeOffset EndedAt { get; init; }
}
