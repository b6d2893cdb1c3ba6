using Periscope.Bundle;
using Periscope.Collector.Sources;

namespace Periscope.Collector.Correlation.Rules;

/// <summary>
/// What the Kubernetes nodes list says of the nodes beyond Ready (read once by the collector, never by the agents):
/// <c>NODE_QUARANTINED</c>, nodes AKS labelled <c>kubernetes.azure.com/upgrade-status=Quarantined</c> because an
/// upgrade could not drain them; <c>NODE_CONDITION_PROBLEM</c>, per condition type, the nodes where a problem
/// detector's condition (node-problem-detector on AKS: KernelDeadlock, ReadonlyFilesystem,
/// FilesystemCorruptionProblem, VMEventScheduled, Frequent*Restart, …) is True. Only with the nodes list as the
/// source of expected nodes.
/// </summary>
internal sealed class NodeStateRule : ICorrelationRule
{
    /// <summary>Problem conditions that mean the node cannot be trusted to run pods.</summary>
    private static readonly HashSet<string> CriticalTypes = new(StringComparer.Ordinal) { "KernelDeadlock", "ReadonlyFilesystem", "FilesystemCorruptionProblem" };

    public IReadOnlyList<string> Codes { get; } = ["NODE_QUARANTINED", "NODE_CONDITION_PROBLEM"];

    public IEnumerable<ClusterFinding> Evaluate(CorrelationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Expected is not { Source: ExpectedNodes.Kubernetes } expected)
        {
            yield break;
        }

        var bundles = context.Nodes.ToDictionary(n => n.Node, n => n.BundlePath, StringComparer.Ordinal);
        var quarantined = expected.Nodes.Where(n => n.Quarantined).ToList();
        if (quarantined.Count > 0)
        {
            var (scope, pools) = Scope(quarantined, context);
            yield return new ClusterFinding
            {
                Code = "NODE_QUARANTINED",
                Severity = Severity.Warning,
                Scope = scope,
                Pool = pools.Count == 1 ? pools[0] : null,
                Title = $"{quarantined.Count} node(s) quarantined by an AKS upgrade that could not drain them",
                Detail = "AKS labelled these nodes kubernetes.azure.com/upgrade-status=Quarantined (the pool's undrainable-node behaviour is Cordon): "
                    + "they are cordoned and were not upgraded, and a surge node is kept for each. Usually a PodDisruptionBudget that allows no "
                    + "disruption pins a pod there; also pods whose termination outlasts the drain timeout. Fix what blocks the drain, then "
                    + "upgrade again, or delete the node once its pods have moved.",
                Nodes = [.. quarantined.Select(n => n.Name)],
                Evidence = [.. quarantined.Where(n => bundles.ContainsKey(n.Name)).Take(context.Options.MaxEvidence)
                    .Select(n => Evidence(n, bundles, "labelled upgrade-status=Quarantined" + (n.Cordoned ? ", cordoned" : string.Empty)))],
            };
        }

        foreach (var type in expected.Nodes.SelectMany(n => n.ProblemConditions.Select(c => c.Type)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
        {
            var having = expected.Nodes.Where(n => n.ProblemConditions.Any(c => c.Type == type)).ToList();
            var (scope, pools) = Scope(having, context);
            var first = having.Select(n => n.ProblemConditions.First(c => c.Type == type)).First();
            yield return new ClusterFinding
            {
                Code = "NODE_CONDITION_PROBLEM",
                Severity = CriticalTypes.Contains(type) ? Severity.Critical : Severity.Warning,
                Scope = scope,
                Pool = pools.Count == 1 ? pools[0] : null,
                Title = $"{type} is True on {having.Count} node(s)",
                Detail = $"A problem detector (node-problem-detector on AKS) set the node condition {type}"
                    + (first.Reason is null ? string.Empty : $" ({first.Reason}{(first.Message is null ? string.Empty : ": " + first.Message)})")
                    + ". Health checkers and AKS's own tooling read it from the Node; each node's bundle has the agent's view of the same node.",
                Nodes = [.. having.Select(n => n.Name)],
                Evidence = [.. having.Where(n => bundles.ContainsKey(n.Name)).Take(context.Options.MaxEvidence).Select(n =>
                {
                    var condition = n.ProblemConditions.First(c => c.Type == type);
                    return Evidence(n, bundles, $"{type}=True{(condition.Since is { } since ? " since " + UtcTimestampConverter.Format(since) : string.Empty)}{(condition.Reason is null ? string.Empty : ", " + condition.Reason)}");
                })],
            };
        }
    }

    /// <summary>The node's bundle of this run (the agent's view of the same node), with the API's view as a note.</summary>
    private static ClusterEvidence Evidence(ExpectedNode node, Dictionary<string, string> bundles, string note)
        => new(node.Name, bundles[node.Name], Note: note);

    private static (string Scope, IReadOnlyList<string> Pools) Scope(List<ExpectedNode> nodes, CorrelationContext context)
    {
        if (nodes.Count == 1)
        {
            return ("node", []);
        }

        var pools = nodes.Select(n => n.Pool).Distinct(StringComparer.Ordinal).ToList();
        return pools is [{ } pool] ? ("pool", [pool]) : FindingScope.Classify([.. nodes.Select(n => n.Name)], context);
    }
}
