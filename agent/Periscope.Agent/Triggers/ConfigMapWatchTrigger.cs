using System.Globalization;
using System.Net;
using System.Text.Json;
using Periscope.Agent.Kubernetes;
using Periscope.Agent.Runs;
using k8s;
using k8s.Exceptions;
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
/// KubernetesClient.Aot brings the configuration (in-cluster service account with its rotating token, or a
/// kubeconfig) and its credentials; it has no watch helper (the reflection-based client's is not AOT-safe), and its
/// client roots a JSON context of every API type. So the list and the watch are plain GETs
/// (<see cref="KubernetesApiClient"/>), read with the few fields used (<see cref="KubernetesObjectsJsonContext"/>).
/// </remarks>
internal sealed partial class ConfigMapWatchTrigger(
    TriggerIntake intake, IOptions<TriggerOptions> options, TimeProvider time, ILogger<ConfigMapWatchTrigger> logger) : BackgroundService
{
    public const string SourceName = "configmap";
    private static readonly TimeSpan RequestDeadline = TimeSpan.FromSeconds(30);
    private readonly ILogger _logger = logger;
    private string? _lastError;

    /// <summary>The newest resourceVersion seen, kept as events arrive so that a dropped watch resumes from it.</summary>
    private string? _resourceVersion;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value.ConfigMap;
        if (o.ResolvedSource(Environment.GetEnvironmentVariable) != "api")
        {
            return;
        }

        KubernetesApiClient client;
        string ns;
        try
        {
            (client, var configured) = await KubernetesApiClient.FromConfigurationAsync(o.Kubeconfig);
            ns = o.Namespace ?? Environment.GetEnvironmentVariable("POD_NAMESPACE") ?? configured ?? "default";
        }
        catch (Exception ex) when (KubernetesApiClient.IsConfigurationError(ex))
        {
            LogNoApi(ex.Message);
            return;
        }

        using var owned = client;
        LogWatching(ns, o.Name, client.BaseUri);

        var backoff = TimeSpan.FromSeconds(1);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                _resourceVersion ??= await ListAsync(client, ns, o.Name, stoppingToken);
                var opened = time.GetTimestamp();
                await WatchAsync(client, ns, o, stoppingToken);
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
            catch (Exception ex) when (ex is HttpRequestException or KubernetesApiException or IOException or JsonException or OperationCanceledException)
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
    private async Task<string> ListAsync(KubernetesApiClient client, string ns, string name, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(RequestDeadline);
        var query = $"api/v1/namespaces/{Uri.EscapeDataString(ns)}/configmaps?fieldSelector={Uri.EscapeDataString("metadata.name=" + name)}";
        using var response = await SendAsync(client, query, deadline.Token);
        await using var stream = await response.Content.ReadAsStreamAsync(deadline.Token);
        var list = await JsonSerializer.DeserializeAsync(stream, KubernetesObjectsJsonContext.Default.ConfigMapListObject, deadline.Token)
            ?? throw new JsonException("the list is empty");
        foreach (var configMap in list.Items ?? [])
        {
            Submit(configMap);
        }

        var resourceVersion = list.Metadata?.ResourceVersion;
        if (string.IsNullOrEmpty(resourceVersion))
        {
            throw new JsonException("the list has no resourceVersion");
        }

        LogListed(resourceVersion);
        return resourceVersion;
    }

    /// <summary>Sends an authenticated GET; throws with the API's own message for an error status (410 Gone excepted).</summary>
    private static async Task<HttpResponseMessage> SendAsync(KubernetesApiClient client, string query, CancellationToken cancellationToken)
    {
        var response = await client.GetAsync(query, cancellationToken);
        if (response.IsSuccessStatusCode || response.StatusCode == HttpStatusCode.Gone)
        {
            return response;
        }

        using (response)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            string? message = null;
            try
            {
                message = JsonSerializer.Deserialize(body, KubernetesObjectsJsonContext.Default.StatusObject)?.Message;
            }
            catch (JsonException)
            {
                // Not a Status (a proxy's page): the status code says enough.
            }

            throw new KubernetesApiException(response.StatusCode, message);
        }
    }

    /// <summary>
    /// Watches from the newest resourceVersion seen until the server ends the watch or the connection fails, keeping
    /// <see cref="_resourceVersion"/> up to date; sets it to null when it is too old (410 Gone) and a list must follow.
    /// </summary>
    private async Task WatchAsync(KubernetesApiClient client, string ns, ConfigMapTriggerOptions o, CancellationToken cancellationToken)
    {
        var resourceVersion = _resourceVersion!;
        // Watches of many agents should not all end together: the timeout is spread between 1x and 2x.
        var timeoutSeconds = (int)(o.WatchTimeout.TotalSeconds * (1 + Random.Shared.NextDouble()));
        var query = string.Create(CultureInfo.InvariantCulture,
            $"api/v1/namespaces/{Uri.EscapeDataString(ns)}/configmaps?watch=true&allowWatchBookmarks=true&resourceVersion={Uri.EscapeDataString(resourceVersion)}&fieldSelector={Uri.EscapeDataString("metadata.name=" + o.Name)}&timeoutSeconds={timeoutSeconds}");

        // The server ends the watch after timeoutSeconds; a connection that goes silent past that is dead.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(timeoutSeconds) + RequestDeadline);
        using var response = await SendAsync(client, query, deadline.Token);
        if (response.StatusCode == HttpStatusCode.Gone)
        {
            LogGone(resourceVersion);
            _resourceVersion = null;
            return;
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

            var watchEvent = JsonSerializer.Deserialize(line, KubernetesObjectsJsonContext.Default.WatchEventObject)
                ?? throw new JsonException("an empty watch event");
            if (watchEvent.Type == "ERROR")
            {
                var status = watchEvent.Object.Deserialize(KubernetesObjectsJsonContext.Default.StatusObject);
                if (status?.Code == (int)HttpStatusCode.Gone)
                {
                    LogGone(_resourceVersion!);
                    _resourceVersion = null;
                    return;
                }

                throw new KubernetesApiException((HttpStatusCode)(status?.Code ?? 500), status?.Message);
            }

            var configMap = watchEvent.Object.Deserialize(KubernetesObjectsJsonContext.Default.ConfigMapObject);
            _resourceVersion = configMap?.Metadata?.ResourceVersion ?? _resourceVersion;
            if (configMap is not null && watchEvent.Type is "ADDED" or "MODIFIED")
            {
                Submit(configMap);
            }
        }
    }

    private void Submit(ConfigMapObject configMap)
    {
        var data = configMap.Data ?? [];
        intake.Submit(Value(data, "runId"), Value(data, "collectors"), Value(data, "since"), SourceName);
    }

    private static string? Value(Dictionary<string, string> data, string key) => data.TryGetValue(key, out var value) ? value : null;

    private static string Describe(Exception ex, string ns, string name)
        => ex switch
        {
            KubernetesApiException { Status: HttpStatusCode.Unauthorized } =>
                "the API refused the agent's credentials (401); check its service account token",
            KubernetesApiException { Status: HttpStatusCode.Forbidden } =>
                $"the agent may not list and watch ConfigMap {ns}/{name} (403); grant get, list and watch on it, or set Periscope:Triggers:ConfigMap:Source to files",
            OperationCanceledException => "the API did not answer within its deadline",
            _ => ex.Message,
        };

    [LoggerMessage(EventId = 1521, Level = LogLevel.Information, Message = "Watching ConfigMap {Namespace}/{Name} through the Kubernetes API at {Server}.")]
    private partial void LogWatching(string @namespace, string name, Uri server);

    [LoggerMessage(EventId = 1522, Level = LogLevel.Error, Message = "The run-id ConfigMap cannot be watched: no Kubernetes API configuration ({Reason}).")]
    private partial void LogNoApi(string reason);

    [LoggerMessage(EventId = 1523, Level = LogLevel.Warning, Message = "Kubernetes API: {Reason}; trying again in about {Seconds:0} s.")]
    private partial void LogApiError(string reason, double seconds);

    [LoggerMessage(EventId = 1524, Level = LogLevel.Information, Message = "resourceVersion {ResourceVersion} is too old (410 Gone); listing again.")]
    private partial void LogGone(string resourceVersion);

    [LoggerMessage(EventId = 1525, Level = LogLevel.Debug, Message = "Listed the run-id ConfigMap at resourceVersion {ResourceVersion}.")]
    private partial void LogListed(string resourceVersion);

    [LoggerMessage(EventId = 1526, Level = LogLevel.Debug, Message = "Watching from resourceVersion {ResourceVersion}.")]
    private partial void LogWatchOpen(string resourceVersion);
}
