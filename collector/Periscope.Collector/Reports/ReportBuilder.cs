using Periscope.Bundle;
using Periscope.Collector.Correlation;
using Periscope.Collector.Sources;

namespace Periscope.Collector.Reports;

/// <summary>Builds the health report of a run from its node bundles.</summary>
internal static class ReportBuilder
{
    /// <param name="runId">The run.</param>
    /// <param name="nodes">Its nodes as read.</param>
    /// <param name="now">The report's time.</param>
    /// <param name="previous">The run before it, if any.</param>
    /// <param name="options">Thresholds.</param>
    /// <param name="expected">The nodes expected from Kubernetes, when listed; else the previous run's are.</param>
    /// <param name="expectedError">Why the Kubernetes nodes list was asked for but could not be used.</param>
    /// <param name="cordonHistory">Cordoned nodes' evidence from earlier runs.</param>
    public static HealthReport Build(
        string runId, IReadOnlyList<NodeBundle> nodes, DateTimeOffset now, PreviousRun? previous = null, CorrelationOptions? options = null,
        ExpectedNodes? expected = null, string? expectedError = null, IReadOnlyDictionary<string, CordonHistory>? cordonHistory = null)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        var context = new CorrelationContext(runId, nodes, previous, options ?? new CorrelationOptions(), expected)
        {
            Now = now,
            CordonHistory = cordonHistory ?? new Dictionary<string, CordonHistory>(StringComparer.Ordinal),
        };
        var reports = nodes.Select(ToNodeReport)
            .OrderByDescending(n => Rank(n.Status))
            .ThenBy(n => n.Node, StringComparer.Ordinal)
            .ToList();
        var summary = new ReportSummary(
            reports.Count,
            reports.Count(n => n.Status == HealthStatus.Healthy),
            reports.Count(n => n.Status == HealthStatus.Warning),
            reports.Count(n => n.Status == HealthStatus.Critical),
            reports.Count(n => n.Status == HealthStatus.Unknown),
            reports.Count(n => n.Rejected is not null && !n.Incomplete),
            reports.Count(n => n.Incomplete));
        var correlations = CorrelationRules.Evaluate(context);
        return new HealthReport
        {
            RunId = runId,
            GeneratedAt = now,
            Status = Worse(Overall(reports), correlations),
            Summary = summary,
            Correlations = correlations,
            Timeline = TimelineBuilder.Build(context),
            PreviousRunId = previous?.RunId,
            ExpectedNodes = context.Expected is null && expectedError is null
                ? null
                : new ExpectedNodesSummary(
                    context.Expected?.Source ?? "none",
                    context.Expected?.Nodes.Count ?? 0,
                    context.Expected?.PreviousRunId,
                    context.Expected?.Excluded ?? [],
                    expectedError),
            Findings = FindingSpread.Compute(context),
            Pools = PoolReport.Of(reports, correlations),
            Nodes = reports,
            StaleConditions = StaleConditions(context.Expected, now, context.Options.ConditionStaleAfter),
        };
    }

    /// <summary>Owned conditions on listed nodes whose last heartbeat is older than <paramref name="after"/>, True ones first.</summary>
    private static List<StaleCondition> StaleConditions(ExpectedNodes? expected, DateTimeOffset now, TimeSpan after)
        => [.. (expected?.Nodes ?? [])
            .SelectMany(n => n.OwnedConditions.Select(c => (Node: n.Name, Condition: c)))
            .Where(x => x.Condition.LastHeartbeatTime is not { } beat || now - beat > after)
            .OrderByDescending(x => x.Condition.Status == "True").ThenBy(x => x.Node, StringComparer.Ordinal).ThenBy(x => x.Condition.Type, StringComparer.Ordinal)
            .Select(x => new StaleCondition(x.Node, x.Condition.Type, x.Condition.Status, x.Condition.Reason, x.Condition.LastHeartbeatTime,
                x.Condition.LastHeartbeatTime is { } beat
                    ? $"no heartbeat for {Words.Duration(now - beat)}: the agent on this node is not running or cannot reach the API"
                    : "no heartbeat time: not written by a running agent"))];

    /// <summary>Critical wins; then unknown (a node we could not read may hide anything); then warning.</summary>
    public static HealthStatus Overall(IReadOnlyCollection<NodeReport> nodes)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        if (nodes.Count == 0)
        {
            return HealthStatus.Unknown;
        }

        return nodes.Any(n => n.Status == HealthStatus.Critical) ? HealthStatus.Critical
            : nodes.Any(n => n.Status == HealthStatus.Unknown) ? HealthStatus.Unknown
            : nodes.Any(n => n.Status == HealthStatus.Warning) ? HealthStatus.Warning
            : HealthStatus.Healthy;
    }

    /// <summary>
    /// The run's status also counts what only the run shows: a warning or critical correlation (nodes missing, cluster DNS
    /// failing) makes an otherwise healthy run warning or critical; an unknown run stays unknown unless one is critical.
    /// </summary>
    private static HealthStatus Worse(HealthStatus nodes, IReadOnlyList<ClusterFinding> correlations)
    {
        var worst = correlations.Count == 0 ? Severity.Info : correlations.Max(c => c.Severity);
        var fromCorrelations = worst switch
        {
            Severity.Critical => HealthStatus.Critical,
            Severity.Warning => HealthStatus.Warning,
            _ => HealthStatus.Healthy,
        };
        return Rank(fromCorrelations) > Rank(nodes) ? fromCorrelations : nodes;
    }

    /// <summary>Order for "worst first": critical, unknown, warning, healthy.</summary>
    public static int Rank(HealthStatus status) => status switch
    {
        HealthStatus.Critical => 3,
        HealthStatus.Unknown => 2,
        HealthStatus.Warning => 1,
        _ => 0,
    };

    private static NodeReport ToNodeReport(NodeBundle node)
    {
        if (!node.IsUsable)
        {
            return new NodeReport
            {
                Node = node.Node,
                Status = HealthStatus.Unknown,
                Bundle = node.BundlePath,
                Rejected = node.Rejected ?? "unreadable",
                Incomplete = node.Incomplete,
                StartedAt = node.Status?.StartedAt,
                EndedAt = node.Status?.EndedAt,
            };
        }

        var manifest = node.Manifest!;
        var findings = node.Findings!.Findings;
        var counts = FindingCounts.Of(findings);
        var nothingCollected = manifest.Collectors.Count > 0
            && manifest.Collectors.All(c => c.Status is CollectorStatus.Failed or CollectorStatus.TimedOut or CollectorStatus.Skipped);
        var status = counts.Health == HealthStatus.Healthy && nothingCollected ? HealthStatus.Unknown : counts.Health;
        return new NodeReport
        {
            Node = node.Node,
            Pool = manifest.Node.Pool,
            Status = status,
            Bundle = node.BundlePath,
            StartedAt = manifest.StartedAt,
            EndedAt = manifest.EndedAt,
            OsImage = manifest.Node.OsImage,
            KernelVersion = manifest.Node.KernelVersion,
            KubeletVersion = manifest.Node.KubeletVersion,
            Zone = manifest.Node.Zone,
            InstanceType = manifest.Node.InstanceType,
            Mode = manifest.Node.Mode,
            Priority = manifest.Node.Priority,
            NodeImageVersion = manifest.Node.NodeImageVersion,
            Counts = counts,
            Collectors = manifest.Collectors.Select(c => new NodeCollector(c.Name, c.Status, c.Error)).ToList(),
            Findings = findings,
            Signals = node.Findings.Signals,
        };
    }
}
