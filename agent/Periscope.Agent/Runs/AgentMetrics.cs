using System.Diagnostics.Metrics;
using Periscope.Agent.Export;

namespace Periscope.Agent.Runs;

/// <summary>
/// The long-running agent's counters, as instruments of the <c>Periscope.Agent</c> meter (for the OTLP exporter to
/// come) and as totals for <c>GET /v1/runs</c>.
/// </summary>
internal sealed class AgentMetrics
{
    public const string MeterName = "Periscope.Agent";

    private readonly Counter<long> _runs;
    private readonly Counter<long> _uploads;
    private readonly Counter<long> _evictions;
    private long _evicted;
    private long _uploaded;
    private int _pending;

    public AgentMetrics(IMeterFactory meters)
    {
        ArgumentNullException.ThrowIfNull(meters);
        var meter = meters.Create(MeterName);
        _runs = meter.CreateCounter<long>("periscope.agent.runs", "{run}", "Runs ended, by state (completed, failed, abandoned).");
        _uploads = meter.CreateCounter<long>("periscope.agent.spool.uploads", "{bundle}", "Bundles uploaded from the spool.");
        _evictions = meter.CreateCounter<long>("periscope.agent.spool.evictions", "{bundle}", "Bundles evicted from the spool for its cap or retention.");
        meter.CreateObservableGauge("periscope.agent.spool.pending", () => Volatile.Read(ref _pending), "{bundle}", "Sealed bundles waiting for upload after the last spool pass.");
    }

    public long Evicted => Interlocked.Read(ref _evicted);

    public long Uploaded => Interlocked.Read(ref _uploaded);

    public int Pending => Volatile.Read(ref _pending);

    public void RunEnded(RunState state)
        => _runs.Add(1, new KeyValuePair<string, object?>("state", state.ToString().ToLowerInvariant()));

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
    }
}
