using Periscope.Bundle;
using Periscope.Collector.Reports;
using Periscope.Collector.Sources;

namespace Periscope.Collector.Correlation;

/// <summary>
/// How many reporting nodes share each finding code: the first correlation, on which cluster-, pool- and
/// node-scoped rules build.
/// </summary>
internal static class FindingSpread
{
    public static IReadOnlyList<SharedFinding> Compute(IReadOnlyList<NodeBundle> nodes)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        var usable = nodes.Where(n => n.IsUsable).ToList();
        return usable
            .SelectMany(n => n.Findings!.Findings.Select(f => (Node: n.Node, Finding: f)))
            .GroupBy(x => x.Finding.Code, StringComparer.Ordinal)
            .Select(g =>
            {
                var worst = g.MaxBy(x => x.Finding.Severity).Finding;
                var nodesWith = g.Select(x => x.Node).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
                return new SharedFinding
                {
                    Code = g.Key,
                    Severity = worst.Severity,
                    Title = worst.Title,
                    NodeCount = nodesWith.Count,
                    ReportingNodes = usable.Count,
                    Nodes = nodesWith,
                    Occurrences = g.Sum(x => x.Finding.Count),
                    FirstSeen = g.Min(x => x.Finding.FirstSeen),
                    LastSeen = g.Max(x => x.Finding.LastSeen),
                };
            })
            .OrderByDescending(f => f.Severity)
            .ThenByDescending(f => f.NodeCount)
            .ThenBy(f => f.Code, StringComparer.Ordinal)
            .ToList();
    }
}
