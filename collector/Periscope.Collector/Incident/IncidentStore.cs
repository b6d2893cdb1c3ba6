using System.Net;
using System.Text.Json;
using k8s;
using k8s.Autorest;
using Periscope.Bundle;
using Periscope.Collector.Correlation;
using Periscope.Collector.Reports;
using Periscope.Collector.Sources;

namespace Periscope.Collector.Incident;

/// <summary>Where the incident command follows a run and fetches its report and bundles.</summary>
internal interface IIncidentStore
{
    /// <summary>For messages (never a credential).</summary>
    string Description { get; }

    /// <summary>What the store holds of each node of the run (empty while it holds nothing).</summary>
    Task<IReadOnlyDictionary<string, RunProgress>> ProgressAsync(string runId, CancellationToken cancellationToken);

    /// <summary>The run's health report.</summary>
    /// <exception cref="IOException">There is no report (no bundle of the run, or the store did not answer).</exception>
    Task<HealthReport> ReportAsync(string runId, CancellationToken cancellationToken);

    /// <summary>Writes each sealed bundle of the run into <paramref name="folder"/>; returns how many.</summary>
    Task<int> DownloadBundlesAsync(string runId, string folder, CancellationToken cancellationToken);
}

/// <summary>The store read directly (a directory, or Blob Storage with the user's own credentials): the report built here.</summary>
internal sealed class DirectIncidentStore(IBundleSource source, TimeProvider time, CorrelationOptions correlation, IExpectedNodeSource? expected) : IIncidentStore
{
    public string Description => source.Description;

    public Task<IReadOnlyDictionary<string, RunProgress>> ProgressAsync(string runId, CancellationToken cancellationToken) => source.ProgressAsync(runId, cancellationToken);

    public async Task<HealthReport> ReportAsync(string runId, CancellationToken cancellationToken)
        => (await new RunReporter(source, time, correlation, expected).BuildAsync(runId, cancellationToken)).Report;

    public async Task<int> DownloadBundlesAsync(string runId, string folder, CancellationToken cancellationToken)
    {
        var written = 0;
        foreach (var node in await source.ListNodesAsync(runId, cancellationToken))
        {
            await using var bundle = await source.OpenBundleAsync(runId, node, cancellationToken);
            if (bundle is null)
            {
                continue;
            }

            await using var file = File.Create(Path.Combine(folder, node + StoreLayout.BundleSuffix));
            await bundle.CopyToAsync(file, cancellationToken);
            written++;
        }

        return written;
    }
}

/// <summary>
/// The in-cluster collector (<c>serve</c>), reached through the API server's service proxy
/// (<c>/api/v1/namespaces/{ns}/services/{name}:{port}/proxy/…</c>, plain HTTP inside the API server's TLS, with the
/// user's own Kubernetes credentials: needs get on services/proxy). The API server does not pass the caller's
/// Authorization on, so the operator token (read from its Secret: needs get on that one Secret) goes in
/// <c>X-Periscope-Token</c>. The collector builds the report with its own view of the cluster; the command renders it.
/// </summary>
internal sealed class CollectorProxyStore(Kubernetes client, string ns, string service, string token) : IIncidentStore
{
    public const string TokenHeader = "X-Periscope-Token";

    public string Description => $"the in-cluster collector {ns}/{service} (through the API server's service proxy)";

    public async Task<IReadOnlyDictionary<string, RunProgress>> ProgressAsync(string runId, CancellationToken cancellationToken)
    {
        await using var body = await GetAsync($"api/runs/{Uri.EscapeDataString(RunId.Validate(runId))}/progress", cancellationToken);
        return body is null
            ? new Dictionary<string, RunProgress>(StringComparer.Ordinal)
            : await JsonSerializer.DeserializeAsync(body, Api.ApiJsonContext.Default.DictionaryStringRunProgress, cancellationToken) ?? [];
    }

    public async Task<HealthReport> ReportAsync(string runId, CancellationToken cancellationToken)
    {
        await using var body = await GetAsync($"api/runs/{Uri.EscapeDataString(RunId.Validate(runId))}/report", cancellationToken)
            ?? throw new IOException($"the collector has no run '{runId}'");
        return await JsonSerializer.DeserializeAsync(body, ReportJsonContext.Default.HealthReport, cancellationToken)
            ?? throw new IOException("the collector's report was empty");
    }

    public async Task<int> DownloadBundlesAsync(string runId, string folder, CancellationToken cancellationToken)
    {
        var written = 0;
        foreach (var node in (await ReportAsync(runId, cancellationToken)).Nodes.Where(n => n.Rejected is null && !n.Incomplete).Select(n => n.Node))
        {
            await using var bundle = await GetAsync($"api/runs/{Uri.EscapeDataString(runId)}/nodes/{Uri.EscapeDataString(node)}/bundle", cancellationToken);
            if (bundle is null)
            {
                continue;
            }

            await using var file = File.Create(Path.Combine(folder, node + StoreLayout.BundleSuffix));
            await bundle.CopyToAsync(file, cancellationToken);
            written++;
        }

        return written;
    }

    /// <summary>A GET through the service proxy; null on 404; a refusal or an outage is an IOException that says which.</summary>
    private async Task<Stream?> GetAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            var response = await client.CoreV1.ConnectGetNamespacedServiceProxyWithPathWithHttpMessagesAsync(
                service, ns, path, customHeaders: new Dictionary<string, IReadOnlyList<string>> { [TokenHeader] = [token] }, cancellationToken: cancellationToken);
            return response.Body;
        }
        catch (HttpOperationException ex) when (ex.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        catch (HttpOperationException ex)
        {
            throw new IOException(ex.Response.StatusCode switch
            {
                HttpStatusCode.Unauthorized => "the collector refused the operator token (401)",
                HttpStatusCode.Forbidden => $"the API server refused the service proxy to {ns}/{service} (403): grant get on services/proxy",
                HttpStatusCode.ServiceUnavailable => $"the collector {ns}/{service} has no ready endpoint (503): is its pod running?",
                var status => $"the collector answered {(int)status} through the service proxy",
            }, ex);
        }
    }
}
