using Periscope.Bundle;
using Periscope.Bundle.Facts;
using Periscope.Collector.Sources;

namespace Periscope.Collector.Correlation.Rules;

/// <summary>
/// The cluster DNS address (the kubelet's clusterDNS, probed by every node's dns collector) failing from every node
/// that asked it means CoreDNS or its upstream is down: one cluster finding, not one per node. Failing from some
/// nodes only points at those nodes (their network path, kube-proxy rules, the CoreDNS endpoints they reach).
/// A probe fails when it timed out, failed, or was answered SERVFAIL or REFUSED.
/// </summary>
internal sealed class ClusterDnsRule : ICorrelationRule
{
    public IReadOnlyList<string> Codes { get; } = ["CLUSTER_DNS_FAILING", "CLUSTER_DNS_FAILING_FROM_SOME_NODES"];

    public IEnumerable<ClusterFinding> Evaluate(CorrelationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var byServer = context.Reporting
            .SelectMany(n => (n.Facts?.Dns?.Probes ?? []).Where(p => p.Role == "cluster-dns").Select(p => (Node: n, Probe: p)))
            .GroupBy(x => x.Probe.Server, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal);
        foreach (var server in byServer)
        {
            var asking = server.GroupBy(x => x.Node.Node, StringComparer.Ordinal).ToList();
            var failing = asking.Where(n => n.Any(x => Fails(x.Probe))).Select(n => n.First().Node).ToList();
            if (failing.Count == 0)
            {
                continue;
            }

            var everyNode = failing.Count == asking.Count && asking.Count >= Math.Min(context.Options.ClusterMinNodes, context.Reporting.Count);
            var outcomes = string.Join(", ", failing
                .SelectMany(n => server.Where(x => x.Node.Node == n.Node && Fails(x.Probe)).Select(x => Outcome(x.Probe)))
                .GroupBy(o => o, StringComparer.Ordinal)
                .OrderByDescending(g => g.Count())
                .Select(g => $"{g.Key} ×{g.Count()}"));
            yield return new ClusterFinding
            {
                Code = everyNode ? "CLUSTER_DNS_FAILING" : "CLUSTER_DNS_FAILING_FROM_SOME_NODES",
                Severity = everyNode ? Severity.Critical : Severity.Warning,
                Scope = everyNode ? "cluster" : FindingScope.Classify(failing.Select(n => n.Node).ToList(), context).Scope,
                Title = everyNode
                    ? $"Cluster DNS {server.Key} fails from every node"
                    : $"Cluster DNS {server.Key} fails from {failing.Count} of {asking.Count} nodes",
                Detail = everyNode
                    ? $"All {asking.Count} nodes that asked {server.Key} got no usable answer ({outcomes}): CoreDNS or its upstream is down or unreachable for the whole cluster; check the CoreDNS pods, their logs and their upstream resolvers."
                    : $"{failing.Count} of {asking.Count} nodes got no usable answer from {server.Key} ({outcomes}) while the others did: look at those nodes' path to it (kube-proxy or CNI rules, conntrack, the CoreDNS endpoints they reach).",
                Nodes = failing.Select(n => n.Node).ToList(),
                Evidence = failing.Take(context.Options.MaxEvidence).Select(n => Evidence(n, server.Key)).ToList(),
            };
        }
    }

    private static bool Fails(DnsProbeFacts probe)
        => probe.Outcome != "answered" || probe.Rcode is "ServerFailure" or "Refused";

    private static string Outcome(DnsProbeFacts probe) => probe.Outcome == "answered" ? probe.Rcode ?? "answered" : probe.Outcome;

    /// <summary>The node's own DNS finding for this server, when it made one; else its facts.</summary>
    private static ClusterEvidence Evidence(NodeBundle node, string server)
    {
        var finding = node.Findings?.Findings.FirstOrDefault(f => f.Collector == "dns" && f.Subject.Id == server && f.Evidence.Count > 0);
        return finding is null
            ? new ClusterEvidence(node.Node, node.BundlePath, "facts.json")
            : new ClusterEvidence(node.Node, node.BundlePath, finding.Evidence[0].File, finding.Evidence[0].Line);
    }
}
