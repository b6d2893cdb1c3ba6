using Periscope.Bundle;

namespace Periscope.Collector.Correlation.Rules;

/// <summary>
/// Pod address ranges running out on one node is that node's problem (leaked allocations, an odd maxPods); running
/// out across a pool (pool-wide by <see cref="FindingScope"/>) means the pool is sized wrong: the subnet or the
/// per-node range is too small for maxPods, or maxPods too high for the range. The agents' CNI_IP_EXHAUSTION findings
/// and IPAM facts are summed per pool.
/// </summary>
internal sealed class PoolIpExhaustionRule : ICorrelationRule
{
    public const string NodeCode = "CNI_IP_EXHAUSTION";

    public IReadOnlyList<string> Codes { get; } = ["POOL_IP_EXHAUSTION"];

    public IEnumerable<ClusterFinding> Evaluate(CorrelationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var o = context.Options;
        foreach (var (pool, nodes) in context.Pools.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            var exhausted = nodes
                .Select(n => (Node: n, Finding: n.Findings!.Findings.Where(f => f.Code == NodeCode).MaxBy(f => f.Severity)))
                .Where(x => x.Finding is not null)
                .ToList();
            if (exhausted.Count < o.PoolMinNodes || exhausted.Count < o.PoolShare * nodes.Count)
            {
                continue;
            }

            var ranges = nodes.SelectMany(n => n.Facts?.Cni?.Ipam ?? []).ToList();
            var usable = ranges.Sum(r => r.Usable);
            var allocated = ranges.Sum(r => r.Allocated);
            var usage = usable > 0 ? $" Together its nodes use {allocated} of {usable} pod addresses ({100.0 * allocated / usable:0} %)." : string.Empty;
            yield return new ClusterFinding
            {
                Code = "POOL_IP_EXHAUSTION",
                Severity = exhausted.Max(x => x.Finding!.Severity),
                Scope = "pool",
                Pool = pool,
                Title = $"Pod addresses are running out on {exhausted.Count} of {nodes.Count} nodes of pool {pool}",
                Detail = $"Not one node's leak: the pool is sized wrong — its subnet or per-node pod range is too small for maxPods (or maxPods too high for it).{usage} New pods fail with \"no IP addresses available\"; resize the subnet or range, or lower maxPods for new nodes.",
                Nodes = exhausted.Select(x => x.Node.Node).ToList(),
                Evidence = exhausted.Take(o.MaxEvidence).Select(x =>
                {
                    var reference = x.Finding!.Evidence.Count > 0 ? x.Finding.Evidence[^1] : null;
                    return new ClusterEvidence(x.Node.Node, x.Node.BundlePath, reference?.File ?? "facts.json", reference?.Line);
                }).ToList(),
            };
        }
    }
}
