using System.Buffers;
using System.Text.RegularExpressions;

namespace Periscope.Agent.Redaction;

/// <summary>
/// One way a secret shows itself: a pattern whose group <c>secret</c> (else the whole match) is replaced, and the
/// literal strings (compared ignoring case) one of which every match contains, so that a line without any of them is
/// never run through the pattern.
/// </summary>
/// <param name="Name">The rule's name, as it appears in markers and counts (<c>jwt</c>, <c>password</c>).</param>
/// <param name="Pattern">The pattern; compiled with a match timeout or the non-backtracking engine (null for a <see cref="Finder"/>).</param>
/// <param name="Triggers">Literals, one of which every match contains (case-insensitive, unless <paramref name="ExactTriggers"/>).</param>
/// <param name="ExactTriggers">True for a token's own prefixes (<c>ghp_</c>, <c>AIza</c>), which are matched case for case:
/// they are searched for apart from the key vocabulary, so that neither search grows slow with the other's literals.</param>
internal sealed record RedactionRule(string Name, Regex? Pattern, IReadOnlyList<string> Triggers, bool ExactTriggers = false)
{
    public const string SecretGroup = "secret";

    /// <summary>A recogniser in place of a pattern: adds the secrets of a line, each with the rule it counts under.</summary>
    public Action<string, List<SecretSpan>>? Finder { get; init; }

    /// <summary>The names replacements are counted under: the rule's own, or a recogniser's several.</summary>
    public IReadOnlyList<string> Names { get; init; } = [Name];

    private readonly SearchValues<string>? _triggers = Triggers.All(t => t.Length > 0)
        ? SearchValues.Create([.. Triggers.Distinct(ExactTriggers ? StringComparer.Ordinal : StringComparer.OrdinalIgnoreCase)], ExactTriggers ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase)
        : null;

    /// <summary>True when <paramref name="line"/> holds one of the triggers (always, for a rule without any).</summary>
    public bool IsTriggeredBy(ReadOnlySpan<char> line) => _triggers is null || line.IndexOfAny(_triggers) >= 0;

    /// <summary>The part of a match that is the secret.</summary>
    public static Group SecretOf(Match match)
    {
        ArgumentNullException.ThrowIfNull(match);
        return match.Groups[SecretGroup] is { Success: true } secret ? secret : match;
    }
}
