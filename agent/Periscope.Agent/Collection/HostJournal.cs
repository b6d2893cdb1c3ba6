using System.Globalization;
using System.Text;
using System.Text.Json;
using Periscope.Bundle;

namespace Periscope.Agent.Collection;

/// <summary>One journal entry, as <c>journalctl -o json</c> gives it.</summary>
/// <param name="Message">MESSAGE (a byte array in the JSON when not UTF-8).</param>
/// <param name="Time">__REALTIME_TIMESTAMP.</param>
/// <param name="Priority">PRIORITY.</param>
/// <param name="Facility">SYSLOG_FACILITY.</param>
/// <param name="Transport">_TRANSPORT (<c>kernel</c>, <c>journal</c>, <c>syslog</c>, <c>stdout</c>).</param>
internal sealed record JournalEntry(string Message, DateTimeOffset? Time, int? Priority, int? Facility, string? Transport);

/// <summary>
/// The node's journal under the host root: <c>journalctl --directory=&lt;root&gt;/var/log/journal</c> (and
/// <c>/run/log/journal</c>) through the command runner, bounded by the run's window, a timeout and an output cap;
/// every invocation is recorded in the manifest. journald need not run: the files are read directly.
/// </summary>
internal static class HostJournal
{
    private static readonly string[] Directories = ["/var/log/journal", "/run/log/journal"];

    /// <summary>Reads the entries matching <paramref name="filter"/> (journalctl match or option arguments).</summary>
    /// <returns>The entries, or why none could be read (null when the journal was read).</returns>
    public static async Task<(List<JournalEntry> Entries, string? Problem, bool Capped)> ReadAsync(
        CollectionContext context, IReadOnlyList<string> filter, long maxBytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(filter);
        var entries = new List<JournalEntry>();
        var directories = Directories.Where(context.Host.DirectoryExists).ToList();
        if (directories.Count == 0)
        {
            return (entries, "no journal directory (/var/log/journal, /run/log/journal) under the host root", false);
        }

        var problems = new List<string>();
        var capped = false;
        foreach (var directory in directories)
        {
            var request = new ProcessRequest
            {
                FileName = "journalctl",
                Arguments =
                [
                    "--directory=" + context.Host.Resolve(directory),
                    "--output=json", "--no-pager", "--quiet", "--all",
                    "--since=@" + context.Since.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
                    "--until=@" + context.Until.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
                    .. filter,
                ],
                Timeout = TimeSpan.FromSeconds(20),
                MaxOutputBytes = maxBytes,
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
                return (entries, "journalctl is not installed", false);
            }

            if (result.Outcome == "output-capped")
            {
                capped = true; // what was read before the cap is kept
            }
            else if (!result.Succeeded)
            {
                problems.Add($"journalctl over {directory}: {result.Outcome} (exit {result.ExitCode}) {result.Error.Trim()}");
                continue;
            }

            foreach (var line in Encoding.UTF8.GetString(result.Output).Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                if (TryParse(line, out var entry))
                {
                    entries.Add(entry);
                }
            }
        }

        return (entries, problems.Count == directories.Count ? string.Join("; ", problems) : null, capped);
    }

    /// <summary>Parses one line of <c>journalctl -o json</c>; false for anything else.</summary>
    public static bool TryParse(string json, out JournalEntry entry)
    {
        entry = null!;
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("MESSAGE", out var message))
            {
                return false;
            }

            string text;
            if (message.ValueKind == JsonValueKind.String)
            {
                text = message.GetString() ?? string.Empty;
            }
            else if (message.ValueKind == JsonValueKind.Array)
            {
                // journald emits non-UTF-8 messages as an array of byte values
                text = Encoding.UTF8.GetString(message.EnumerateArray().Select(e => (byte)e.GetInt32()).ToArray());
            }
            else
            {
                return false;
            }

            int? Number(string name)
                => root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
                   && int.TryParse(value.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : null;

            DateTimeOffset? time = null;
            if (root.TryGetProperty("__REALTIME_TIMESTAMP", out var realtime) && realtime.ValueKind == JsonValueKind.String
                && long.TryParse(realtime.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out var us))
            {
                time = DateTimeOffset.UnixEpoch.AddTicks(us * 10);
            }

            var transport = root.TryGetProperty("_TRANSPORT", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            entry = new JournalEntry(text, time, Number("PRIORITY"), Number("SYSLOG_FACILITY"), transport);
            return true;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            return false;
        }
    }
}
