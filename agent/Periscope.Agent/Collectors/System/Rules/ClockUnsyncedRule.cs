using Periscope.Agent.Collection;
using Periscope.Bundle;

namespace Periscope.Agent.Collectors.System.Rules;

/// <summary><c>CLOCK_UNSYNCED</c>: a time-sync service runs but the kernel clock is marked unsynchronised.</summary>
internal static class ClockUnsyncedRule
{
    public static Observation? Check(CollectionContext context, string service, KernelClockState state, string detail)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (!state.Unsynchronized)
        {
            return null;
        }

        return Observations.Of(context, FindingCodes.ClockUnsynced, Severity.Warning, "The node clock is not synchronised", Observations.Node(context),
            detail + $"; estimated maximum error {state.MaxErrorMicroseconds} µs.",
            evidence: null,
            ("service", service), ("maxErrorMicroseconds", state.MaxErrorMicroseconds));
    }
}
