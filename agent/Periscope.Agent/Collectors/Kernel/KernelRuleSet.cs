using System.Buffers;
using System.Text.Json;
using System.Text.RegularExpressions;
using Periscope.Agent.Hosting;
using Periscope.Bundle;

namespace Periscope.Agent.Collectors.Kernel;

/// <summary>
/// The compiled kernel rule table. A line is first checked against every rule's keywords at once (a vectorised
/// multi-string search); only lines holding a keyword are run through the rules' patterns, first match wins.
/// </summary>
internal sealed class KernelRuleSet
{
    public const string ResourceName = "Periscope.Agent.kernel-rules.json";
    private static readonly TimeSpan MatchTimeout = TimeSpan.FromMilliseconds(250);
    private static readonly Lazy<KernelRuleSet> Shipped = new(LoadShipped);

    private KernelRuleSet(IReadOnlyList<KernelRule> rules)
    {
        Rules = rules;
        Keywords = SearchValues.Create(rules.SelectMany(r => r.Keywords).Distinct(StringComparer.Ordinal).ToArray(), StringComparison.Ordinal);
    }

    public IReadOnlyList<KernelRule> Rules { get; }

    public SearchValues<string> Keywords { get; }

    /// <summary>The rule table shipped inside the agent.</summary>
    public static KernelRuleSet Default => Shipped.Value;

    public static KernelRuleSet Parse(string json)
    {
        var file = JsonSerializer.Deserialize(json, AgentJsonContext.Default.KernelRuleFile)
            ?? throw new InvalidDataException("The kernel rule file is empty.");
        return FromDefinitions(file.Rules ?? throw new InvalidDataException("The kernel rule file has no rules."));
    }

    public static KernelRuleSet FromDefinitions(IEnumerable<KernelRuleDefinition> definitions)
    {
        var rules = new List<KernelRule>();
        foreach (var definition in definitions)
        {
            rules.Add(KernelRule.Compile(definition, MatchTimeout));
        }

        return new KernelRuleSet(rules);
    }

    /// <summary>Reads the rule file embedded in the agent.</summary>
    public static string ReadShippedJson()
    {
        using var stream = typeof(KernelRuleSet).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"Embedded resource {ResourceName} is missing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>True when the text holds any rule's keyword (the cheap pre-filter).</summary>
    public bool MayMatch(ReadOnlySpan<char> text) => text.IndexOfAny(Keywords) >= 0;

    /// <summary>The first rule matching <paramref name="text"/>, or null.</summary>
    public KernelMatch? Match(string text)
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
                return new KernelMatch(rule, match);
            }
        }

        return null;
    }

    private static KernelRuleSet LoadShipped() => Parse(ReadShippedJson());
}

/// <summary>A compiled rule.</summary>
internal sealed class KernelRule
{
    private KernelRule(KernelRuleDefinition definition, Regex regex, Severity severity, SubjectKind? subjectKind)
    {
        Definition = definition;
        Regex = regex;
        Severity = severity;
        SubjectKind = subjectKind;
    }

    public KernelRuleDefinition Definition { get; }
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

    public static KernelRule Compile(KernelRuleDefinition definition, TimeSpan matchTimeout)
    {
        ArgumentNullException.ThrowIfNull(definition);
        if (definition.Keywords is not { Count: > 0 } || definition.Keywords.Any(string.IsNullOrEmpty))
        {
            throw new InvalidDataException($"Kernel rule {definition.Code} has no keywords; every rule needs at least one literal for the pre-filter.");
        }

        if (definition.Role is not (null or "event" or "oom-context" or "oom-kill" or "oom-detail"))
        {
            throw new InvalidDataException($"Kernel rule {definition.Code} has unknown role '{definition.Role}'.");
        }

        Regex regex;
        try
        {
            // ExplicitCapture: only named groups capture; the unnamed ones exist for ERE compatibility.
            regex = new Regex(definition.Pattern, RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture, matchTimeout);
        }
        catch (ArgumentException ex)
        {
            throw new InvalidDataException($"Kernel rule {definition.Code} has an invalid pattern: {ex.Message}", ex);
        }

        SubjectKind? kind = null;
        if (definition.Subject is { } subject)
        {
            kind = subject.Kind switch
            {
                "device" => Bundle.SubjectKind.Device,
                "interface" => Bundle.SubjectKind.Interface,
                "node" => Bundle.SubjectKind.Node,
                _ => throw new InvalidDataException($"Kernel rule {definition.Code} has unsupported subject kind '{subject.Kind}'."),
            };
        }

        if (definition.SeverityFrom is { } severityFrom)
        {
            foreach (var value in severityFrom.Map.Values)
            {
                _ = ParseSeverity(value, definition.Code);
            }
        }

        return new KernelRule(definition, regex, ParseSeverity(definition.Severity ?? "warning", definition.Code), kind);
    }

    private static Severity ParseSeverity(string value, string code) => value switch
    {
        "info" => Bundle.Severity.Info,
        "warning" => Bundle.Severity.Warning,
        "critical" => Bundle.Severity.Critical,
        _ => throw new InvalidDataException($"Kernel rule {code} has unknown severity '{value}'."),
    };
}

/// <summary>A rule that matched a line, with its match.</summary>
internal sealed record KernelMatch(KernelRule Rule, Match Match)
{
    public string? Group(string name) => Match.Groups[name] is { Success: true } g ? g.Value : null;
}
