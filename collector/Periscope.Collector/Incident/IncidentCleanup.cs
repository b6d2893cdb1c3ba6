using System.Net;
using System.Text.Json;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Periscope.Collector.Sources;

namespace Periscope.Collector.Incident;

/// <summary>
/// Removes exactly what the incident command installed — the objects labelled
/// <see cref="IncidentCommand.InstalledByLabel"/>=<see cref="IncidentCommand.FieldManager"/>, found by that label in
/// every namespace, the namespace last; given a run, only those annotated <see cref="IncidentCommand.RunAnnotation"/>
/// with it — and every node condition Periscope owns (docs/signals.md), which must never outlive it. Idempotent: a
/// second run finds nothing and says so.
/// </summary>
internal static class IncidentCleanup
{
    /// <param name="client">The API.</param>
    /// <param name="run">Only what this incident run installed; null: what any did.</param>
    /// <param name="cancellationToken">Stops the cleanup.</param>
    public static async Task<IReadOnlyList<string>> RunAsync(Kubernetes client, string? run, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        var selector = $"{IncidentCommand.InstalledByLabel}={IncidentCommand.FieldManager}";
        var removed = new List<string>();

        // Workloads first, the namespace last (its deletion would take the rest with it, out of order and unreported).
        foreach (var kind in ApiKind.Known.Reverse())
        {
            foreach (var (name, ns, installedIn) in await ListAsync(client, kind, selector, cancellationToken))
            {
                if (run is not null && installedIn != run)
                {
                    continue;
                }

                if (await DeleteAsync(client, kind, name, ns, cancellationToken))
                {
                    removed.Add(ns is null ? $"{kind.Kind} {name}" : $"{kind.Kind} {ns}/{name}");
                }
            }
        }

        // Periscope's own node conditions.
        foreach (var node in (await client.CoreV1.ListNodeAsync(cancellationToken: cancellationToken)).Items)
        {
            var owned = node.Status?.Conditions?.Where(c => OwnedCondition.IsOwned(c.Type, c.Message)).Select(c => c.Type).ToList() ?? [];
            if (owned.Count == 0)
            {
                continue;
            }

            var patch = JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["status"] = new Dictionary<string, object> { ["conditions"] = owned.Select(t => new Dictionary<string, string> { ["type"] = t, ["$patch"] = "delete" }).ToList() },
            }, IncidentJsonContext.Default.DictionaryStringObject);
            await client.CoreV1.PatchNodeStatusAsync(new V1Patch(patch, V1Patch.PatchType.StrategicMergePatch), node.Metadata!.Name, cancellationToken: cancellationToken);
            removed.Add($"node {node.Metadata.Name}: condition(s) {string.Join(", ", owned)}");
        }

        return removed;
    }

    /// <summary>The objects of a kind with the label: name, namespace and the run annotated.</summary>
    private static async Task<IReadOnlyList<(string Name, string? Namespace, string? Run)>> ListAsync(Kubernetes client, ApiKind kind, string selector, CancellationToken cancellationToken)
    {
        if (kind.Group.Length > 0)
        {
            var list = await client.CustomObjects.ListClusterCustomObjectAsync(kind.Group, kind.Version, kind.Plural, labelSelector: selector, cancellationToken: cancellationToken);
            var json = list is JsonElement element ? element : JsonSerializer.SerializeToElement(list, IncidentJsonContext.Default.Object);
            return [.. json.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("metadata")).Select(m => (
                m.GetProperty("name").GetString()!,
                m.TryGetProperty("namespace", out var ns) ? ns.GetString() : null,
                m.TryGetProperty("annotations", out var annotations) && annotations.ValueKind == JsonValueKind.Object
                    && annotations.TryGetProperty(IncidentCommand.RunAnnotation, out var run) ? run.GetString() : null))];
        }

        IEnumerable<V1ObjectMeta> items = kind.Plural switch
        {
            "namespaces" => (await client.CoreV1.ListNamespaceAsync(labelSelector: selector, cancellationToken: cancellationToken)).Items.Select(i => i.Metadata),
            "serviceaccounts" => (await client.CoreV1.ListServiceAccountForAllNamespacesAsync(labelSelector: selector, cancellationToken: cancellationToken)).Items.Select(i => i.Metadata),
            "services" => (await client.CoreV1.ListServiceForAllNamespacesAsync(labelSelector: selector, cancellationToken: cancellationToken)).Items.Select(i => i.Metadata),
            "configmaps" => (await client.CoreV1.ListConfigMapForAllNamespacesAsync(labelSelector: selector, cancellationToken: cancellationToken)).Items.Select(i => i.Metadata),
            "secrets" => (await client.CoreV1.ListSecretForAllNamespacesAsync(labelSelector: selector, cancellationToken: cancellationToken)).Items.Select(i => i.Metadata),
            "resourcequotas" => (await client.CoreV1.ListResourceQuotaForAllNamespacesAsync(labelSelector: selector, cancellationToken: cancellationToken)).Items.Select(i => i.Metadata),
            _ => [],
        };
        return [.. items.Select(m => (m.Name, kind.Namespaced ? m.NamespaceProperty : null, m.Annotations?.TryGetValue(IncidentCommand.RunAnnotation, out var run) == true ? run : null))];
    }

    private static async Task<bool> DeleteAsync(Kubernetes client, ApiKind kind, string name, string? ns, CancellationToken cancellationToken)
    {
        try
        {
            if (kind.Group.Length > 0)
            {
                await (kind.Namespaced
                    ? client.CustomObjects.DeleteNamespacedCustomObjectAsync(kind.Group, kind.Version, ns!, kind.Plural, name, cancellationToken: cancellationToken)
                    : client.CustomObjects.DeleteClusterCustomObjectAsync(kind.Group, kind.Version, kind.Plural, name, cancellationToken: cancellationToken));
                return true;
            }

            switch (kind.Plural)
            {
                case "namespaces": await client.CoreV1.DeleteNamespaceAsync(name, cancellationToken: cancellationToken); break;
                case "serviceaccounts": await client.CoreV1.DeleteNamespacedServiceAccountAsync(name, ns!, cancellationToken: cancellationToken); break;
                case "services": await client.CoreV1.DeleteNamespacedServiceAsync(name, ns!, cancellationToken: cancellationToken); break;
                case "configmaps": await client.CoreV1.DeleteNamespacedConfigMapAsync(name, ns!, cancellationToken: cancellationToken); break;
                case "secrets": await client.CoreV1.DeleteNamespacedSecretAsync(name, ns!, cancellationToken: cancellationToken); break;
                case "resourcequotas": await client.CoreV1.DeleteNamespacedResourceQuotaAsync(name, ns!, cancellationToken: cancellationToken); break;
                default: throw new InvalidOperationException($"no way to delete {kind}");
            }

            return true;
        }
        catch (HttpOperationException ex) when (ex.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return false; // gone already (with its namespace, or by another cleanup)
        }
    }
}

/// <summary>The incident command's own JSON (patches it builds).</summary>
[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, object>))]
[System.Text.Json.Serialization.JsonSerializable(typeof(List<Dictionary<string, string>>))]
[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, string>))]
[System.Text.Json.Serialization.JsonSerializable(typeof(object))]
internal sealed partial class IncidentJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
