using System.Globalization;
using System.Text;
using Periscope.Bundle;

namespace Periscope.Agent.Collection;

/// <summary>
/// A systemd unit's journal as evidence (<c>&lt;collector&gt;/journal.log</c>, one line per entry) and the times the
/// unit started, from its start messages; markers closer together than <see cref="SameStart"/> describe one start
/// (systemd's "Started …" and the service's own banner).
/// </summary>
internal static class UnitJournal
{
    public static readonly TimeSpan SameStart = TimeSpan.FromSeconds(5);

    public sealed record Result(IReadOnlyList<JournalEntry> Entries, IReadOnlyList<(DateTimeOffset Time, long Line)> Starts);

    public static async Task<Result> CollectAsync(
        CollectionContext context, string unit, IReadOnlyList<string> startMarkers, long maxBytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var (entries, _, capped) = await HostJournal.ReadAsync(context, ["--unit=" + unit], maxBytes, cancellationToken);
        if (capped)
        {
            context.Output.MarkPartial($"{unit} journal cut at {maxBytes} bytes");
        }

        var starts = new List<(DateTimeOffset Time, long Line)>();
        if (entries.Count == 0)
        {
            return new Result(entries, starts);
        }

        await using (var file = context.Output.CreateFile("journal.log"))
        await using (var writer = new StreamWriter(file, new UTF8Encoding(false)) { NewLine = "\n" })
        {
            long line = 0;
            foreach (var entry in entries)
            {
                line++;
                await writer.WriteLineAsync($"{(entry.Time is { } t ? UtcTimestampConverter.Format(t) : "-")} {Collectors.Kernel.KmsgRecordParser.Escape(entry.Message)}");
                if (entry.Time is { } started && startMarkers.Any(m => entry.Message.Contains(m, StringComparison.Ordinal))
                    && (starts.Count == 0 || started - starts[^1].Time > SameStart))
                {
                    starts.Add((started, line));
                }
            }
        }

        return new Result(entries, starts);
    }

    /// <summary>Raises <paramref name="code"/> when <paramref name="threshold"/> or more starts fall within <paramref name="window"/>.</summary>
    public static void ReportFrequentStarts(
        CollectionContext context, string code, string service, IReadOnlyList<(DateTimeOffset Time, long Line)> starts, int threshold, TimeSpan window)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(starts);
        var ordered = starts.OrderBy(s => s.Time).ToList();
        var worst = 0;
        var worstEnd = -1;
        for (int first = 0, last = 0; last < ordered.Count; last++)
        {
            while (ordered[last].Time - ordered[first].Time > window)
            {
                first++;
            }

            if (last - first + 1 > worst)
            {
                worst = last - first + 1;
                worstEnd = last;
            }
        }

        if (worst < threshold)
        {
            return;
        }

        var end = ordered[worstEnd];
        context.Output.Report(new Observation
        {
            Code = code,
            Severity = Severity.Warning,
            Title = $"{service} started {worst} times within {window.TotalMinutes:0} minutes",
            Detail = $"{ordered.Count} starts in the window; {worst} of them within {window.TotalMinutes:0} minutes (threshold {threshold}).",
            Subject = new FindingSubject(SubjectKind.Node, context.NodeName),
            Attributes = new Dictionary<string, string>
            {
                ["starts"] = ordered.Count.ToString(CultureInfo.InvariantCulture),
                ["startsInWindow"] = worst.ToString(CultureInfo.InvariantCulture),
            },
            Time = end.Time,
            Evidence = new EvidenceReference(context.Output.BundlePath("journal.log"), end.Line),
        });
    }
}
