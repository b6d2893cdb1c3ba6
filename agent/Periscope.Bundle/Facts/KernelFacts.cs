using System.Text.Json.Serialization;

namespace Periscope.Bundle.Facts;

/// <summary>What the kernel log reader saw.</summary>
public sealed record KernelFacts
{
    /// <summary>Where the records came from: <c>kmsg</c> (device), <c>kmsg-file</c> (captured), <c>kern.log</c>, <c>journal</c> or <c>none</c>.</summary>
    public required string Source { get; init; }

    /// <summary>Why the preferred sources could not be used, in order tried.</summary>
    [JsonRequired]
    public IReadOnlyList<string> SourceErrors { get; init; } = [];

    /// <summary>Records read inside the window.</summary>
    [JsonRequired]
    public long Records { get; init; }

    /// <summary>Of those, records of the kernel facility (the only ones classified).</summary>
    [JsonRequired]
    public long KernelRecords { get; init; }

    /// <summary>Records lost because the ring buffer overwrote them while reading.</summary>
    [JsonRequired]
    public long RecordsLost { get; init; }

    /// <summary>Lines that could not be parsed and were kept as text only.</summary>
    [JsonRequired]
    public long UnparsedLines { get; init; }

    /// <summary>Whether the size bound cut the window (older records were not read).</summary>
    [JsonRequired]
    public bool Truncated { get; init; }

    /// <summary>Boot time used to place records in wall-clock time, where known.</summary>
    public DateTimeOffset? BootTime { get; init; }

    /// <summary>Time of the oldest record read, where known.</summary>
    public DateTimeOffset? FirstRecord { get; init; }

    /// <summary>Time of the newest record read, where known.</summary>
    public DateTimeOffset? LastRecord { get; init; }

    /// <summary>Findings per code before aggregation (events seen).</summary>
    [JsonRequired]
    public IReadOnlyDictionary<string, long> Events { get; init; } = new Dictionary<string, long>();
}
