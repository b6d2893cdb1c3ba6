using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Periscope.Bundle;

namespace Periscope.Agent.Collection.LogRules;

/// <summary>
/// A compiled log rule table (kernel, kubelet: data files embedded in the agent). A line is first checked against
/// every rule's keywords at once (a vectorised multi-string search); only lines holding a keyword are run through the
/// rules' patterns, first match wins.
/// </summary>
internal sealed class LogRuleSet
{
    private static readonly TimeSpan MatchTimeout = TimeSpan.FromMilliseconds(250);

    private LogRuleSet(IReadOnlyList<LogRule> rules)
    {
        Rules = rules;
        Keywords = SearchValues.Create(rules.SelectMany(r => r.Keywords).Distinct(StringComparer.Ordinal).ToArray(), StringComparison.Ordinal);
    }

    public IReadOnlyList<LogRule> Rules { get; }

    public SearchValues<string> Keywords { get; }

    /// <summary>Parses a rule file; <paramref name="roles"/> lists the roles its reader understands besides <c>event</c>.</summary>
    public static LogRuleSet Parse(string json, IReadOnlyCollection<string>? roles = null)
    {
        var file = JsonSerializer.Deserialize(json, LogRulesJsonContext.Default.LogRuleFile)
            ?? throw new InvalidDataException("The rule file is empty.");
        return FromDefinitions(file.Rules ?? throw new InvalidDataException("The rule file has no rules."), roles);
    }

    public static LogRuleSet FromDefinitions(IEnumerable<LogRuleDefinition> definitions, IReadOnlyCollection<string>? roles = null)
    {
        ArgumentNullException.ThrowIfNull(definitions);
        var rules = new List<LogRule>();
        foreach (var definition in definitions)
        {
            rules.Add(LogRule.Compile(definition, MatchTimeout, roles ?? []));
        }

        return new LogRuleSet(rules);
    }

    /// <summary>Reads a rule file embedded in the agent.</summary>
    public static string ReadEmbedded(string resourceName)
    {
        using var stream = typeof(LogRuleSet).Assembly.GetManifestResourceStream(resourceName)
            ?? throw new InvalidOperationException($"Embedded resource {resourceName} is missing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>True when the text holds any rule's keyword (the cheap pre-filter).</summary>
    public bool MayMatch(ReadOnlySpan<char> text) => text.IndexOfAny(Keywords) >= 0;

    /// <summary>The first rule matching <paramref name="text"/>, or null.</summary>
    public LogRuleMatch? Match(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!MayMatch(text))
        {
            return null;
        }

        foreach (var rule in Rules)
        {
            if (!rule.HasKeyword(text))
            {
                continue;
            }

            Match match;
            try
            {
                match = rule.Regex.Match(text);
            }
            catch (RegexMatchTimeoutException)
            {
                continue; // a pathological line is not classified rather than stalling the run
            }

            if (match.Success)
            {
                return new LogRuleMatch(rule, match);
            }
        }

        return null;
    }
}

/// <summary>A compiled rule.</summary>
internal sealed class LogRule
{
    private LogRule(LogRuleDefinition definition, Regex regex, Severity severity, SubjectKind? subjectKind)
    {
        Definition = definition;
        Regex = regex;
        Severity = severity;
        SubjectKind = subjectKind;
    }

    public LogRuleDefinition Definition { get; }
    public Regex Regex { get; }
    public Severity Severity { get; }
    public SubjectKind? SubjectKind { get; }
    public string Code => Definition.Code;
    public string Role => Definition.Role ?? "event";
    public IReadOnlyList<string> Keywords => Definition.Keywords ?? [];
    public int MinCount => Math.Max(1, Definition.MinCount ?? 1);

    public bool HasKeyword(string text)
    {
        foreach (var keyword in Keywords)
        {
            if (text.Contains(keyword, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    public Severity SeverityFor(Match match)
    {
        if (Definition.SeverityFrom is { } from
            && match.Groups[from.Group] is { Success: true } group
            && from.Map.TryGetValue(group.Value, out var mapped))
        {
            return ParseSeverity(mapped, Code);
        }

        return Severity;
    }

    public static LogRule Compile(LogRuleDefinition definition, TimeSpan matchTimeout, IReadOnlyCollection<string> roles)
    {
        ArgumentNullException.ThrowIfNull(definition);
        if (definition.Keywords is not { Count: > 0 } || definition.Keywords.Any(string.IsNullOrEmpty))
        {
            throw new InvalidDataException($"Rule {definition.Code} has no keywords; every rule needs at least one literal for the pre-filter.");
        }

        if (definition.Role is not (null or "event") && !roles.Contains(definition.Role))
        {
            throw new InvalidDataException($"Rule {definition.Code} has unknown role '{definition.Role}'.");
        }

        Regex regex;
        try
        {
            // ExplicitCapture: only named groups capture; the unnamed ones exist for ERE compatibility.
            regex = new Regex(definition.Pattern, RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture, matchTimeout);
        }
        catch (ArgumentException ex)
        {
            throw new InvalidDataException($"Rule {definition.Code} has an invalid pattern: {ex.Message}", ex);
        }

        SubjectKind? kind = null;
        if (definition.Subject is { } subject)
        {
            kind = subject.Kind switch
            {
                "device" => Bundle.SubjectKind.Device,
                "interface" => Bundle.SubjectKind.Interface,
                "node" => Bundle.SubjectKind.Node,
                "pod" => Bundle.SubjectKind.Pod,
                "server" => Bundle.SubjectKind.Server,
                _ => throw new InvalidDataException($"Rule {definition.Code} has unsupported subject kind '{subject.Kind}'."),
            };
        }

        if (definition.SeverityFrom is { } severityFrom)
        {
            foreach (var value in severityFrom.Map.Values)
            {
                _ = ParseSeverity(value, definition.Code);
            }
        }

        return new LogRule(definition, regex, ParseSeverity(definition.Severity ?? "warning", definition.Code), kind);
    }

    private static Severity ParseSeverity(string value, string code) => value switch
    {
        "info" => Bundle.Severity.Info,
        "warning" => Bundle.Severity.Warning,
        "critical" => Bundle.Severity.Critical,
        _ => throw new InvalidDataException($"Rule {code} has unknown severity '{value}'."),
    };
}

/// <summary>A rule that matched a line, with its match.</summary>
internal sealed record LogRuleMatch(LogRule Rule, Match Match)
{
    public string? Group(string name) => Match.Groups[name] is { Success: true } g ? g.Value : null;

    /// <summary>The named groups that matched, as finding attributes.</summary>
    public Dictionary<string, string> Attributes()
    {
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in Rule.Regex.GetGroupNames())
        {
            if (!char.IsAsciiDigit(name[0]) && Group(name) is { } value)
            {
                attributes[name] = value;
            }
        }

        if (Rule.Definition.AttributeFrom is { } from && Group(from.Group) is { } key && from.Map.TryGetValue(key, out var mapped))
        {
            attributes[from.Name] = mapped;
        }

        return attributes;
    }

    /// <summary>The value that keeps this event a finding of its own (<see cref="LogRuleDefinition.DistinctBy"/>), or null.</summary>
    public string? Distinct => Rule.Definition.DistinctBy is { } group ? Group(group) : null;

    /// <summary>The subject the rule names from its groups, else <paramref name="fallback"/>.</summary>
    public FindingSubject Subject(FindingSubject fallback)
    {
        if (Rule.SubjectKind is { } kind && Rule.Definition.Subject is { } definition)
        {
            var id = definition.Groups.Select(Group).FirstOrDefault(v => !string.IsNullOrEmpty(v));
            if (id is not null)
            {
                return new FindingSubject(kind, id);
            }
        }

        return fallback;
    }

    /// <summary>The rule's title with <c>{group}</c> placeholders filled in (<c>?</c> for a group that did not match).</summary>
    public string Title()
    {
        var template = Rule.Definition.Title;
        if (!template.Contains('{', StringComparison.Ordinal))
        {
            return template;
        }

        var builder = new StringBuilder(template.Length + 16);
        var i = 0;
        while (i < template.Length)
        {
            var open = template.IndexOf('{', i);
            var close = open < 0 ? -1 : template.IndexOf('}', open);
            if (open < 0 || close < 0)
            {
                builder.Append(template, i, template.Length - i);
                break;
            }

            builder.Append(template, i, open - i);
            builder.Append(Group(template[(open + 1)..close]) ?? "?");
            i = close + 1;
        }

        return builder.ToString();
    }
}
