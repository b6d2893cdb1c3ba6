using System.Text.Json.Serialization;

namespace Periscope.Bundle;

/// <summary>
/// <c>&lt;runId&gt;/&lt;node&gt;.started</c>: the agent began this run on this node (written before collection, never
/// overwritten). A progress hint for watchers (the incident command); the bundle and its status record stay the truth.
/// </summary>
public sealed record StartedMarker
{
    /// <summary>The node.</summary>
    [JsonRequired]
    public string Node { get; init; } = "";

    /// <summary>The run.</summary>
    [JsonRequired]
    public string RunId { get; init; } = "";

    /// <summary>When the agent began the run (its clock).</summary>
    [JsonRequired]
    public DateTimeOffset StartedAt { get; init; }

    /// <summary><c>periscope-agent/&lt;version&gt;</c>.</summary>
    public string? Agent { get; init; }
}
