using System.Globalization;
using k8s.Models;

namespace Periscope.Collector.Incident;

/// <summary>
/// Whether the DaemonSet controller creates a pod for a node, computed as it does: the pod template's nodeSelector,
/// its required node affinity (nodeSelectorTerms, any term; each term's matchExpressions and matchFields all), and its
/// tolerations — with the ones the controller adds to every DaemonSet pod — against the node's NoSchedule and NoExecute
/// taints. PreferNoSchedule never keeps a pod off.
/// </summary>
internal static class DaemonSetSelection
{
    /// <summary>The tolerations the DaemonSet controller adds to its pods (network-unavailable only with host networking).</summary>
    private static readonly (string Key, string Effect)[] ControllerTolerations =
    [
        ("node.kubernetes.io/not-ready", "NoExecute"),
        ("node.kubernetes.io/unreachable", "NoExecute"),
        ("node.kubernetes.io/disk-pressure", "NoSchedule"),
        ("node.kubernetes.io/memory-pressure", "NoSchedule"),
        ("node.kubernetes.io/pid-pressure", "NoSchedule"),
        ("node.kubernetes.io/unschedulable", "NoSchedule"),
    ];

    /// <summary>Null when the DaemonSet runs a pod on the node, else why not, in a phrase.</summary>
    public static string? WhyNot(V1PodSpec pod, V1Node node)
    {
        ArgumentNullException.ThrowIfNull(pod);
        ArgumentNullException.ThrowIfNull(node);
        var labels = node.Metadata?.Labels ?? new Dictionary<string, string>();
        foreach (var (key, value) in pod.NodeSelector ?? new Dictionary<string, string>())
        {
            if (!labels.TryGetValue(key, out var actual) || actual != value)
            {
                return $"its nodeSelector {key}={value} does not match (the node has {(actual is null ? "no such label" : $"{key}={actual}")})";
            }
        }

        var terms = pod.Affinity?.NodeAffinity?.RequiredDuringSchedulingIgnoredDuringExecution?.NodeSelectorTerms;
        if (terms is { Count: > 0 } && !terms.Any(t => Matches(t, node, labels)))
        {
            return "its required node affinity matches none of the node's labels";
        }

        foreach (var taint in node.Spec?.Taints ?? [])
        {
            if (taint.Effect is "NoSchedule" or "NoExecute" && !Tolerated(taint, pod))
            {
                return $"it does not tolerate the node's taint {taint.Key}{(string.IsNullOrEmpty(taint.Value) ? string.Empty : "=" + taint.Value)}:{taint.Effect}";
            }
        }

        return null;
    }

    private static bool Tolerated(V1Taint taint, V1PodSpec pod)
    {
        if (ControllerTolerations.Any(t => t.Key == taint.Key && t.Effect == taint.Effect)
            || (pod.HostNetwork == true && taint.Key == "node.kubernetes.io/network-unavailable" && taint.Effect == "NoSchedule"))
        {
            return true;
        }

        return (pod.Tolerations ?? []).Any(t =>
            (string.IsNullOrEmpty(t.Effect) || t.Effect == taint.Effect)
            && (t.OperatorProperty == "Exists"
                ? string.IsNullOrEmpty(t.Key) || t.Key == taint.Key
                : t.Key == taint.Key && (t.Value ?? string.Empty) == (taint.Value ?? string.Empty)));
    }

    private static bool Matches(V1NodeSelectorTerm term, V1Node node, IDictionary<string, string> labels)
    {
        if ((term.MatchExpressions is null || term.MatchExpressions.Count == 0) && (term.MatchFields is null || term.MatchFields.Count == 0))
        {
            return false; // an empty term matches nothing
        }

        return (term.MatchExpressions ?? []).All(e => Matches(e, labels.TryGetValue(e.Key, out var v) ? v : null))
            && (term.MatchFields ?? []).All(f => f.Key == "metadata.name" && Matches(f, node.Metadata?.Name));
    }

    private static bool Matches(V1NodeSelectorRequirement requirement, string? value) => requirement.OperatorProperty switch
    {
        "In" => value is not null && (requirement.Values ?? []).Contains(value),
        "NotIn" => value is null || !(requirement.Values ?? []).Contains(value),
        "Exists" => value is not null,
        "DoesNotExist" => value is null,
        "Gt" => long.TryParse(value, CultureInfo.InvariantCulture, out var a) && long.TryParse(requirement.Values?.FirstOrDefault(), CultureInfo.InvariantCulture, out var b) && a > b,
        "Lt" => long.TryParse(value, CultureInfo.InvariantCulture, out var c) && long.TryParse(requirement.Values?.FirstOrDefault(), CultureInfo.InvariantCulture, out var d) && c < d,
        _ => false,
    };
}
