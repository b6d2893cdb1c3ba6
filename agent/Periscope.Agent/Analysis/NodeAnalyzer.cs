using Periscope.Agent.Collection;
using Periscope.Bundle;

namespace Periscope.Agent.Analysis;

/// <summary>
/// Turns the collectors' observations into the node's findings. Findings that join two collectors (an OOM-killed
/// container and its kernel OOM kill) belong here, after the collectors, because collectors are independent.
/// </summary>
internal static class NodeAnalyzer
{
    public static IReadOnlyList<Finding> Analyze(IReadOnlyList<CollectorResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var observations = results.SelectMany(r => r.Observations.Select(o => (Collector: r.Name, Observation: o))).ToList();
        observations = JoinOomKills(observations);
        return FindingAggregator.Aggregate(observations);
    }

    /// <summary>
    /// On a runtime's CONTAINER_OOMKILLED: it stands only when the kernel's OOM kill of the same container is seen
    /// (a SIGKILL exit the runtime did not call an OOM kill).
    /// </summary>
    public const string ConfirmByKernel = Observation.ConfirmByKernelAttribute;

    /// <summary>
    /// One story, not two unrelated lines: a container the runtime reports OOMKilled and the kernel's OOM kill of the
    /// same container id become one CONTAINER_OOMKILLED finding carrying the kernel's figures and evidence. A runtime
    /// observation marked <see cref="ConfirmByKernel"/> without the kernel's kill is dropped.
    /// </summary>
    internal static List<(string Collector, Observation Observation)> JoinOomKills(List<(string Collector, Observation Observation)> observations)
    {
        observations = observations
            .Where(x => !(x.Observation.Code == FindingCodes.ContainerOomKilled && x.Observation.Attributes.ContainsKey(ConfirmByKernel)
                          && !(x.Observation.Attributes.TryGetValue("containerId", out var id) && observations.Any(k => IsKernelKillOf(k.Observation, id)))))
            .ToList();
        var kernelKills = observations
            .Where(x => x.Observation.Code == "KERNEL_OOM_KILL" && x.Observation.Subject.Kind == SubjectKind.Container)
            .GroupBy(x => x.Observation.Subject.Id, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        if (kernelKills.Count == 0)
        {
            return observations;
        }

        var joined = new HashSet<Observation>(ReferenceEqualityComparer.Instance);
        var result = new List<(string, Observation)>(observations.Count);
        foreach (var (collector, observation) in observations)
        {
            if (observation.Code == FindingCodes.ContainerOomKilled
                && observation.Attributes.TryGetValue("containerId", out var id)
                && kernelKills.TryGetValue(id, out var kills))
            {
                var kernel = kills[^1].Observation;
                var attributes = new Dictionary<string, string>(observation.Attributes, StringComparer.Ordinal);
                var confirmed = attributes.Remove(ConfirmByKernel);
                foreach (var name in new[] { "pid", "process", "anonRssKb", "totalVmKb", "memcg", "scope", "qosClass" })
                {
                    if (kernel.Attributes.TryGetValue(name, out var value))
                    {
                        attributes["kernel." + name] = value;
                    }
                }

                if (kernel.Evidence is { } evidence)
                {
                    attributes["kernelEvidence"] = $"{evidence.File}:{evidence.Line}";
                }

                result.Add((collector, observation with
                {
                    Severity = kernel.Severity > observation.Severity ? kernel.Severity : observation.Severity,
                    Detail = $"{observation.Detail}{(confirmed ? " The kernel's OOM kill of this container confirms it." : string.Empty)} Kernel: {kernel.Detail}",
                    Attributes = attributes,
                }));
                foreach (var kill in kills)
                {
                    joined.Add(kill.Observation);
                }

                continue;
            }

            result.Add((collector, observation));
        }

        return result.Where(x => !joined.Contains(x.Item2)).ToList();
    }

    private static bool IsKernelKillOf(Observation observation, string containerId)
        => observation.Code == "KERNEL_OOM_KILL" && observation.Subject.Kind == SubjectKind.Container && observation.Subject.Id == containerId;
}
