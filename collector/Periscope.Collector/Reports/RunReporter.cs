using Periscope.Collector.Correlation;
using Periscope.Collector.Sources;

namespace Periscope.Collector.Reports;

/// <summary>
/// The one core of <c>report</c> and <c>serve</c>: reads a run from a source (the latest when none is named), finds
/// the run before it, and builds the health report.
/// </summary>
internal sealed class RunReporter(IBundleSource source, TimeProvider time, CorrelationOptions? options = null)
{
    public IBundleSource Source => source;

    /// <summary>The report of <paramref name="runId"/>, or of the latest run; with the nodes as read.</summary>
    /// <exception cref="IOException">The store holds no run, or not this one.</exception>
    public async Task<(HealthReport Report, IReadOnlyList<NodeBundle> Nodes)> BuildAsync(string? runId, CancellationToken cancellationToken)
    {
        runId ??= await LatestRunAsync(cancellationToken);
        var nodes = await source.ReadRunAsync(runId, cancellationToken);
        var previous = await PreviousRunAsync(runId, nodes, cancellationToken);
        return (ReportBuilder.Build(runId, nodes, time.GetUtcNow(), previous, options), nodes);
    }

    public async Task<string> LatestRunAsync(CancellationToken cancellationToken)
    {
        var runs = await source.ListRunsAsync(cancellationToken);
        return runs.Count > 0
            ? runs[0].RunId
            : throw new IOException($"The store '{source.Description}' holds no run.");
    }

    /// <summary>
    /// The run with the newest start time before this run's (by status records): its nodes are the ones this run is
    /// expected to have. Only its node names are needed.
    /// </summary>
    private async Task<PreviousRun?> PreviousRunAsync(string runId, IReadOnlyList<NodeBundle> nodes, CancellationToken cancellationToken)
    {
        var started = nodes.Select(n => n.Status?.StartedAt).Where(t => t is not null).Max();
        if (started is null)
        {
            return null;
        }

        var runs = await source.ListRunsAsync(cancellationToken);
        var previous = runs.Where(r => r.RunId != runId && r.StartedAt < started).MaxBy(r => r.StartedAt);
        return previous is null ? null : new PreviousRun(previous.RunId, await source.ListNodesAsync(previous.RunId, cancellationToken));
    }
}
