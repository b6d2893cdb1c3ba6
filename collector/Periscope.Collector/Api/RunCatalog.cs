using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Periscope.Collector.Reports;
using Periscope.Collector.Sources;

namespace Periscope.Collector.Api;

/// <summary>The store's runs as last listed: when, and why the latest listing failed if it did.</summary>
/// <param name="Runs">Newest first.</param>
/// <param name="ListedAt">When they were listed (null: never).</param>
/// <param name="Error">Why the newest listing failed; the runs are then those of the listing before.</param>
/// <param name="CheckedAt">When the store was last listed or tried.</param>
internal sealed record RunListing(IReadOnlyList<RunSummary> Runs, DateTimeOffset? ListedAt, string? Error, DateTimeOffset? CheckedAt = null);

/// <summary>
/// What <c>serve</c> knows of the store: its runs, listed at start and then every <see cref="ServerOptions.PollInterval"/>
/// (new runs are discovered by polling, and logged), and the reports of the runs operators open, kept while their run
/// is unchanged (same bundles, status records and newest receive time at the last poll) and for at most
/// <see cref="ServerOptions.ReportCacheLifetime"/> (the nodes list and previous run may change too), the
/// <see cref="ServerOptions.ReportCacheSize"/> most recently used. A report is built once however many ask for it at
/// the same time. A failed listing keeps the runs of the one before and says why.
/// </summary>
internal sealed partial class RunCatalog(IBundleSource source, RunReporter reporter, ServerOptions options, TimeProvider time, ILogger<RunCatalog> logger)
    : BackgroundService
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, CachedReport> _reports = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _listing = new(1, 1);
    private readonly SemaphoreSlim _work = new(options.MaxConcurrentReports, options.MaxConcurrentReports);
    private RunListing _current = new([], null, null);

    private sealed class CachedReport(RunSummary? fingerprint, DateTimeOffset builtAt, Task<HealthReport> report)
    {
        public RunSummary? Fingerprint { get; } = fingerprint;
        public DateTimeOffset BuiltAt { get; } = builtAt;
        public Task<HealthReport> Report { get; } = report;
        public DateTimeOffset LastUsed { get; set; } = builtAt;
    }

    /// <summary>Reports built since start (for tests and the log).</summary>
    public int ReportsBuilt => Volatile.Read(ref _reportsBuilt);

    private int _reportsBuilt;
    private int _working;
    private int _peakWorking;

    /// <summary>The most builds and renders that ran at once since start (never above MaxConcurrentReports).</summary>
    public int PeakConcurrentWork => Volatile.Read(ref _peakWorking);
    private Task? _abandoned;

    /// <summary>The runs as last listed; lists first when the store has not been listed yet.</summary>
    public async Task<RunListing> RunsAsync(CancellationToken cancellationToken)
    {
        var current = Volatile.Read(ref _current);
        return current.ListedAt is null && current.Error is null ? await RefreshAsync(cancellationToken) : current;
    }

    /// <summary>True when the last listing holds this run (no store access).</summary>
    public bool Knows(string runId) => Volatile.Read(ref _current).Runs.Any(r => r.RunId == runId);

    /// <summary>Lists the store now (one listing at a time: a caller arriving during one waits for it).</summary>
    public async Task<RunListing> RefreshAsync(CancellationToken cancellationToken)
    {
        var before = Volatile.Read(ref _current);
        await _listing.WaitAsync(cancellationToken);
        try
        {
            var current = Volatile.Read(ref _current);
            if (!ReferenceEquals(current, before))
            {
                return current; // listed while this caller waited
            }

            try
            {
                var runs = await ListWithDeadlineAsync(cancellationToken);
                var known = current.Runs.Select(r => r.RunId).ToHashSet(StringComparer.Ordinal);
                if (current.ListedAt is not null)
                {
                    foreach (var run in runs.Where(r => !known.Contains(r.RunId)))
                    {
                        LogNewRun(run.RunId, run.Bundles);
                    }
                }

                current = new RunListing(runs, time.GetUtcNow(), null, time.GetUtcNow());
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // Isolation boundary of the poll: whatever the store or its SDK threw (an AggregateException after
                // retries, a timeout), the service keeps serving.
                // Keep what was listed before, and say why.
                LogListingFailed(source.Description, ex.Message);
                current = current with { Error = $"{ex.GetType().Name}: {ex.Message}", CheckedAt = time.GetUtcNow() };
            }

            Volatile.Write(ref _current, current);
            return current;
        }
        finally
        {
            _listing.Release();
        }
    }

    /// <summary>
    /// Lists on a thread of its own under <see cref="ServerOptions.ListingTimeout"/>: a read that blocks in the kernel
    /// (a hung network filesystem) cannot be cancelled, so past the deadline the listing is abandoned, and no other
    /// starts until it has returned — one stuck thread at most, and the service keeps serving what it listed before.
    /// </summary>
    private async Task<IReadOnlyList<RunSummary>> ListWithDeadlineAsync(CancellationToken cancellationToken)
    {
        if (_abandoned is { IsCompleted: false })
        {
            throw new TimeoutException($"a listing of the store abandoned after {options.ListingTimeout} has still not returned");
        }

        var listing = Task.Run(() => source.ListRunsAsync(cancellationToken), CancellationToken.None);
        try
        {
            return await listing.WaitAsync(options.ListingTimeout, time, cancellationToken);
        }
        catch (TimeoutException)
        {
            _abandoned = listing;
            _ = listing.ContinueWith(t => t.Exception, TaskScheduler.Default); // observed, whatever it ends with
            throw new TimeoutException($"listing the store took longer than {options.ListingTimeout}; abandoned");
        }
    }

    /// <summary>The report of a run: cached while the run is unchanged at the last listing, else built (once).</summary>
    /// <exception cref="IOException">The store has no such run.</exception>
    public async Task<HealthReport> ReportAsync(string runId, CancellationToken cancellationToken)
    {
        var fingerprint = Volatile.Read(ref _current).Runs.FirstOrDefault(r => r.RunId == runId);
        var now = time.GetUtcNow();
        CachedReport entry;
        lock (_lock)
        {
            if (!_reports.TryGetValue(runId, out entry!)
                || entry.Fingerprint is null
                || entry.Fingerprint != fingerprint
                || now - entry.BuiltAt > options.ReportCacheLifetime
                || entry.Report.IsFaulted || entry.Report.IsCanceled)
            {
                entry = new CachedReport(fingerprint, now, BuildAsync(runId));
                _reports[runId] = entry;
                while (_reports.Count > options.ReportCacheSize)
                {
                    _reports.Remove(_reports.MinBy(r => r.Value.LastUsed).Key);
                }
            }

            entry.LastUsed = now;
        }

        return await entry.Report.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Renders a report as a page or document into a temporary file (deleted when the returned stream is closed), to
    /// be streamed to the caller: a page is never held whole in memory, and at most
    /// <see cref="ServerOptions.MaxConcurrentReports"/> renders and builds run at once, whatever the callers.
    /// </summary>
    public async Task<Stream> RenderAsync(Action<TextWriter> render, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(render);
        await _work.WaitAsync(cancellationToken);
        Working(+1);
        FileStream? file = null;
        try
        {
            file = new FileStream(Path.Combine(Path.GetTempPath(), $"periscope-render-{Guid.NewGuid():N}.tmp"), FileMode.CreateNew,
                FileAccess.ReadWrite, FileShare.None, 64 * 1024, FileOptions.DeleteOnClose);
            using (var writer = new StreamWriter(file, new System.Text.UTF8Encoding(false), 64 * 1024, leaveOpen: true))
            {
                render(writer);
            }

            file.Position = 0;
            return file;
        }
        catch
        {
            if (file is not null)
            {
                await file.DisposeAsync();
            }

            throw;
        }
        finally
        {
            Working(-1);
            _work.Release();
        }
    }

    private void Working(int change)
    {
        var now = Interlocked.Add(ref _working, change);
        int peak;
        while (now > (peak = Volatile.Read(ref _peakWorking)) && Interlocked.CompareExchange(ref _peakWorking, now, peak) != peak)
        {
        }
    }

    /// <summary>Builds without the caller's cancellation: others may be waiting for the same report.</summary>
    private async Task<HealthReport> BuildAsync(string runId)
    {
        await Task.Yield();
        await _work.WaitAsync();
        Working(+1);
        try
        {
            Interlocked.Increment(ref _reportsBuilt);
            // The run before this one is found in the catalog's listing, not by listing the store again.
            var listing = Volatile.Read(ref _current);
            var (report, _) = await reporter.BuildAsync(runId, CancellationToken.None, listing.ListedAt is null ? null : listing.Runs);
            return report;
        }
        finally
        {
            Working(-1);
            _work.Release();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.PollInterval, time);
        try
        {
            await RefreshAsync(stoppingToken);
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await RefreshAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override void Dispose()
    {
        _listing.Dispose();
        _work.Dispose();
        base.Dispose();
    }

    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "New run {RunId} in the store ({Bundles} bundles so far)")]
    private partial void LogNewRun(string runId, int bundles);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Warning, Message = "Could not list the store {Store} (the runs of the listing before are kept): {Reason}")]
    private partial void LogListingFailed(string store, string reason);
}
