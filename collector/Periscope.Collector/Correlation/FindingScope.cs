namespace Periscope.Collector.Correlation;

/// <summary>
/// The scope of a finding code shared by some nodes: <c>cluster</c> when at least
/// <see cref="CorrelationOptions.ClusterShare"/> of the reporting nodes (and <see cref="CorrelationOptions.ClusterMinNodes"/>)
/// have it; else <c>pool</c> when, in some pool, at least <see cref="CorrelationOptions.PoolShare"/> of its reporting
/// nodes (and <see cref="CorrelationOptions.PoolMinNodes"/>) have it — those pools are named; else <c>node</c>.
/// </summary>
internal static class FindingScope
{
    public static (string Scope, IReadOnlyList<string> Pools) Classify(IReadOnlyCollection<string> nodesWithCode, CorrelationContext context)
    {
        ArgumentNullException.ThrowIfNull(nodesWithCode);
        ArgumentNullException.ThrowIfNull(context);
        var o = context.Options;
        var reporting = context.Reporting.Count;
        if (nodesWithCode.Count >= o.ClusterMinNodes && reporting > 0 && nodesWithCode.Count >= o.ClusterShare * reporting)
        {
            return ("cluster", []);
        }

        var set = nodesWithCode.ToHashSet(StringComparer.Ordinal);
        var pools = context.Pools
            .Where(p =>
            {
                var having = p.Value.Count(n => set.Contains(n.Node));
                return having >= o.PoolMinNodes && having >= o.PoolShare * p.Value.Count;
            })
            .Select(p => p.Key)
            .Order(StringComparer.Ordinal)
            .ToList();
        return pools.Count > 0 ? ("pool", pools) : ("node", []);
    }
}
