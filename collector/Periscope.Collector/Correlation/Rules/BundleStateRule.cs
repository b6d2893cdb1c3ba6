using Periscope.Bundle;
using Periscope.Collector.Reports;

namespace Periscope.Collector.Correlation.Rules;

/// <summary>
/// What the run could not see: bundles without their status record (incomplete), bundles rejected (with the reason),
/// and collectors that failed or timed out, by collector across nodes — a collector failing everywhere is a problem
/// of the agent's deployment (permissions, a missing mount), failing on a few nodes a problem of those nodes.
/// </summary>
internal sealed class BundleStateRule : ICorrelationRule
{
    public IReadOnlyList<string> Codes { get; } = ["BUNDLE_INCOMPLETE", "BUNDLE_REJECTED", "COLLECTOR_FAILED"];

    public IEnumerable<ClusterFinding> Evaluate(CorrelationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var max = context.Options.MaxEvidence;
        var incomplete = context.Nodes.Where(n => n.Incomplete).OrderBy(n => n.Node, StringComparer.Ordinal).ToList();
        if (incomplete.Count > 0)
        {
            yield return new ClusterFinding
            {
                Code = "BUNDLE_INCOMPLETE",
                Severity = Severity.Warning,
                Scope = "node",
                Title = $"{incomplete.Count} bundle(s) without a status record",
                Detail = "A zip without its status record is still being written or its agent stopped before finishing; it is not read. These nodes are unknown in this run.",
                Nodes = incomplete.Select(n => n.Node).ToList(),
                Evidence = incomplete.Take(max).Select(n => new ClusterEvidence(n.Node, n.BundlePath)).ToList(),
            };
        }

        var rejected = context.Nodes.Where(n => n.Rejected is not null && !n.Incomplete).OrderBy(n => n.Node, StringComparer.Ordinal).ToList();
        if (rejected.Count > 0)
        {
            yield return new ClusterFinding
            {
                Code = "BUNDLE_REJECTED",
                Severity = Severity.Warning,
                Scope = "node",
                Title = $"{rejected.Count} bundle(s) rejected",
                Detail = string.Join("; ", rejected.Take(max).Select(n => $"{n.BundlePath}: {n.Rejected}")),
                Nodes = rejected.Select(n => n.Node).ToList(),
                Evidence = rejected.Take(max).Select(n => new ClusterEvidence(n.Node, n.BundlePath)).ToList(),
            };
        }

        var failures = context.Reporting
            .SelectMany(n => n.Manifest!.Collectors
                .Where(c => c.Status is CollectorStatus.Failed or CollectorStatus.TimedOut)
                .Select(c => (Node: n, Collector: c)))
            .GroupBy(x => x.Collector.Name, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal);
        foreach (var collector in failures)
        {
            var nodes = collector.Select(x => x.Node.Node).ToList();
            var (scope, pools) = FindingScope.Classify(nodes, context);
            var errors = collector
                .GroupBy(x => x.Collector.Error ?? x.Collector.Status.ToString(), StringComparer.Ordinal)
                .OrderByDescending(g => g.Count())
                .Take(3)
                .Select(g => $"\"{g.Key}\" on {g.Count()}");
            yield return new ClusterFinding
            {
                Code = "COLLECTOR_FAILED",
                Severity = Severity.Warning,
                Scope = scope,
                Pool = pools.Count == 1 ? pools[0] : null,
                Title = $"The {collector.Key} collector failed on {nodes.Count} of {context.Reporting.Count} nodes",
                Detail = $"{string.Join("; ", errors)}. " + (scope == "cluster"
                    ? "Failing nearly everywhere points at the agent's deployment (its mounts, permissions or settings), not at the nodes."
                    : "What this collector reads is missing from these nodes' bundles."),
                Nodes = nodes,
                Evidence = collector.Take(max).Select(x => new ClusterEvidence(x.Node.Node, x.Node.BundlePath, "manifest.json")).ToList(),
            };
        }
    }
}
