using Periscope.Agent.Collection;
using Periscope.Bundle;
using Periscope.Bundle.Facts;

namespace Periscope.Agent.Collectors.Cni.Rules;

/// <summary><c>CNI_IP_EXHAUSTION</c>: a pod address range allocated past the warning share; critical when full.</summary>
internal static class CniIpExhaustionRule
{
    public static Observation? Check(CollectionContext context, IpamRangeFacts range, CniCollectorOptions options)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(range);
        ArgumentNullException.ThrowIfNull(options);
        if (range.Usable <= 0)
        {
            return null;
        }

        var percent = 100.0 * range.Allocated / range.Usable;
        if (percent < options.IpExhaustionWarningPercent)
        {
            return null;
        }

        var full = range.Allocated >= range.Usable;
        return Observations.Of(context, FindingCodes.CniIpExhaustion, full ? Severity.Critical : Severity.Warning,
            full ? $"Pod range {range.Range} is full" : $"Pod range {range.Range} is {percent:0} % allocated",
            new FindingSubject(SubjectKind.Node, $"{context.NodeName}/{range.Range}"),
            $"{range.Allocated} of {range.Usable} usable addresses allocated ({range.Source}, network {range.Network}). " +
            (full ? "New pods on this node fail with 'no IP addresses available'." : "New pods will soon fail to get an address."),
            evidence: null,
            ("source", range.Source), ("network", range.Network), ("allocated", range.Allocated), ("usable", range.Usable));
    }
}
