using System.Globalization;
using System.Text;
using Periscope.Agent.Collection.Node;
using Periscope.Bundle;

namespace Periscope.Agent.Collection;

/// <summary>Which unit's log to read, and how much of it.</summary>
internal sealed record UnitJournalRequest
{
    /// <summary>The systemd unit (<c>kubelet</c>, <c>containerd</c>).</summary>
    public required string Unit { get; init; }

    /// <summary>Message fragments that mark a start of the service.</summary>
    public IReadOnlyList<string> StartMarkers { get; init; } = [];

    /// <summary>Most bytes read (journalctl output, or the tail of a log file).</summary>
    public required long MaxBytes { get; init; }

    /// <summary>Only the newest this many journal entries of the window.</summary>
    public int MaxEntries { get; init; } = 100_000;

    /// <summary>Plain log files (node paths) read when the journal has nothing for the unit.</summary>
    public IReadOnlyList<string> FallbackFiles { get; init; } = [];
}

/// <summary>
/// A systemd unit's log as evidence (<c>&lt;collector&gt;/journal.log</c>, one line per entry) and the times the
/// unit started, from its start messages; markers closer together than <see cref="SameStart"/> describe one start
/// (systemd's "Started …" and the service's own banner). The journal is read first; when it has nothing for the unit
/// (no journal directory, no journalctl, no entries), the first plain log file present is read instead — its newest
/// <see cref="UnitJournalRequest.MaxBytes"/>, in klog or timestamped format. Entries are streamed: each is written and
/// handed to the caller's inspector, and none is kept.
/// </summary>
internal static class UnitJournal
{
    public const string EvidenceFile = "journal.log";
    public static readonly TimeSpan SameStart = TimeSpan.FromSeconds(5);

    /// <summary>What was read.</summary>
    /// <param name="Entries">Entries in the window.</param>
    /// <param name="Starts">Start times, with their line in the evidence file.</param>
    /// <param name="Source"><c>journal</c>, the log file read, or null when neither had anything.</param>
    /// <param name="Problem">Why the journal could not be read, when it could not.</param>
    public sealed record Result(long Entries, IReadOnlyList<(DateTimeOffset Time, long Line)> Starts, string? Source, string? Problem);

    /// <summary>Receives each entry with its line number in the evidence file.</summary>
    public delegate void EntryInspector(JournalEntry entry, long line);

    public static async Task<Result> CollectAsync(
        CollectionContext context, UnitJournalRequest request, EntryInspector? inspect, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(request);
        var starts = new List<(DateTimeOffset Time, long Line)>();
        Stream? file = null;
        StreamWriter? writer = null;
        long line = 0;

        void Accept(JournalEntry entry)
        {
            if (writer is null)
            {
                file = context.Output.CreateFile(EvidenceFile);
                writer = new StreamWriter(file, new UTF8Encoding(false), 64 * 1024) { NewLine = "\n" };
            }

            line++;
            writer.Write(entry.Time is { } t ? UtcTimestampConverter.Format(t) : "-");
            writer.Write(' ');
            writer.WriteLine(KmsgRecordParser.Escape(entry.Message));
            if (entry.Time is { } started && request.StartMarkers.Any(m => entry.Message.Contains(m, StringComparison.Ordinal))
                && (starts.Count == 0 || started - starts[^1].Time > SameStart))
            {
                starts.Add((started, line));
            }

            inspect?.Invoke(entry, line);
        }

        try
        {
            var read = await HostJournal.ReadAsync(context, ["--unit=" + request.Unit], request.MaxBytes, request.MaxEntries, Accept, cancellationToken);
            if (read.Capped)
            {
                context.Output.MarkPartial($"{request.Unit} journal cut at {request.MaxBytes} bytes");
            }

            if (read.Entries > 0)
            {
                return new Result(read.Entries, starts, "journal", read.Problem);
            }

            foreach (var path in request.FallbackFiles)
            {
                if (context.Host.FileExists(path))
                {
                    var entries = await ReadLogFileAsync(context, path, request.MaxBytes, Accept, cancellationToken);
                    return new Result(entries, starts, path, read.Problem);
                }
            }

            return new Result(0, starts, null, read.Problem);
        }
        finally
        {
            if (writer is not null)
            {
                await writer.DisposeAsync();
            }

            if (file is not null)
            {
                await file.DisposeAsync();
            }
        }
    }

    /// <summary>The newest <paramref name="maxBytes"/> of a plain log file, lines in the run's window (or without a time).</summary>
    private static async Task<long> ReadLogFileAsync(
        CollectionContext context, string path, long maxBytes, Action<JournalEntry> accept, CancellationToken cancellationToken)
    {
        Stream stream;
        try
        {
            stream = context.Host.OpenRead(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            context.Output.MarkPartial($"log file {path}: {ex.Message}");
            return 0;
        }

        long entries = 0;
        await using (stream)
        {
            var skipFirst = LineScanner.SeekToTail(stream, maxBytes);
            if (skipFirst)
            {
                context.Output.MarkPartial($"{path}: only its newest {maxBytes} bytes were read");
            }

            var now = context.Until;
            await LineScanner.ScanBlocksAsync(stream, block =>
            {
                foreach (var range in block.Split('\n'))
                {
                    var text = block[range].TrimEnd('\r');
                    if (skipFirst)
                    {
                        skipFirst = false; // the partial line where the tail starts
                        continue;
                    }

                    if (!text.IsEmpty && KlogLine.Parse(text, now) is { } entry
                        && (entry.Time is not { } time || (time >= context.Since && time <= context.Until)))
                    {
                        entries++;
                        accept(entry);
                    }
                }

                return true;
            }, cancellationToken);
        }

        return entries;
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
            Evidence = new EvidenceReference(context.Output.BundlePath(EvidenceFile), end.Line),
        });
    }
}
