using Periscope.Agent.Collection;
using Periscope.Bundle;

namespace Periscope.Agent.Collectors.System.Rules;

/// <summary><c>MEMORY_PRESSURE</c>: MemAvailable below the kubelet's hard eviction threshold.</summary>
internal static class MemoryPressureRule
{
    public static Observation? Check(CollectionContext context, (long Bytes, int Line) available, (long Bytes, int Line) total, SystemCollectorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (available.Bytes >= options.MemoryAvailableThresholdBytes)
        {
            return null;
        }

        return Observations.Of(context, FindingCodes.MemoryPressure, Severity.Critical, "Available memory is below the eviction threshold",
            Observations.Node(context),
            $"MemAvailable is {Units.Mib(available.Bytes)} of {Units.Mib(total.Bytes)}; threshold {Units.Mib(options.MemoryAvailableThresholdBytes)}.",
            new EvidenceReference(context.Output.BundlePath("meminfo"), available.Line),
            ("availableBytes", available.Bytes), ("totalBytes", total.Bytes), ("thresholdBytes", options.MemoryAvailableThresholdBytes));
    }
}
