using Periscope.Bundle;

namespace Periscope.Collector.Correlation;

/// <summary>
/// Each finding code across the reporting nodes: how many share it, its scope (<see cref="FindingScope"/>) and, per
/// node, where its evidence is.
/// </summary>
internal static class FindingSpread
{
    public static IReadOnlyList<SharedFinding> Compute(CorrelationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Reporting
            .SelectMany(n => n.Findings!.Findings.Select(f => (Node: n, Finding: f)))
            .GroupBy(x => x.Finding.Code, StringComparer.Ordinal)
            .Select(g =>
            {
                var worst = g.MaxBy(x => x.Finding.Severity).Finding;
                var nodesWith = g.Select(x => x.Node.Node).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
                var (scope, pools) = FindingScope.Classify(nodesWith, context);
                return new SharedFinding
                {
                    Code = g.Key,
                    Severity = worst.Severity,
                    Title = worst.Title,
                    Scope = scope,
                    Pools = pools,
                    NodeCount = nodesWith.Count,
                    ReportingNodes = context.Reporting.Count,
                    Nodes = nodesWith,
                    Occurrences = g.Sum(x => x.Finding.Count),
                    FirstSeen = g.Min(x => x.Finding.FirstSeen),
                    LastSeen = g.Max(x => x.Finding.LastSeen),
                    Evidence = g.GroupBy(x => x.Node.Node, StringComparer.Ordinal)
                        .OrderBy(n => n.Key, StringComparer.Ordinal)
                        .Take(context.Options.MaxEvidence)
                        .Select(n =>
                        {
                            var first = n.Select(x => x.Finding).FirstOrDefault(f => f.Evidence.Count > 0);
                            var reference = first?.Evidence[^1];
                            return new ClusterEvidence(n.Key, n.First().Node.BundlePath, reference?.File, reference?.Line);
                        })
                        .ToList(),
                };
            })
            .OrderByDescending(f => f.Severity)
            .ThenByDescending(f => f.NodeCount)
            .ThenBy(f => f.Code, StringComparer.Ordinal)
            .ToList();
    }
}
