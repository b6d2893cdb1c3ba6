using System.Text.Json.Serialization;

namespace Periscope.Bundle;

/// <summary>How bad a finding is. Ordered: a larger value is worse.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<Severity>))]
public enum Severity
{
    /// <summary>Worth knowing; nothing to act on by itself.</summary>
    [JsonStringEnumMemberName("info")] Info = 0,

    /// <summary>Degraded or at risk; act soon.</summary>
    [JsonStringEnumMemberName("warning")] Warning = 1,

    /// <summary>Broken or about to break workloads; act now.</summary>
    [JsonStringEnumMemberName("critical")] Critical = 2,
}
