using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using Periscope.Agent.Collection;
using Periscope.Agent.Export;
using Periscope.Agent.Signals;
using Periscope.Bundle;

namespace Periscope.Agent.Runs;

/// <summary>
/// The long-running agent's instruments, on the <c>Periscope.Agent</c> meter (exported over OTLP when configured,
/// docs/signals.md) and as totals for <c>GET /v1/runs</c>. The active signals are read from the same
/// <see cref="SignalTracker"/> that drives the conditions and <c>/v1/signals</c>, so the three never disagree.
/// </summary>
internal sealed class AgentMetrics
{
    public const string MeterName = "Periscope.Agent";

    private readonly Counter<long> _runs;
    private readonly Counter<long> _uploads;
    private readonly Counter<long> _uploadFailures;
    private readonly Counter<long> _evictions;
    private readonly Histogram<double> _collectorDuration;
    private readonly SignalTracker? _signals;
    private readonly TimeProvider _time;
    private readonly string? _store;
    private long _evicted;
    private long _uploaded;
    private int _pending;

    public AgentMetrics(IMeterFactory meters, SignalTracker? signals = null, TimeProvider? time = null, IOptions<AgentOptions>? agent = null)
    {
        ArgumentNullException.ThrowIfNull(meters);
        _signals = signals;
        _time = time ?? TimeProvider.System;
        _store = agent?.Value.Store;
        var meter = meters.Create(MeterName);
        _runs = meter.CreateCounter<long>("periscope.agent.runs", "{run}", "Runs ended, by state (completed, failed, abandoned).");
        _uploads = meter.CreateCounter<long>("periscope.agent.spool.uploads", "{bundle}", "Bundles uploaded from the spool.");
        _uploadFailures = meter.CreateCounter<long>("periscope.agent.spool.upload.failures", "{bundle}", "Upload attempts of a pass that failed, by whether a retry can help (permanent).");
        _evictions = meter.CreateCounter<long>("periscope.agent.spool.evictions", "{bundle}", "Bundles evicted from the spool for its cap or retention.");
        _collectorDuration = meter.CreateHistogram<double>("periscope.agent.collector.duration", "s", "How long each collector of a run took, by collector and status.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120] });
        meter.CreateObservableGauge("periscope.agent.spool.pending", () => Volatile.Read(ref _pending), "{bundle}", "Sealed bundles waiting for upload after the last spool pass.");
        meter.CreateObservableGauge("periscope.agent.spool.bytes", SpoolBytes, "By", "Bytes of sealed bundles in the spool.");
        if (signals is not null)
        {
            meter.CreateObservableGauge("periscope.agent.signals.active", ActiveSignals, "{signal}", "Active signals (docs/signals.md), by code, severity and the condition they hold.");
            meter.CreateObservableGauge("periscope.agent.signals.verdict", Verdict, "1", "The node's verdict: 0 healthy, 1 degraded, 2 unhealthy.");
        }
    }

    public long Evicted => Interlocked.Read(ref _evicted);

    public long Uploaded => Interlocked.Read(ref _uploaded);

    public int Pending => Volatile.Read(ref _pending);

    public void RunEnded(RunState state)
        => _runs.Add(1, new KeyValuePair<string, object?>("state", state.ToString().ToLowerInvariant()));

    /// <summary>Each collector's duration in a run that completed.</summary>
    public void CollectorsRan(IEnumerable<CollectorResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        foreach (var result in results)
        {
            _collectorDuration.Record(result.Duration.TotalSeconds,
                new KeyValuePair<string, object?>("collector", result.Name),
                new KeyValuePair<string, object?>("status", StatusName(result.Status)));
        }
    }

    public void SpoolPass(SpoolPass pass)
    {
        ArgumentNullException.ThrowIfNull(pass);
        Interlocked.Add(ref _uploaded, pass.Uploaded);
        Interlocked.Add(ref _evicted, pass.Evicted);
        Volatile.Write(ref _pending, pass.Pending);
        if (pass.Uploaded > 0)
        {
            _uploads.Add(pass.Uploaded);
        }

        if (pass.Evicted > 0)
        {
            _evictions.Add(pass.Evicted);
        }

        foreach (var failed in pass.Results.Values.Where(r => !r.Succeeded))
        {
            _uploadFailures.Add(1, new KeyValuePair<string, object?>("permanent", failed.Permanent));
        }
    }

    private static string StatusName(CollectorStatus status) => status switch
    {
        CollectorStatus.Ok => "ok",
        CollectorStatus.Partial => "partial",
        CollectorStatus.Failed => "failed",
        CollectorStatus.Skipped => "skipped",
        _ => "timed-out",
    };

    private IEnumerable<Measurement<long>> ActiveSignals()
    {
        var signals = _signals!.Evaluate(_time.GetUtcNow()).Signals;
        return signals.GroupBy(s => (s.Code, s.Severity, s.Condition))
            .Select(g => new Measurement<long>(g.Count(),
                new KeyValuePair<string, object?>("code", g.Key.Code),
                new KeyValuePair<string, object?>("severity", g.Key.Severity.ToString().ToLowerInvariant()),
                new KeyValuePair<string, object?>("condition", g.Key.Condition ?? "none")))
            .ToList();
    }

    private int Verdict() => (int)_signals!.Evaluate(_time.GetUtcNow()).Verdict;

    private long SpoolBytes()
    {
        if (_store is null || !Directory.Exists(_store))
        {
            return 0;
        }

        try
        {
            return new DirectoryInfo(_store).EnumerateFiles("*.zip", SearchOption.AllDirectories).Sum(f => f.Length);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }
}
