using Periscope.Agent.Collection;
using Periscope.Bundle;

namespace Periscope.Agent.Collectors.System.Rules;

/// <summary><c>CONNTRACK_NEAR_LIMIT</c>: the connection-tracking table at or past the usage threshold.</summary>
internal static class ConntrackNearLimitRule
{
    public static Observation? Check(CollectionContext context, long count, long max, SystemCollectorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var usedPercent = 100.0 * count / max;
        if (!(usedPercent >= options.ConntrackUsageThresholdPercent))
        {
            return null;
        }

        return Observations.Of(context, FindingCodes.ConntrackNearLimit, Severity.Warning, "The connection-tracking table is nearly full",
            Observations.Node(context),
            $"{count} of {max} entries in use ({usedPercent:0.#}%; threshold {options.ConntrackUsageThresholdPercent}%).",
            new EvidenceReference(context.Output.BundlePath("conntrack"), 1),
            ("count", count), ("max", max));
    }
}
