using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Periscope.Agent.Collection;
using Periscope.Agent.Kubernetes;
using Periscope.Bundle;

namespace Periscope.Agent.Signals;

/// <summary>
/// Publishes new occurrences of Event-kind signals (docs/signals.md: an OOM kill, a crash loop, a DNS timeout) as core
/// v1 Events on the agent's Node: <c>type: Warning</c>, <c>reason</c> = the finding code, <c>source.component:
/// periscope-agent</c>, <c>source.host</c> = the node. The API accepts an Event about a cluster-scoped object only in
/// the <c>default</c> namespace (where the kubelet's and node-problem-detector's Node events go). Repeats of one code
/// and subject within <see cref="EventOptions.DedupeWindow"/> add to the first Event's <c>count</c> (a merge patch),
/// as the kubelet's recorder does; writes are rate limited (<see cref="EventOptions.PerMinute"/>, a token bucket),
/// and Events are best effort: one the API refuses is dropped, counted and logged once per reason.
/// </summary>
internal sealed partial class NodeEventPublisher(
    SignalTracker tracker, LocalNode localNode, IOptions<SignalOptions> options, TimeProvider time, ILogger<NodeEventPublisher> logger) : BackgroundService
{
    public const string Component = "periscope-agent";
    private readonly ILogger _logger = logger;
    private readonly Dictionary<(string, SubjectKind, string), (string Name, long Count, DateTimeOffset First)> _recent = [];
    private double _tokens = -1;
    private DateTimeOffset _refilled;
    private string? _lastError;

    /// <summary>Events created, counts updated, and occurrences dropped by the rate limit or the API.</summary>
    public long Created { get; private set; }

    public long Updated { get; private set; }

    public long Dropped { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        if (!SignalOptions.ApiEnabled(o.Events.Publish, o.Kubeconfig, Environment.GetEnvironmentVariable))
        {
            return;
        }

        KubernetesApiClient client;
        string node;
        try
        {
            (client, _) = await KubernetesApiClient.FromConfigurationAsync(o.Kubeconfig);
            node = await localNode.NameAsync(stoppingToken);
        }
        catch (Exception ex) when (KubernetesApiClient.IsConfigurationError(ex))
        {
            LogNoApi(ex.Message);
            return;
        }

        using var owned = client;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var changed = tracker.Changed;
                foreach (var occurrence in tracker.TakeOccurrences())
                {
                    await PublishAsync(client, node, occurrence, stoppingToken);
                }

                await changed.WaitAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    private async Task PublishAsync(KubernetesApiClient client, string node, SignalOccurrence occurrence, CancellationToken cancellationToken)
    {
        var o = options.Value.Events;
        var now = time.GetUtcNow();
        if (!TakeToken(now, o.PerMinute))
        {
            Dropped++;
            Fail($"more than {o.PerMinute} Event writes a minute; further occurrences are dropped until the rate allows (the signals and /v1/signals keep them)");
            return;
        }

        var signal = occurrence.Signal;
        var key = (signal.Code, signal.Subject.Kind, signal.Subject.Id);
        var message = Bound($"{signal.Code} on {Describe(signal.Subject)}: {occurrence.Detail}");
        var ns = Uri.EscapeDataString(o.Namespace);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.Value.Conditions.RequestTimeout);
        try
        {
            if (_recent.TryGetValue(key, out var recent) && now - recent.First < o.DedupeWindow)
            {
                var count = recent.Count + occurrence.NewOccurrences;
                await client.SendJsonAsync(HttpMethod.Patch, $"api/v1/namespaces/{ns}/events/{Uri.EscapeDataString(recent.Name)}",
                    CountPatch(count, now, message), "application/merge-patch+json", deadline.Token);
                _recent[key] = (recent.Name, count, recent.First);
                Updated++;
            }
            else
            {
                var name = $"{node}.{now.UtcTicks:x}{(uint)key.GetHashCode():x}";
                await client.SendJsonAsync(HttpMethod.Post, $"api/v1/namespaces/{ns}/events",
                    EventBody(name, o.Namespace, node, signal.Code, message, occurrence.NewOccurrences, now), "application/json", deadline.Token);
                _recent[key] = (name, occurrence.NewOccurrences, now);
                Created++;
                Prune(now, o.DedupeWindow);
            }

            if (_lastError is not null)
            {
                _lastError = null;
                LogRecovered();
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or KubernetesApiException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            // A 404 on a count update: the Event expired (its TTL) or was deleted; the next occurrence creates one.
            if (ex is KubernetesApiException { Status: HttpStatusCode.NotFound })
            {
                _recent.Remove(key);
            }

            Dropped++;
            Fail(ex switch
            {
                KubernetesApiException { Status: HttpStatusCode.Forbidden } =>
                    $"the agent may not create or patch Events in namespace {o.Namespace} (403); grant create and patch on events there (deploy/base/agent-rbac.yaml), or set {SignalOptions.SectionName}:Events:Publish to off",
                OperationCanceledException => "the API did not answer within its deadline",
                _ => ex.Message,
            });
        }
    }

    /// <summary>A token bucket of <paramref name="perMinute"/> writes, refilled continuously.</summary>
    private bool TakeToken(DateTimeOffset now, int perMinute)
    {
        if (_tokens < 0)
        {
            _tokens = perMinute;
            _refilled = now;
        }

        _tokens = Math.Min(perMinute, _tokens + ((now - _refilled).TotalMinutes * perMinute));
        _refilled = now;
        if (_tokens < 1)
        {
            return false;
        }

        _tokens--;
        return true;
    }

    private void Prune(DateTimeOffset now, TimeSpan window)
    {
        foreach (var (key, value) in _recent.ToList())
        {
            if (now - value.First >= window)
            {
                _recent.Remove(key);
            }
        }
    }

    private void Fail(string reason)
    {
        if (reason != _lastError)
        {
            _lastError = reason;
            LogFailed(reason);
        }
    }

    internal static string EventBody(string name, string ns, string node, string reason, string message, long count, DateTimeOffset now)
    {
        var stamp = NodeConditionPublisher.Format(now);
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("apiVersion", "v1");
            w.WriteString("kind", "Event");
            w.WriteStartObject("metadata");
            w.WriteString("name", name);
            w.WriteString("namespace", ns);
            w.WriteEndObject();
            w.WriteStartObject("involvedObject");
            w.WriteString("apiVersion", "v1");
            w.WriteString("kind", "Node");
            w.WriteString("name", node);
            w.WriteString("uid", node); // as the kubelet and node-problem-detector do: kubectl describe node matches it
            w.WriteEndObject();
            w.WriteString("reason", reason);
            w.WriteString("message", message);
            w.WriteString("type", "Warning");
            w.WriteStartObject("source");
            w.WriteString("component", Component);
            w.WriteString("host", node);
            w.WriteEndObject();
            w.WriteString("reportingComponent", Component);
            w.WriteString("reportingInstance", node);
            w.WriteString("firstTimestamp", stamp);
            w.WriteString("lastTimestamp", stamp);
            w.WriteNumber("count", count);
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static string CountPatch(long count, DateTimeOffset now, string message)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("count", count);
            w.WriteString("lastTimestamp", NodeConditionPublisher.Format(now));
            w.WriteString("message", message);
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static string Describe(FindingSubject subject)
        => subject.Kind == SubjectKind.Node ? "the node" : $"{subject.Kind.ToString().ToLowerInvariant()} {subject.Id}";

    private static string Bound(string message) => message.Length <= 1024 ? message : message[..1021] + "...";

    [LoggerMessage(EventId = 1621, Level = LogLevel.Error, Message = "Node events cannot be published: no Kubernetes API configuration ({Reason}).")]
    private partial void LogNoApi(string reason);

    [LoggerMessage(EventId = 1622, Level = LogLevel.Warning, Message = "Node events: {Reason} (logged again only if the reason changes).")]
    private partial void LogFailed(string reason);

    [LoggerMessage(EventId = 1623, Level = LogLevel.Information, Message = "Node events are published again.")]
    private partial void LogRecovered();
}
