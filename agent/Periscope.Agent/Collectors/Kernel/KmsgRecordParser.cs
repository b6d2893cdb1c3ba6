using System.Globalization;
using System.Text;

namespace Periscope.Agent.Collectors.Kernel;

/// <summary>
/// Parses /dev/kmsg records: <c>prio,seq,usec,flags[,more];text</c>, followed (in a captured file) by continuation
/// lines that begin with a space and carry <c>KEY=value</c> pairs. Level = prio &amp; 7, facility = prio &gt;&gt; 3.
/// Non-printable bytes in the text arrive escaped as <c>\xNN</c>.
/// See https://www.kernel.org/doc/Documentation/ABI/testing/dev-kmsg.
/// </summary>
internal static class KmsgRecordParser
{
    /// <summary>Parses the first line of a record; false for a line that is not one.</summary>
    public static bool TryParse(ReadOnlySpan<char> line, DateTimeOffset? bootTime, out KmsgRecord record)
    {
        record = null!;
        var semicolon = line.IndexOf(';');
        if (semicolon <= 0 || semicolon > 128)
        {
            return false;
        }

        var header = line[..semicolon];
        Span<Range> fields = stackalloc Range[5];
        var count = header.Split(fields, ',');
        if (count < 4
            || !int.TryParse(header[fields[0]], NumberStyles.None, CultureInfo.InvariantCulture, out var priority)
            || !long.TryParse(header[fields[1]], NumberStyles.None, CultureInfo.InvariantCulture, out var sequence)
            || !long.TryParse(header[fields[2]], NumberStyles.None, CultureInfo.InvariantCulture, out var microseconds)
            || priority > 1023)
        {
            return false;
        }

        var text = line[(semicolon + 1)..].TrimEnd('\n');
        record = new KmsgRecord
        {
            Facility = priority >> 3,
            Level = priority & 7,
            Sequence = sequence,
            MonotonicMicroseconds = microseconds,
            Time = bootTime?.AddTicks(microseconds * 10),
            Text = Unescape(text),
        };
        return true;
    }

    /// <summary>Decodes <c>\xNN</c> escapes; anything else is kept as is.</summary>
    public static string Unescape(ReadOnlySpan<char> text)
    {
        var backslash = text.IndexOf("\\x", StringComparison.Ordinal);
        if (backslash < 0)
        {
            return text.ToString();
        }

        var builder = new StringBuilder(text.Length);
        var bytes = new List<byte>();
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '\\' && i + 3 < text.Length && text[i + 1] == 'x'
                && byte.TryParse(text.Slice(i + 2, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var b))
            {
                bytes.Add(b);
                i += 3;
                continue;
            }

            Flush();
            builder.Append(text[i]);
        }

        Flush();
        return builder.ToString();

        void Flush()
        {
            if (bytes.Count > 0)
            {
                builder.Append(Encoding.UTF8.GetString(bytes.ToArray()));
                bytes.Clear();
            }
        }
    }

    /// <summary>The text written to the evidence file for a record: one line per record, escapes kept.</summary>
    public static string EvidenceLine(KmsgRecord record)
    {
        var time = record.Time is { } t ? Bundle.UtcTimestampConverter.Format(t)
            : record.MonotonicMicroseconds is { } us ? $"[{us / 1_000_000}.{us % 1_000_000:000000}]" : "-";
        var facility = record.Facility switch
        {
            null => "?",
            0 => "kern",
            1 => "user",
            3 => "daemon",
            _ => "fac" + record.Facility.Value.ToString(CultureInfo.InvariantCulture),
        };
        var level = record.Level switch
        {
            0 => "emerg",
            1 => "alert",
            2 => "crit",
            3 => "err",
            4 => "warn",
            5 => "notice",
            6 => "info",
            7 => "debug",
            _ => "?",
        };
        return $"{time} {facility}.{level} {Escape(record.Text)}";
    }

    /// <summary>Escapes control characters (a decoded newline among them) so that one record stays one line.</summary>
    public static string Escape(string text)
    {
        if (!text.AsSpan().ContainsAnyInRange('\0', '\x1f') && !text.Contains('\x7f', StringComparison.Ordinal))
        {
            return text;
        }

        var builder = new StringBuilder(text.Length + 8);
        foreach (var c in text)
        {
            if (c < 0x20 || c == 0x7f)
            {
                builder.Append(CultureInfo.InvariantCulture, $"\\x{(int)c:x2}");
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }
}
