using Periscope.Bundle;

namespace Periscope.Collector.Correlation.Rules;

/// <summary>
/// Nodes of one pool should be alike: a pool whose nodes run different kubelet, container runtime or kernel versions,
/// or different OS images, is mid-upgrade or has drifted — and a problem on some of its nodes often follows the odd
/// version. The nodes named are those not on the pool's most common version (all of them when no version is).
/// </summary>
internal sealed class VersionSkewRule : ICorrelationRule
{
    private static readonly (string Component, Func<NodeIdentity, string?> Value)[] Components =
    [
        ("kubelet", n => n.KubeletVersion),
        ("container runtime", n => n.RuntimeVersion),
        ("kernel", n => n.KernelVersion),
        ("OS image", n => n.OsImage),
    ];

    public IReadOnlyList<string> Codes { get; } = ["VERSION_SKEW"];

    public IEnumerable<ClusterFinding> Evaluate(CorrelationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        foreach (var (pool, nodes) in context.Pools.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            foreach (var (component, value) in Components)
            {
                var versions = nodes
                    .Select(n => (Node: n, Version: value(n.Manifest!.Node)))
                    .Where(x => !string.IsNullOrEmpty(x.Version))
                    .GroupBy(x => x.Version!, StringComparer.Ordinal)
                    .OrderByDescending(g => g.Count())
                    .ThenBy(g => g.Key, StringComparer.Ordinal)
                    .ToList();
                if (versions.Count < 2)
                {
                    continue;
                }

                // No version on most nodes (a tie): there is no odd one out, every node is named.
                var tie = versions[0].Count() == versions[1].Count();
                var odd = versions.Skip(tie ? 0 : 1).SelectMany(g => g.Select(x => x.Node)).OrderBy(n => n.Node, StringComparer.Ordinal).ToList();
                yield return new ClusterFinding
                {
                    Code = "VERSION_SKEW",
                    Severity = Severity.Warning,
                    Scope = "pool",
                    Pool = pool,
                    Title = $"Pool {pool} runs {versions.Count} {component} versions",
                    Detail = string.Join("; ", versions.Select(g => $"{g.Key} on {g.Count()} node(s)"))
                             + (tie ? ". No version is on most nodes; all are listed." : $". The nodes not on {versions[0].Key} are listed."),
                    Nodes = odd.Select(n => n.Node).ToList(),
                    Evidence = odd.Take(context.Options.MaxEvidence).Select(n => new ClusterEvidence(n.Node, n.BundlePath, "manifest.json")).ToList(),
                };
            }
        }
    }
}
