using System.Globalization;

namespace Periscope.Agent.Runs;

/// <summary>Parses <c>--since</c> / <c>--until</c>: an RFC 3339 time, or a duration before now (<c>90m</c>, <c>2h</c>, <c>1d</c>).</summary>
internal static class TimeArgument
{
    public static DateTimeOffset? Parse(string? value, DateTimeOffset now, string option)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        value = value.Trim();
        var unit = value[^1];
        if (unit is 's' or 'm' or 'h' or 'd'
            && double.TryParse(value.AsSpan(0, value.Length - 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var amount)
            && amount >= 0)
        {
            return now - unit switch
            {
                's' => TimeSpan.FromSeconds(amount),
                'm' => TimeSpan.FromMinutes(amount),
                'h' => TimeSpan.FromHours(amount),
                _ => TimeSpan.FromDays(amount),
            };
        }

        if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time))
        {
            return time;
        }

        throw new ArgumentException($"{option} '{value}' is neither an RFC 3339 time (2026-11-23T10:00:00Z) nor a duration before now (90m, 2h, 1d).");
    }
}
