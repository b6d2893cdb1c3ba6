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

/// <summary>One boot the journal holds entries of, as <c>journalctl --list-boots -o json</c> gives it.</summary>
/// <param name="BootId">_BOOT_ID, 32 hex digits.</param>
/// <param name="FirstEntry">Time of its oldest entry.</param>
/// <param name="LastEntry">Time of its newest entry.</param>
internal sealed record JournalBoot(string BootId, DateTimeOffset FirstEntry, DateTimeOffset LastEntry);

/// <summary>How a journal read went.</summary>
/// <param name="Entries">Entries handed out.</param>
/// <param name="Problem">Why nothing could be read, or null when the journal was read.</param>
/// <param name="Capped">True when the output cap cut the read short.</param>
internal sealed record JournalRead(long Entries, string? Problem, bool Capped);

/// <summary>
/// The node's journal under the host root: the journal files of <c>&lt;root&gt;/var/log/journal</c> (and
/// <c>/run/log/journal</c>), opened by the agent and handed to <c>journalctl --file</c> as inherited descriptors, through the
/// command runner, bounded by the run's window, a timeout, an entry count and an
/// output cap; every invocation is recorded in the manifest. journald need not run: the files are read directly.
/// Output is parsed as it arrives and handed out entry by entry, so a large journal is never held whole.
/// </summary>
internal static partial class HostJournal
{
    private static readonly string[] Directories = ["/var/log/journal", "/run/log/journal"];

    /// <summary>The persistent journal: the only one that holds earlier boots (the one under /run is lost at reboot).</summary>
    public const string PersistentDirectory = "/var/log/journal";

    /// <summary>Reads the entries matching <paramref name="filter"/> (journalctl match or option arguments).</summary>
    /// <param name="context">The run.</param>
    /// <param name="filter">journalctl matches or options.</param>
    /// <param name="maxBytes">Most bytes of journalctl output read per journal directory.</param>
    /// <param name="tailEntries">When set, only the newest this many entries of the window (<c>--lines</c>).</param>
    /// <param name="onEntry">Receives each entry, oldest first within a directory.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <param name="only">When set, read this journal directory only (default: the persistent and the volatile one).</param>
    public static async Task<JournalRead> ReadAsync(
        CollectionContext context, IReadOnlyList<string> filter, long maxBytes, int? tailEntries,
        Action<JournalEntry> onEntry, CancellationToken cancellationToken, string? only = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentNullException.ThrowIfNull(onEntry);
        var directories = (only is null ? Directories : [only]).Where(context.Host.DirectoryExists).ToList();
        if (directories.Count == 0)
        {
            return new JournalRead(0, "no journal directory (/var/log/journal, /run/log/journal) under the host root", false);
        }

        var problems = new List<string>();
        var capped = false;
        long entries = 0;
        foreach (var directory in directories)
        {
            // journalctl is given only journal files the agent opened itself, inside the root and regular, as
            // descriptors it inherits (/proc/self/fd/N in journalctl): it never walks a directory or resolves a path
            // of its own, and needs no access to the agent's /proc entries.
            var files = OpenJournalFiles(context.Host, directory);
            if (files.Count == 0)
            {
                problems.Add($"no journal file under {directory}");
                continue;
            }

            List<string> arguments =
            [
                .. files.Select(f => $"--file=/proc/self/fd/{f.SafeFileHandle.DangerousGetHandle()}"),
                "--output=json", "--output-fields=MESSAGE,PRIORITY,SYSLOG_FACILITY,_TRANSPORT",
                "--no-pager", "--quiet", "--all",
                "--since=@" + context.Since.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
                "--until=@" + context.Until.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
            ];
            if (tailEntries is { } tail)
            {
                // Newest first from the window's end, so that the byte and entry bounds keep the newest entries;
                // spooled to a scratch file and read back from its end, so they are still handed out oldest first.
                arguments.Add("--reverse");
                arguments.Add("--lines=" + tail.ToString(CultureInfo.InvariantCulture));
            }

            arguments.AddRange(filter);
            long read = 0;
            void Parse(ReadOnlySpan<byte> line)
            {
                if (TryParse(line, out var entry))
                {
                    read++;
                    onEntry(entry);
                }
            }

            var lines = new LineSplitStream(Parse);
            FileStream? spool = null;
            ProcessResult result;
            var request = new ProcessRequest { FileName = "journalctl", Arguments = arguments, Timeout = TimeSpan.FromSeconds(20), MaxOutputBytes = maxBytes };
            try
            {
                if (tailEntries is not null)
                {
                    spool = new FileStream(Path.Combine(Path.GetTempPath(), $"periscope-journal-{Guid.NewGuid():N}.json"),
                        FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 64 * 1024, FileOptions.DeleteOnClose | FileOptions.Asynchronous);
                }

                request = request with { OutputTo = (Stream?)spool ?? lines };
                result = await context.Commands.RunAsync(request, cancellationToken);
                if (spool is not null)
                {
                    await ReverseLines.ReadAsync(spool, Parse, LineSplitStream.MaxLineBytes, cancellationToken);
                }
                else
                {
                    lines.Flush(); // a last line without its newline
                }
            }
            catch (IOException ex)
            {
                problems.Add($"journal over {directory}: {ex.Message}"); // no room for the scratch file, a read error
                continue;
            }
            finally
            {
                if (spool is not null)
                {
                    await spool.DisposeAsync();
                }

                await lines.DisposeAsync();
                foreach (var file in files)
                {
                    await file.DisposeAsync();
                }
            }

            entries += read;
            context.Output.RecordCommand(result.ToRecord(request));
            if (result.Outcome == "missing-binary")
            {
                return new JournalRead(entries, "journalctl is not installed", false);
            }

            if (result.Outcome == "output-capped")
            {
                capped = true; // what was read before the cap is kept
            }
            else if (!result.Succeeded)
            {
                problems.Add($"journalctl over {directory}: {result.Outcome} (exit {result.ExitCode}) {result.Error.Trim()}");
            }
        }

        return new JournalRead(entries, problems.Count == directories.Count ? string.Join("; ", problems) : null, capped);
    }

    /// <summary>
    /// The boots a journal directory holds entries of, oldest first (<c>journalctl --list-boots</c> over the files the
    /// agent opened, as for a read); the reason instead when they cannot be listed.
    /// </summary>
    public static async Task<(IReadOnlyList<JournalBoot> Boots, string? Problem)> ListBootsAsync(
        CollectionContext context, string directory, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!context.Host.DirectoryExists(directory))
        {
            return ([], $"no journal directory {directory} under the host root");
        }

        var files = OpenJournalFiles(context.Host, directory);
        if (files.Count == 0)
        {
            return ([], $"no journal file under {directory}");
        }

        var request = new ProcessRequest
        {
            FileName = "journalctl",
            Arguments = [.. files.Select(f => $"--file=/proc/self/fd/{f.SafeFileHandle.DangerousGetHandle()}"), "--list-boots", "--output=json", "--no-pager", "--quiet"],
            Timeout = TimeSpan.FromSeconds(20),
            MaxOutputBytes = 4 * 1024 * 1024, // 100 bytes a boot: tens of thousands of boots
        };
        ProcessResult result;
        try
        {
            result = await context.Commands.RunAsync(request, cancellationToken);
        }
        finally
        {
            foreach (var file in files)
            {
                await file.DisposeAsync();
            }
        }

        context.Output.RecordCommand(result.ToRecord(request));
        if (result.Outcome == "missing-binary")
        {
            return ([], "journalctl is not installed");
        }

        if (!result.Succeeded)
        {
            return ([], $"journalctl --list-boots over {directory}: {result.Outcome} (exit {result.ExitCode}) {result.Error.Trim()}");
        }

        return ParseBoots(result.Output) is { } boots
            ? (boots, null)
            : ([], $"journalctl --list-boots over {directory} printed no boot list it could read");
    }

    /// <summary>Parses <c>journalctl --list-boots -o json</c>, oldest boot first; null when it is not that.</summary>
    internal static List<JournalBoot>? ParseBoots(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            using var document = JsonDocument.ParseValue(ref reader);
            if (document.RootElement.ValueKind != JsonValueKind.Array)
            {
                return null;
            }

            var boots = new List<JournalBoot>();
            foreach (var boot in document.RootElement.EnumerateArray())
            {
                if (boot.ValueKind == JsonValueKind.Object
                    && boot.TryGetProperty("boot_id", out var id) && id.ValueKind == JsonValueKind.String && id.GetString() is { Length: 32 } bootId
                    && bootId.All(char.IsAsciiHexDigit)
                    && boot.TryGetProperty("first_entry", out var first) && first.TryGetInt64(out var firstUs) && firstUs >= 0
                    && boot.TryGetProperty("last_entry", out var last) && last.TryGetInt64(out var lastUs) && lastUs >= firstUs)
                {
                    boots.Add(new JournalBoot(bootId.ToLowerInvariant(), DateTimeOffset.UnixEpoch.AddTicks(firstUs * 10), DateTimeOffset.UnixEpoch.AddTicks(lastUs * 10)));
                }
            }

            return [.. boots.OrderBy(b => b.LastEntry)];
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException or ArgumentOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>Most journal files read per journal directory (journald keeps far fewer by default).</summary>
    public const int MaxFiles = 1024;

    /// <summary>
    /// Opens the journal files of a journal directory (<c>*.journal</c>, <c>*.journal~</c>, directly in it or one level
    /// down, as journald lays them out per machine id and namespace) through the host root: links are resolved inside
    /// the root and only regular files are opened. Files that cannot be opened are left out.
    /// </summary>
    private static List<FileStream> OpenJournalFiles(INodeFileSystem host, string directory)
    {
        var candidates = new List<string>();
        foreach (var name in host.ListDirectory(directory).Order(StringComparer.Ordinal))
        {
            var path = $"{directory}/{name}";
            if (IsJournalFile(name))
            {
                candidates.Add(path);
            }
            else if (host.DirectoryExists(path))
            {
                candidates.AddRange(host.ListDirectory(path).Where(IsJournalFile).Order(StringComparer.Ordinal).Select(n => $"{path}/{n}"));
            }
        }

        var files = new List<FileStream>();
        foreach (var path in candidates.Take(MaxFiles))
        {
            try
            {
                if (host.OpenRead(path) is FileStream file)
                {
                    // Inherited by the journalctl started next (and, harmlessly, by any command started meanwhile:
                    // read-only descriptors of journal files, gone when that command exits); closed after the read.
                    if (Inherit((int)file.SafeFileHandle.DangerousGetHandle()) != 0)
                    {
                        file.Dispose();
                        continue;
                    }

                    files.Add(file);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // not a regular file inside the root (a link out, a FIFO), or gone since it was listed
            }
        }

        return files;
    }

    /// <summary>Clears FD_CLOEXEC, so that the next command started inherits the descriptor.</summary>
    private static int Inherit(int fd) => Fcntl(fd, 2 /* F_SETFD */, 0);

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Fcntl(int fd, int command, int argument);

    private static bool IsJournalFile(string name)
        => name.EndsWith(".journal", StringComparison.Ordinal) || name.EndsWith(".journal~", StringComparison.Ordinal);

    /// <summary>Parses one line of <c>journalctl -o json</c>; false for anything else.</summary>
    public static bool TryParse(string json, out JournalEntry entry)
    {
        ArgumentNullException.ThrowIfNull(json);
        return TryParse(Encoding.UTF8.GetBytes(json), out entry);
    }

    /// <summary>Parses one UTF-8 line of <c>journalctl -o json</c>; false for anything else.</summary>
    public static bool TryParse(ReadOnlySpan<byte> json, out JournalEntry entry)
    {
        entry = null!;
        try
        {
            var reader = new Utf8JsonReader(json);
            using var document = JsonDocument.ParseValue(ref reader);
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
