using System.Text.Json.Serialization;

namespace Periscope.Bundle;

/// <summary>What one collector did in a run.</summary>
public sealed record CollectorRecord
{
    /// <summary>Collector name (<c>system</c>, <c>kernel</c>, ...); also its folder in the bundle.</summary>
    public required string Name { get; init; }

    /// <summary>How it ended.</summary>
    public required CollectorStatus Status { get; init; }

    /// <summary>Wall time it ran, in milliseconds.</summary>
    [JsonRequired]
    public double DurationMs { get; init; }

    /// <summary>Why it failed, timed out, was partial or was skipped.</summary>
    public string? Error { get; init; }

    /// <summary>Entries it wrote.</summary>
    [JsonRequired]
    public IReadOnlyList<BundleFileRecord> Files { get; init; } = [];

    /// <summary>Named counters it reported (for example records lost to a ring-buffer overrun).</summary>
    public IReadOnlyDictionary<string, long>? Counters { get; init; }

    /// <summary>External commands it ran and the binary and version used, or why none could be.</summary>
    public IReadOnlyList<CommandRecord>? Commands { get; init; }
}
