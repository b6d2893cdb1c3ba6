using Periscope.Agent.Collection;

namespace Periscope.Agent.Collectors.Containerd;

/// <summary>
/// containerd's journal (<c>-u containerd</c>, the run's window, a size cap) as evidence; its start messages show a
/// runtime that keeps restarting even when its socket cannot be reached. Runs live and in replays: it only reads
/// journal files under the host root.
/// </summary>
internal static class ContainerdJournal
{
    private static readonly string[] StartMarkers = ["containerd successfully booted", "Started containerd"];

    public static async Task CollectAsync(CollectionContext context, ContainerdCollectorOptions options, CancellationToken cancellationToken)
    {
        var journal = await UnitJournal.CollectAsync(context, new UnitJournalRequest
        {
            Unit = "containerd",
            StartMarkers = StartMarkers,
            MaxBytes = options.JournalMaxBytes,
            FallbackFiles = ["/var/log/containerd.log"],
        }, inspect: null, cancellationToken);
        UnitJournal.ReportFrequentStarts(context, "CONTAINERD_RESTARTS_FREQUENT", "containerd", journal.Starts, options.RestartsThreshold, options.RestartsWindow);
    }
}
