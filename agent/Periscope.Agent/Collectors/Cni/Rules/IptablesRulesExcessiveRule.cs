using Periscope.Agent.Collection;
using Periscope.Bundle;
using Periscope.Bundle.Facts;

namespace Periscope.Agent.Collectors.Cni.Rules;

/// <summary>
/// <c>IPTABLES_RULES_EXCESSIVE</c>: more packet-filter rules than the threshold. The iptables back ends that could be
/// listed are counted; nft's rules only when no iptables tool answered (nft lists the iptables-nft rules too).
/// </summary>
internal static class IptablesRulesExcessiveRule
{
    public static Observation? Check(CollectionContext context, IReadOnlyList<RuleCountFacts> rules, CniCollectorOptions options)
    {
        ArgumentNullException.ThrowIfNull(rules);
        ArgumentNullException.ThrowIfNull(options);
        var iptables = rules.Where(r => r.Tool != "nft" && r.Outcome is "ok" or "output-capped").ToList();
        var total = iptables.Count > 0 ? iptables.Sum(r => r.Total) : rules.Where(r => r.Tool == "nft").Sum(r => r.Total);
        if (total <= options.RulesThreshold)
        {
            return null;
        }

        return Observations.Of(context, FindingCodes.IptablesRulesExcessive, Severity.Warning, $"{total:N0} packet-filter rules on the node",
            Observations.Node(context),
            $"More than {options.RulesThreshold:N0} rules ({string.Join(", ", rules.Where(r => r.Total > 0).Select(r => $"{r.Tool}: {r.Total:N0}"))}): rule updates by kube-proxy take seconds and packet processing slows.",
            evidence: null,
            ("rules", total));
    }
}
