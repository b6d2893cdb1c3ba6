using System.Globalization;
using Periscope.Bundle;
using Periscope.Collector.Sources;

namespace Periscope.Collector.Correlation.Rules;

/// <summary>
/// <c>NODE_CORDONED_LONG</c>: nodes cordoned for longer than <see cref="CorrelationOptions.CordonedLongAfter"/> — a
/// cordon left behind after maintenance keeps its pods but takes no new ones, so the pool runs short without saying so.
/// Kubernetes records no cordon time, so how long is told from two sources, the earlier bound winning: the field
/// manager that owns <c>spec.unschedulable</c> in the Node's managed fields (it wrote the cordon at or before its time),
/// and earlier runs whose bundles show the node cordoned in every run checked (<see cref="CordonHistory"/>). A node
/// cordoned now is one the nodes list says is (else, without the list, one whose bundle in this run says so); a node
/// quarantined by an upgrade is <c>NODE_QUARANTINED</c> instead. No evidence of the cordon's age, no finding.
/// </summary>
internal sealed class CordonRule : ICorrelationRule
{
    public IReadOnlyList<string> Codes { get; } = ["NODE_CORDONED_LONG"];

    public IEnumerable<ClusterFinding> Evaluate(CorrelationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var threshold = context.Options.CordonedLongAfter;
        var bundles = context.Nodes.ToDictionary(n => n.Node, n => n.BundlePath, StringComparer.Ordinal);
        var cordoned = CordonedNow(context);
        var longCordoned = new List<(string Node, DateTimeOffset Since, string How)>();
        foreach (var (node, listed) in cordoned)
        {
            var bounds = new List<(DateTimeOffset Since, string How)>();
            if (listed?.CordonedBy is { } written)
            {
                bounds.Add((written, "the Node's managed fields: spec.unschedulable last written then"));
            }

            if (context.CordonHistory.GetValueOrDefault(node) is { } history)
            {
                bounds.Add((history.Since, $"cordoned in each of {history.RunsChecked} earlier run(s) checked back to run {history.FirstRunId}"));
            }

            if (bounds.Count > 0 && bounds.MinBy(b => b.Since) is var earliest && context.Now - earliest.Since >= threshold)
            {
                longCordoned.Add((node, earliest.Since, earliest.How));
            }
        }

        if (longCordoned.Count == 0)
        {
            yield break;
        }

        var names = longCordoned.Select(n => n.Node).ToList();
        var (scope, pools) = FindingScope.Classify(names, context);
        yield return new ClusterFinding
        {
            Code = "NODE_CORDONED_LONG",
            Severity = Severity.Warning,
            Scope = scope,
            Pool = pools.Count == 1 ? pools[0] : null,
            Title = $"{longCordoned.Count} node(s) cordoned for more than {Duration(threshold)}",
            Detail = "A cordoned node keeps its pods but takes no new ones: left cordoned after maintenance, its pool runs short of "
                + "capacity and autoscaling may add nodes instead. Kubernetes records no cordon time; each node's age is the earlier of "
                + "its managed fields' bound and the runs that saw it cordoned (so it is at least this long). Uncordon it "
                + "(kubectl uncordon) if the work is done, or drain and remove it. "
                + string.Join("; ", longCordoned.Select(n => $"{n.Node}: since {Stamp(n.Since)} or earlier")),
            Nodes = names,
            Evidence = [.. longCordoned.Where(n => bundles.ContainsKey(n.Node)).Take(context.Options.MaxEvidence)
                .Select(n => new ClusterEvidence(n.Node, bundles[n.Node], Note: $"cordoned since {Stamp(n.Since)} or earlier ({n.How})"))],
        };
    }

    /// <summary>Nodes cordoned now, in name order, with their entry in the nodes list when it was read.</summary>
    internal static IReadOnlyList<(string Node, ExpectedNode? Listed)> CordonedNow(CorrelationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Expected is { Source: ExpectedNodes.Kubernetes } expected)
        {
            return [.. expected.Nodes.Where(n => n.Cordoned && !n.Quarantined).OrderBy(n => n.Name, StringComparer.Ordinal).Select(n => (n.Name, (ExpectedNode?)n))];
        }

        return [.. context.Reporting.Where(n => n.Manifest!.Node.Cordoned == true).Select(n => (n.Node, (ExpectedNode?)null))];
    }

    private static string Duration(TimeSpan span)
        => span.TotalHours >= 1 && span.TotalHours == Math.Floor(span.TotalHours)
            ? string.Create(CultureInfo.InvariantCulture, $"{span.TotalHours:0} h")
            : string.Create(CultureInfo.InvariantCulture, $"{span.TotalMinutes:0} min");

    private static string Stamp(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
}
