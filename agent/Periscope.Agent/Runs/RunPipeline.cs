using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Periscope.Agent.Analysis;
using Periscope.Agent.Collection;
using Periscope.Agent.Export;
using Periscope.Agent.Kubernetes;
using Periscope.Agent.Redaction;
using Periscope.Agent.Signals;
using Periscope.Bundle;

namespace Periscope.Agent.Runs;

/// <summary>
/// One run on this node, start to end: collect (concurrently, bounded), analyse, seal the bundle into the store.
/// Used by the one-shot <c>collect</c> command and, later, by every trigger of the long-running agent.
/// </summary>
internal sealed partial class RunPipeline(
    CollectionRunner runner,
    DirectoryBundleSink sink,
    RedactorFactory redaction,
    SignalTracker signals,
    NodeObjectReader nodeObject,
    Export.BlobBundleExporter exporter,
    INodeFileSystem host,
    TimeProvider timeProvider,
    IOptions<RunOptions> options,
    ILogger<RunPipeline> logger)
{
    private readonly ILogger _logger = logger;

    public IReadOnlyList<ICollector> Collectors => runner.Collectors;

    public INodeFileSystem Host => host;

    public async Task<RunOutcome> RunAsync(RunSpec spec, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var started = timeProvider.GetUtcNow();
        var runId = spec.RunId ?? RunId.ForStart(started);
        var node = await NodeIdentityResolver.ResolveNameAsync(spec.Node, host, cancellationToken);
        foreach (var leftover in DirectoryBundleSink.RemoveLeftovers(spec.Store, node, started))
        {
            LogLeftoverRemoved(leftover);
        }

        var runDirectory = DirectoryBundleSink.PrepareRunDirectory(spec.Store, runId, node);

        // Seen from outside the node: the run began here (docs/bundle.md). Uploaded beside the collection, under the
        // exporter's own deadline; the run waits for it only at its end (it never outlives the run).
        var markerUpload = Task.CompletedTask;
        var sealedHere = false;
        if (DirectoryBundleSink.WriteStartedMarker(spec.Store, runId, node, started) is { } marker && exporter.Enabled)
        {
            markerUpload = Task.Run(async () =>
            {
                if (await exporter.UploadStartedMarkerAsync(runId.Value, node, marker, CancellationToken.None) is { } error)
                {
                    LogStartedMarkerNotUploaded(runId.Value, error);
                }
            }, CancellationToken.None);
        }

        var until = spec.Until ?? started;
        var since = spec.Since ?? until - options.Value.DefaultWindow;
        if (since > until)
        {
            throw new ArgumentException($"--since ({UtcTimestampConverter.Format(since)}) is after --until ({UtcTimestampConverter.Format(until)}).");
        }

        var staging = DirectoryBundleSink.CreateStagingDirectory(spec.Store, runId);
        try
        {
            LogStarting(runId.Value, node, host.Root);
            var redactor = redaction.ForBundle();

            // The Node object's labels are read while the collectors run, under their own short deadline.
            var labels = spec.Offline
                ? Task.FromResult(NodeObjectLabels.Failed("an offline run (a replayed node) does not ask the API"))
                : nodeObject.ReadAsync(node, cancellationToken);
            var results = await runner.RunAsync(new RunRequest
            {
                RunId = runId,
                NodeName = node,
                Host = host,
                Since = since,
                Until = until,
                StagingDirectory = staging,
                Collectors = spec.Collectors,
                Offline = spec.Offline,
                Redactor = redactor,
            }, cancellationToken);

            // The bundle's size bounds cut the largest files to their newest part; evidence lines follow the cut.
            var droppedLines = await BundleBudget.ApplyAsync(results, options.Value, cancellationToken);
            var analysed = BundleBudget.Rebase(NodeAnalyzer.Analyze(results), droppedLines);

            // Findings quote log lines: they are redacted like evidence, and the CLI prints the redacted ones.
            var findingsRedactions = new Dictionary<string, long>(StringComparer.Ordinal);
            var redacted = DocumentRedaction.Redact(new FindingsDocument { Findings = analysed },
                BundleJsonContext.Default.FindingsDocument, redactor, findingsRedactions).Findings;
            var (findings, leftOut) = BundleBudget.BoundFindings(redacted);
            if (leftOut > 0)
            {
                LogFindingsLeftOut(leftOut, findings.Count);
            }

            // The signals as they stand with this run's findings: the same mapping the conditions and /v1/signals use.
            var evaluated = timeProvider.GetUtcNow();
            signals.Observe(SignalObservation.FromRun(evaluated, findings, results.Where(r => r.Status == CollectorStatus.Ok).Select(r => r.Name)));
            var nodeSignals = signals.Evaluate(evaluated);

            var read = await labels;
            var identity = await NodeIdentityResolver.ResolveAsync(node, host, results, read.Labels, read.Error, cancellationToken, read.Unschedulable);
            var sealedBundle = await sink.SealAsync(spec.Store, runDirectory, new BundleContent
            {
                RunId = runId,
                Node = identity,
                StartedAt = started,
                Since = since,
                Until = until,
                Offline = spec.Offline,
                Results = results,
                Findings = findings,
                FindingsRedactions = findingsRedactions,
                Signals = nodeSignals,
                Redactor = redactor,
            }, cancellationToken);
            sealedHere = true;
            return new RunOutcome(sealedBundle, results, findings);
        }
        finally
        {
            // A run cut short leaves no marker in the spool (its folder would never empty); one uploaded stays: it did start.
            if (!sealedHere)
            {
                DirectoryBundleSink.RemoveStartedMarker(spec.Store, runId, node);
            }

            try
            {
                Directory.Delete(staging, recursive: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                LogStagingLeft(staging, ex.Message);
            }

            await markerUpload;
        }
    }

    [LoggerMessage(EventId = 1006, Level = LogLevel.Warning, Message = "Run {RunId}: its started marker was not uploaded ({Error}); the bundle is not affected.")]
    private partial void LogStartedMarkerNotUploaded(string runId, string error);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Run {RunId} starting on node {Node} (host root {HostRoot}).")]
    private partial void LogStarting(string runId, string node, string hostRoot);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Information, Message = "Removed {Path}, left in the store by a writer that was stopped.")]
    private partial void LogLeftoverRemoved(string path);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Warning, Message = "{LeftOut} of the least severe findings were left out of the bundle: it keeps the {Kept} worst within its bounds.")]
    private partial void LogFindingsLeftOut(int leftOut, int kept);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "Staging directory {Path} could not be removed: {Reason}")]
    private partial void LogStagingLeft(string path, string reason);
}

/// <summary>What to run.</summary>
internal sealed record RunSpec
{
    /// <summary>The run id; null names the run by its UTC start time.</summary>
    public RunId? RunId { get; init; }
    public string? Node { get; init; }
    public required string Store { get; init; }
    public IReadOnlyCollection<string>? Collectors { get; init; }
    public DateTimeOffset? Since { get; init; }
    public DateTimeOffset? Until { get; init; }
    public bool Offline { get; init; }
}

/// <summary>How a run ended.</summary>
internal sealed record RunOutcome(SealedBundle Bundle, IReadOnlyList<CollectorResult> Results, IReadOnlyList<Finding> Findings)
{
    /// <summary>The node's health; unknown when no collector produced anything.</summary>
    public HealthStatus Health
    {
        get
        {
            var health = FindingCounts.Of(Findings).Health;
            var nothingCollected = Results.All(r => r.Status is CollectorStatus.Failed or CollectorStatus.TimedOut or CollectorStatus.Skipped);
            return health == HealthStatus.Healthy && nothingCollected ? HealthStatus.Unknown : health;
        }
    }
}
