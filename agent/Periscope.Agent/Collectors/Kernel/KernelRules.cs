using Periscope.Agent.Collection.LogRules;

namespace Periscope.Agent.Collectors.Kernel;

/// <summary>The kernel rule table shipped inside the agent (<c>kernel-rules.json</c>).</summary>
internal static class KernelRules
{
    public const string ResourceName = "Periscope.Agent.kernel-rules.json";

    /// <summary>Roles the kernel analyzer gives meaning to, besides plain events.</summary>
    public static readonly IReadOnlyCollection<string> Roles = ["oom-context", "oom-kill", "oom-detail", "oom-group", "block-end", "recovery", "ignore"];

    private static readonly Lazy<LogRuleSet> Shipped = new(() => LogRuleSet.Parse(ReadShippedJson(), Roles));

    public static LogRuleSet Default => Shipped.Value;

    public static string ReadShippedJson() => LogRuleSet.ReadEmbedded(ResourceName);
}
