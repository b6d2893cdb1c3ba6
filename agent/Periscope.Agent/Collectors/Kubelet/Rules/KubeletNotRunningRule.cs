using Periscope.Agent.Collection;
using Periscope.Bundle;

namespace Periscope.Agent.Collectors.Kubelet.Rules;

/// <summary><c>KUBELET_NOT_RUNNING</c>: a Kubernetes node (the collector runs only where the kubelet's config is) with no kubelet process.</summary>
internal static class KubeletNotRunningRule
{
    public static Observation? Check(CollectionContext context, bool processFound)
        => processFound
            ? null
            : Observations.Of(context, FindingCodes.KubeletNotRunning, Severity.Critical, "The kubelet is not running", Observations.Node(context),
                "No kubelet process in the host's process table, but this is a Kubernetes node (its config is present).");
}
