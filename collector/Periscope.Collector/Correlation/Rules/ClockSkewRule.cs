using Periscope.Bundle;

namespace Periscope.Collector.Correlation.Rules;

/// <summary>
/// Node clocks that disagree break certificates, leases and every merged timeline. Two signs, neither from bundle
/// start times (they only measure how far apart the trigger reached the nodes): a node's own time-sync facts (not
/// synchronised, or an estimated error above <see cref="CorrelationOptions.ClockSkewThreshold"/>), and the store's
/// receive time of the status record against the bundle's end time by the node's clock — a bundle that ends after the
/// store received it comes from a clock running ahead by at least the difference. (A clock behind cannot be told from
/// a slow or retried upload, so it is not judged this way.)
/// </summary>
internal sealed class ClockSkewRule : ICorrelationRule
{
    public IReadOnlyList<string> Codes { get; } = ["CLOCK_SKEW"];

    public IEnumerable<ClusterFinding> Evaluate(CorrelationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var threshold = context.Options.ClockSkewThreshold;
        var skewed = new List<(string Node, string Bundle, string Why)>();
        foreach (var node in context.Reporting)
        {
            var reasons = new List<string>();
            if (node.ReceivedAt is { } received && node.Manifest!.EndedAt - received > threshold)
            {
                reasons.Add($"its bundle ended {(node.Manifest.EndedAt - received).TotalSeconds:0.#} s after the store received it (clock ahead)");
            }

            var sync = node.Facts?.System?.TimeSync;
            if (sync?.State == "unsynchronized")
            {
                reasons.Add($"{sync.Service ?? "its time service"} reports the clock unsynchronised");
            }
            else if (sync?.MaxErrorMicroseconds is { } error && TimeSpan.FromMicroseconds(error) > threshold)
            {
                reasons.Add($"the kernel estimates its clock error at {error / 1e6:0.###} s");
            }

            if (reasons.Count > 0)
            {
                skewed.Add((node.Node, node.BundlePath, string.Join(" and ", reasons)));
            }
        }

        if (skewed.Count == 0)
        {
            yield break;
        }

        var (scope, pools) = FindingScope.Classify(skewed.Select(s => s.Node).ToList(), context);
        yield return new ClusterFinding
        {
            Code = "CLOCK_SKEW",
            Severity = Severity.Warning,
            Scope = scope,
            Pool = pools.Count == 1 ? pools[0] : null,
            Title = $"{skewed.Count} node(s) with a clock that cannot be trusted to {threshold.TotalSeconds:0.#} s",
            Detail = string.Join("; ", skewed.Take(context.Options.MaxEvidence).Select(s => $"{s.Node}: {s.Why}"))
                     + ". Times from these nodes are off in the timeline; skewed clocks break TLS, leases and token expiry.",
            Nodes = skewed.Select(s => s.Node).ToList(),
            Evidence = skewed.Take(context.Options.MaxEvidence).Select(s => new ClusterEvidence(s.Node, s.Bundle, "facts.json")).ToList(),
        };
    }
}
