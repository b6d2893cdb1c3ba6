using Periscope.Bundle;

namespace Periscope.Collector.Correlation.Rules;

/// <summary>
/// What the run could not see: bundles without their status record (incomplete), bundles rejected (with the reason),
/// collectors that failed or timed out, by collector across nodes — a collector failing everywhere is a problem of the
/// agent's deployment (permissions, a missing mount), failing on a few nodes a problem of those nodes — and, as
/// information, collectors that finished partially (a source unreadable, output capped): their bundles are partial.
/// </summary>
internal sealed class BundleStateRule : ICorrelationRule
{
    public IReadOnlyList<string> Codes { get; } = ["BUNDLE_INCOMPLETE", "BUNDLE_REJECTED", "COLLECTOR_FAILED", "COLLECTOR_PARTIAL"];

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

        foreach (var finding in ByCollector(context, failed: true).Concat(ByCollector(context, failed: false)))
        {
            yield return finding;
        }
    }

    private static IEnumerable<ClusterFinding> ByCollector(CorrelationContext context, bool failed)
    {
        var outcomes = context.Reporting
            .SelectMany(n => n.Manifest!.Collectors
                .Where(c => failed ? c.Status is CollectorStatus.Failed or CollectorStatus.TimedOut : c.Status == CollectorStatus.Partial)
                .Select(c => (Node: n, Collector: c)))
            .GroupBy(x => x.Collector.Name, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal);
        foreach (var collector in outcomes)
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
                Code = failed ? "COLLECTOR_FAILED" : "COLLECTOR_PARTIAL",
                Severity = failed ? Severity.Warning : Severity.Info,
                Scope = scope,
                Pool = pools.Count == 1 ? pools[0] : null,
                Title = $"The {collector.Key} collector {(failed ? "failed" : "finished partially")} on {nodes.Count} of {context.Reporting.Count} nodes",
                Detail = $"{string.Join("; ", errors)}. " + (failed
                    ? scope == "cluster"
                        ? "Failing nearly everywhere points at the agent's deployment (its mounts, permissions or settings), not at the nodes."
                        : "What this collector reads is missing from these nodes' bundles."
                    : "Part of what this collector reads is missing from these nodes' bundles; what it found is still reported."),
                Nodes = nodes,
                Evidence = collector.Take(context.Options.MaxEvidence).Select(x => new ClusterEvidence(x.Node.Node, x.Node.BundlePath, "manifest.json")).ToList(),
            };
        }
    }
}
