using System.Text.Json.Serialization;

namespace Periscope.Bundle;

/// <summary>How a collector's part of a run ended.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<CollectorStatus>))]
public enum CollectorStatus
{
    /// <summary>Everything it set out to collect was collected.</summary>
    [JsonStringEnumMemberName("ok")] Ok = 0,

    /// <summary>Some of it was collected; the record says what was not and why.</summary>
    [JsonStringEnumMemberName("partial")] Partial = 1,

    /// <summary>It failed; its error says why. Whatever it wrote before failing is kept.</summary>
    [JsonStringEnumMemberName("failed")] Failed = 2,

    /// <summary>It did not run because its component is absent or not requested here; the reason says which.</summary>
    [JsonStringEnumMemberName("skipped")] Skipped = 3,

    /// <summary>It did not finish within its deadline. Whatever it wrote before is kept.</summary>
    [JsonStringEnumMemberName("timed-out")] TimedOut = 4,
}
