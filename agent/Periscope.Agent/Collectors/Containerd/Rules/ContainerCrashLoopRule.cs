using Periscope.Agent.Collection;
using Periscope.Bundle;
using Periscope.Bundle.Facts;

namespace Periscope.Agent.Collectors.Containerd.Rules;

/// <summary>
/// <c>CONTAINER_CRASHLOOP</c>: a Kubernetes container restarted at least <c>CrashLoopRestarts</c> times and its last
/// exited attempt ended non-zero. Dated by that exit.
/// </summary>
internal static class ContainerCrashLoopRule
{
    /// <param name="context">The run.</param>
    /// <param name="attempts">One Kubernetes container's attempts, newest first.</param>
    /// <param name="options">The restart count that makes a crash loop.</param>
    public static Observation? Check(CollectionContext context, IReadOnlyList<ContainerFacts> attempts, ContainerdCollectorOptions options)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(attempts);
        ArgumentNullException.ThrowIfNull(options);
        if (attempts.Count == 0)
        {
            return null;
        }

        var latest = attempts[0];
        var lastExit = attempts.FirstOrDefault(c => c.State == "exited");
        if (!(latest.RestartCount >= options.CrashLoopRestarts && lastExit is { ExitCode: not 0 and not null }))
        {
            return null;
        }

        return Observations.Of(context, FindingCodes.ContainerCrashLoop, Severity.Warning,
            $"{latest.Namespace}/{latest.Pod}/{latest.Name} is crash-looping", ContainerAttributes.Subject(latest),
            $"Restarted {latest.RestartCount} times; last exit code {lastExit.ExitCode} ({lastExit.Reason ?? "no reason"}).",
            new EvidenceReference(context.Output.BundlePath("containers.json"), null))
            with
            {
                Attributes = ContainerAttributes.Of(latest, lastExit),
                Time = lastExit.FinishedAt ?? context.Time.GetUtcNow(),
            };
    }
}
