using Periscope.Agent.Collection;
using Periscope.Bundle;

namespace Periscope.Agent.Collectors.System.Rules;

/// <summary><c>PID_PRESSURE</c>: fewer process ids left than the threshold, of the smaller of pid_max and threads-max.</summary>
internal static class PidPressureRule
{
    public static Observation? Check(CollectionContext context, long inUse, long limit, SystemCollectorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var availablePercent = 100.0 * (limit - inUse) / limit;
        if (!(availablePercent < options.PidsAvailableThresholdPercent))
        {
            return null;
        }

        return Observations.Of(context, FindingCodes.PidPressure, Severity.Critical, "Few process ids are left", Observations.Node(context),
            $"{inUse} of {limit} process ids in use ({availablePercent:0.#}% left; threshold {options.PidsAvailableThresholdPercent}%).",
            new EvidenceReference(context.Output.BundlePath("loadavg"), 1),
            ("inUse", inUse), ("limit", limit));
    }
}
