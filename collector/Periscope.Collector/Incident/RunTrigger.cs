using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Periscope.Collector.Incident;

/// <summary>
/// Starts a run by writing the run-id ConfigMap every agent watches (DESIGN.md's trigger, <c>data.runId</c>): created
/// when absent — then marked as the incident command's, so its cleanup removes it —, else updated at the
/// resourceVersion read (a concurrent start is a conflict, not a lost update).
/// </summary>
internal static class RunTrigger
{
    public static async Task StartAsync(Kubernetes client, string ns, string name, string runId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
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
            await client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap
            {
                Metadata = new V1ObjectMeta
                {
                    Name = name,
                    NamespaceProperty = ns,
                    Labels = new Dictionary<string, string> { [IncidentCommand.InstalledByLabel] = IncidentCommand.FieldManager },
                    Annotations = new Dictionary<string, string> { [IncidentCommand.RunAnnotation] = runId },
                },
                Data = new Dictionary<string, string> { ["runId"] = runId },
            }, ns, cancellationToken: cancellationToken);
            return;
        }

        current.Data = new Dictionary<string, string> { ["runId"] = runId };
        await client.CoreV1.ReplaceNamespacedConfigMapAsync(current, name, ns, cancellationToken: cancellationToken);
    }
}
