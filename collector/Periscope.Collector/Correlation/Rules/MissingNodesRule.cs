using Periscope.Bundle;
using Periscope.Collector.Reports;

namespace Periscope.Collector.Correlation.Rules;

/// <summary>
/// Nodes expected in the run that sent nothing: those that had a bundle in the previous run (the run with the newest
/// start time before this one). A node that was drained or deleted since is also listed: the report says which nodes
/// it could not see, the operator knows which were meant to go.
/// </summary>
internal sealed class MissingNodesRule : ICorrelationRule
{
    public IReadOnlyList<string> Codes { get; } = ["NODE_MISSING"];

    public IEnumerable<ClusterFinding> Evaluate(CorrelationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Previous is not { } previous)
        {
            yield break;
        }

        var present = context.Nodes.Select(n => n.Node).ToHashSet(StringComparer.Ordinal);
        var missing = previous.Nodes.Where(n => !present.Contains(n)).Order(StringComparer.Ordinal).ToList();
        if (missing.Count == 0)
        {
            yield break;
        }

        var most = missing.Count >= context.Options.ClusterShare * previous.Nodes.Count && missing.Count >= context.Options.ClusterMinNodes;
        yield return new ClusterFinding
        {
            Code = "NODE_MISSING",
            Severity = Severity.Warning,
            Scope = most ? "cluster" : "node",
            Title = $"{missing.Count} of {previous.Nodes.Count} nodes of run {previous.RunId} sent no bundle",
            Detail = most
                ? $"Most nodes that reported in run {previous.RunId} are missing: the run trigger did not reach them, or the agent is not running (DaemonSet not scheduled, image pull failing)."
                : $"Nodes that reported in run {previous.RunId} have no bundle in this run: the node is down, NotReady or was removed, or its agent is not running.",
            Nodes = missing,
            Evidence = missing.Take(context.Options.MaxEvidence).Select(n => new ClusterEvidence(n, StoreLayout.BundlePath(previous.RunId, n))).ToList(),
        };
    }
}
