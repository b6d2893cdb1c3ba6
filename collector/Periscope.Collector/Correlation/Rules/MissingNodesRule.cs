using Periscope.Bundle;
using Periscope.Collector.Sources;

namespace Periscope.Collector.Correlation.Rules;

/// <summary>
/// Nodes expected in the run that sent nothing. Expected are the nodes of the Kubernetes nodes list when the collector
/// could read it (the DaemonSet's nodes, without those that joined after the run started), else the nodes that had a
/// bundle in the previous run (a node drained or deleted since is listed too: the operator knows which were meant to go).
/// From Kubernetes, NotReady nodes (down, or their kubelet lost the API server) are told apart from Ready ones (their
/// agent did not run), and Ready nodes missing across most of one pool point at the DaemonSet's scheduling there.
/// A node the API reports not Ready that did send a bundle is <c>NODE_NOT_READY</c> instead, with its agent's own view
/// beside the API's (one finding per node: never both codes).
/// </summary>
internal sealed class MissingNodesRule : ICorrelationRule
{
    public IReadOnlyList<string> Codes { get; } = ["NODE_MISSING", "NODE_NOT_READY"];

    public IEnumerable<ClusterFinding> Evaluate(CorrelationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Expected is not { } expected)
        {
            return [];
        }

        var present = context.Nodes.Select(n => n.Node).ToHashSet(StringComparer.Ordinal);
        var reportedNotReady = expected.Source == ExpectedNodes.Kubernetes
            ? expected.Nodes.Where(n => n.Ready != true && present.Contains(n.Name)).OrderBy(n => n.Name, StringComparer.Ordinal).ToList()
            : [];
        var missing = expected.Nodes.Where(n => !present.Contains(n.Name)).OrderBy(n => n.Name, StringComparer.Ordinal).ToList();
        var notReadyFinding = reportedNotReady.Count == 0 ? [] : new[] { NotReady(context, reportedNotReady) };
        if (missing.Count == 0)
        {
            return notReadyFinding;
        }

        return [.. notReadyFinding, .. Missing(context, expected, missing)];
    }

    /// <summary>
    /// Not Ready by the API, yet its agent ran and sealed a bundle: the kubelet is down or lost the API server while the
    /// node runs. The evidence is the bundle, with the agent's verdict and worst findings as the note.
    /// </summary>
    private static ClusterFinding NotReady(CorrelationContext context, List<ExpectedNode> nodes)
    {
        var bundles = context.Nodes.ToDictionary(n => n.Node, StringComparer.Ordinal);
        return new ClusterFinding
        {
            Code = "NODE_NOT_READY",
            Severity = Severity.Warning,
            Scope = nodes.Count >= context.Options.ClusterMinNodes && nodes.Count >= context.Options.ClusterShare * context.Nodes.Count ? "cluster" : "node",
            Title = $"{nodes.Count} node(s) the Kubernetes API reports not Ready sent a bundle",
            Detail = $"The API says not Ready ({Reasons(nodes)}) while the node's agent ran: the node is up, but its kubelet stopped posting status "
                + "or cannot reach the API server. Each node's bundle says what its agent saw (the kubelet's health, runtime, network, DNS).",
            Nodes = [.. nodes.Select(n => n.Name)],
            Evidence = [.. nodes.Take(context.Options.MaxEvidence).Select(n => new ClusterEvidence(n.Name, bundles[n.Name].BundlePath, Note: $"{n.NotReadyReason ?? "not Ready"}; the agent: {AgentView(bundles[n.Name])}"))],
        };
    }

    /// <summary>The agent's own view of a node: its worst findings by code, or why its bundle could not be read.</summary>
    private static string AgentView(NodeBundle bundle)
    {
        if (!bundle.IsUsable)
        {
            return $"bundle not readable ({bundle.Rejected ?? "incomplete"})";
        }

        var worst = bundle.Findings!.Findings.Where(f => f.Severity > Severity.Info).OrderByDescending(f => f.Severity).Select(f => f.Code).Distinct(StringComparer.Ordinal).Take(3).ToList();
        return worst.Count == 0 ? "no warning or critical finding" : string.Join(", ", worst);
    }

    private static IEnumerable<ClusterFinding> Missing(CorrelationContext context, ExpectedNodes expected, List<ExpectedNode> missing)
    {

        if (expected.Source != ExpectedNodes.Kubernetes)
        {
            return [FromPreviousRun(context, expected, missing)];
        }

        var findings = new List<ClusterFinding>();
        var notReady = missing.Where(n => n.Ready != true).ToList();
        if (notReady.Count > 0)
        {
            findings.Add(Finding(context, expected, notReady, Most(context, expected, notReady) ? "cluster" : "node", null,
                $"{notReady.Count} of {expected.Nodes.Count} expected nodes sent no bundle and are not Ready",
                $"The Kubernetes API reports them not Ready ({Reasons(notReady)}): the node is down, its kubelet stopped posting status, or it lost the API server; its agent could not run."));
        }

        var ready = missing.Where(n => n.Ready == true).ToList();
        if (ready.Count == 0)
        {
            return findings;
        }

        if (Most(context, expected, ready))
        {
            findings.Add(Finding(context, expected, ready, "cluster", null,
                $"{ready.Count} of {expected.Nodes.Count} expected nodes are Ready but sent no bundle",
                "Most Ready nodes sent nothing: the run trigger did not reach them, the agent's DaemonSet is not running (not deployed, image pull failing, crash-looping), or it cannot write to the store."));
            return findings;
        }

        var options = context.Options;
        var expectedPerPool = expected.Nodes.Where(n => n.Pool is not null).GroupBy(n => n.Pool!, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var poolWide = ready.Where(n => n.Pool is not null)
            .GroupBy(n => n.Pool!, StringComparer.Ordinal)
            .Where(g => g.Count() >= options.PoolMinNodes && g.Count() >= options.PoolShare * expectedPerPool[g.Key])
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .ToList();
        foreach (var pool in poolWide)
        {
            findings.Add(Finding(context, expected, pool.ToList(), "pool", pool.Key,
                $"{pool.Count()} of {expectedPerPool[pool.Key]} nodes of pool {pool.Key} are Ready but sent no bundle",
                $"Most of pool {pool.Key} sent nothing while other pools did: the agent's DaemonSet is likely not scheduled there (taints it does not tolerate, a nodeSelector or affinity that excludes the pool) or fails there (image pull, admission)."));
        }

        var inPoolFindings = poolWide.SelectMany(g => g).Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
        var rest = ready.Where(n => !inPoolFindings.Contains(n.Name)).ToList();
        if (rest.Count > 0)
        {
            findings.Add(Finding(context, expected, rest, "node", null,
                $"{rest.Count} of {expected.Nodes.Count} expected nodes are Ready but sent no bundle",
                "These nodes are Ready but their agent sent nothing: its pod is not running there (pending, crash-looping, evicted), did not receive the trigger, or cannot write to the store."));
        }

        return findings;
    }

    private static ClusterFinding FromPreviousRun(CorrelationContext context, ExpectedNodes expected, List<ExpectedNode> missing)
    {
        var most = Most(context, expected, missing);
        return Finding(context, expected, missing, most ? "cluster" : "node", null,
            $"{missing.Count} of {expected.Nodes.Count} nodes of run {expected.PreviousRunId} sent no bundle",
            most
                ? $"Most nodes that reported in run {expected.PreviousRunId} are missing: the run trigger did not reach them, or the agent is not running (DaemonSet not scheduled, image pull failing)."
                : $"Nodes that reported in run {expected.PreviousRunId} have no bundle in this run: the node is down, NotReady or was removed, or its agent is not running.");
    }

    private static bool Most(CorrelationContext context, ExpectedNodes expected, List<ExpectedNode> missing)
        => missing.Count >= context.Options.ClusterShare * expected.Nodes.Count && missing.Count >= context.Options.ClusterMinNodes;

    /// <summary>The not-Ready reasons with how many nodes have each, e.g. "NodeStatusUnknown: 3, KubeletNotReady: 1".</summary>
    private static string Reasons(List<ExpectedNode> nodes)
        => string.Join(", ", nodes
            .GroupBy(n => n.NotReadyReason is { } r ? r.Split(" since ", 2)[0] : "unknown")
            .OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => $"{g.Key}: {g.Count()}"));

    /// <summary>
    /// Evidence is the node's bundle of the previous run when it had one (what it looked like last time); the note says
    /// what Kubernetes says of it now.
    /// </summary>
    private static ClusterFinding Finding(CorrelationContext context, ExpectedNodes expected, List<ExpectedNode> nodes, string scope, string? pool, string title, string detail)
    {
        var previous = context.Previous;
        var hadBundle = previous is null ? [] : previous.Nodes.ToHashSet(StringComparer.Ordinal);
        return new ClusterFinding
        {
            Code = "NODE_MISSING",
            Severity = Severity.Warning,
            Scope = scope,
            Pool = pool,
            Title = title,
            Detail = detail,
            Nodes = nodes.Select(n => n.Name).ToList(),
            Evidence = nodes.Where(n => hadBundle.Contains(n.Name))
                .Take(context.Options.MaxEvidence)
                .Select(n => new ClusterEvidence(n.Name, StoreLayout.BundlePath(previous!.RunId, n.Name), Note: Note(expected, n)))
                .ToList(),
        };
    }

    private static string? Note(ExpectedNodes expected, ExpectedNode node)
    {
        if (expected.Source != ExpectedNodes.Kubernetes)
        {
            return null;
        }

        var parts = new List<string> { node.Ready == true ? "Ready" : node.NotReadyReason ?? "not Ready" };
        if (node.Cordoned)
        {
            parts.Add("cordoned");
        }

        return $"last bundle; Kubernetes says: {string.Join(", ", parts)}";
    }
}
