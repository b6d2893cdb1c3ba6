using Periscope.Bundle;

namespace Periscope.Agent.Cli;

/// <summary>The one JSON document <c>collect --json</c> prints.</summary>
internal sealed record CollectOutput
{
    public required string RunId { get; init; }
    public required string Node { get; init; }
    public required HealthStatus Status { get; init; }
    public required int ExitCode { get; init; }
    public string? Bundle { get; init; }
    public string? StatusRecord { get; init; }
    public string? Error { get; init; }
    public FindingCounts? Counts { get; init; }
    public IReadOnlyList<CollectorSummary> Collectors { get; init; } = [];
    public IReadOnlyList<Finding> Findings { get; init; } = [];

    /// <summary>The upload to Blob Storage, when a Blob sink is configured.</summary>
    public UploadSummary? Upload { get; init; }

    /// <summary>The spool pass after the run: bundles uploaded, still pending, evicted.</summary>
    public SpoolSummary? Spool { get; init; }
}

/// <summary>What the spool pass did.</summary>
internal sealed record SpoolSummary(int Uploaded, int Pending, int Evicted);

/// <summary>How the upload went: where the bundle is (never with a SAS), or why it is not there.</summary>
internal sealed record UploadSummary(bool Succeeded, string? Location, string? Error);

/// <summary>One collector's outcome in CLI output.</summary>
internal sealed record CollectorSummary(string Name, CollectorStatus Status, double DurationMs, string? Error);

/// <summary>The one JSON document <c>collectors --json</c> prints.</summary>
internal sealed record CollectorsOutput(IReadOnlyList<CollectorAvailability> Collectors);

/// <summary>Whether one collector can run here.</summary>
internal sealed record CollectorAvailability(string Name, bool Supported, string Reason, string Description);
