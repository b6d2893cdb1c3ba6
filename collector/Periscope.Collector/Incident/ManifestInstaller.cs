using k8s;
using k8s.Models;

namespace Periscope.Collector.Incident;

/// <summary>
/// Applies the manifests with server-side apply (<c>application/apply-patch+yaml</c>, field manager
/// <see cref="IncidentCommand.FieldManager"/>, forced: this command owns what it installs), in dependency order.
/// </summary>
internal static class ManifestInstaller
{
    public static async Task<IReadOnlyList<string>> ApplyAsync(Kubernetes client, Manifests manifests, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(manifests);
        var applied = new List<string>();
        foreach (var item in manifests.Objects)
        {
            var patch = new V1Patch(item.Body.ToJsonString(), V1Patch.PatchType.ApplyPatch);
            await ApplyAsync(client, item, patch, cancellationToken);
            applied.Add(item.ToString());
        }

        return applied;
    }

    public const string OperatorTokenSecret = "periscope-operator-token";

    /// <summary>
    /// Creates the collector's operator token Secret (a random token) unless one exists — an existing one is never
    /// replaced; marked as this command's, so its cleanup removes it. Returns what it created, or null.
    /// </summary>
    public static async Task<string?> CreateOperatorTokenAsync(Kubernetes client, string ns, string runId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        try
        {
            await client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
            {
                Metadata = new V1ObjectMeta
                {
                    Name = OperatorTokenSecret,
                    NamespaceProperty = ns,
                    Labels = new Dictionary<string, string> { [IncidentCommand.InstalledByLabel] = IncidentCommand.FieldManager },
                    Annotations = new Dictionary<string, string> { [IncidentCommand.RunAnnotation] = runId },
                },
                StringData = new Dictionary<string, string> { ["token"] = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24)) },
            }, ns, cancellationToken: cancellationToken);
            return $"Secret {ns}/{OperatorTokenSecret}";
        }
        catch (k8s.Autorest.HttpOperationException ex) when (ex.Response.StatusCode == System.Net.HttpStatusCode.Conflict)
        {
            return null; // the operator's own: kept
        }
    }

    private static Task ApplyAsync(Kubernetes client, ManifestObject item, V1Patch patch, CancellationToken cancellationToken)
    {
        const string manager = IncidentCommand.FieldManager;
        var ns = item.Namespace!;
        return item.Kind.Group.Length > 0
            ? item.Kind.Namespaced
                ? client.CustomObjects.PatchNamespacedCustomObjectAsync(patch, item.Kind.Group, item.Kind.Version, ns, item.Kind.Plural, item.Name, fieldManager: manager, force: true, cancellationToken: cancellationToken)
                : client.CustomObjects.PatchClusterCustomObjectAsync(patch, item.Kind.Group, item.Kind.Version, item.Kind.Plural, item.Name, fieldManager: manager, force: true, cancellationToken: cancellationToken)
            : item.Kind.Plural switch
            {
                "namespaces" => client.CoreV1.PatchNamespaceAsync(patch, item.Name, fieldManager: manager, force: true, cancellationToken: cancellationToken),
                "serviceaccounts" => client.CoreV1.PatchNamespacedServiceAccountAsync(patch, item.Name, ns, fieldManager: manager, force: true, cancellationToken: cancellationToken),
                "services" => client.CoreV1.PatchNamespacedServiceAsync(patch, item.Name, ns, fieldManager: manager, force: true, cancellationToken: cancellationToken),
                "configmaps" => client.CoreV1.PatchNamespacedConfigMapAsync(patch, item.Name, ns, fieldManager: manager, force: true, cancellationToken: cancellationToken),
                "secrets" => client.CoreV1.PatchNamespacedSecretAsync(patch, item.Name, ns, fieldManager: manager, force: true, cancellationToken: cancellationToken),
                "resourcequotas" => client.CoreV1.PatchNamespacedResourceQuotaAsync(patch, item.Name, ns, fieldManager: manager, force: true, cancellationToken: cancellationToken),
                _ => throw new InvalidOperationException($"no way to apply {item}"),
            };
    }
}
