using Periscope.Bundle;

namespace Periscope.Agent.Collection;

/// <summary>What one collector produced in a run.</summary>
internal sealed record CollectorResult
{
    public required string Name { get; init; }
    public required CollectorStatus Status { get; init; }
    public TimeSpan Duration { get; init; }
    public string? Error { get; init; }
    public IReadOnlyList<StagedFile> Files { get; init; } = [];
    public object? Facts { get; init; }
    public IReadOnlyList<Observation> Observations { get; init; } = [];
    public IReadOnlyDictionary<string, long> Counters { get; init; } = new Dictionary<string, long>();
    public IReadOnlyList<CommandRecord> Commands { get; init; } = [];
}
