using Periscope.Collector.Correlation.Rules;

namespace Periscope.Collector.Correlation;

/// <summary>The correlation rules, in the order their findings are listed (then sorted worst first).</summary>
internal static class CorrelationRules
{
    public static IReadOnlyList<ICorrelationRule> All { get; } =
    [
        new ClusterDnsRule(),
        new PoolIpExhaustionRule(),
        new ClockSkewRule(),
        new BundleStateRule(),
        new MissingNodesRule(),
        new VersionSkewRule(),
        new NodeStateRule(),
        new UpgradeBlockersRule(),
        new EgressRule(),
        new CordonRule(),
    ];

    public static IReadOnlyList<ClusterFinding> Evaluate(CorrelationContext context)
        => All.SelectMany(rule => rule.Evaluate(context))
            .OrderByDescending(f => f.Severity)
            .ThenBy(f => ScopeRank(f.Scope))
            .ThenBy(f => f.Code, StringComparer.Ordinal)
            .ThenBy(f => f.Pool, StringComparer.Ordinal)
            .ToList();

    private static int ScopeRank(string scope) => scope switch { "cluster" => 0, "pool" => 1, _ => 2 };
}
