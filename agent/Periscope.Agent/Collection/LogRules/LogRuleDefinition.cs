namespace Periscope.Agent.Collection.LogRules;

/// <summary>One rule of a rule file (<c>kernel-rules.json</c>, <c>kubelet-rules.json</c>) as written: data, not code.</summary>
internal sealed record LogRuleDefinition
{
    public required string Code { get; init; }
    /// <summary>event (default), or a role the file's reader defines (the kernel's oom-context, oom-kill, oom-detail).</summary>
    public string? Role { get; init; }

    /// <summary>info, warning (default) or critical.</summary>
    public string? Severity { get; init; }
    public required string Title { get; init; }
    public required string Pattern { get; init; }
    public IReadOnlyList<string>? Keywords { get; init; }
    public LogRuleSubject? Subject { get; init; }
    public LogRuleSeverityFrom? SeverityFrom { get; init; }
    public int? MinCount { get; init; }

    /// <summary>
    /// A named group whose value tells events of one code and subject apart: each value is a finding of its own (each
    /// crashed process, each warning's location), where otherwise they would fold into one.
    /// </summary>
    public string? DistinctBy { get; init; }

    /// <summary>An attribute taken from a named group's value through a map (for example an Xid's meaning).</summary>
    public LogRuleAttributeFrom? AttributeFrom { get; init; }
}

/// <summary>Adds the attribute <see cref="Name"/> with the map's value for the group's value, when the map has it.</summary>
internal sealed record LogRuleAttributeFrom(string Group, string Name, IReadOnlyDictionary<string, string> Map);

/// <summary>Which named groups name the subject of a rule's findings, and its kind.</summary>
internal sealed record LogRuleSubject(string Kind, IReadOnlyList<string> Groups);

/// <summary>A severity taken from a named group's value (for example a CPER severity).</summary>
internal sealed record LogRuleSeverityFrom(string Group, IReadOnlyDictionary<string, string> Map);

/// <summary>A rule file.</summary>
internal sealed record LogRuleFile
{
    public int Version { get; init; }
    public string? Comment { get; init; }
    public IReadOnlyList<LogRuleDefinition>? Rules { get; init; }
}
