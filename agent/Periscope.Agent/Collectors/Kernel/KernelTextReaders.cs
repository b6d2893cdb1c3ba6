using System.Globalization;
using System.Text.Json;
using System.Text;
using Periscope.Agent.Collection.Node;
using Periscope.Agent.Collection;

namespace Periscope.Agent.Collectors.Kernel;

/// <summary>
/// Readers for kernel logs kept as text: a captured /dev/kmsg (same record format, continuation lines beginning with
/// a space), a syslog <c>kern.log</c>, and <c>journalctl -o json</c> output. Each reads only the newest
/// <c>maxBytes</c> of its input, so a 2 GiB log costs no more than the bound.
/// </summary>
internal static class KernelTextReaders
{
    private static readonly string[] SyslogTimeFormats = ["MMM d HH:mm:ss", "MMM  d HH:mm:ss", "MMM dd HH:mm:ss"];

    /// <summary>
    /// A captured /dev/kmsg file. Lines are taken in blocks, and the rule keywords are searched over the whole block
    /// at once, so a line without any keyword costs only its header parse and its evidence line.
    /// </summary>
    public static async Task ReadCapturedKmsgAsync(Stream stream, DateTimeOffset? bootTime, KernelRecordSink sink, long maxBytes, KmsgReadStats stats, CancellationToken cancellationToken)
    {
        var skipFirst = SeekToTail(stream, maxBytes, stats);
        stats.BytesRead += await LineScanner.ScanBlocksAsync(stream, block =>
        {
            var nextHit = -1; // offset in the block of the next keyword, or int.MaxValue when none is left
            var position = 0;
            while (position < block.Length)
            {
                var newline = block[position..].IndexOf('\n');
                var length = newline < 0 ? block.Length - position : newline;
                var line = block.Slice(position, length).TrimEnd('\r');
                var lineStart = position;
                position += length + 1;

                if (skipFirst)
                {
                    skipFirst = false; // the partial line where the tail starts
                    continue;
                }

                if (line.IsEmpty || line[0] == ' ')
                {
                    continue; // a continuation line (KEY=value dictionary) of the previous record
                }

                if (nextHit != int.MaxValue && nextHit < lineStart)
                {
                    var found = sink.FindKeyword(block[lineStart..]);
                    nextHit = found < 0 ? int.MaxValue : lineStart + found;
                }

                var mayMatch = nextHit < lineStart + length;
                if (!sink.AcceptKmsgLine(line, bootTime, mayMatch))
                {
                    sink.Unparsed++;
                }

                if (sink.PastWindow)
                {
                    return false;
                }
            }

            return true;
        }, cancellationToken);
    }

    /// <summary>
    /// A syslog kern.log: <c>2024-03-01T10:00:00.123456+00:00 host kernel: [  12.345] text</c> (RFC 3339, as rsyslog
    /// writes with high precision) or <c>Mar  1 10:00:00 host kernel: text</c> (traditional; the year is the one that
    /// puts the line closest before now, and the time is taken as UTC since the node's zone is not recorded).
    /// </summary>
    public static async Task ReadKernLogAsync(Stream stream, DateTimeOffset now, KernelRecordSink sink, long maxBytes, KmsgReadStats stats, CancellationToken cancellationToken)
    {
        var skipFirst = SeekToTail(stream, maxBytes, stats);
        stats.BytesRead += await LineScanner.ScanAsync(stream, line =>
        {
            if (skipFirst)
            {
                skipFirst = false;
                return true;
            }

            if (line.IsEmpty)
            {
                return true;
            }

            if (TryParseSyslog(line.ToString(), now, out var record))
            {
                sink.Accept(record);
            }
            else
            {
                sink.Unparsed++;
            }

            return true;
        }, cancellationToken);
    }

    /// <summary>Most kernel journal entries read: the newest of the window, like the other readers' newest bytes.</summary>
    private const int MaxJournalEntries = 1_000_000;

    /// <summary>Kernel-transport entries of the host root's journal (the newest, when the window holds more than the bounds).</summary>
    /// <returns>Null on success, else why the journal could not be read.</returns>
    public static async Task<string?> ReadJournalAsync(
        CollectionContext context, KernelRecordSink sink, long maxBytes, KmsgReadStats stats, CancellationToken cancellationToken)
    {
        var read = await HostJournal.ReadAsync(context, ["_TRANSPORT=kernel"], maxBytes, tailEntries: MaxJournalEntries, entry => sink.Accept(ToRecord(entry)), cancellationToken);
        stats.Truncated |= read.Capped;
        return read.Problem;
    }

    internal static KmsgRecord ToRecord(JournalEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return new KmsgRecord
        {
            Facility = entry.Transport == "kernel" ? 0 : entry.Facility,
            Level = entry.Priority,
            Time = entry.Time,
            Text = entry.Message,
        };
    }

    internal static bool TryParseSyslog(string line, DateTimeOffset now, out KmsgRecord record)
    {
        record = null!;
        DateTimeOffset time;
        string rest;
        var space = line.IndexOf(' ', StringComparison.Ordinal);
        if (space > 0 && char.IsAsciiDigit(line[0])
            && DateTimeOffset.TryParse(line.AsSpan(0, space), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out time))
        {
            rest = line[(space + 1)..];
        }
        else if (line.Length > 16
                 && DateTime.TryParseExact(line.AsSpan(0, 15), SyslogTimeFormats,
                     CultureInfo.InvariantCulture, DateTimeStyles.AllowInnerWhite | DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var local))
        {
            time = new DateTimeOffset(new DateTime(now.Year, local.Month, local.Day, local.Hour, local.Minute, local.Second, DateTimeKind.Utc));
            if (time > now.AddDays(1))
            {
                time = time.AddYears(-1); // a December line read in January
            }

            rest = line[16..];
        }
        else
        {
            return false;
        }

        // rest: "host tag: message"
        var hostEnd = rest.IndexOf(' ', StringComparison.Ordinal);
        if (hostEnd < 0)
        {
            return false;
        }

        var tagged = rest[(hostEnd + 1)..];
        var isKernel = tagged.StartsWith("kernel:", StringComparison.Ordinal);
        var colon = tagged.IndexOf(": ", StringComparison.Ordinal);
        var text = isKernel ? tagged[7..].TrimStart() : colon >= 0 ? tagged[(colon + 2)..] : tagged;
        if (isKernel)
        {
            text = StripStamps(text);
        }

        record = new KmsgRecord { Facility = isKernel ? 0 : 1, Time = time, Text = text };
        return true;
    }

    /// <summary>
    /// Removes the kernel's own prefixes from a console-format line: its time stamp (<c>[ 1234.567890]</c>) and, on
    /// kernels built with <c>CONFIG_PRINTK_CALLER</c>, the caller id after it (<c>[  T123]</c> for a task,
    /// <c>[  C2]</c> for a CPU), with or without a space between them. Anything else in brackets is the message's own.
    /// </summary>
    internal static string StripStamps(string text)
    {
        var span = text.AsSpan();
        if (Bracketed(span, static c => char.IsAsciiDigit(c) || c == '.') is var stamp and > 0)
        {
            span = span[stamp..].TrimStart(' ');
        }

        if (Bracketed(span, static c => char.IsAsciiDigit(c) || c is 'T' or 'C') is var caller and > 0
            && span[1..(caller - 1)].Trim(' ') is [('T' or 'C'), .. var digits] && digits.Length > 0 && !digits.ContainsAnyExceptInRange('0', '9'))
        {
            span = span[caller..].TrimStart(' ');
        }

        return span.Length == text.Length ? text : span.ToString();

        // The length of a leading "[...]" whose inside is spaces and characters the test accepts (at least one), or 0.
        static int Bracketed(ReadOnlySpan<char> s, Func<char, bool> accepts)
        {
            if (s.IsEmpty || s[0] != '[')
            {
                return 0;
            }

            var seen = false;
            for (var i = 1; i < s.Length && i < 24; i++)
            {
                if (s[i] == ']')
                {
                    return seen ? i + 1 : 0;
                }

                if (s[i] != ' ' && !accepts(s[i]))
                {
                    return 0;
                }

                seen |= s[i] != ' ';
            }

            return 0;
        }
    }

    /// <summary>Keeps the newest <paramref name="maxBytes"/>: seeks there; true when the first line is partial.</summary>
    internal static bool SeekToTail(Stream stream, long maxBytes, KmsgReadStats stats)
    {
        var truncated = LineScanner.SeekToTail(stream, maxBytes);
        stats.Truncated |= truncated;
        return truncated;
    }
}
