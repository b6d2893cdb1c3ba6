using Periscope.Collector.Correlation;
using Periscope.Collector.Sources;

namespace Periscope.Collector.Reports;

/// <summary>
/// The one core of <c>report</c> and <c>serve</c>: reads a run from a source (the latest when none is named), finds
/// the run before it and, when configured, the nodes Kubernetes lists, and builds the health report.
/// </summary>
internal sealed class RunReporter(IBundleSource source, TimeProvider time, CorrelationOptions? options = null, IExpectedNodeSource? expectedNodes = null)
{
    /// <summary>The report of <paramref name="runId"/>, or of the latest run; with the nodes as read.</summary>
    /// <param name="runId">The run, or null for the latest.</param>
    /// <param name="cancellationToken">Cancels the reads.</param>
    /// <param name="runs">The store's runs when the caller has listed them already; else the store is listed (once).</param>
    /// <exception cref="IOException">The store holds no run, or not this one.</exception>
    public async Task<(HealthReport Report, IReadOnlyList<NodeBundle> Nodes)> BuildAsync(
        string? runId, CancellationToken cancellationToken, IReadOnlyList<RunSummary>? runs = null)
    {
        async Task<IReadOnlyList<RunSummary>> RunsAsync() => runs ??= await source.ListRunStartsAsync(cancellationToken);

        runId ??= Latest(await RunsAsync(), source);
        var nodes = await source.ReadRunAsync(runId, cancellationToken);
        var previous = await PreviousRunAsync(runId, nodes, RunsAsync, cancellationToken);
        var (expected, error) = await ExpectedAsync(nodes, cancellationToken);
        var now = time.GetUtcNow();
        var cordons = await CordonHistoryAsync(runId, nodes, expected, now, RunsAsync, cancellationToken);
        return (ReportBuilder.Build(runId, nodes, now, previous, options, expected, error, cordons), nodes);
    }

    /// <summary>
    /// For the nodes cordoned now (by the nodes list, else by their bundles), whether earlier runs' bundles show them
    /// cordoned too: the newest earlier run at least <see cref="CorrelationOptions.CordonedLongAfter"/> old and up to
    /// <see cref="CorrelationOptions.CordonHistoryRuns"/> runs spread between it and this one, reading only the nodes
    /// still cordoned in every run read so far. A node absent from a run checked, or not cordoned there, has no history;
    /// an earlier run that cannot be read ends the search with no history (never a guess).
    /// </summary>
    private async Task<IReadOnlyDictionary<string, CordonHistory>> CordonHistoryAsync(string runId, IReadOnlyList<NodeBundle> nodes,
        ExpectedNodes? expected, DateTimeOffset now, Func<Task<IReadOnlyList<RunSummary>>> listRuns, CancellationToken cancellationToken)
    {
        var none = new Dictionary<string, CordonHistory>(StringComparer.Ordinal);
        var o = options ?? new CorrelationOptions();
        var started = nodes.Select(n => n.Status?.StartedAt).Where(t => t is not null).Min();
        var context = new CorrelationContext(runId, nodes, null, o, expected);
        var remaining = Correlation.Rules.CordonRule.CordonedNow(context).Select(n => n.Node).ToHashSet(StringComparer.Ordinal);
        if (o.CordonHistoryRuns == 0 || remaining.Count == 0 || started is null)
        {
            return none;
        }

        var earlier = (await listRuns()).Where(r => r.RunId != runId && r.StartedAt < started).OrderByDescending(r => r.StartedAt).ToList();
        var oldest = earlier.FindIndex(r => now - r.StartedAt >= o.CordonedLongAfter);
        if (oldest < 0)
        {
            return none;
        }

        var sample = Spread(oldest, o.CordonHistoryRuns);
        foreach (var index in sample)
        {
            IReadOnlyList<NodeBundle> read;
            try
            {
                read = await source.ReadNodesAsync(earlier[index].RunId, remaining, cancellationToken);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return none;
            }

            remaining.IntersectWith(read.Where(b => b.IsUsable && b.Manifest!.Node.Cordoned == true).Select(b => b.Node));
            if (remaining.Count == 0)
            {
                return none;
            }
        }

        var first = earlier[oldest];
        return remaining.ToDictionary(n => n, n => new CordonHistory(n, first.RunId, first.StartedAt!.Value, sample.Count), StringComparer.Ordinal);
    }

    /// <summary>Up to <paramref name="count"/> indices from 0 to <paramref name="last"/>, evenly spread, both ends included, newest first.</summary>
    internal static IReadOnlyList<int> Spread(int last, int count)
        => count <= 1 || last == 0
            ? [last]
            : [.. Enumerable.Range(0, Math.Min(count, last + 1)).Select(k => (int)Math.Round(k * (double)last / (Math.Min(count, last + 1) - 1))).Distinct()];

    /// <summary>
    /// The Kubernetes nodes list, without the nodes created after the run started (the earliest start among its status
    /// records): they joined during or after it. A list that cannot be read is an error in the report, never a failed
    /// report: missing nodes are then judged against the previous run.
    /// </summary>
    private async Task<(ExpectedNodes? Expected, string? Error)> ExpectedAsync(IReadOnlyList<NodeBundle> nodes, CancellationToken cancellationToken)
    {
        if (expectedNodes is null)
        {
            return (null, null);
        }

        // The budgets, pods and Node events are read beside the nodes list, once per report.
        var cluster = expectedNodes.ReadClusterAsync(cancellationToken);
        IReadOnlyList<ExpectedNode> listed;
        try
        {
            listed = await expectedNodes.ListAsync(cancellationToken);
        }
        catch (InvalidOperationException ex)
        {
            return (null, $"{expectedNodes.Description}: {ex.Message}");
        }

        var started = nodes.Select(n => n.Status?.StartedAt).Where(t => t is not null).Min();
        var joined = listed.Where(n => started is not null && n.Created > started).Select(n => n.Name).ToList();
        var expected = listed.Where(n => started is null || n.Created is null || n.Created <= started).ToList();
        return (new ExpectedNodes(ExpectedNodes.Kubernetes, expected, Excluded: joined) { Cluster = await cluster }, null);
    }

    /// <summary>The run with the newest start time of a listing (runs are listed newest first).</summary>
    /// <exception cref="IOException">The store holds no run.</exception>
    public static string Latest(IReadOnlyList<RunSummary> runs, IBundleSource source)
    {
        ArgumentNullException.ThrowIfNull(runs);
        ArgumentNullException.ThrowIfNull(source);
        return runs.Count > 0
            ? runs[0].RunId
            : throw new IOException($"The store '{source.Description}' holds no run.");
    }

    /// <summary>
    /// The run with the newest start time before this run's (by status records): its nodes are the ones this run is
    /// expected to have. Only its node names are needed.
    /// </summary>
    private async Task<PreviousRun?> PreviousRunAsync(
        string runId, IReadOnlyList<NodeBundle> nodes, Func<Task<IReadOnlyList<RunSummary>>> listRuns, CancellationToken cancellationToken)
    {
        var started = nodes.Select(n => n.Status?.StartedAt).Where(t => t is not null).Max();
        if (started is null)
        {
            return null;
        }

        var runs = await listRuns();
        var previous = runs.Where(r => r.RunId != runId && r.StartedAt < started).MaxBy(r => r.StartedAt);
        return previous is null ? null : new PreviousRun(previous.RunId, await source.ListNodesAsync(previous.RunId, cancellationToken));
    }
}
