namespace Periscope.Agent.Collection;

/// <summary>How a run is bounded. Bound from <c>Periscope:Run</c>; checked by <see cref="RunOptionsValidator"/>.</summary>
public sealed class RunOptions
{
    public const string SectionName = "Periscope:Run";

    /// <summary>Deadline of a collector unless <see cref="CollectorTimeouts"/> names it.</summary>
    public TimeSpan CollectorTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Deadlines per collector name, overriding <see cref="CollectorTimeout"/>.</summary>
    public Dictionary<string, TimeSpan> CollectorTimeouts { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>How long past its deadline a collector that ignores cancellation is waited for before it is abandoned.</summary>
    public TimeSpan AbandonGrace { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Most bytes of evidence one collector may stage on the node's disk while it runs (a guard against a flood); the
    /// rest is dropped and the collector is partial. The bundle's own bounds are <see cref="MaxFileBytes"/> and
    /// <see cref="MaxBundleEvidenceBytes"/>.
    /// </summary>
    public long CollectorOutputCapBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Most bytes of one evidence file in the bundle; a longer file keeps its newest part, from a line start.</summary>
    public long MaxFileBytes { get; set; } = 16L * 1024 * 1024;

    /// <summary>
    /// Most bytes of evidence in one bundle, all files together (uncompressed, so the zip is smaller still). Small
    /// files are kept whole first; the largest share what is left, each keeping its newest part.
    /// </summary>
    public long MaxBundleEvidenceBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>How far back logs are read when no <c>--since</c> is given.</summary>
    public TimeSpan DefaultWindow { get; set; } = TimeSpan.FromHours(24);

    /// <summary>
    /// After SIGTERM, how long the long-running agent lets the run in progress finish and seal its bundle before it
    /// abandons it (deleting its staging; nothing half-written stays in the store). Keep the pod's
    /// terminationGracePeriodSeconds above this plus ten seconds.
    /// </summary>
    public TimeSpan ShutdownGrace { get; set; } = TimeSpan.FromSeconds(20);

    public TimeSpan TimeoutFor(string collector)
        => CollectorTimeouts.TryGetValue(collector, out var timeout) ? timeout : CollectorTimeout;
}
