using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Periscope.Agent.Collection;
using Periscope.Agent.Export;
using Periscope.Bundle;

namespace Periscope.Agent.Runs;

/// <summary>
/// The long-running agent's loop: takes one trigger at a time off the <see cref="RunQueue"/>, collects, seals the
/// bundle into the spool and uploads what the spool holds; between runs it retries pending uploads. At start it
/// records runs a crash interrupted as abandoned, removes their staging, and uploads bundles sealed before the
/// restart. On SIGTERM the run in progress has <see cref="RunOptions.ShutdownGrace"/> to seal and upload its bundle;
/// then it is cancelled, its staging removed, and it is recorded as abandoned.
/// </summary>
internal sealed partial class RunService(
    RunQueue queue,
    RunPipeline pipeline,
    SpoolUploader spool,
    AgentMetrics metrics,
    IOptions<AgentOptions> agentOptions,
    IOptions<RunOptions> runOptions,
    IOptions<SpoolOptions> spoolOptions,
    TimeProvider time,
    IHostApplicationLifetime lifetime,
    ILogger<RunService> logger) : BackgroundService
{
    private readonly ILogger _logger = logger;
    private int _storageFailures;

    private string Store => agentOptions.Value.Store;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // A node name the store cannot hold (invalid, or too long for its file names) stops the agent at start with
        // the reason, not at every run.
        _ = await NodeIdentityResolver.ResolveNameAsync(agentOptions.Value.Node, pipeline.Host, cancellationToken);
        foreach (var run in queue.History.AbandonInterrupted(time.GetUtcNow()))
        {
            LogInterrupted(run.RunId);
            metrics.RunEnded(RunState.Abandoned);
        }

        RemoveStaleStaging();
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Bundles sealed before a restart (of the agent or of the node) are sent first.
        await SpoolPassAsync(stoppingToken);
        await StartedAsync(stoppingToken); // the other services' start-up (the endpoint, the triggers) is done too
        ReturnMemory();

        using var retry = new PeriodicTimer(spoolOptions.Value.RetryInterval, time);
        Task<bool>? tick = null;
        Task<bool>? next = null;
        // Once, a while after start-up and after each run: what the triggers' first connection (the API watch's TLS),
        // the upload and the run's callers touched since is given back too.
        Task? settled = Task.Delay(SettleDelay, time, stoppingToken);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                tick ??= retry.WaitForNextTickAsync(stoppingToken).AsTask();
                next ??= queue.Reader.WaitToReadAsync(stoppingToken).AsTask();
                Task done = settled is null ? await Task.WhenAny(next, tick) : await Task.WhenAny(next, tick, settled);
                if (done == settled)
                {
                    settled = null;
                    ReturnMemory();
                    continue;
                }

                if (done == tick)
                {
                    var ticked = await tick;
                    tick = null;
                    if (ticked)
                    {
                        await SpoolPassAsync(stoppingToken);
                    }

                    continue;
                }

                var more = await next;
                next = null;
                if (!more)
                {
                    return;
                }

                IdleMemory.Resume();
                while (!stoppingToken.IsCancellationRequested && queue.Reader.TryRead(out var trigger))
                {
                    await RunOneAsync(trigger, stoppingToken);
                }

                ReturnMemory();
                settled = Task.Delay(SettleDelay, time, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutdown while waiting for a trigger.
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        LogStopping(queue.Current?.Value ?? "none");
        await base.StopAsync(cancellationToken);
    }

    private async Task RunOneAsync(RunTrigger trigger, CancellationToken stoppingToken)
    {
        var runId = trigger.RunId;
        queue.Started(runId);
        try
        {
            var started = time.GetUtcNow();
            if (!queue.History.TryStart(runId, trigger.Source, started))
            {
                LogSkipped(runId.Value, trigger.Source);
                return;
            }

            if (queue.History.SaveError is { } unsaved)
            {
                // A run is recorded as running before it starts; where that cannot be written (a full disk) neither can
                // its bundle. It fails now and may be tried again later.
                FailForStorage(runId, unsaved);
                return;
            }

            // After SIGTERM the run (and its upload) may go on for the grace period, then it is cancelled.
            var grace = runOptions.Value.ShutdownGrace;
            using var runCancellation = new CancellationTokenSource();
            using var onStop = stoppingToken.Register(() =>
            {
                LogShutdownDuringRun(runId.Value, grace.TotalSeconds);
                runCancellation.CancelAfter(grace);
            });

            LogStarting(runId.Value, trigger.Source);
            RunOutcome outcome;
            try
            {
                outcome = await pipeline.RunAsync(new RunSpec
                {
                    RunId = runId,
                    Node = agentOptions.Value.Node,
                    Store = Store,
                    Collectors = trigger.Collectors,
                    Since = TimeArgument.Parse(trigger.Since, started, "since"),
                }, runCancellation.Token);
            }
            catch (OperationCanceledException) when (runCancellation.IsCancellationRequested)
            {
                queue.End(runId, RunState.Abandoned, $"the agent was stopped and the run did not finish within {grace.TotalSeconds:0.#} s", time.GetUtcNow());
                metrics.RunEnded(RunState.Abandoned);
                LogAbandoned(runId.Value);
                return;
            }
            catch (IOException ex)
            {
                // The store could not take the bundle (a full or read-only disk): failed, and tried again later.
                FailForStorage(runId, ex.Message);
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Isolation boundary of one run: the node name cannot be found, a defect. The agent stays up for the
                // next trigger.
                queue.End(runId, RunState.Failed, ex.Message, time.GetUtcNow());
                metrics.RunEnded(RunState.Failed);
                LogFailed(runId.Value, ex.Message);
                return;
            }

            _storageFailures = 0;

            var counts = FindingCounts.Of(outcome.Findings);
            var health = outcome.Health.ToString().ToLowerInvariant();
            queue.End(runId, RunState.Completed,
                $"{health}: {counts.Critical} critical, {counts.Warning} warning, {counts.Info} info; bundle {outcome.Bundle.BundlePath}", time.GetUtcNow());
            metrics.RunEnded(RunState.Completed);
            metrics.CollectorsRan(outcome.Results);
            LogCompleted(runId.Value, health, counts.Critical, counts.Warning, outcome.Bundle.BundlePath);
            await SpoolPassAsync(runCancellation.Token);
        }
        finally
        {
            queue.Finished(runId);
        }
    }

    /// <summary>
    /// Fails a run for want of storage: recorded (in memory at least), logged and counted, and the same run id may be
    /// offered again after a delay that doubles with each such failure in a row (1 min up to 16 min).
    /// </summary>
    private void FailForStorage(RunId runId, string reason)
    {
        var delay = TimeSpan.FromMinutes(1 << Math.Min(_storageFailures, 4));
        _storageFailures++;
        var now = time.GetUtcNow();
        queue.End(runId, RunState.Failed, $"storage: {reason}", now, now + delay);
        metrics.RunEnded(RunState.Failed);
        LogStorageFailed(runId.Value, reason, delay.TotalMinutes);
    }

    private async Task SpoolPassAsync(CancellationToken cancellationToken)
    {
        if (!spool.Enabled)
        {
            return;
        }

        try
        {
            var pass = await spool.RunAsync(Store, cancellationToken);
            metrics.SpoolPass(pass);
            if (pass.Pending > 0)
            {
                LogPending(pass.Pending, spoolOptions.Value.RetryInterval.TotalSeconds);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            LogSpoolCancelled();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Isolation boundary of one spool pass: a full or unreadable spool must not stop the agent.
            LogSpoolFailed(ex.Message);
        }
    }

    /// <summary>How long after a run its memory is given back a second time.</summary>
    private static readonly TimeSpan SettleDelay = TimeSpan.FromSeconds(20);

    /// <summary>Returns once the host has started every service, or is stopping.</summary>
    private async Task StartedAsync(CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var onStarted = lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        using var onStopping = stoppingToken.Register(() => started.TrySetResult());
        await started.Task;
    }

    /// <summary>
    /// The agent spends nearly all its life waiting on every node of the cluster: after start-up and after each run
    /// (which reads logs and builds a bundle) the heap is compacted and its free memory, and the binary's pages the
    /// work touched, given back to the node (<see cref="IdleMemory"/>).
    /// </summary>
    private static void ReturnMemory() => IdleMemory.Release();

    /// <summary>Staging a crash left behind: the run it belonged to is abandoned, its evidence never sealed.</summary>
    private void RemoveStaleStaging()
    {
        var staging = Path.Combine(Path.GetFullPath(Store), ".staging");
        if (!Directory.Exists(staging))
        {
            return;
        }

        foreach (var directory in Directory.EnumerateDirectories(staging))
        {
            try
            {
                Directory.Delete(directory, recursive: true);
                LogStagingRemoved(directory);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                LogStagingLeft(directory, ex.Message);
            }
        }
    }

    [LoggerMessage(EventId = 1401, Level = LogLevel.Information, Message = "Run {RunId} starting (trigger: {Source}).")]
    private partial void LogStarting(string runId, string source);

    [LoggerMessage(EventId = 1402, Level = LogLevel.Information, Message = "Run {RunId} sealed: {Health}, {Critical} critical and {Warning} warning findings, bundle {Bundle}.")]
    private partial void LogCompleted(string runId, string health, int critical, int warning, string bundle);

    [LoggerMessage(EventId = 1403, Level = LogLevel.Error, Message = "Run {RunId} failed: {Reason}")]
    private partial void LogFailed(string runId, string reason);

    [LoggerMessage(EventId = 1404, Level = LogLevel.Warning, Message = "Run {RunId} abandoned at shutdown; its staging was removed and nothing of it is in the store.")]
    private partial void LogAbandoned(string runId);

    [LoggerMessage(EventId = 1405, Level = LogLevel.Warning, Message = "Run {RunId} was interrupted by an earlier stop of the agent; recorded as abandoned, not run again.")]
    private partial void LogInterrupted(string runId);

    [LoggerMessage(EventId = 1406, Level = LogLevel.Debug, Message = "Run {RunId} (trigger: {Source}) was collected before on this node; not run again.")]
    private partial void LogSkipped(string runId, string source);

    [LoggerMessage(EventId = 1407, Level = LogLevel.Warning, Message = "Stopping during run {RunId}: it has {Seconds:0.#} s to seal and upload its bundle.")]
    private partial void LogShutdownDuringRun(string runId, double seconds);

    [LoggerMessage(EventId = 1408, Level = LogLevel.Warning, Message = "{Pending} sealed bundle(s) wait in the spool for upload; next try in {Seconds:0} s.")]
    private partial void LogPending(int pending, double seconds);

    [LoggerMessage(EventId = 1409, Level = LogLevel.Warning, Message = "Spool pass cancelled by shutdown; pending bundles are sent after the next start.")]
    private partial void LogSpoolCancelled();

    [LoggerMessage(EventId = 1410, Level = LogLevel.Error, Message = "Spool pass failed: {Reason}")]
    private partial void LogSpoolFailed(string reason);

    [LoggerMessage(EventId = 1414, Level = LogLevel.Error, Message = "Run {RunId} failed for want of storage: {Reason}. The agent stays up; the run may be triggered again in {Minutes} min.")]
    private partial void LogStorageFailed(string runId, string reason, double minutes);

    [LoggerMessage(EventId = 1413, Level = LogLevel.Information, Message = "Agent stopping (run in progress: {RunId}).")]
    private partial void LogStopping(string runId);

    [LoggerMessage(EventId = 1411, Level = LogLevel.Information, Message = "Removed staging {Path} left by an interrupted run.")]
    private partial void LogStagingRemoved(string path);

    [LoggerMessage(EventId = 1412, Level = LogLevel.Warning, Message = "Staging {Path} left by an interrupted run could not be removed: {Reason}")]
    private partial void LogStagingLeft(string path, string reason);
}
