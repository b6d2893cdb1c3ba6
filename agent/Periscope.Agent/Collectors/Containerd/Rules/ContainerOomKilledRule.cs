using Periscope.Agent.Collection;
using Periscope.Bundle;
using Periscope.Bundle.Facts;

namespace Periscope.Agent.Collectors.Containerd.Rules;

/// <summary>
/// <c>CONTAINER_OOMKILLED</c>, one per attempt: an OOM kill the runtime recorded; or a SIGKILL exit (137) it did not
/// call one — containerd can handle the exit before the cgroup's OOM event — which is marked
/// <see cref="Observation.ConfirmByKernelAttribute"/>: it stands only if the kernel's OOM kill of this container
/// confirms it (the analysis decides).
/// </summary>
internal static class ContainerOomKilledRule
{
    /// <param name="context">The run.</param>
    /// <param name="attempts">One Kubernetes container's attempts, newest first.</param>
    public static IEnumerable<Observation> Check(CollectionContext context, IReadOnlyList<ContainerFacts> attempts)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(attempts);
        if (attempts.Count == 0)
        {
            yield break;
        }

        var subject = ContainerAttributes.Subject(attempts[0]);
        foreach (var killed in attempts.Where(c => c.Reason == "OOMKilled" || (c.State == "exited" && c.ExitCode == 137)))
        {
            var recorded = killed.Reason == "OOMKilled";
            var attributes = ContainerAttributes.Of(killed, killed);
            if (!recorded)
            {
                attributes[Observation.ConfirmByKernelAttribute] = "true";
            }

            yield return Observations.Of(context, FindingCodes.ContainerOomKilled, Severity.Warning,
                $"{killed.Namespace}/{killed.Pod}/{killed.Name} was OOM-killed", subject,
                recorded
                    ? $"Attempt {killed.Attempt} ended with exit code {killed.ExitCode}, reason OOMKilled."
                    : $"Attempt {killed.Attempt} ended with exit code 137 (killed), reason {killed.Reason ?? "none"}: the runtime did not record the OOM kill.",
                new EvidenceReference(context.Output.BundlePath("containers.json"), null))
                with
                {
                    Attributes = attributes,
                    Time = killed.FinishedAt ?? context.Time.GetUtcNow(),
                };
        }
    }
}
