using Periscope.Collector.Sources;

namespace Periscope.Collector.Correlation;

/// <summary>What the rules see: the run's nodes, the previous run's (for missing nodes), the thresholds.</summary>
internal sealed class CorrelationContext
{
    public CorrelationContext(string runId, IReadOnlyList<NodeBundle> nodes, PreviousRun? previous, CorrelationOptions options)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        RunId = runId;
        Nodes = nodes;
        Previous = previous;
        Options = options;
        Reporting = nodes.Where(n => n.IsUsable).OrderBy(n => n.Node, StringComparer.Ordinal).ToList();
        Pools = Reporting.Where(n => n.Manifest!.Node.Pool is not null)
            .GroupBy(n => n.Manifest!.Node.Pool!, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => (IReadOnlyList<NodeBundle>)g.ToList(), StringComparer.Ordinal);
    }

    public string RunId { get; }

    /// <summary>Every node of the run, readable or not.</summary>
    public IReadOnlyList<NodeBundle> Nodes { get; }

    /// <summary>Nodes whose bundle was read and verified, in name order.</summary>
    public IReadOnlyList<NodeBundle> Reporting { get; }

    /// <summary>Reporting nodes by the pool in their manifest's node identity.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<NodeBundle>> Pools { get; }

    public PreviousRun? Previous { get; }

    public CorrelationOptions Options { get; }
}

/// <summary>The run before this one (newest start time before it) and the nodes it had.</summary>
internal sealed record PreviousRun(string RunId, IReadOnlyList<string> Nodes);
