using Periscope.Bundle;
namespace Periscope.Collector.Sources;

/// <summary>Where bundles are read from: a directory (the embedded default) or, later, Blob Storage.</summary>
internal interface IBundleSource
{
    /// <summary>A name for messages (the store path or URL, never a credential).</summary>
    string Description { get; }

    /// <summary>Run ids in the store with the newest start time among their status records (null when none has one).</summary>
    Task<IReadOnlyList<RunSummary>> ListRunsAsync(CancellationToken cancellationToken);

    /// <summary>
    /// The runs with their start times, as cheaply as the store allows (counts may be zero): what <c>report</c> and
    /// <c>verify</c> need to find the latest run and the run before one. By default the full listing.
    /// </summary>
    Task<IReadOnlyList<RunSummary>> ListRunStartsAsync(CancellationToken cancellationToken) => ListRunsAsync(cancellationToken);

    /// <summary>The nodes that have a bundle (complete or not) in a run, by file name only: nothing is read.</summary>
    Task<IReadOnlyList<string>> ListNodesAsync(string runId, CancellationToken cancellationToken);

    /// <summary>Every node of a run, read and verified; a bad bundle is returned with its reason, never thrown.</summary>
    Task<IReadOnlyList<NodeBundle>> ReadRunAsync(string runId, CancellationToken cancellationToken);

    /// <summary>
    /// Some nodes of a run, read and verified like <see cref="ReadRunAsync"/> (in node order; a node without a bundle
    /// there is left out): what a rule needs of earlier runs without reading them whole. By default the whole run is
    /// read and filtered; the stores read only the nodes asked for.
    /// </summary>
    async Task<IReadOnlyList<NodeBundle>> ReadNodesAsync(string runId, IReadOnlyCollection<string> nodes, CancellationToken cancellationToken)
    {
        var wanted = nodes.ToHashSet(StringComparer.Ordinal);
        return [.. (await ReadRunAsync(runId, cancellationToken)).Where(n => wanted.Contains(n.Node))];
    }

    /// <summary>
    /// What the store holds of each node of a run, cheaply (one listing; status records as the listing carries them):
    /// the agent's started marker, its zip, its status record — what a watcher of a run in progress polls. Empty when
    /// the run has nothing yet.
    /// </summary>
    Task<IReadOnlyDictionary<string, RunProgress>> ProgressAsync(string runId, CancellationToken cancellationToken);

    /// <summary>
    /// Opens a sealed bundle (its status record exists) for download, or returns null when there is none. The run id and
    /// node name must already be valid names.
    /// </summary>
    Task<Stream?> OpenBundleAsync(string runId, string node, CancellationToken cancellationToken);

    /// <summary>Reads every entry of every bundle of a run and checks it against its manifest and status record.</summary>
    Task<IReadOnlyList<VerifyResult>> VerifyRunAsync(string runId, CancellationToken cancellationToken);
}

/// <summary>What the store holds of one node in a run (a run in progress, as a watcher polls it).</summary>
/// <param name="StartedAt">The agent's started marker's time, if it wrote one.</param>
/// <param name="HasBundle">Its zip is there.</param>
/// <param name="Status">Its status record, once written.</param>
internal sealed record RunProgress(DateTimeOffset? StartedAt, bool HasBundle, StatusRecord? Status);

/// <summary>A run in a store.</summary>
/// <param name="RunId">The run id.</param>
/// <param name="StartedAt">Newest start time in its status records, null when it has none.</param>
/// <param name="Bundles">Bundles in it (complete or not).</param>
/// <param name="Sealed">Status records in it (sealed bundles).</param>
/// <param name="UpdatedAt">When the store received its newest status record (the store's clock).</param>
internal sealed record RunSummary(string RunId, DateTimeOffset? StartedAt, int Bundles, int Sealed = 0, DateTimeOffset? UpdatedAt = null)
{
    /// <summary>The sealed bundles' node health from their status records (not listed by the start-times-only listing).</summary>
    public RunHealth? Health { get; init; }
}

/// <summary>How many of a run's nodes are critical, warning, healthy or unknown, by their status records.</summary>
internal sealed record RunHealth(int Critical, int Warning, int Healthy, int Unknown)
{
    public static readonly RunHealth None = new(0, 0, 0, 0);

    /// <summary>The run's status: its worst node's.</summary>
    public HealthStatus Status => Critical > 0 ? HealthStatus.Critical : Warning > 0 ? HealthStatus.Warning : Unknown > 0 || Healthy == 0 ? HealthStatus.Unknown : HealthStatus.Healthy;

    public RunHealth Add(HealthStatus? status) => status switch
    {
        HealthStatus.Critical => this with { Critical = Critical + 1 },
        HealthStatus.Warning => this with { Warning = Warning + 1 },
        HealthStatus.Healthy => this with { Healthy = Healthy + 1 },
        _ => this with { Unknown = Unknown + 1 },
    };
}

/// <summary>The result of verifying one bundle.</summary>
/// <param name="BundlePath">Store-relative path.</param>
/// <param name="Outcome"><c>ok</c>, <c>incomplete</c> or <c>corrupt</c>.</param>
/// <param name="Problems">What is wrong.</param>
internal sealed record VerifyResult(string BundlePath, string Outcome, IReadOnlyList<string> Problems);
