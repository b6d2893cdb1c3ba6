using System.Globalization;
using System.Text.RegularExpressions;

namespace Periscope.Bundle;

/// <summary>Run ids: <c>[A-Za-z0-9][A-Za-z0-9._-]{0,62}</c>; the default is the UTC start time.</summary>
public static partial class RunId
{
    /// <summary>The format of a default run id, <c>yyyyMMddTHHmmssZ</c>.</summary>
    public const string DefaultFormat = "yyyyMMdd'T'HHmmss'Z'";

    /// <summary>Whether <paramref name="value"/> is a valid run id.</summary>
    public static bool IsValid(string? value) => value is not null && Pattern().IsMatch(value);

    /// <summary>Throws <see cref="ArgumentException"/> with a clear message unless the run id is valid.</summary>
    public static string Validate(string? value)
        => IsValid(value)
            ? value!
            : throw new ArgumentException(
                $"Run id '{value}' is not valid: it must match [A-Za-z0-9][A-Za-z0-9._-]{{0,62}} (letters, digits, '.', '_', '-'; no path separators).");

    /// <summary>The default run id for a run started at <paramref name="start"/>.</summary>
    public static string FromTime(DateTimeOffset start)
        => start.UtcDateTime.ToString(DefaultFormat, CultureInfo.InvariantCulture);

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,62}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
