using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Periscope.Bundle;

namespace Periscope.Agent.Collection;

/// <summary>
/// Runs the selected collectors concurrently, each under its own deadline and failure isolation: a collector that
/// throws is failed, one that passes its deadline is timed out (and abandoned if it ignores cancellation), one that
/// floods output is cut at its cap and partial. The run always returns a result for every selected collector.
/// </summary>
internal sealed partial class CollectionRunner(
    IEnumerable<ICollector> collectors,
    IProcessRunner processRunner,
    IOptions<RunOptions> options,
    TimeProvider timeProvider,
    ILogger<CollectionRunner> logger)
{
    private readonly ILogger _logger = logger;
    private readonly IReadOnlyList<ICollector> _collectors = [.. collectors];

    public IReadOnlyList<ICollector> Collectors => _collectors;

    public async Task<IReadOnlyList<CollectorResult>> RunAsync(RunRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var selected = request.Collectors is null
            ? _collectors
            : _collectors.Where(c => request.Collectors.Contains(c.Name, StringComparer.OrdinalIgnoreCase)).ToList();
        var tasks = selected.Select(c => RunOneAsync(c, request, cancellationToken)).ToList();
        return await Task.WhenAll(tasks);
    }

    private async Task<CollectorResult> RunOneAsync(ICollector collector, RunRequest request, CancellationToken cancellationToken)
    {
        var output = new CollectorOutput(collector.Name, request.StagingDirectory, options.Value.CollectorOutputCapBytes, request.Redactor);
        var started = timeProvider.GetTimestamp();

        CollectorSupport support;
        try
        {
            support = collector.CheckSupport(request.Host);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Isolation boundary: a collector's support check must not take the run down.
            support = CollectorSupport.Supported($"support check failed: {ex.Message}");
        }

        if (!support.IsSupported)
        {
            LogSkipped(collector.Name, support.Reason);
            return output.Close(CollectorStatus.Skipped, TimeSpan.Zero, support.Reason);
        }

        var timeout = options.Value.TimeoutFor(collector.Name);
        using var deadline = new CancellationTokenSource(timeout, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, cancellationToken);
        var context = new CollectionContext
        {
            Host = request.Host,
            Commands = processRunner,
            Output = output,
            NodeName = request.NodeName,
            Since = request.Since,
            Until = request.Until,
            Offline = request.Offline,
            Time = timeProvider,
        };

        // Task.Run: a collector that blocks synchronously must not hold up the others.
        var work = Task.Run(() => collector.CollectAsync(context, linked.Token), CancellationToken.None);
        using var abandon = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var watchdog = Task.Delay(timeout + options.Value.AbandonGrace, timeProvider, abandon.Token);
        var first = await Task.WhenAny(work, watchdog);
        await abandon.CancelAsync();
        var elapsed = timeProvider.GetElapsedTime(started);
        cancellationToken.ThrowIfCancellationRequested();

        if (first != work)
        {
            LogAbandoned(collector.Name, timeout);
            _ = work.ContinueWith(static t => _ = t.Exception, TaskScheduler.Default); // observe a late failure
            return output.Close(CollectorStatus.TimedOut, elapsed,
                $"did not finish within its deadline of {timeout.TotalSeconds:0.###} s and ignored cancellation; abandoned");
        }

        try
        {
            await work;
            LogFinished(collector.Name, elapsed.TotalMilliseconds);
            return output.Close(CollectorStatus.Ok, elapsed, null);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            LogTimedOut(collector.Name, timeout);
            return output.Close(CollectorStatus.TimedOut, elapsed, $"did not finish within its deadline of {timeout.TotalSeconds:0.###} s");
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // Isolation boundary: one collector's failure is recorded; the run goes on.
            LogFailed(ex, collector.Name);
            return output.Close(CollectorStatus.Failed, elapsed, $"{ex.GetType().Name}: {ex.Message}");
        }
    }

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "Collector {Collector} skipped: {Reason}")]
    private partial void LogSkipped(string collector, string reason);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Debug, Message = "Collector {Collector} finished in {ElapsedMs} ms.")]
    private partial void LogFinished(string collector, double elapsedMs);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Warning, Message = "Collector {Collector} timed out after {Timeout}.")]
    private partial void LogTimedOut(string collector, TimeSpan timeout);

    [LoggerMessage(EventId = 1104, Level = LogLevel.Warning, Message = "Collector {Collector} ignored cancellation past its deadline of {Timeout}; abandoned.")]
    private partial void LogAbandoned(string collector, TimeSpan timeout);

    [LoggerMessage(EventId = 1105, Level = LogLevel.Error, Message = "Collector {Collector} failed.")]
    private partial void LogFailed(Exception exception, string collector);
}
