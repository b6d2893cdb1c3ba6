using System.Text.Json;
using Periscope.Agent.Kubernetes;

namespace Periscope.Agent.Signals;

/// <summary>
/// Removes every condition Periscope owns (docs/signals.md: a <c>Periscope</c> type, or an NPD-compatible type whose
/// message Periscope wrote) from one node or from every node of the cluster, with one strategic merge patch of
/// <c>$patch: delete</c> directives per node that has any. For an uninstall, or after an incident: no owned
/// condition outlives the agent that maintained it. Types of the kubelet, of node-problem-detector and of anyone
/// else are never touched.
/// </summary>
internal static class OwnedConditionCleanup
{
    /// <summary>What was (or, in a dry run, would be) removed: node name and its owned types.</summary>
    public static async Task<IReadOnlyList<(string Node, IReadOnlyList<string> Types)>> RunAsync(
        KubernetesApiClient client, string? node, bool dryRun, TimeSpan requestTimeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        var found = new List<(string, IReadOnlyList<string>)>();
        var nodes = new List<(string Name, List<string> Types)>();
        if (node is not null)
        {
            nodes.Add((node, Owned(await SendAsync(client, HttpMethod.Get, $"api/v1/nodes/{Uri.EscapeDataString(node)}", null, requestTimeout, cancellationToken))));
        }
        else
        {
            string? next = null;
            do
            {
                var page = await SendAsync(client, HttpMethod.Get,
                    "api/v1/nodes?limit=500" + (next is null ? string.Empty : "&continue=" + Uri.EscapeDataString(next)), null, requestTimeout, cancellationToken);
                using var document = JsonDocument.Parse(page);
                foreach (var item in document.RootElement.GetProperty("items").EnumerateArray())
                {
                    nodes.Add((item.GetProperty("metadata").GetProperty("name").GetString()!, Owned(item)));
                }

                next = document.RootElement.TryGetProperty("metadata", out var metadata) && metadata.TryGetProperty("continue", out var token)
                    && token.GetString() is { Length: > 0 } value ? value : null;
            }
            while (next is not null);
        }

        foreach (var (name, types) in nodes)
        {
            if (types.Count == 0)
            {
                continue;
            }

            if (!dryRun)
            {
                await SendAsync(client, HttpMethod.Patch, $"api/v1/nodes/{Uri.EscapeDataString(name)}/status",
                    NodeConditionPublisher.PatchBody([], types), requestTimeout, cancellationToken);
            }

            found.Add((name, types));
        }

        return found;
    }

    private static List<string> Owned(string nodeJson)
    {
        using var document = JsonDocument.Parse(nodeJson);
        return Owned(document.RootElement);
    }

    private static List<string> Owned(JsonElement node)
        => NodeCondition.ReadAll(node).Where(NodeConditionPublisher.IsOwned).Select(c => c.Type).ToList();

    private static async Task<string> SendAsync(KubernetesApiClient client, HttpMethod method, string path, string? body, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        return await client.SendJsonAsync(method, path, body, NodeConditionPublisher.PatchMediaType, deadline.Token);
    }
}
