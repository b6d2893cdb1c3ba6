using System.Globalization;
using System.Text;

namespace Periscope.Agent.Collection.Node;

/// <summary>
/// Parses /dev/kmsg records: <c>prio,seq,usec,flags[,more];text</c>, followed (in a captured file) by continuation
/// lines that begin with a space and carry <c>KEY=value</c> pairs. Level = prio &amp; 7, facility = prio &gt;&gt; 3.
/// Non-printable bytes in the text arrive escaped as <c>\xNN</c>.
/// See https://www.kernel.org/doc/Documentation/ABI/testing/dev-kmsg.
/// </summary>
internal static class KmsgRecordParser
{
    /// <summary>Parses the header of a record without allocating; <paramref name="text"/> is the raw (escaped) text.</summary>
    public static bool TryParseHeader(ReadOnlySpan<char> line, out int priority, out long sequence, out long microseconds, out ReadOnlySpan<char> text)
    {
        priority = 0;
        sequence = 0;
        microseconds = 0;
        text = default;
        var semicolon = line.IndexOf(';');
        if (semicolon <= 0 || semicolon > 128)
        {
            return false;
        }

        // prio,seq,usec,flags[,more] — digits only in the first three fields
        var header = line[..semicolon];
        var position = 0;
        if (!Digits(header, ref position, out var prio) || prio > 1023
            || !Digits(header, ref position, out sequence)
            || !Digits(header, ref position, out microseconds)
            || position > header.Length)
        {
            return false;
        }

        priority = (int)prio;

        text = line[(semicolon + 1)..].TrimEnd('\n');
        return true;
    }

    /// <summary>Reads digits up to the next ',' (which must follow); advances past it.</summary>
    private static bool Digits(ReadOnlySpan<char> header, ref int position, out long value)
    {
        value = 0;
        var start = position;
        while (position < header.Length && char.IsAsciiDigit(header[position]))
        {
            if (position - start >= 18)
            {
                return false;
            }

            value = (value * 10) + (header[position] - '0');
            position++;
        }

        if (position == start || position >= header.Length || header[position] != ',')
        {
            return false;
        }

        position++;
        return true;
    }

    /// <summary>Parses the first line of a record; false for a line that is not one.</summary>
    public static bool TryParse(ReadOnlySpan<char> line, DateTimeOffset? bootTime, out KmsgRecord record)
    {
        record = null!;
        if (!TryParseHeader(line, out var priority, out var sequence, out var microseconds, out var text))
        {
            return false;
        }

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

    /// <summary>
    /// Writes one evidence line, <c>TIME FACILITY.LEVEL TEXT</c> (no newline): one line per record, escapes kept. <paramref name="escapedText"/> must hold no control
    /// character; kmsg text arrives escaped already.
    /// </summary>
    public static void WriteEvidenceLine(TextWriter writer, DateTimeOffset? time, long? monotonicMicroseconds, int? facilityCode, int? levelCode, ReadOnlySpan<char> escapedText)
    {
        ArgumentNullException.ThrowIfNull(writer);
        Span<char> stamp = stackalloc char[40];
        if (time is { } t && t.UtcDateTime.TryFormat(stamp, out var written, "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture))
        {
            writer.Write(stamp[..written]);
        }
        else if (monotonicMicroseconds is { } us
                 && stamp.TryWrite(CultureInfo.InvariantCulture, $"[{us / 1_000_000}.{us % 1_000_000:000000}]", out written))
        {
            writer.Write(stamp[..written]);
        }
        else
        {
            writer.Write('-');
        }

        writer.Write(' ');
        writer.Write(FacilityName(facilityCode));
        writer.Write('.');
        writer.Write(LevelName(levelCode));
        writer.Write(' ');
        writer.Write(escapedText);
    }

    private static string FacilityName(int? facility) => facility switch
    {
        null => "?",
        0 => "kern",
        1 => "user",
        3 => "daemon",
        _ => "fac" + facility.Value.ToString(CultureInfo.InvariantCulture),
    };

    private static string LevelName(int? level) => level switch
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
