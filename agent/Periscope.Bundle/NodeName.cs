using System.Text.RegularExpressions;

namespace Periscope.Bundle;

/// <summary>Node names as they appear in store paths: a host name, never a path.</summary>
public static partial class NodeName
{
    /// <summary>Whether <paramref name="value"/> can name a node's bundle.</summary>
    public static bool IsValid(string? value)
        => value is not null && Pattern().IsMatch(value) && !value.Contains("..", StringComparison.Ordinal);

    /// <summary>Throws <see cref="ArgumentException"/> with a clear message unless the name is valid.</summary>
    public static string Validate(string? value)
        => IsValid(value)
            ? value!
            : throw new ArgumentException(
                $"Node name '{value}' is not valid: it must be a host name of letters, digits, '.', '_' and '-' (at most 242 characters, so that <node>.status.json and the writer's temporary names fit Linux's 255-byte file names).");

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,241}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
