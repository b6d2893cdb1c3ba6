using Periscope.Agent.Collection;
using Periscope.Bundle;

namespace Periscope.Agent.Analysis;

/// <summary>
/// Turns the collectors' observations into the node's findings. Findings that join two collectors (an OOM-killed
/// container and its kernel OOM kill) belong here, after the collectors, because collectors are independent.
/// </summary>
internal static class NodeAnalyzer
{
    public static IReadOnlyList<Finding> Analyze(IReadOnlyList<CollectorResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        return FindingAggregator.Aggregate(results.SelectMany(r => r.Observations.Select(o => (r.Name, o))));
    }
}
