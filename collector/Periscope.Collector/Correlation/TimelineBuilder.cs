using Periscope.Bundle;

namespace Periscope.Collector.Correlation;

/// <summary>
/// The merged timeline of the run: critical kernel, container runtime and kubelet findings of every node, by the
/// time each was first seen (its node's clock: CLOCK_SKEW says which nodes to read with care), oldest first; the
/// newest <see cref="CorrelationOptions.MaxTimelineEvents"/> are kept.
/// </summary>
internal static class TimelineBuilder
{
    private static readonly HashSet<string> Collectors = new(["kernel", "containerd", "kubelet"], StringComparer.Ordinal);

    public static IReadOnlyList<TimelineEvent> Build(CorrelationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Reporting
            .SelectMany(n => n.Findings!.Findings
                .Where(f => f.Severity == Severity.Critical && Collectors.Contains(f.Collector) && f.FirstSeen is not null)
                .Select(f => new TimelineEvent
                {
                    Time = f.FirstSeen!.Value,
                    LastSeen = f.LastSeen is { } last && last > f.FirstSeen ? last : null,
                    Node = n.Node,
                    Collector = f.Collector,
                    Code = f.Code,
                    Severity = f.Severity,
                    Title = f.Title,
                    Count = f.Count,
                    Bundle = n.BundlePath,
                }))
            .OrderByDescending(e => e.Time)
            .Take(context.Options.MaxTimelineEvents)
            .OrderBy(e => e.Time)
            .ThenBy(e => e.Node, StringComparer.Ordinal)
            .ThenBy(e => e.Code, StringComparer.Ordinal)
            .ToList();
    }
}
