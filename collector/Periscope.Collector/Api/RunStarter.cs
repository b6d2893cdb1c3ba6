using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Periscope.Bundle;

namespace Periscope.Collector.Api;

/// <summary>What became of a request to start a run.</summary>
internal sealed record StartedRun(string RunId, string Namespace, string ConfigMap);

/// <summary>
/// Starts a run across the cluster by writing the run-id ConfigMap that every agent watches (DESIGN.md's trigger:
/// <c>data.runId</c>, optional <c>data.collectors</c> and <c>data.since</c>): created when absent, else replaced at the
/// resourceVersion read (a concurrent start is a conflict, not a lost update). Uses KubernetesClient.Aot's typed
/// client; the service account needs get, create and update on that one ConfigMap.
/// </summary>
internal sealed class RunStarter(ServerOptions options, TimeProvider time)
{
    public bool Enabled => options.CanStartRuns;

    /// <exception cref="ArgumentException">A field is not valid.</exception>
    /// <exception cref="InvalidOperationException">The API refused or could not be reached (the message says why).</exception>
    public async Task<StartedRun> StartAsync(string? runId, string? collectors, string? since, CancellationToken cancellationToken)
    {
        runId = string.IsNullOrWhiteSpace(runId) ? RunId.FromTime(time.GetUtcNow()) : RunId.Validate(runId.Trim());
        var config = string.IsNullOrEmpty(options.Kubeconfig)
            ? KubernetesClientConfiguration.InClusterConfig()
            : await KubernetesClientConfiguration.BuildConfigFromConfigFileAsync(new FileInfo(options.Kubeconfig));
        var ns = options.RunNamespace ?? Environment.GetEnvironmentVariable("POD_NAMESPACE") ?? config.Namespace ?? "default";
        using var client = new Kubernetes(config);
        var data = new Dictionary<string, string> { ["runId"] = runId };
        if (!string.IsNullOrWhiteSpace(collectors))
        {
            data["collectors"] = collectors.Trim();
        }

        if (!string.IsNullOrWhiteSpace(since))
        {
            data["since"] = since.Trim();
        }

        try
        {
            V1ConfigMap? current = null;
            try
            {
                current = await client.CoreV1.ReadNamespacedConfigMapAsync(options.RunConfigMap, ns, cancellationToken: cancellationToken);
            }
            catch (HttpOperationException ex) when (ex.Response.StatusCode == HttpStatusCode.NotFound)
            {
                // First run in this namespace: created below.
            }

            if (current is null)
            {
                await client.CoreV1.CreateNamespacedConfigMapAsync(
                    new V1ConfigMap { Metadata = new V1ObjectMeta { Name = options.RunConfigMap, NamespaceProperty = ns }, Data = data }, ns, cancellationToken: cancellationToken);
            }
            else
            {
                current.Data = data;
                await client.CoreV1.ReplaceNamespacedConfigMapAsync(current, options.RunConfigMap, ns, cancellationToken: cancellationToken);
            }
        }
        catch (HttpOperationException ex)
        {
            throw new InvalidOperationException(ex.Response.StatusCode switch
            {
                HttpStatusCode.Forbidden => $"the service may not write ConfigMap {ns}/{options.RunConfigMap} (403): grant get, create and update on it",
                HttpStatusCode.Conflict => $"ConfigMap {ns}/{options.RunConfigMap} changed while the run was being started (409); try again",
                HttpStatusCode.Unauthorized => "the Kubernetes API refused the service's credentials (401)",
                var status => $"the Kubernetes API answered {(int)status} writing ConfigMap {ns}/{options.RunConfigMap}",
            }, ex);
        }
        catch (HttpRequestException ex)
        {
            throw new InvalidOperationException($"the Kubernetes API could not be reached: {ex.Message}", ex);
        }

        return new StartedRun(runId, ns, options.RunConfigMap);
    }
}
