using k8s;
using Periscope.Bundle;

namespace Periscope.Collector.Api;

/// <summary>What became of a request to start a run.</summary>
internal sealed record StartedRun(string RunId, string Namespace, string ConfigMap);

/// <summary>
/// Starts a run across the cluster by writing the run-id ConfigMap that every agent watches (DESIGN.md's trigger:
/// <c>data.runId</c>, optional <c>data.collectors</c> and <c>data.since</c>) through <see cref="RunConfigMap"/>; the
/// service account needs get, create and update on that one ConfigMap.
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

        await RunConfigMap.WriteAsync(client, ns, options.RunConfigMap, data, labelsOnCreate: null, annotationsOnCreate: null, cancellationToken);
        return new StartedRun(runId, ns, options.RunConfigMap);
    }
}
