namespace Periscope.Collector.Sources;

/// <summary>Chooses where a report's expected nodes come from (<c>auto</c>, <c>kubernetes</c> or <c>previous-run</c>).</summary>
internal static class ExpectedNodeSources
{
    public static readonly string[] Modes = ["auto", "kubernetes", "previous-run"];

    /// <summary>True when the process can reach a Kubernetes API: a kubeconfig is named, or it runs in a pod.</summary>
    public static bool HasAccess(string? kubeconfig)
        => !string.IsNullOrEmpty(kubeconfig) || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_HOST"));

    /// <summary>
    /// The Kubernetes nodes list for <c>kubernetes</c>, and for <c>auto</c> when the API can be reached; null (the
    /// previous run's nodes) otherwise.
    /// </summary>
    /// <exception cref="ArgumentException"><c>kubernetes</c> without access, or an unknown mode.</exception>
    public static IExpectedNodeSource? Open(string mode, string? kubeconfig, string? labelSelector, bool allowed = true)
    {
        switch (mode)
        {
            case "previous-run":
                return null;
            case "auto":
                return allowed && HasAccess(kubeconfig) ? new KubernetesNodeList(kubeconfig, labelSelector ?? KubernetesNodeList.DefaultLabelSelector) : null;
            case "kubernetes":
                return HasAccess(kubeconfig)
                    ? new KubernetesNodeList(kubeconfig, labelSelector ?? KubernetesNodeList.DefaultLabelSelector)
                    : throw new ArgumentException("Expected nodes from Kubernetes need a kubeconfig (--kubeconfig) or a pod's service account.");
            default:
                throw new ArgumentException($"Expected nodes come from auto, kubernetes or previous-run (found '{mode}').");
        }
    }
}
