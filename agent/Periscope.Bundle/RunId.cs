using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Periscope.Bundle;

/// <summary>
/// A run id: <c>[A-Za-z0-9][A-Za-z0-9._-]{0,62}</c>; the default is the UTC start time. A value is only made by
/// <see cref="Parse"/>, <see cref="TryParse"/> or <see cref="ForStart"/>, so holding one means it was checked once, at
/// the edge where it came in. The static string helpers (<see cref="IsValid"/>, <see cref="Validate"/>,
/// <see cref="FromTime"/>) serve readers of run ids in names and documents.
/// </summary>
public readonly partial struct RunId : IEquatable<RunId>
{
    /// <summary>The format of a default run id, <c>yyyyMMddTHHmmssZ</c>.</summary>
    public const string DefaultFormat = "yyyyMMdd'T'HHmmss'Z'";

    private readonly string? _value;

    private RunId(string value) => _value = value;

    /// <summary>The id's text.</summary>
    /// <exception cref="InvalidOperationException">A default value, which holds no id.</exception>
    public string Value => _value ?? throw new InvalidOperationException("This RunId was never given a value (default(RunId)).");

    /// <summary>Whether <paramref name="value"/> is a valid run id.</summary>
    public static bool IsValid([NotNullWhen(true)] string? value) => value is not null && Pattern().IsMatch(value);

    /// <summary>Throws <see cref="ArgumentException"/> with a clear message unless the run id is valid.</summary>
    public static string Validate(string? value)
        => IsValid(value)
            ? value
            : throw new ArgumentException(
                $"Run id '{value}' is not valid: it must match [A-Za-z0-9][A-Za-z0-9._-]{{0,62}} (letters, digits, '.', '_', '-'; no path separators).");

    /// <summary>The run id in <paramref name="value"/>.</summary>
    /// <exception cref="ArgumentException">It is not a valid run id; the message says what is allowed.</exception>
    public static RunId Parse(string? value) => new(Validate(value));

    /// <summary>The run id in <paramref name="value"/>, or false when it is not a valid one.</summary>
    public static bool TryParse([NotNullWhen(true)] string? value, out RunId runId)
    {
        runId = IsValid(value) ? new RunId(value) : default;
        return runId._value is not null;
    }

    /// <summary>The default run id for a run started at <paramref name="start"/>.</summary>
    public static string FromTime(DateTimeOffset start)
        => start.UtcDateTime.ToString(DefaultFormat, CultureInfo.InvariantCulture);

    /// <summary>The default run id, as a value, for a run started at <paramref name="start"/>.</summary>
    public static RunId ForStart(DateTimeOffset start) => new(FromTime(start));

    /// <summary>Equal ids are equal text, compared ordinally.</summary>
    public bool Equals(RunId other) => string.Equals(_value, other._value, StringComparison.Ordinal);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is RunId other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => _value is null ? 0 : StringComparer.Ordinal.GetHashCode(_value);

    /// <summary>The id's text (empty for a default value).</summary>
    public override string ToString() => _value ?? string.Empty;

    /// <summary>Ordinal equality.</summary>
    public static bool operator ==(RunId left, RunId right) => left.Equals(right);

    /// <summary>Ordinal inequality.</summary>
    public static bool operator !=(RunId left, RunId right) => !left.Equals(right);

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,62}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
