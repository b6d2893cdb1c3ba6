using System.Globalization;
using Periscope.Agent.Collection;
using Periscope.Bundle;
using Periscope.Bundle.Facts;

namespace Periscope.Agent.Collectors.Containerd.Rules;

/// <summary><c>RUNTIME_API_SLOW</c>: a CRI call of this run took longer than the threshold.</summary>
internal static class RuntimeApiSlowRule
{
    public static Observation? Check(CollectionContext context, FindingSubject server, CriCallFacts call, ContainerdCollectorOptions options)
    {
        ArgumentNullException.ThrowIfNull(call);
        ArgumentNullException.ThrowIfNull(options);
        if (!(call.DurationMs > options.SlowCallThreshold.TotalMilliseconds))
        {
            return null;
        }

        return Observations.Of(context, FindingCodes.RuntimeApiSlow, Severity.Warning, $"CRI call {call.Method} took {call.DurationMs / 1000:0.0} s", server,
            $"{call.Method} answered after {call.DurationMs:0} ms (threshold {options.SlowCallThreshold.TotalMilliseconds:0} ms); outcome {call.Outcome}.",
            evidence: null,
            ("method", call.Method), ("durationMs", call.DurationMs.ToString("0", CultureInfo.InvariantCulture)));
    }
}
