using Periscope.Bundle;
using Periscope.Collector.Correlation;

namespace Periscope.Collector.Reports;

/// <summary>
/// The health report of one run: the JSON form is the contract (versioned like the bundle schema); Markdown and
/// HTML are renderings of it.
/// </summary>
internal sealed record HealthReport
{
    public const string CurrentSchemaVersion = "1.4";

    public string SchemaVersion { get; init; } = CurrentSchemaVersion;
    public required string RunId { get; init; }
    public required DateTimeOffset GeneratedAt { get; init; }

    /// <summary>Worst health among the nodes; unknown when a node could not be read and none is critical.</summary>
    public required HealthStatus Status { get; init; }

    public required ReportSummary Summary { get; init; }

    /// <summary>What the correlation rules found across nodes (docs/report.md), worst and widest first. Since 1.1.</summary>
    public IReadOnlyList<ClusterFinding> Correlations { get; init; } = [];

    /// <summary>Critical kernel, runtime and kubelet events of every node, oldest first. Since 1.1.</summary>
    public IReadOnlyList<TimelineEvent> Timeline { get; init; } = [];

    /// <summary>The run before this one (newest start time before this run's). Since 1.1.</summary>
    public string? PreviousRunId { get; init; }

    /// <summary>Which nodes were expected to send a bundle, and from where that list came. Since 1.2.</summary>
    public ExpectedNodesSummary? ExpectedNodes { get; init; }

    /// <summary>Each finding code with the nodes that share it, worst and widest first.</summary>
    public IReadOnlyList<SharedFinding> Findings { get; init; } = [];

    /// <summary>Each node pool: its nodes' health, VM sizes, node images, Kubernetes versions, Spot share and scheduled Azure events (report 1.4).</summary>
    public IReadOnlyList<PoolReport> Pools { get; init; } = [];

    /// <summary>Per-node status and findings, worst first.</summary>
    public IReadOnlyList<NodeReport> Nodes { get; init; } = [];

    /// <summary>
    /// Periscope-owned node conditions whose heartbeat stopped (report 1.3; from the Kubernetes nodes list): each is
    /// still read by health checkers, though no agent maintains it.
    /// </summary>
    public IReadOnlyList<StaleCondition> StaleConditions { get; init; } = [];
}

/// <summary>Where the expected nodes came from (missing nodes are judged against them).</summary>
/// <param name="Source"><c>kubernetes</c> (the nodes list), <c>previous-run</c>, or <c>none</c> (neither could be had).</param>
/// <param name="Count">How many nodes were expected.</param>
/// <param name="PreviousRunId">With <c>previous-run</c>: that run.</param>
/// <param name="JoinedAfterStart">With <c>kubernetes</c>: nodes created after the run started, not expected in it.</param>
/// <param name="Error">Why the Kubernetes nodes list could not be used, when it was asked for.</param>
internal sealed record ExpectedNodesSummary(string Source, int Count, string? PreviousRunId, IReadOnlyList<string> JoinedAfterStart, string? Error);

internal sealed record ReportSummary(int Nodes, int Healthy, int Warning, int Critical, int Unknown, int Rejected, int Incomplete);

/// <summary>One node in the report.</summary>
internal sealed record NodeReport
{
    public required string Node { get; init; }
    public string? Pool { get; init; }
    public required HealthStatus Status { get; init; }

    /// <summary>Store-relative path of the bundle.</summary>
    public required string Bundle { get; init; }

    public string? Rejected { get; init; }
    public bool Incomplete { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? EndedAt { get; init; }
    public string? OsImage { get; init; }
    public string? KernelVersion { get; init; }

    /// <summary>The node's identity from its bundle's manifest (report 1.4; mode, priority and node image from bundle schema 1.2).</summary>
    public string? KubeletVersion { get; init; }
    public string? Zone { get; init; }
    public string? InstanceType { get; init; }
    public string? Mode { get; init; }
    public string? Priority { get; init; }
    public string? NodeImageVersion { get; init; }
    public FindingCounts? Counts { get; init; }
    public IReadOnlyList<NodeCollector> Collectors { get; init; } = [];
    public IReadOnlyList<Finding> Findings { get; init; } = [];

    /// <summary>The node's signals when its bundle was sealed (report 1.3; from bundle schema 1.1), to compare with its conditions.</summary>
    public NodeSignals? Signals { get; init; }
}

/// <summary>One collector's outcome on a node.</summary>
/// <summary>A Periscope-owned node condition no agent has refreshed for longer than the stale threshold.</summary>
internal sealed record StaleCondition(string Node, string Type, string Status, string? Reason, DateTimeOffset? LastHeartbeatTime, string Why);

internal sealed record NodeCollector(string Name, CollectorStatus Status, string? Error);
