using System.Text.Json.Serialization;

namespace Periscope.Bundle;

/// <summary>
/// The overall judgement of a node or a run. The numeric values are the exit codes of every command that judges
/// health (the monitoring convention).
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<HealthStatus>))]
public enum HealthStatus
{
    /// <summary>No warning or critical finding.</summary>
    [JsonStringEnumMemberName("healthy")] Healthy = 0,

    /// <summary>At least one warning finding, no critical one.</summary>
    [JsonStringEnumMemberName("warning")] Warning = 1,

    /// <summary>At least one critical finding.</summary>
    [JsonStringEnumMemberName("critical")] Critical = 2,

    /// <summary>Health could not be judged (nothing could be collected or read).</summary>
    [JsonStringEnumMemberName("unknown")] Unknown = 3,
}
