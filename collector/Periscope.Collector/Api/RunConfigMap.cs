using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Periscope.Collector.Api;

/// <summary>
/// Writes the run-id ConfigMap every agent watches (DESIGN.md's trigger: <c>data.runId</c>, optional
/// <c>data.collectors</c> and <c>data.since</c>): created when absent — with the labels and annotations the caller
/// marks its own objects with —, else its data replaced at the resourceVersion read, so a concurrent start is a
/// conflict, not a lost update. The one writer of the trigger, for the web UI / API and the incident command alike.
/// </summary>
internal static class RunConfigMap
{
    /// <exception cref="InvalidOperationException">The API refused or could not be reached (the message says why).</exception>
    public static async Task WriteAsync(
        Kubernetes client,
        string ns,
        string name,
        IReadOnlyDictionary<string, string> data,
        IReadOnlyDictionary<string, string>? labelsOnCreate,
        IReadOnlyDictionary<string, string>? annotationsOnCreate,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(data);
        try
        {
            V1ConfigMap? current = null;
            try
            {
                current = await client.CoreV1.ReadNamespacedConfigMapAsync(name, ns, cancellationToken: cancellationToken);
            }
            catch (HttpOperationException ex) when (ex.Response.StatusCode == HttpStatusCode.NotFound)
            {
                // The first run in this namespace: created below.
            }

            if (current is null)
            {
                await client.CoreV1.CreateNamespacedConfigMapAsync(
                    new V1ConfigMap
                    {
                        Metadata = new V1ObjectMeta
                        {
                            Name = name,
                            NamespaceProperty = ns,
                            Labels = labelsOnCreate is { Count: > 0 } ? new Dictionary<string, string>(labelsOnCreate) : null,
                            Annotations = annotationsOnCreate is { Count: > 0 } ? new Dictionary<string, string>(annotationsOnCreate) : null,
                        },
                        Data = new Dictionary<string, string>(data),
                    },
                    ns,
                    cancellationToken: cancellationToken);
                return;
            }

            current.Data = new Dictionary<string, string>(data);
            await client.CoreV1.ReplaceNamespacedConfigMapAsync(current, name, ns, cancellationToken: cancellationToken);
        }
        catch (HttpOperationException ex)
        {
            throw new InvalidOperationException(ex.Response.StatusCode switch
            {
                HttpStatusCode.Forbidden => $"may not write ConfigMap {ns}/{name} (403): grant get, create and update on it",
                HttpStatusCode.Conflict => $"ConfigMap {ns}/{name} changed while the run was being started (409); try again",
                HttpStatusCode.Unauthorized => "the Kubernetes API refused the credentials (401)",
                var status => $"the Kubernetes API answered {(int)status} writing ConfigMap {ns}/{name}",
            }, ex);
        }
        catch (HttpRequestException ex)
        {
            throw new InvalidOperationException($"the Kubernetes API could not be reached: {ex.Message}", ex);
        }
    }
}
