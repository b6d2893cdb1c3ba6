namespace Periscope.Agent.Collectors.Kernel;

/// <summary>One rule of <c>kernel-rules.json</c> as written (data, not code).</summary>
internal sealed record KernelRuleDefinition
{
    public required string Code { get; init; }
    /// <summary>event (default), oom-context, oom-kill or oom-detail.</summary>
    public string? Role { get; init; }

    /// <summary>info, warning (default) or critical.</summary>
    public string? Severity { get; init; }
    public required string Title { get; init; }
    public required string Pattern { get; init; }
    public IReadOnlyList<string>? Keywords { get; init; }
    public KernelRuleSubject? Subject { get; init; }
    public KernelRuleSeverityFrom? SeverityFrom { get; init; }
    public int? MinCount { get; init; }
}

/// <summary>Which named groups name the subject of a rule's findings, and its kind.</summary>
internal sealed record KernelRuleSubject(string Kind, IReadOnlyList<string> Groups);

/// <summary>A severity taken from a named group's value (for example a CPER severity).</summary>
internal sealed record KernelRuleSeverityFrom(string Group, IReadOnlyDictionary<string, string> Map);

/// <summary>The file <c>kernel-rules.json</c>.</summary>
internal sealed record KernelRuleFile
{
    public int Version { get; init; }
    public string? Comment { get; init; }
    public IReadOnlyList<KernelRuleDefinition>? Rules { get; init; }
}
