using System.Globalization;
using System.Text.RegularExpressions;

namespace Periscope.Agent.Collection;

/// <summary>
/// One line of a plain Kubernetes component log file. klog's header, <c>Lmmdd hh:mm:ss.uuuuuu threadid file:line] msg</c>
/// (L is I, W, E or F), carries no year and no zone: the time is taken as UTC in the year that puts it closest before
/// <c>now</c>. A leading RFC 3339 timestamp (a syslog or logging-agent prefix) is used instead when present. Other
/// lines are kept as they are, without a time.
/// </summary>
internal static partial class KlogLine
{
    /// <summary>The line as a journal entry (priority from the klog level), or null for a blank line.</summary>
    public static JournalEntry? Parse(ReadOnlySpan<char> line, DateTimeOffset now)
    {
        line = line.Trim();
        if (line.IsEmpty)
        {
            return null;
        }

        DateTimeOffset? time = null;
        var space = line.IndexOf(' ');
        if (space > 0 && char.IsAsciiDigit(line[0])
            && DateTimeOffset.TryParse(line[..space], CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var stamped))
        {
            time = stamped.ToUniversalTime();
        }

        var text = line.ToString();
        Match header;
        try
        {
            header = Header().Match(text);
        }
        catch (RegexMatchTimeoutException)
        {
            return new JournalEntry(text, time, null, null, null);
        }

        if (!header.Success)
        {
            return new JournalEntry(text, time, null, null, null);
        }

        if (time is null
            && int.TryParse(header.Groups["month"].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var month)
            && int.TryParse(header.Groups["day"].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var day)
            && TimeSpan.TryParseExact(header.Groups["clock"].ValueSpan, @"hh\:mm\:ss\.FFFFFF", CultureInfo.InvariantCulture, out var clock)
            && month is >= 1 and <= 12 && day >= 1 && day <= DateTime.DaysInMonth(now.Year, month))
        {
            var guess = new DateTimeOffset(now.Year, month, day, 0, 0, 0, TimeSpan.Zero) + clock;
            time = guess > now.AddDays(1) ? guess.AddYears(-1) : guess; // a December line read in January
        }

        var priority = header.Groups["level"].ValueSpan[0] switch
        {
            'F' => 2,
            'E' => 3,
            'W' => 4,
            _ => 6,
        };
        return new JournalEntry(text[(header.Index + header.Length)..], time, priority, null, null);
    }

    [GeneratedRegex(@"(?<![A-Za-z])(?<level>[IWEF])(?<month>[0-9]{2})(?<day>[0-9]{2}) (?<clock>[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{1,6}) +[0-9]+ [^ \]]+\] ", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 250)]
    private static partial Regex Header();
}
