using Periscope.Bundle;

namespace Periscope.Collector.Correlation.Rules;

/// <summary>
/// The same endpoint blocked from many nodes says where the block is: every node that probed it (an egress firewall, a
/// DNS zone or a proxy of the whole cluster), one pool (that pool's subnet: its NSG or route table), or a few nodes (their
/// own configuration). One <c>ENDPOINT_BLOCKED</c> per endpoint named by the agents' <c>EGRESS_BLOCKED</c>,
/// <c>API_SERVER_UNREACHABLE</c> or <c>TLS_INTERCEPTED</c>, with the steps it failed at and how many of the nodes that
/// probed it failed.
/// </summary>
internal sealed class EgressRule : ICorrelationRule
{
    private static readonly HashSet<string> AgentCodes = new(StringComparer.Ordinal) { "EGRESS_BLOCKED", "API_SERVER_UNREACHABLE", "TLS_INTERCEPTED" };

    public IReadOnlyList<string> Codes { get; } = ["ENDPOINT_BLOCKED"];

    public IEnumerable<ClusterFinding> Evaluate(CorrelationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var failures = context.Reporting
            .SelectMany(n => n.Findings!.Findings.Where(f => AgentCodes.Contains(f.Code)).Select(f => (Node: n, Finding: f)))
            .GroupBy(x => x.Finding.Subject.Id, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal);
        foreach (var endpoint in failures)
        {
            var nodes = endpoint.Select(x => x.Node.Node).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
            var probed = context.Reporting.Count(n => n.Facts?.Connectivity?.Probes.Any(p => Key(p) == endpoint.Key) == true);
            var steps = endpoint.Select(x => x.Finding.Code == "TLS_INTERCEPTED" ? "intercepted" : x.Finding.Attributes.GetValueOrDefault("step") ?? "unknown")
                .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
            var (scope, pools) = FindingScope.Classify(nodes, context);
            var where = scope switch
            {
                "cluster" => "The same from every node: an egress firewall rule, a DNS zone or a proxy of the whole cluster, not the nodes.",
                "pool" => $"Only from pool {string.Join(", ", pools)}: that pool's subnet (its NSG or route table) or its nodes' configuration.",
                _ => "Only from these nodes: their own configuration (resolv.conf, proxy settings, routes) or a partial network fault.",
            };
            yield return new ClusterFinding
            {
                Code = "ENDPOINT_BLOCKED",
                Severity = endpoint.Any(x => x.Finding.Code == "API_SERVER_UNREACHABLE") ? Severity.Critical : Severity.Warning,
                Scope = scope,
                Pool = pools.Count == 1 ? pools[0] : null,
                Title = $"{endpoint.Key} blocked from {nodes.Count} of {Math.Max(probed, nodes.Count)} node(s) that probed it ({string.Join(", ", steps)})",
                Detail = $"{where} {endpoint.First().Finding.Detail}",
                Nodes = nodes,
                Evidence = [.. endpoint.DistinctBy(x => x.Node.Node).Take(context.Options.MaxEvidence)
                    .Select(x => new ClusterEvidence(x.Node.Node, x.Node.BundlePath, Note: x.Finding.Code == "TLS_INTERCEPTED" ? "intercepted" : x.Finding.Attributes.GetValueOrDefault("step")))],
            };
        }
    }

    private static string Key(Bundle.Facts.ConnectivityProbe probe)
        => probe.Host.Contains(':', StringComparison.Ordinal) ? $"[{probe.Host}]:{probe.Port}" : $"{probe.Host}:{probe.Port}";
}
