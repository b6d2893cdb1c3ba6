using Periscope.Agent.Collection;
using Periscope.Bundle;

namespace Periscope.Agent.Collectors.Containerd.Rules;

/// <summary><c>RUNTIME_UNREACHABLE</c>: the CRI socket is missing, refuses connections or does not answer.</summary>
internal static class RuntimeUnreachableRule
{
    /// <param name="context">The run.</param>
    /// <param name="server">The runtime's socket as the subject.</param>
    /// <param name="how"><c>socket-missing</c>, <c>refused</c>, <c>timed-out</c> or another reachability.</param>
    /// <param name="detail">What was tried and what happened.</param>
    public static Observation Of(CollectionContext context, FindingSubject server, string how, string detail)
        => Observations.Of(context, FindingCodes.RuntimeUnreachable, Severity.Critical,
            how switch
            {
                "socket-missing" => "The container runtime socket is missing",
                "refused" => "The container runtime refused the connection",
                "timed-out" => "The container runtime did not answer in time",
                _ => "The container runtime could not be reached",
            },
            server, detail, evidence: null, ("reachability", how));
}
