using k8s;
using Periscope.Collector.Api;

namespace Periscope.Collector.Incident;

/// <summary>
/// Starts an incident's run through the shared trigger writer (<see cref="RunConfigMap"/>): a ConfigMap it creates is
/// marked as the incident command's (label and run annotation), so its cleanup removes it; one that exists is only
/// given the new run id.
/// </summary>
internal static class RunTrigger
{
    /// <exception cref="InvalidOperationException">The API refused or could not be reached (the message says why).</exception>
    public static Task StartAsync(Kubernetes client, string ns, string name, string runId, CancellationToken cancellationToken) =>
        RunConfigMap.WriteAsync(
            client,
            ns,
            name,
            new Dictionary<string, string> { ["runId"] = runId },
            new Dictionary<string, string> { [IncidentCommand.InstalledByLabel] = IncidentCommand.FieldManager },
            new Dictionary<string, string> { [IncidentCommand.RunAnnotation] = runId },
            cancellationToken);
}
