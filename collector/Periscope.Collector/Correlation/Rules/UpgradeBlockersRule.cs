using Periscope.Bundle;
using Periscope.Collector.Sources;

namespace Periscope.Collector.Correlation.Rules;

/// <summary>
/// What blocks an upgrade or a drain, and what AKS did to its nodes, from the collector's cluster-scoped reads
/// (<see cref="ClusterReader"/>; only with the Kubernetes nodes list as the source of expected nodes):
/// <list type="bullet">
/// <item><c>UPGRADE_BLOCKED_BY_PDB</c> (warning), per PodDisruptionBudget that allows no disruption now and selects a
/// pod on a node being drained: quarantined by an upgrade, cordoned with the cluster autoscaler's scale-down-disabled
/// annotation (set on nodes an upgrade holds), or with drain events (<c>NodeDrain*</c>, <c>FailedToEvict</c>,
/// <c>VMEventScheduled</c> — AKS's auto-drain before scheduled maintenance).</item>
/// <item><c>PDB_BLOCKS_DRAIN</c> (info), once for all the other such budgets: normal for a single replica, but a drain of
/// their nodes would wait on them.</item>
/// <item><c>NODE_AUTO_REPAIRED</c> (info): AKS auto-repair's recent actions (events from <c>aks-auto-repair</c>,
/// <c>NodeReboot*</c>, <c>NodeReimage*</c>, <c>NodeRedeploy*</c>). Events live about an hour: older actions are not
/// seen.</item>
/// <item><c>SYSTEM_POOL_RUNS_USER_PODS</c> (info): pods of other namespaces than the cluster's own, not owned by a
/// DaemonSet, on nodes of a System-mode pool.</item>
/// <item><c>CLUSTER_READ_FAILED</c> (warning): a read that failed (missing RBAC, a timeout), so these rules saw less.</item>
/// </list>
/// </summary>
internal sealed class UpgradeBlockersRule : ICorrelationRule
{
    public const string ScaleDownDisabledAnnotation = "cluster-autoscaler.kubernetes.io/scale-down-disabled";

    /// <summary>Namespaces of the cluster's own components: their pods belong on system pools.</summary>
    private static readonly HashSet<string> SystemNamespaces = new(StringComparer.Ordinal)
    {
        "kube-system", "kube-public", "kube-node-lease", "gatekeeper-system", "calico-system", "tigera-operator", "aks-command",
        "app-routing-system", "azure-extensions-usage-system", "kube-egress-gateway-system", "aks-istio-system", "dapr-system", "flux-system",
    };

    private static readonly string[] DrainReasons = ["NodeDrain", "FailedToEvict", "VMEventScheduled"];
    private static readonly string[] RepairReasons = ["NodeReboot", "NodeReimage", "NodeRedeploy"];

    public IReadOnlyList<string> Codes { get; } = ["UPGRADE_BLOCKED_BY_PDB", "PDB_BLOCKS_DRAIN", "NODE_AUTO_REPAIRED", "SYSTEM_POOL_RUNS_USER_PODS", "CLUSTER_READ_FAILED"];

    public IEnumerable<ClusterFinding> Evaluate(CorrelationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Expected is not { Source: ExpectedNodes.Kubernetes, Cluster: { } cluster } expected)
        {
            yield break;
        }

        var max = context.Options.MaxEvidence;
        var bundles = context.Nodes.ToDictionary(n => n.Node, n => n.BundlePath, StringComparer.Ordinal);
        var byName = expected.Nodes.ToDictionary(n => n.Name, StringComparer.Ordinal);
        if (cluster.Errors.Count > 0)
        {
            yield return new ClusterFinding
            {
                Code = "CLUSTER_READ_FAILED",
                Severity = Severity.Warning,
                Scope = "cluster",
                Title = "Part of the cluster's state could not be read: upgrade blockers and AKS's actions may be missing",
                Detail = string.Join("; ", cluster.Errors) + ".",
                Nodes = [],
            };
        }

        // Nodes being drained, and why.
        var draining = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var node in expected.Nodes)
        {
            if (node.Quarantined)
            {
                draining[node.Name] = "quarantined by an upgrade";
            }
            else if (node.Cordoned && node.ScaleDownDisabled)
            {
                draining[node.Name] = "cordoned and held by an upgrade (scale-down disabled)";
            }
        }

        foreach (var e in cluster.NodeEvents.Where(e => DrainReasons.Any(r => e.Reason.StartsWith(r, StringComparison.Ordinal))))
        {
            draining.TryAdd(e.Node, $"{e.Reason} event{(e.Time is { } t ? " at " + UtcTimestampConverter.Format(t) : string.Empty)}");
        }

        // Which pods each budget that allows no disruption now holds, and where they run.
        var podsByNamespace = cluster.Pods.Where(p => p.Node is not null).ToLookup(p => p.Namespace, StringComparer.Ordinal);
        var idle = new List<(PdbState Pdb, List<string> Nodes)>();
        foreach (var pdb in cluster.Pdbs.Where(p => p.DisruptionsAllowed == 0 && p.ExpectedPods > 0).OrderBy(p => p.Namespace, StringComparer.Ordinal).ThenBy(p => p.Name, StringComparer.Ordinal))
        {
            var pods = podsByNamespace[pdb.Namespace].Where(p => pdb.Selector.Matches(p.Labels)).ToList();
            var nodes = pods.Select(p => p.Node!).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
            var blocked = nodes.Where(draining.ContainsKey).ToList();
            if (blocked.Count == 0)
            {
                if (nodes.Count > 0)
                {
                    idle.Add((pdb, nodes));
                }

                continue;
            }

            var pinned = pods.Where(p => blocked.Contains(p.Node!, StringComparer.Ordinal)).Select(p => $"{p.Name} on {p.Node}").Take(10);
            yield return new ClusterFinding
            {
                Code = "UPGRADE_BLOCKED_BY_PDB",
                Severity = Severity.Warning,
                Scope = blocked.Count == 1 ? "node" : "pool",
                Pool = blocked.Select(n => byName.GetValueOrDefault(n)?.Pool).Distinct(StringComparer.Ordinal).ToList() is [{ } pool] ? pool : null,
                Title = $"PodDisruptionBudget {pdb.Namespace}/{pdb.Name} allows no disruption and holds pods on {blocked.Count} node(s) being drained",
                Detail = $"It expects {pdb.ExpectedPods} pod(s) and allows 0 disruptions now, so their eviction is refused and the drain waits (an AKS "
                    + $"upgrade then quarantines the node or fails). Pinned: {string.Join(", ", pinned)}. Draining: "
                    + string.Join("; ", blocked.Select(n => $"{n} ({draining[n]})"))
                    + ". Scale the workload up, relax the budget (maxUnavailable 1) for the upgrade, or delete the pinned pods once a replacement is ready.",
                Nodes = blocked,
                Evidence = [.. blocked.Where(bundles.ContainsKey).Take(max).Select(n => new ClusterEvidence(n, bundles[n], Note: draining[n]))],
            };
        }

        if (idle.Count > 0)
        {
            var nodes = idle.SelectMany(i => i.Nodes).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
            yield return new ClusterFinding
            {
                Code = "PDB_BLOCKS_DRAIN",
                Severity = Severity.Info,
                Scope = "cluster",
                Title = $"{idle.Count} PodDisruptionBudget(s) allow no disruption now: a drain of {nodes.Count} node(s) would wait on them",
                Detail = "Normal for a workload of one replica, but an upgrade, a node image update or a scheduled-maintenance drain of these nodes "
                    + "cannot evict those pods: "
                    + string.Join("; ", idle.Take(10).Select(i => $"{i.Pdb.Namespace}/{i.Pdb.Name} on {string.Join(", ", i.Nodes.Take(5))}{(i.Nodes.Count > 5 ? ", …" : string.Empty)}"))
                    + (idle.Count > 10 ? $"; and {idle.Count - 10} more" : string.Empty) + ".",
                Nodes = nodes,
            };
        }

        var repairs = cluster.NodeEvents
            .Where(e => e.Source == "aks-auto-repair" || RepairReasons.Any(r => e.Reason.StartsWith(r, StringComparison.Ordinal)))
            .GroupBy(e => e.Node, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal).ToList();
        if (repairs.Count > 0)
        {
            yield return new ClusterFinding
            {
                Code = "NODE_AUTO_REPAIRED",
                Severity = Severity.Info,
                Scope = repairs.Count == 1 ? "node" : "cluster",
                Title = $"AKS auto-repair acted on {repairs.Count} node(s) recently",
                Detail = string.Join("; ", repairs.Take(max).Select(g => $"{g.Key}: " + string.Join(", ", g.OrderBy(e => e.Time).Select(e => $"{e.Reason}{(e.Time is { } t ? " at " + UtcTimestampConverter.Format(t) : string.Empty)}"))))
                    + ". Events are kept about an hour, so only recent actions are seen. Auto-repair acts on nodes NotReady for some minutes: "
                    + "their bundles (if any) show why.",
                Nodes = [.. repairs.Select(g => g.Key)],
                Evidence = [.. repairs.Where(g => bundles.ContainsKey(g.Key)).Take(max).Select(g => new ClusterEvidence(g.Key, bundles[g.Key], Note: g.Last().Reason))],
            };
        }

        var systemNodes = expected.Nodes.Where(n => string.Equals(n.Mode, "system", StringComparison.OrdinalIgnoreCase)).Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
        var userPods = cluster.Pods
            .Where(p => p.Node is not null && systemNodes.Contains(p.Node) && !SystemNamespaces.Contains(p.Namespace) && p.OwnerKind != "DaemonSet" && p.Status is not ("Completed" or "Succeeded"))
            .ToList();
        if (userPods.Count > 0)
        {
            var nodes = userPods.Select(p => p.Node!).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
            var namespaces = userPods.GroupBy(p => p.Namespace, StringComparer.Ordinal).OrderByDescending(g => g.Count()).Take(5).Select(g => $"{g.Key} ({g.Count()})");
            yield return new ClusterFinding
            {
                Code = "SYSTEM_POOL_RUNS_USER_PODS",
                Severity = Severity.Info,
                Scope = "pool",
                Pool = nodes.Select(n => byName.GetValueOrDefault(n)?.Pool).Distinct(StringComparer.Ordinal).ToList() is [{ } pool] ? pool : null,
                Title = $"{userPods.Count} application pod(s) run on {nodes.Count} node(s) of a System-mode pool",
                Detail = $"Namespaces: {string.Join(", ", namespaces)}. On AKS the system pool runs CoreDNS, metrics-server and the other add-ons; "
                    + "application pods there compete with them for memory and CPU. Taint the system pool CriticalAddonsOnly=true:NoSchedule "
                    + "and give applications a User pool.",
                Nodes = nodes,
            };
        }
    }
}
