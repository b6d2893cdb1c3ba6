using System.Globalization;
using System.Text;
using System.Text.Json;
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
    private static readonly string[] Directories = ["/var/log/journal", "/run/log/journal"];
    private static readonly string[] StartMarkers = ["containerd successfully booted", "Started containerd"];

    public static async Task CollectAsync(CollectionContext context, ContainerdCollectorOptions options, CancellationToken cancellationToken)
    {
        var starts = new List<(DateTimeOffset Time, long Line)>();
        long line = 0;
        Stream? file = null;
        StreamWriter? writer = null;
        try
        {
            foreach (var directory in Directories.Where(context.Host.DirectoryExists))
            {
                var request = new ProcessRequest
                {
                    FileName = "journalctl",
                    Arguments =
                    [
                        "--directory=" + context.Host.Resolve(directory), "--unit=containerd", "--output=json", "--no-pager", "--quiet",
                        "--since=@" + context.Since.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
                        "--until=@" + context.Until.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
                    ],
                    Timeout = TimeSpan.FromSeconds(20),
                    MaxOutputBytes = options.JournalMaxBytes,
                };
                var result = await context.Commands.RunAsync(request, cancellationToken);
                context.Output.RecordCommand(new CommandRecord
                {
                    CommandLine = request.Display,
                    Binary = result.Binary,
                    ExitCode = result.ExitCode,
                    Outcome = result.Outcome,
                    DurationMs = result.Duration.TotalMilliseconds,
                });
                if (result.Outcome == "missing-binary")
                {
                    return;
                }

                if (result.Outcome == "output-capped")
                {
                    context.Output.MarkPartial($"containerd journal cut at {options.JournalMaxBytes} bytes");
                }

                foreach (var json in Encoding.UTF8.GetString(result.Output).Split('\n', StringSplitOptions.RemoveEmptyEntries))
                {
                    if (!TryParse(json, out var time, out var message))
                    {
                        continue;
                    }

                    file ??= context.Output.CreateFile("journal.log");
                    writer ??= new StreamWriter(file, new UTF8Encoding(false)) { NewLine = "\n" };
                    line++;
                    await writer.WriteLineAsync($"{(time is { } t ? UtcTimestampConverter.Format(t) : "-")} {Escape(message)}");
                    if (time is { } started && StartMarkers.Any(m => message.Contains(m, StringComparison.Ordinal)))
                    {
                        starts.Add((started, line));
                    }
                }
            }
        }
        finally
        {
            if (writer is not null)
            {
                await writer.DisposeAsync();
            }
            else if (file is not null)
            {
                await file.DisposeAsync();
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

    private static bool TryParse(string json, out DateTimeOffset? time, out string message)
    {
        time = null;
        message = string.Empty;
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            if (!root.TryGetProperty("MESSAGE", out var value))
            {
                return false;
            }

            message = value.ValueKind switch
            {
                JsonValueKind.String => value.GetString() ?? string.Empty,
                JsonValueKind.Array => Encoding.UTF8.GetString(value.EnumerateArray().Select(e => (byte)e.GetInt32()).ToArray()),
                _ => string.Empty,
            };
            if (root.TryGetProperty("__REALTIME_TIMESTAMP", out var realtime)
                && long.TryParse(realtime.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out var us))
            {
                time = DateTimeOffset.UnixEpoch.AddTicks(us * 10);
            }

            return true;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            return false;
        }
    }

    private static string Escape(string text) => Kernel.KmsgRecordParser.Escape(text);
}
