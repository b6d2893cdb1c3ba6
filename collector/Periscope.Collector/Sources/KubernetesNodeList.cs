using System.Globalization;
using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Periscope.Collector.Sources;

/// <summary>Lists the nodes a run is expected to have a bundle from.</summary>
internal interface IExpectedNodeSource
{
    /// <summary>For messages, e.g. "the Kubernetes nodes list (kubernetes.io/os=linux)".</summary>
    string Description { get; }

    /// <exception cref="InvalidOperationException">The list could not be read; the message says why.</exception>
    Task<IReadOnlyList<ExpectedNode>> ListAsync(CancellationToken cancellationToken);

    /// <summary>The cluster-scoped reads beside the list (budgets, pods, Node events), or null where there are none.</summary>
    Task<ClusterState?> ReadClusterAsync(CancellationToken cancellationToken) => Task.FromResult<ClusterState?>(null);
}

/// <summary>
/// The expected nodes from the Kubernetes API (<c>GET /api/v1/nodes</c>, in pages of 500, KubernetesClient.Aot's typed
/// client): the nodes the agent's DaemonSet runs on, chosen by the same label selector as its nodeSelector
/// (<c>kubernetes.io/os=linux</c> by default), without virtual-kubelet nodes (no DaemonSet pod runs there). Each
/// keeps its pool (the labels the agent reads), its Ready condition and creation time. Needs list on nodes.
/// </summary>
internal sealed class KubernetesNodeList(string? kubeconfig, string labelSelector, TimeSpan? timeout = null) : IExpectedNodeSource
{
    public const string DefaultLabelSelector = "kubernetes.io/os=linux";
    private const int PageSize = 500;

    /// <summary>Set by AKS on a node an upgrade could not drain when the pool's undrainable-node behaviour is Cordon.</summary>
    public const string QuarantineLabel = "kubernetes.azure.com/upgrade-status";

    private static readonly string[] PoolLabels = ["kubernetes.azure.com/agentpool", "agentpool", "eks.amazonaws.com/nodegroup", "cloud.google.com/gke-nodepool"];

    public string Description => string.IsNullOrEmpty(labelSelector) ? "the Kubernetes nodes list" : $"the Kubernetes nodes list ({labelSelector})";

    /// <summary>The cluster-scoped reads beside the nodes list, with the same credentials (<see cref="ClusterReader"/>).</summary>
    public Task<ClusterState?> ReadClusterAsync(CancellationToken cancellationToken)
        => new ClusterReader(kubeconfig, timeout is { } t ? t * 2 : null).ReadAsync(cancellationToken)!;

    public async Task<IReadOnlyList<ExpectedNode>> ListAsync(CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout ?? TimeSpan.FromSeconds(30));
        try
        {
            var config = string.IsNullOrEmpty(kubeconfig)
                ? KubernetesClientConfiguration.InClusterConfig()
                : await KubernetesClientConfiguration.BuildConfigFromConfigFileAsync(new FileInfo(kubeconfig));
            using var client = new Kubernetes(config);
            var nodes = new List<ExpectedNode>();
            string? next = null;
            do
            {
                var page = await client.CoreV1.ListNodeAsync(
                    continueParameter: next,
                    labelSelector: string.IsNullOrEmpty(labelSelector) ? null : labelSelector,
                    limit: PageSize,
                    cancellationToken: deadline.Token);
                nodes.AddRange(page.Items.Where(n => !IsVirtual(n)).Select(ToExpected));
                next = page.Metadata?.ContinueProperty;
            }
            while (!string.IsNullOrEmpty(next));

            return nodes.OrderBy(n => n.Name, StringComparer.Ordinal).ToList();
        }
        catch (HttpOperationException ex)
        {
            throw new InvalidOperationException(ex.Response.StatusCode switch
            {
                HttpStatusCode.Forbidden => "the collector may not list nodes (403): grant list on nodes (a ClusterRole)",
                HttpStatusCode.Unauthorized => "the Kubernetes API refused the collector's credentials (401)",
                var status => $"the Kubernetes API answered {(int)status} listing nodes",
            }, ex);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new InvalidOperationException($"the Kubernetes API did not answer the nodes list within {(timeout ?? TimeSpan.FromSeconds(30)).TotalSeconds:0} s", ex);
        }
        catch (Exception ex) when (ex is HttpRequestException or k8s.Exceptions.KubeConfigException or IOException)
        {
            throw new InvalidOperationException($"the Kubernetes API could not be reached: {ex.Message}", ex);
        }
    }

    private static bool IsVirtual(V1Node node)
        => node.Metadata?.Labels?.TryGetValue("type", out var type) == true && type == "virtual-kubelet";

    private static ExpectedNode ToExpected(V1Node node)
    {
        var labels = node.Metadata?.Labels;
        string? pool = null;
        foreach (var label in PoolLabels)
        {
            if (labels?.TryGetValue(label, out var value) == true && !string.IsNullOrEmpty(value))
            {
                pool = value;
                break;
            }
        }

        var ready = node.Status?.Conditions?.FirstOrDefault(c => c.Type == "Ready");
        bool? isReady = ready?.Status switch { "True" => true, "False" => false, _ => null };
        string? reason = null;
        if (isReady != true)
        {
            reason = ready is null
                ? "no Ready condition"
                : $"Ready={ready.Status}{(string.IsNullOrEmpty(ready.Reason) ? string.Empty : $" ({ready.Reason})")}"
                  + (ready.LastTransitionTime is { } since ? $" since {since.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)}" : string.Empty);
        }

        DateTimeOffset? created = node.Metadata?.CreationTimestamp is { } c ? new DateTimeOffset(DateTime.SpecifyKind(c.ToUniversalTime(), DateTimeKind.Utc)) : null;
        var owned = node.Status?.Conditions?.Where(c => OwnedCondition.IsOwned(c.Type, c.Message))
            .Select(c => new OwnedCondition(c.Type, c.Status, c.Reason, Utc(c.LastHeartbeatTime), Utc(c.LastTransitionTime))).ToList() ?? [];
        var problems = node.Status?.Conditions?
            .Where(c => c.Status == "True" && !ProblemCondition.KubeletTypes.Contains(c.Type) && !OwnedCondition.IsOwned(c.Type, c.Message))
            .Select(c => new ProblemCondition(c.Type, c.Reason, c.Message, Utc(c.LastTransitionTime))).ToList() ?? [];
        return new ExpectedNode(node.Metadata!.Name, pool, isReady, reason, node.Spec?.Unschedulable == true, created)
        {
            OwnedConditions = owned,
            ProblemConditions = problems,
            Quarantined = labels?.TryGetValue(QuarantineLabel, out var upgrade) == true && upgrade == "Quarantined",
            ScaleDownDisabled = node.Metadata?.Annotations?.TryGetValue(Correlation.Rules.UpgradeBlockersRule.ScaleDownDisabledAnnotation, out var disabled) == true && disabled == "true",
            Mode = labels?.TryGetValue("kubernetes.azure.com/mode", out var mode) == true ? mode : null,
            CordonedBy = node.Spec?.Unschedulable == true ? CordonTime(node.Metadata?.ManagedFields) : null,
            Taints = node.Spec?.Taints?.Where(t => !string.IsNullOrEmpty(t.Key)).Select(t => new NodeTaint(t.Key, t.Value, t.Effect)).ToList() ?? [],
        };
    }

    /// <summary>
    /// The newest time among the managed-fields entries that own <c>spec.unschedulable</c>: the cordon was written at or
    /// before it (a later write by the same manager moves it forward, never back, so the bound is safe).
    /// </summary>
    internal static DateTimeOffset? CordonTime(IList<V1ManagedFieldsEntry>? entries)
        => entries?.Where(e => e.Time is not null && OwnsUnschedulable(e.FieldsV1)).Select(e => Utc(e.Time)).Max();

    private static bool OwnsUnschedulable(object? fields)
    {
        var element = fields switch
        {
            System.Text.Json.JsonElement e => e,
            null => default,
            _ => default,
        };
        return element.ValueKind == System.Text.Json.JsonValueKind.Object
            && element.TryGetProperty("f:spec", out var spec) && spec.ValueKind == System.Text.Json.JsonValueKind.Object
            && spec.TryGetProperty("f:unschedulable", out _);
    }

    private static DateTimeOffset? Utc(DateTime? time)
        => time is { } t ? new DateTimeOffset(DateTime.SpecifyKind(t.ToUniversalTime(), DateTimeKind.Utc)) : null;
}
