using System.Globalization;
using System.Text;
using Periscope.Agent.Collection;
using Periscope.Bundle;

namespace Periscope.Agent.Collectors.Containerd;

/// <summary>
/// containerd's journal (<c>journalctl --directory=&lt;root&gt;/var/log/journal -u containerd</c>, bounded by the run's
/// window and a size cap), written as evidence; its start messages show a runtime that keeps restarting even when
/// its socket cannot be reached. Runs live and in replays: it only reads journal files under the host root.
/// </summary>
internal static class ContainerdJournal
{
    private static readonly string[] StartMarkers = ["containerd successfully booted", "Started containerd"];

    public static async Task CollectAsync(CollectionContext context, ContainerdCollectorOptions options, CancellationToken cancellationToken)
    {
        var (entries, _, capped) = await HostJournal.ReadAsync(context, ["--unit=containerd"], options.JournalMaxBytes, cancellationToken);
        if (capped)
        {
            context.Output.MarkPartial($"containerd journal cut at {options.JournalMaxBytes} bytes");
        }

        if (entries.Count == 0)
        {
            return;
        }

        var starts = new List<(DateTimeOffset Time, long Line)>();
        await using (var file = context.Output.CreateFile("journal.log"))
        await using (var writer = new StreamWriter(file, new UTF8Encoding(false)) { NewLine = "\n" })
        {
            long line = 0;
            foreach (var entry in entries)
            {
                line++;
                await writer.WriteLineAsync($"{(entry.Time is { } t ? UtcTimestampConverter.Format(t) : "-")} {Kernel.KmsgRecordParser.Escape(entry.Message)}");
                if (entry.Time is { } started && StartMarkers.Any(m => entry.Message.Contains(m, StringComparison.Ordinal)))
                {
                    starts.Add((started, line));
                }
            }
        }

        ReportRestarts(context, options, starts);
    }

    private static void ReportRestarts(CollectionContext context, ContainerdCollectorOptions options, List<(DateTimeOffset Time, long Line)> starts)
    {
        // Two start markers (systemd's and containerd's own) may describe one start: count starts a second apart once.
        var distinct = new List<(DateTimeOffset Time, long Line)>();
        foreach (var start in starts.OrderBy(s => s.Time))
        {
            if (distinct.Count == 0 || start.Time - distinct[^1].Time > TimeSpan.FromSeconds(1))
            {
                distinct.Add(start);
            }
        }

        var worst = 0;
        var worstEnd = -1;
        for (int first = 0, last = 0; last < distinct.Count; last++)
        {
            while (distinct[last].Time - distinct[first].Time > options.RestartsWindow)
            {
                first++;
            }

            if (last - first + 1 > worst)
            {
                worst = last - first + 1;
                worstEnd = last;
            }
        }

        if (worst < options.RestartsThreshold)
        {
            return;
        }

        var end = distinct[worstEnd];
        context.Output.Report(new Observation
        {
            Code = "CONTAINERD_RESTARTS_FREQUENT",
            Severity = Severity.Warning,
            Title = $"containerd started {worst} times within {options.RestartsWindow.TotalMinutes:0} minutes",
            Detail = $"{distinct.Count} starts in the window; {worst} of them within {options.RestartsWindow.TotalMinutes:0} minutes (threshold {options.RestartsThreshold}).",
            Subject = new FindingSubject(SubjectKind.Node, context.NodeName),
            Attributes = new Dictionary<string, string>
            {
                ["starts"] = distinct.Count.ToString(CultureInfo.InvariantCulture),
                ["startsInWindow"] = worst.ToString(CultureInfo.InvariantCulture),
            },
            Time = end.Time,
            Evidence = new EvidenceReference(context.Output.BundlePath("journal.log"), end.Line),
        });
    }
}
