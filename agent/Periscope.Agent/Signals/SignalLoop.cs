using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Periscope.Agent.Analysis;
using Periscope.Agent.Collection;

namespace Periscope.Agent.Signals;

/// <summary>
/// The signal loop between full runs (docs/signals.md): every <see cref="SignalLoopOptions.Interval"/> each registered
/// <see cref="ISignalCheck"/> runs, on its own beat and under <see cref="SignalLoopOptions.CheckTimeout"/>, and hands
/// what it saw, and which codes it covered, to the <see cref="SignalTracker"/>. It seals no bundle and
/// writes nothing: conditions change only through the tracker, so a pass that sees what the last one saw costs no
/// API request. A check still running at the next pass (one deaf to cancellation) is skipped, never run twice at once.
/// </summary>
internal sealed partial class SignalLoop(
    IEnumerable<ISignalCheck> checks,
    SignalTracker tracker,
    LocalNode localNode,
    INodeFileSystem host,
    IProcessRunner commands,
    IOptions<SignalOptions> options,
    ILoopMemory memory,
    TimeProvider time,
    ILogger<SignalLoop> logger) : BackgroundService
{
    private readonly ILogger _logger = logger;
    private readonly Dictionary<string, Task> _running = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string?> _lastProblem = new(StringComparer.Ordinal);

    private long _passes;
    private long _releases;
    private int _passesInFlight;
    private DateTimeOffset? _lastRelease;
    private volatile bool _releaseFailed;

    /// <summary>Passes completed so far (of any check).</summary>
    public long Passes => Interlocked.Read(ref _passes);

    /// <summary>Times what the passes touched was given back.</summary>
    public long Releases => Interlocked.Read(ref _releases);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        if (!o.Loop.Enabled)
        {
            return;
        }

        string node;
        try
        {
            node = await localNode.NameAsync(stoppingToken);
        }
        catch (Exception ex) when (ex is ArgumentException or IOException)
        {
            LogNoNode(ex.Message);
            return;
        }

        var all = checks.ToList();
        LogStarting(o.Loop.Interval.TotalSeconds, all.Count);

        // Each check on its own beat: a slow or hung one delays no other.
        await Task.WhenAll(all.Select(check => CheckLoopAsync(check, node, stoppingToken)));
    }

    /// <summary>How long after its pass a check's loop gives memory back: a second, or a quarter of a shorter interval.</summary>
    internal static TimeSpan ReleaseDelay(TimeSpan interval) => interval / 4 < TimeSpan.FromSeconds(1) ? interval / 4 : TimeSpan.FromSeconds(1);

    /// <summary>
    /// A moment after a pass, when no pass is in progress and no check still running (a hung one holds it off), what
    /// the passes touched is given back (<see cref="ILoopMemory"/>), at most once per half interval: without it the
    /// agent with the loop on stays bigger than without, by its passes' garbage and the code they ran.
    /// </summary>
    private void ReleaseAfterPass()
    {
        var interval = options.Value.Loop.Interval;
        lock (_running)
        {
            var now = time.GetUtcNow();
            if (_releaseFailed || Volatile.Read(ref _passesInFlight) > 0 || _running.Values.Any(task => !task.IsCompleted)
                || (_lastRelease is { } last && now - last < interval / 2))
            {
                return;
            }

            _lastRelease = now;
        }

        try
        {
            memory.ReleaseBetweenPasses();
            Interlocked.Increment(ref _releases);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Giving memory back is an economy: a defect there must not stop the checks (nor the agent).
            _releaseFailed = true;
            LogReleaseStopped(ex.Message);
        }
    }

    private async Task CheckLoopAsync(ISignalCheck check, string node, CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.Loop.Interval, time);
        try
        {
            do
            {
                Interlocked.Increment(ref _passesInFlight);
                try
                {
                    await PassAsync([check], node, stoppingToken);
                }
                finally
                {
                    Interlocked.Decrement(ref _passesInFlight);
                }

                if (options.Value.Loop.ReleaseMemory)
                {
                    // A moment later, once the other checks' passes (their tails too) have ended: code run after the
                    // release faults its pages back, each fault with the 64 KiB around it.
                    await Task.Delay(ReleaseDelay(options.Value.Loop.Interval), time, stoppingToken);
                    ReleaseAfterPass();
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    /// <summary>
    /// One pass of these checks: each supported one runs under its deadline and what it saw goes to the tracker as
    /// its own observation, covering its codes only if it completed. Internal for tests that drive passes.
    /// </summary>
    internal async Task PassAsync(IReadOnlyList<ISignalCheck> these, string node, CancellationToken cancellationToken)
    {
        var o = options.Value;
        var now = time.GetUtcNow();
        var passes = new List<(ISignalCheck Check, SignalCheckOutput Output, Task<bool> Completed)>();
        foreach (var check in these)
        {
            Task? still;
            lock (_running)
            {
                _running.TryGetValue(check.Name, out still);
            }

            if (still is { IsCompleted: false })
            {
                Report(check.Name, "its previous pass has not ended");
                continue;
            }

            CollectorSupport support;
            try
            {
                support = check.CheckSupport(host);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                support = CollectorSupport.Unsupported(ex.Message);
            }

            if (!support.IsSupported)
            {
                continue;
            }

            var output = new SignalCheckOutput(CollectorOf(check));
            var context = new CollectionContext
            {
                Host = host,
                Commands = commands,
                Output = output,
                NodeName = node,
                Since = now - o.HoldDown,
                Until = now + o.Loop.Interval,
                Time = time,
            };
            var task = RunAsync(check, context, o.Loop.CheckTimeout, cancellationToken);
            lock (_running)
            {
                _running[check.Name] = task;
            }

            passes.Add((check, output, task));
        }

        foreach (var (check, output, completed) in passes)
        {
            bool ok;
            try
            {
                // The check has its deadline; one deaf to it is left running and skipped until it ends.
                ok = await completed.WaitAsync(o.Loop.CheckTimeout + TimeSpan.FromSeconds(1), time, cancellationToken);
            }
            catch (TimeoutException)
            {
                Report(check.Name, $"it did not end within {o.Loop.CheckTimeout.TotalSeconds:0.#} s");
                ok = false;
            }

            if (!ok)
            {
                continue; // a check that failed or missed its deadline saw nothing for certain
            }

            var complete = output.Partial is null;
            var collector = CollectorOf(check);
            var findings = FindingAggregator.Aggregate(NodeAnalyzer.JoinOomKills(output.Observations.Select(x => (collector, x)).ToList()));
            var covers = complete ? check.Covers.ToHashSet(StringComparer.Ordinal) : [];
            tracker.Observe(new SignalObservation(now, findings, covers.Contains, Incremental: true));
            Report(check.Name, output.Partial);
        }

        Interlocked.Increment(ref _passes);
    }

    private static string CollectorOf(ISignalCheck check) => check.Name.Split('.')[0];

    private async Task<bool> RunAsync(ISignalCheck check, CollectionContext context, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await Task.Yield();
            await check.CheckAsync(context, deadline.Token);
            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Report(check.Name, $"it did not end within {timeout.TotalSeconds:0.#} s");
            return false;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Isolation boundary of one check: a defect or an unexpected host state must not stop the loop.
            Report(check.Name, ex.Message);
            return false;
        }
    }

    /// <summary>Logs a check's problem when it changes (once, not every pass), and its recovery.</summary>
    private void Report(string check, string? problem)
    {
        lock (_lastProblem)
        {
            _lastProblem.TryGetValue(check, out var last);
            if (last == problem)
            {
                return;
            }

            _lastProblem[check] = problem;
        }

        if (problem is null)
        {
            LogRecovered(check);
        }
        else
        {
            LogProblem(check, problem);
        }
    }

    [LoggerMessage(EventId = 1611, Level = LogLevel.Information, Message = "Signal loop: {Checks} checks every {Seconds:0.#} s.")]
    private partial void LogStarting(double seconds, int checks);

    [LoggerMessage(EventId = 1612, Level = LogLevel.Error, Message = "Signal loop not started: the node's name cannot be told ({Reason}).")]
    private partial void LogNoNode(string reason);

    [LoggerMessage(EventId = 1613, Level = LogLevel.Warning, Message = "Signal check {Check} proves nothing this pass: {Reason} (logged again only when it changes).")]
    private partial void LogProblem(string check, string reason);

    [LoggerMessage(EventId = 1615, Level = LogLevel.Warning, Message = "Signal loop: memory is no longer given back between passes ({Reason}); the checks go on.")]
    private partial void LogReleaseStopped(string reason);

    [LoggerMessage(EventId = 1614, Level = LogLevel.Debug, Message = "Signal check {Check} completes again.")]
    private partial void LogRecovered(string check);
}
