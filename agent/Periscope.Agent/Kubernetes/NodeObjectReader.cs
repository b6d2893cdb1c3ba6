using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Periscope.Agent.Kubernetes;

/// <summary>The labels of the agent's own Node and whether it is cordoned, or why they could not be read.</summary>
internal sealed record NodeObjectLabels(IReadOnlyDictionary<string, string>? Labels, string? Error)
{
    /// <summary><c>spec.unschedulable</c> of the Node (null when it was not read).</summary>
    public bool? Unschedulable { get; init; }

    public static NodeObjectLabels Failed(string error) => new(null, error);
}

/// <summary>
/// Reads the agent's own Node object once per run: <c>GET /api/v1/nodes/{name}?resourceVersion=0</c> (served from the
/// API server's cache, not etcd: one cheap read per node per run), under a short deadline. Only the labels and
/// <c>spec.unschedulable</c> are kept.
/// Off Kubernetes, without access, or when the API is slow, the labels stay unknown and the reason is returned:
/// the run goes on with the kubelet's <c>--node-labels</c>.
/// </summary>
internal sealed class NodeObjectReader(IOptions<NodeObjectOptions> options)
{
    public async Task<NodeObjectLabels> ReadAsync(string node, CancellationToken cancellationToken)
    {
        var o = options.Value;
        if (!o.IsOn(Environment.GetEnvironmentVariable))
        {
            return NodeObjectLabels.Failed("not in a Kubernetes pod and no kubeconfig set (Periscope:NodeObject)");
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(o.Timeout);
        try
        {
            var (client, _) = await KubernetesApiClient.FromConfigurationAsync(o.Kubeconfig);
            using (client)
            {
                var body = await client.SendJsonAsync(HttpMethod.Get, $"api/v1/nodes/{Uri.EscapeDataString(node)}?resourceVersion=0", null, "application/json", deadline.Token);
                return new NodeObjectLabels(Labels(body), null) { Unschedulable = Unschedulable(body) };
            }
        }
        catch (Exception ex) when (KubernetesApiClient.IsConfigurationError(ex))
        {
            return NodeObjectLabels.Failed($"no Kubernetes configuration: {ex.Message}");
        }
        catch (KubernetesApiException ex) when (ex.Status == System.Net.HttpStatusCode.Forbidden)
        {
            return NodeObjectLabels.Failed($"{ex.Message} (the agent's ClusterRole needs get on nodes)");
        }
        catch (Exception ex) when (ex is KubernetesApiException or HttpRequestException or JsonException)
        {
            return NodeObjectLabels.Failed(ex.Message);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return NodeObjectLabels.Failed($"the API server did not answer within {o.Timeout.TotalSeconds:0.#} s");
        }
    }

    /// <summary><c>spec.unschedulable</c> of a Node (false when absent, as the API means it).</summary>
    internal static bool Unschedulable(string body)
    {
        using var document = JsonDocument.Parse(body);
        return document.RootElement.ValueKind == JsonValueKind.Object
            && document.RootElement.TryGetProperty("spec", out var spec) && spec.ValueKind == JsonValueKind.Object
            && spec.TryGetProperty("unschedulable", out var value) && value.ValueKind == JsonValueKind.True;
    }

    /// <summary><c>metadata.labels</c> of a Node (string values only).</summary>
    internal static Dictionary<string, string> Labels(string body)
    {
        using var document = JsonDocument.Parse(body);
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (document.RootElement.ValueKind == JsonValueKind.Object
            && document.RootElement.TryGetProperty("metadata", out var metadata) && metadata.ValueKind == JsonValueKind.Object
            && metadata.TryGetProperty("labels", out var map) && map.ValueKind == JsonValueKind.Object)
        {
            foreach (var label in map.EnumerateObject())
            {
                if (label.Value.ValueKind == JsonValueKind.String)
                {
                    labels[label.Name] = label.Value.GetString()!;
                }
            }
        }

        return labels;
    }
}
