using System.Globalization;
using Periscope.Bundle;
using Periscope.Bundle.Facts;

namespace Periscope.Agent.Collectors.Containerd.Rules;

/// <summary>What the container rules say about a Kubernetes container: who it is, from its newest attempt, and how an attempt ended.</summary>
internal static class ContainerAttributes
{
    /// <summary>The subject of a Kubernetes container's findings: one for all its attempts.</summary>
    public static FindingSubject Subject(ContainerFacts container)
    {
        ArgumentNullException.ThrowIfNull(container);
        return new FindingSubject(SubjectKind.Container, $"{container.Namespace}/{container.Pod}/{container.Name}");
    }

    /// <param name="latest">The container's newest attempt: its pod and restart count.</param>
    /// <param name="exit">The attempt whose end is judged: its id, attempt, exit code and reason.</param>
    public static Dictionary<string, string> Of(ContainerFacts latest, ContainerFacts exit)
    {
        ArgumentNullException.ThrowIfNull(latest);
        ArgumentNullException.ThrowIfNull(exit);
        var attributes = new Dictionary<string, string>
        {
            ["namespace"] = latest.Namespace ?? string.Empty,
            ["pod"] = latest.Pod ?? string.Empty,
            ["container"] = latest.Name,
            ["containerId"] = exit.Id,
            ["attempt"] = exit.Attempt.ToString(CultureInfo.InvariantCulture),
        };
        if (latest.PodUid is not null)
        {
            attributes["podUid"] = latest.PodUid;
        }

        if (latest.RestartCount is { } restarts)
        {
            attributes["restartCount"] = restarts.ToString(CultureInfo.InvariantCulture);
        }

        if (exit.ExitCode is { } code)
        {
            attributes["exitCode"] = code.ToString(CultureInfo.InvariantCulture);
        }

        if (exit.Reason is not null)
        {
            attributes["reason"] = exit.Reason;
        }

        return attributes;
    }
}
