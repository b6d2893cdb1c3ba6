using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Periscope.Agent.Collection.Node;

namespace Periscope.Agent.Collectors.Kernel;

/// <summary>
/// Reads the kernel's log buffer through <c>syslog(2)</c> (<c>SYSLOG_ACTION_READ_ALL</c>): what a pod without
/// <c>privileged</c> can read, since it needs only root with <c>CAP_SYSLOG</c> (allowed under the RuntimeDefault
/// seccomp profile) while <c>/dev/kmsg</c> needs a device the pod spec cannot grant. What it gives is less than
/// <c>/dev/kmsg</c>: text records <c>&lt;prio&gt;[seconds.micros] message</c> of the current boot's ring only, without
/// sequence numbers (records overwritten before the read cannot be counted) and without continuation lines. A
/// record without a timestamp (<c>printk.time=0</c>) cannot be placed in time and is counted as unparsed.
/// </summary>
internal static partial class SyslogBufferReader
{
    private const int ActionReadAll = 3;
    private const int ActionSizeBuffer = 10;
    private const int MaxBuffer = 64 * 1024 * 1024;

    /// <summary>Reads the buffer into <paramref name="sink"/>, its newest <paramref name="maxBytes"/> at most.</summary>
    /// <returns>Null on success, else why the buffer could not be read (no CAP_SYSLOG, a seccomp refusal).</returns>
    public static unsafe string? Read(DateTimeOffset? bootTime, KernelRecordSink sink, long maxBytes, KmsgReadStats stats)
    {
        ArgumentNullException.ThrowIfNull(sink);
        ArgumentNullException.ThrowIfNull(stats);
        var size = KlogCtl(ActionSizeBuffer, null, 0);
        if (size <= 0)
        {
            return Refused("SIZE_BUFFER", Marshal.GetLastPInvokeError());
        }

        var buffer = new byte[Math.Min(size, MaxBuffer)];
        int read;
        fixed (byte* pointer = buffer)
        {
            read = KlogCtl(ActionReadAll, pointer, buffer.Length);
        }

        if (read < 0)
        {
            return Refused("READ_ALL", Marshal.GetLastPInvokeError());
        }

        Accept(Encoding.UTF8.GetString(buffer, 0, read), bootTime, sink, maxBytes, stats);
        return null;
    }

    private static string Refused(string action, int errno)
        => $"syslog(2) {action}: {Marshal.GetPInvokeErrorMessage(errno)}{(errno == 1 ? " (the agent needs CAP_SYSLOG where kernel.dmesg_restrict is 1)" : string.Empty)}";

    /// <summary>Feeds the text of a READ_ALL (<c>&lt;prio&gt;[seconds.micros] message</c> lines) to the sink.</summary>
    internal static void Accept(string text, DateTimeOffset? bootTime, KernelRecordSink sink, long maxBytes, KmsgReadStats stats)
    {
        var start = 0;
        if (text.Length > maxBytes)
        {
            // The newest part, from a line start.
            start = text.IndexOf('\n', (int)(text.Length - maxBytes)) + 1;
            stats.Truncated = true;
        }

        stats.BytesRead += text.Length - start;
        long sequence = 0;
        var record = new StringBuilder(256);
        foreach (var range in text.AsSpan(start).Split('\n'))
        {
            var line = text.AsSpan(start)[range].TrimEnd('\r');
            if (line.IsEmpty)
            {
                continue;
            }

            if (!TryParse(line, out var priority, out var microseconds, out var message))
            {
                sink.Unparsed++;
                continue;
            }

            // Handed on as the kmsg record it would have been (no sequence number: a running count stands in).
            record.Clear();
            record.Append(priority).Append(',').Append(sequence++).Append(',').Append(microseconds).Append(",-;");
            record.Append(message.ContainsAnyInRange('\0', '\x1f') ? KmsgRecordParser.Escape(message.ToString()) : message);
            if (!sink.AcceptKmsgLine(record.ToString(), bootTime))
            {
                sink.Unparsed++;
            }
        }
    }

    /// <summary>Parses <c>&lt;prio&gt;[ seconds.micros] message</c>.</summary>
    internal static bool TryParse(ReadOnlySpan<char> line, out int priority, out long microseconds, out ReadOnlySpan<char> message)
    {
        priority = 0;
        microseconds = 0;
        message = default;
        var close = line.IndexOf('>');
        if (line.Length < 3 || line[0] != '<' || close < 2
            || !int.TryParse(line[1..close], NumberStyles.None, CultureInfo.InvariantCulture, out priority))
        {
            return false;
        }

        var rest = line[(close + 1)..];
        if (rest.IsEmpty || rest[0] != '[')
        {
            return false; // no timestamp: the record cannot be placed in time
        }

        var end = rest.IndexOf(']');
        if (end < 0)
        {
            return false;
        }

        var stamp = rest[1..end].Trim();
        var dot = stamp.IndexOf('.');
        if (dot <= 0
            || !long.TryParse(stamp[..dot], NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            || !long.TryParse(stamp[(dot + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var micros))
        {
            return false;
        }

        microseconds = (seconds * 1_000_000) + micros;
        message = rest[(end + 1)..];
        if (!message.IsEmpty && message[0] == ' ')
        {
            message = message[1..];
        }

        return true;
    }

    [LibraryImport("libc", EntryPoint = "klogctl", SetLastError = true)]
    private static unsafe partial int KlogCtl(int type, byte* buffer, int length);
}
