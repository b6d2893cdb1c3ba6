using Periscope.Collector.Sources;

namespace Periscope.Collector.Correlation;

/// <summary>
/// What the rules see: the run's nodes, the nodes expected (from Kubernetes, else the previous run's), the thresholds.
/// </summary>
internal sealed class CorrelationContext
{
    public CorrelationContext(string runId, IReadOnlyList<NodeBundle> nodes, PreviousRun? previous, CorrelationOptions options, ExpectedNodes? expected = null)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        RunId = runId;
        Nodes = nodes;
        Previous = previous;
        Options = options;
        Expected = expected ?? (previous is null ? null : ExpectedNodes.FromPreviousRun(previous));
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

    /// <summary>The nodes that should have sent a bundle: the Kubernetes nodes list when read, else the previous run's.</summary>
    public ExpectedNodes? Expected { get; }

    public CorrelationOptions Options { get; }

    /// <summary>When the report is made (what durations such as a cordon's are measured to).</summary>
    public DateTimeOffset Now { get; init; }

    /// <summary>Nodes cordoned now that earlier runs' bundles show cordoned too, by node (see <see cref="CordonHistory"/>).</summary>
    public IReadOnlyDictionary<string, CordonHistory> CordonHistory { get; init; } = new Dictionary<string, CordonHistory>(StringComparer.Ordinal);
}
