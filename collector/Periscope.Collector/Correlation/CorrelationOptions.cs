namespace Periscope.Collector.Correlation;

/// <summary>Thresholds of the correlation rules (docs/report.md lists them with their defaults).</summary>
public sealed class CorrelationOptions
{
    public const string SectionName = "Periscope:Correlation";

    /// <summary>A finding is cluster-wide when at least this share of the reporting nodes has it …</summary>
    public double ClusterShare { get; set; } = 0.8;

    /// <summary>… and at least this many nodes.</summary>
    public int ClusterMinNodes { get; set; } = 3;

    /// <summary>A finding is pool-wide when at least this share of one pool's reporting nodes has it …</summary>
    public double PoolShare { get; set; } = 0.8;

    /// <summary>… and at least this many of them (a one-node pool says nothing about the pool).</summary>
    public int PoolMinNodes { get; set; } = 2;

    /// <summary>A node clock off by more than this (ahead of the store, or by its own error estimate) is reported.</summary>
    public TimeSpan ClockSkewThreshold { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Most events in the merged timeline (the newest are kept).</summary>
    public int MaxTimelineEvents { get; set; } = 500;

    /// <summary>Most evidence references a cluster finding lists (one per node, in node order).</summary>
    public int MaxEvidence { get; set; } = 20;

    /// <summary>
    /// A Periscope node condition whose lastHeartbeatTime is older than this is reported stale (three of the agent's
    /// default 5-minute heartbeats): its agent is gone, yet health checkers read lastTransitionTime and still act on it.
    /// </summary>
    public TimeSpan ConditionStaleAfter { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>A node cordoned for longer than this is <c>NODE_CORDONED_LONG</c> (a cordon forgotten after maintenance).</summary>
    public TimeSpan CordonedLongAfter { get; set; } = TimeSpan.FromHours(24);

    /// <summary>
    /// Most earlier runs read to tell how long a node has been cordoned (Kubernetes records no cordon time): the newest
    /// run at least <see cref="CordonedLongAfter"/> old and runs spread between it and this one, only the cordoned nodes'
    /// bundles of each.
    /// </summary>
    public int CordonHistoryRuns { get; set; } = 8;

    /// <summary>Checks the thresholds; every problem at once.</summary>
    public IReadOnlyList<string> Validate()
    {
        var failures = new List<string>();
        if (ClusterShare is <= 0 or > 1)
        {
            failures.Add($"{SectionName}:ClusterShare must be in (0, 1] (found {ClusterShare}).");
        }

        if (PoolShare is <= 0 or > 1)
        {
            failures.Add($"{SectionName}:PoolShare must be in (0, 1] (found {PoolShare}).");
        }

        if (ClusterMinNodes < 1 || PoolMinNodes < 1)
        {
            failures.Add($"{SectionName}:ClusterMinNodes and PoolMinNodes must be at least 1.");
        }

        if (MaxEvidence < 1)
        {
            failures.Add($"{SectionName}:MaxEvidence must be at least 1 (found {MaxEvidence}).");
        }

        if (CordonedLongAfter <= TimeSpan.Zero)
        {
            failures.Add($"{SectionName}:CordonedLongAfter must be positive (found {CordonedLongAfter}).");
        }

        if (CordonHistoryRuns < 0)
        {
            failures.Add($"{SectionName}:CordonHistoryRuns must be 0 (no history) or more (found {CordonHistoryRuns}).");
        }

        return failures;
    }
}
