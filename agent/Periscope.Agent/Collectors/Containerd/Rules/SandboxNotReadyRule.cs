using Periscope.Agent.Collection;
using Periscope.Bundle;
using Periscope.Bundle.Facts;

namespace Periscope.Agent.Collectors.Containerd.Rules;

/// <summary>
/// <c>SANDBOX_NOT_READY</c>: a pod's old sandboxes stay NotReady until garbage-collected, and so do finished pods': only
/// the newest sandbox of a pod that the kubelet already had to re-create (attempt &gt; 0) says something is wrong.
/// Dated by that sandbox's creation.
/// </summary>
internal static class SandboxNotReadyRule
{
    /// <param name="context">The run.</param>
    /// <param name="sandboxes">One pod's sandboxes.</param>
    public static Observation? Check(CollectionContext context, IEnumerable<SandboxFacts> sandboxes)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(sandboxes);
        var newest = sandboxes.OrderByDescending(s => s.Attempt).ThenByDescending(s => s.CreatedAt).FirstOrDefault();
        if (newest is not { State: "notready", Attempt: > 0 })
        {
            return null;
        }

        return Observations.Of(context, FindingCodes.SandboxNotReady, Severity.Warning, $"Pod sandbox of {newest.Namespace}/{newest.Pod} is not ready",
            new FindingSubject(SubjectKind.Pod, newest.Uid),
            $"The newest sandbox (attempt {newest.Attempt}) is NotReady.",
            new EvidenceReference(context.Output.BundlePath("sandboxes.json"), null),
            ("namespace", newest.Namespace), ("pod", newest.Pod), ("sandboxId", newest.Id), ("attempt", newest.Attempt))
            with
            {
                Time = newest.CreatedAt,
            };
    }
}
