using System.Globalization;
using System.Net;
using System.Text.Json;
using k8s;
using k8s.Autorest;
using k8s.Exceptions;
using k8s.Models;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Periscope.Agent.Triggers;

/// <summary>
/// The run-id ConfigMap watched through the Kubernetes API, the way informers do: list it (by name) to learn the
/// current state and its resourceVersion, then watch from that resourceVersion; when a watch ends (its timeout, a
/// dropped connection) watch again from the last resourceVersion seen, after a backoff when it failed; when the API
/// answers 410 Gone (that resourceVersion was compacted away) list again. Every run id seen is handed to the
/// <see cref="TriggerIntake"/>, which runs each id once. Only this one object is listed and watched
/// (<c>fieldSelector=metadata.name=…</c>): the agent's Role needs get/list/watch on that ConfigMap alone.
/// </summary>
/// <remarks>
/// KubernetesClient.Aot brings the configuration (in-cluster service account or kubeconfig), authentication, TLS and
/// the typed list call, but not the watch helper of the reflection-based client; the watch is one streaming GET sent
/// through the same authenticated client, read line by line as the API's watch events.
/// </remarks>
internal sealed partial class ConfigMapWatchTrigger(
    TriggerIntake intake, IOptions<TriggerOptions> options, TimeProvider time, ILogger<ConfigMapWatchTrigger> logger) : BackgroundService
{
    public const string SourceName = "configmap";
    private static readonly TimeSpan RequestDeadline = TimeSpan.FromSeconds(30);
    private readonly ILogger _logger = logger;
    private string? _lastError;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value.ConfigMap;
        if (o.ResolvedSource(Environment.GetEnvironmentVariable) != "api")
        {
            return;
        }

        KubernetesClientConfiguration config;
        try
        {
            config = string.IsNullOrEmpty(o.Kubeconfig)
                ? KubernetesClientConfiguration.InClusterConfig()
                : await KubernetesClientConfiguration.BuildConfigFromConfigFileAsync(new FileInfo(o.Kubeconfig));
        }
        catch (Exception ex) when (ex is KubeConfigException or IOException or UnauthorizedAccessException)
        {
            LogNoApi(ex.Message);
            return;
        }

        // A watch stays open for minutes: the client's overall timeout is off, every request has its own deadline.
        config.HttpClientTimeout = Timeout.InfiniteTimeSpan;
        var ns = o.Namespace ?? Environment.GetEnvironmentVariable("POD_NAMESPACE") ?? config.Namespace ?? "default";
        using var client = new Kubernetes(config);
        LogWatching(ns, o.Name, client.BaseUri);

        string? resourceVersion = null;
        var backoff = TimeSpan.FromSeconds(1);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                resourceVersion ??= await ListAsync(client, ns, o.Name, stoppingToken);
                var opened = time.GetTimestamp();
                resourceVersion = await WatchAsync(client, ns, o, resourceVersion, stoppingToken);
                _lastError = null;
                if (time.GetElapsedTime(opened) >= TimeSpan.FromSeconds(1))
                {
                    backoff = TimeSpan.FromSeconds(1);
                    continue;
                }

                // A watch the server ended at once (an API server shutting down, a proxy): do not spin on it.
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is HttpRequestException or HttpOperationException or IOException or JsonException or OperationCanceledException or KubernetesException)
            {
                var reason = Describe(ex, ns, o.Name);
                if (reason != _lastError)
                {
                    _lastError = reason;
                    LogApiError(reason, backoff.TotalSeconds);
                }
            }

            // Reconnect from the last resourceVersion seen, after a growing wait with jitter (every node of a large
            // cluster lost the same API server at once: they must not come back in step).
            try
            {
                await Task.Delay(backoff * (0.5 + Random.Shared.NextDouble()), time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, o.MaxBackoff.Ticks));
        }
    }

    /// <summary>Lists the ConfigMap by name; submits its run id, if any; returns the list's resourceVersion.</summary>
    private async Task<string> ListAsync(Kubernetes client, string ns, string name, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(RequestDeadline);
        var list = await client.CoreV1.ListNamespacedConfigMapAsync(ns, fieldSelector: $"metadata.name={name}", cancellationToken: deadline.Token);
        foreach (var configMap in list.Items ?? [])
        {
            Submit(configMap);
        }

        LogListed(list.Metadata?.ResourceVersion ?? string.Empty);
        return list.Metadata?.ResourceVersion ?? throw new KubernetesException(new V1Status { Message = "the list has no resourceVersion" });
    }

    /// <summary>
    /// Watches from <paramref name="resourceVersion"/> until the server ends the watch; returns the last resourceVersion
    /// seen, or null when it is too old (410 Gone) and the caller must list again.
    /// </summary>
    private async Task<string?> WatchAsync(Kubernetes client, string ns, ConfigMapTriggerOptions o, string resourceVersion, CancellationToken cancellationToken)
    {
        // Watches of many agents should not all end together: the timeout is spread between 1x and 2x.
        var timeoutSeconds = (int)(o.WatchTimeout.TotalSeconds * (1 + Random.Shared.NextDouble()));
        var query = string.Create(CultureInfo.InvariantCulture,
            $"api/v1/namespaces/{Uri.EscapeDataString(ns)}/configmaps?watch=true&allowWatchBookmarks=true&resourceVersion={Uri.EscapeDataString(resourceVersion)}&fieldSelector={Uri.EscapeDataString("metadata.name=" + o.Name)}&timeoutSeconds={timeoutSeconds}");
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(client.BaseUri, query));
        if (client.Credentials is not null)
        {
            await client.Credentials.ProcessHttpRequestAsync(request, cancellationToken);
        }

        // The server ends the watch after timeoutSeconds; a connection that goes silent past that is dead.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(timeoutSeconds) + RequestDeadline);
        using var response = await client.HttpClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
        if (response.StatusCode == HttpStatusCode.Gone)
        {
            LogGone(resourceVersion);
            return null;
        }

        if (!response.IsSuccessStatusCode)
        {
            throw new HttpOperationException($"watch answered {(int)response.StatusCode} {response.ReasonPhrase}")
            {
                Response = new HttpResponseMessageWrapper(response, await response.Content.ReadAsStringAsync(deadline.Token)),
            };
        }

        LogWatchOpen(resourceVersion);
        await using var stream = await response.Content.ReadAsStreamAsync(deadline.Token);
        using var reader = new StreamReader(stream);
        while (await reader.ReadLineAsync(deadline.Token) is { } line)
        {
            if (line.Length == 0)
            {
                continue;
            }

            using var document = JsonDocument.Parse(line);
            var type = document.RootElement.GetProperty("type").GetString();
            var raw = document.RootElement.GetProperty("object").GetRawText();
            if (type == "ERROR")
            {
                var status = KubernetesJson.Deserialize<V1Status>(raw);
                if (status.Code == (int)HttpStatusCode.Gone)
                {
                    LogGone(resourceVersion);
                    return null;
                }

                throw new KubernetesException(status);
            }

            var configMap = KubernetesJson.Deserialize<V1ConfigMap>(raw);
            resourceVersion = configMap.Metadata?.ResourceVersion ?? resourceVersion;
            if (type is "ADDED" or "MODIFIED")
            {
                Submit(configMap);
            }
        }

        return resourceVersion;
    }

    private void Submit(V1ConfigMap configMap)
    {
        var data = configMap.Data ?? new Dictionary<string, string>();
        intake.Submit(Value(data, "runId"), Value(data, "collectors"), Value(data, "since"), SourceName);
    }

    private static string? Value(IDictionary<string, string> data, string key) => data.TryGetValue(key, out var value) ? value : null;

    private static string Describe(Exception ex, string ns, string name)
        => ex switch
        {
            HttpOperationException { Response.StatusCode: HttpStatusCode.Unauthorized } =>
                "the API refused the agent's credentials (401); check its service account token",
            HttpOperationException { Response.StatusCode: HttpStatusCode.Forbidden } =>
                $"the agent may not list and watch ConfigMap {ns}/{name} (403); grant get, list and watch on it, or set Periscope:Triggers:ConfigMap:Source to files",
            HttpOperationException http => $"{http.Message} {http.Response?.Content}".Trim(),
            OperationCanceledException => "the API did not answer within its deadline",
            _ => ex.Message,
        };

    [LoggerMessage(EventId = 1221, Level = LogLevel.Information, Message = "Watching ConfigMap {Namespace}/{Name} through the Kubernetes API at {Server}.")]
    private partial void LogWatching(string @namespace, string name, Uri server);

    [LoggerMessage(EventId = 1222, Level = LogLevel.Error, Message = "The run-id ConfigMap cannot be watched: no Kubernetes API configuration ({Reason}).")]
    private partial void LogNoApi(string reason);

    [LoggerMessage(EventId = 1223, Level = LogLevel.Warning, Message = "Kubernetes API: {Reason}; trying again in about {Seconds:0} s.")]
    private partial void LogApiError(string reason, double seconds);

    [LoggerMessage(EventId = 1224, Level = LogLevel.Information, Message = "resourceVersion {ResourceVersion} is too old (410 Gone); listing again.")]
    private partial void LogGone(string resourceVersion);

    [LoggerMessage(EventId = 1225, Level = LogLevel.Debug, Message = "Listed the run-id ConfigMap at resourceVersion {ResourceVersion}.")]
    private partial void LogListed(string resourceVersion);

    [LoggerMessage(EventId = 1226, Level = LogLevel.Debug, Message = "Watching from resourceVersion {ResourceVersion}.")]
    private partial void LogWatchOpen(string resourceVersion);
}
