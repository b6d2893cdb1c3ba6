using Periscope.Bundle;

namespace Periscope.Collector.Reports;

/// <summary>
/// One node pool in the report (report 1.4): its nodes and their health, what they run (VM sizes, node images,
/// Kubernetes versions, each with its node count), how many are Spot VMs, and how many have Azure maintenance
/// scheduled — from the nodes' bundles. Nodes without a known pool are grouped under <c>pool: null</c>.
/// </summary>
internal sealed record PoolReport
{
    public string? Pool { get; init; }

    /// <summary><c>System</c> or <c>User</c> (AKS), when its nodes say so.</summary>
    public string? Mode { get; init; }

    public required int Nodes { get; init; }
    public required int Critical { get; init; }
    public required int Warning { get; init; }
    public required int Healthy { get; init; }
    public required int Unknown { get; init; }

    /// <summary>VM size → nodes.</summary>
    public IReadOnlyDictionary<string, int> VmSizes { get; init; } = new Dictionary<string, int>();

    /// <summary>Node image version → nodes.</summary>
    public IReadOnlyDictionary<string, int> NodeImageVersions { get; init; } = new Dictionary<string, int>();

    /// <summary>Kubelet version → nodes.</summary>
    public IReadOnlyDictionary<string, int> KubeletVersions { get; init; } = new Dictionary<string, int>();

    /// <summary>Nodes that are Spot VMs (priority <c>spot</c>).</summary>
    public required int Spot { get; init; }

    /// <summary>Nodes with Azure maintenance scheduled (an <c>AZURE_EVENT_SCHEDULED</c> finding), by name.</summary>
    public IReadOnlyList<string> ScheduledEvents { get; init; } = [];

    /// <summary>
    /// Nodes of the pool an upgrade is stuck on: quarantined by it, or holding pods a PodDisruptionBudget will not let
    /// go while they are drained (<c>NODE_QUARANTINED</c>, <c>UPGRADE_BLOCKED_BY_PDB</c>), by name.
    /// </summary>
    public IReadOnlyList<string> UpgradeBlockers { get; init; } = [];

    /// <summary>The correlation codes whose nodes block an upgrade.</summary>
    public static readonly IReadOnlySet<string> BlockerCodes = new HashSet<string>(StringComparer.Ordinal) { "NODE_QUARANTINED", "UPGRADE_BLOCKED_BY_PDB" };

    public static IReadOnlyList<PoolReport> Of(IReadOnlyList<NodeReport> nodes, IReadOnlyList<Correlation.ClusterFinding>? correlations = null)
    {
        var blockers = (correlations ?? []).Where(c => BlockerCodes.Contains(c.Code)).SelectMany(c => c.Nodes).ToHashSet(StringComparer.Ordinal);
        return Group(nodes, blockers);
    }

    private static IReadOnlyList<PoolReport> Group(IReadOnlyList<NodeReport> nodes, HashSet<string> blockers)
        => [.. nodes.Where(n => n.Rejected is null || n.Pool is not null)
            .GroupBy(n => n.Pool, StringComparer.Ordinal)
            .OrderBy(g => g.Key is null).ThenBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new PoolReport
            {
                Pool = g.Key,
                Mode = g.Select(n => n.Mode).OfType<string>().Distinct(StringComparer.OrdinalIgnoreCase).SingleOrDefault(),
                Nodes = g.Count(),
                Critical = g.Count(n => n.Status == HealthStatus.Critical),
                Warning = g.Count(n => n.Status == HealthStatus.Warning),
                Healthy = g.Count(n => n.Status == HealthStatus.Healthy),
                Unknown = g.Count(n => n.Status == HealthStatus.Unknown),
                VmSizes = Tally(g.Select(n => n.InstanceType)),
                NodeImageVersions = Tally(g.Select(n => n.NodeImageVersion)),
                KubeletVersions = Tally(g.Select(n => n.KubeletVersion)),
                Spot = g.Count(n => string.Equals(n.Priority, "spot", StringComparison.OrdinalIgnoreCase)),
                ScheduledEvents = [.. g.Where(n => n.Findings.Any(f => f.Code == "AZURE_EVENT_SCHEDULED")).Select(n => n.Node).Order(StringComparer.Ordinal)],
                UpgradeBlockers = [.. g.Where(n => blockers.Contains(n.Node)).Select(n => n.Node).Order(StringComparer.Ordinal)],
            })];

    private static SortedDictionary<string, int> Tally(IEnumerable<string?> values)
    {
        var tally = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var value in values.OfType<string>())
        {
            tally[value] = tally.GetValueOrDefault(value) + 1;
        }

        return tally;
    }

    /// <summary>"Standard_D4s_v5 ×3, Standard_D8s_v5 ×1" (or "—").</summary>
    public static string List(IReadOnlyDictionary<string, int> tally)
        => tally.Count == 0 ? "—" : string.Join(", ", tally.Select(t => $"{t.Key} ×{t.Value}"));
}
