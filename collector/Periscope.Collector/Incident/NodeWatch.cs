using k8s.Models;
using Periscope.Bundle;
using Periscope.Collector.Sources;

namespace Periscope.Collector.Incident;

/// <summary>Where one node is in a run, as seen from outside it.</summary>
internal enum NodeState
{
    /// <summary>Expected, nothing seen yet.</summary>
    Waiting,

    /// <summary>Its agent wrote the run's started marker.</summary>
    Started,

    /// <summary>Its bundle is in the store, its status record not yet.</summary>
    Sealed,

    /// <summary>Its bundle and status record are in the store.</summary>
    Uploaded,

    /// <summary>Its status record says the collection failed.</summary>
    Failed,

    /// <summary>The DaemonSet runs no pod there (not part of the run).</summary>
    NotSelected,
}

/// <summary>One node's view in the watch: its state, when it started, and (for a node that has not reported) why.</summary>
internal sealed record NodeView(string Node, NodeState State, DateTimeOffset? StartedAt, string? Why)
{
    /// <summary>Reported: its bundle and status record are there (whatever the collection's outcome).</summary>
    public bool Reported => State is NodeState.Uploaded or NodeState.Failed;
}

/// <summary>
/// Folds what the cluster and the store say into each node's state, and says why a node that has not reported has not:
/// not selected by the DaemonSet, its agent pod pending (image pull, resources), crash-looping (the last termination),
/// the node NotReady, no agent pod yet, or its agent running but silent. Never infers progress from nothing: a node is
/// Started only when its agent's marker is in the store.
/// </summary>
internal static class NodeWatch
{
    public static IReadOnlyList<NodeView> Fold(IReadOnlyList<V1Node> nodes, V1PodSpec? template, IReadOnlyList<V1Pod> agentPods, IReadOnlyDictionary<string, RunProgress> progress)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        var podsByNode = agentPods.Select(p => (Pod: p, Node: NodeOf(p))).Where(p => p.Node is not null).GroupBy(p => p.Node!)
            .ToDictionary(g => g.Key, g => g.Select(p => p.Pod).OrderByDescending(p => p.Metadata?.CreationTimestamp).First(), StringComparer.Ordinal);
        var views = new List<NodeView>();
        foreach (var node in nodes.OrderBy(n => n.Metadata!.Name, StringComparer.Ordinal))
        {
            var name = node.Metadata!.Name;
            var seen = progress.GetValueOrDefault(name);
            if (seen?.Status is { } status)
            {
                views.Add(new NodeView(name, status.Collection == CollectorStatus.Failed ? NodeState.Failed : NodeState.Uploaded, status.StartedAt, null));
                continue;
            }

            if (seen?.HasBundle == true)
            {
                views.Add(new NodeView(name, NodeState.Sealed, seen.StartedAt, "bundle sealed, status record not yet written"));
                continue;
            }

            if (template is not null && DaemonSetSelection.WhyNot(template, node) is { } notSelected)
            {
                views.Add(new NodeView(name, NodeState.NotSelected, null, $"not selected by the DaemonSet: {notSelected}"));
                continue;
            }

            if (seen?.StartedAt is { } started)
            {
                views.Add(new NodeView(name, NodeState.Started, started, "collecting (its agent started the run)"));
                continue;
            }

            views.Add(new NodeView(name, NodeState.Waiting, null, WhySilent(node, podsByNode.GetValueOrDefault(name))));
        }

        return views;
    }

    /// <summary>
    /// The node a DaemonSet pod is for: its nodeName once bound, else the node its required affinity names (the
    /// controller pins each pod to its node with <c>matchFields metadata.name In [node]</c>; a pending pod has no nodeName yet).
    /// </summary>
    internal static string? NodeOf(V1Pod pod)
        => pod.Spec?.NodeName ?? pod.Spec?.Affinity?.NodeAffinity?.RequiredDuringSchedulingIgnoredDuringExecution?.NodeSelectorTerms?
            .SelectMany(t => t.MatchFields ?? []).FirstOrDefault(f => f.Key == "metadata.name" && f.OperatorProperty == "In")?.Values?.FirstOrDefault();

    /// <summary>Why a selected node has shown nothing of the run.</summary>
    internal static string WhySilent(V1Node node, V1Pod? pod)
    {
        var ready = node.Status?.Conditions?.FirstOrDefault(c => c.Type == "Ready");
        if (ready is not null && ready.Status != "True")
        {
            return $"node NotReady ({ready.Reason ?? ready.Status}{(string.IsNullOrEmpty(ready.Message) ? string.Empty : ": " + ready.Message)})";
        }

        if (pod is null)
        {
            return "no agent pod on the node (the DaemonSet has not created one)";
        }

        var containers = pod.Status?.ContainerStatuses ?? [];
        if (containers.FirstOrDefault(c => c.State?.Waiting?.Reason == "CrashLoopBackOff") is { } looping)
        {
            var last = looping.LastState?.Terminated;
            return $"agent pod {pod.Metadata!.Name} is crash-looping ({looping.RestartCount} restarts"
                + (last is null ? ")" : $"; last exit: {last.Reason ?? "Error"}, code {last.ExitCode}{(string.IsNullOrEmpty(last.Message) ? string.Empty : ": " + last.Message.Trim())})");
        }

        if (pod.Status?.Phase == "Pending")
        {
            var waiting = containers.Concat(pod.Status.InitContainerStatuses ?? []).Select(c => c.State?.Waiting).FirstOrDefault(w => w?.Reason is not null);
            if (waiting is not null)
            {
                return $"agent pod {pod.Metadata!.Name} is pending: {waiting.Reason}{(string.IsNullOrEmpty(waiting.Message) ? string.Empty : " (" + waiting.Message + ")")}";
            }

            var scheduled = pod.Status.Conditions?.FirstOrDefault(c => c.Type == "PodScheduled" && c.Status == "False");
            return scheduled is not null
                ? $"agent pod {pod.Metadata!.Name} is pending: not scheduled ({scheduled.Reason}: {scheduled.Message})"
                : $"agent pod {pod.Metadata!.Name} is pending";
        }

        if (containers.FirstOrDefault(c => c.State?.Waiting?.Reason is not null) is { } stuck)
        {
            return $"agent pod {pod.Metadata!.Name} is waiting: {stuck.State!.Waiting!.Reason}";
        }

        return pod.Status?.Phase == "Running"
            ? $"agent pod {pod.Metadata!.Name} is running but has not started the run (is it watching the run ConfigMap? its logs say)"
            : $"agent pod {pod.Metadata!.Name} is {pod.Status?.Phase ?? "in an unknown phase"}";
    }
}
