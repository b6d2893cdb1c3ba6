using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Periscope.Agent.Collection;
using Periscope.Agent.Kubernetes;

namespace Periscope.Agent.Signals;

/// <summary>
/// Publishes the signal mapping's node conditions on the agent's own Node through
/// <c>PATCH /api/v1/nodes/{name}/status</c> with <c>application/strategic-merge-patch+json</c>: the API server merges
/// the conditions list by <c>type</c>, so the kubelet's conditions and every type Periscope does not own are left as
/// they are (a JSON merge patch would replace the whole list). At start it reads the node's conditions: an owned
/// condition found True is carried over (its <c>lastTransitionTime</c> kept, never reset by a restart), and nothing
/// is published before a check has covered a type's codes. <c>lastTransitionTime</c> changes only with the status;
/// every owned condition's <c>lastHeartbeatTime</c> is refreshed each heartbeat interval (the only writes while
/// nothing changes); owned types no longer configured are removed (<c>$patch: delete</c>). Failures are retried with
/// a growing backoff, and the same failure is logged once.
/// </summary>
internal sealed partial class NodeConditionPublisher(
    SignalTracker tracker, LocalNode localNode, IOptions<SignalOptions> options, TimeProvider time, ILogger<NodeConditionPublisher> logger) : BackgroundService
{
    public const string PatchMediaType = "application/strategic-merge-patch+json";
    private readonly ILogger _logger = logger;
    private readonly Dictionary<string, NodeCondition> _published = new(StringComparer.Ordinal);
    private string? _lastError;
    private DateTimeOffset? _lastHeartbeat;

    /// <summary>Successful PATCH requests so far.</summary>
    public long Patches { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        if (!o.Conditions.IsOn(o.Kubeconfig, Environment.GetEnvironmentVariable))
        {
            return;
        }

        KubernetesApiClient client;
        try
        {
            (client, _) = await KubernetesApiClient.FromConfigurationAsync(o.Kubeconfig);
        }
        catch (Exception ex) when (KubernetesApiClient.IsConfigurationError(ex))
        {
            LogNoApi(ex.Message);
            return;
        }

        using var owned = client;
        string node;
        try
        {
            node = await localNode.NameAsync(stoppingToken);
        }
        catch (Exception ex) when (ex is ArgumentException or IOException)
        {
            LogNoApi(ex.Message);
            return;
        }

        var types = SignalMap.ConfiguredConditions(o.Conditions);
        var npd = o.Conditions.NpdCompatible;
        var path = $"api/v1/nodes/{Uri.EscapeDataString(node)}";
        var backoff = TimeSpan.FromSeconds(1);
        var loaded = false;
        var typeList = string.Join(", ", types);
        LogPublishing(node, client.BaseUri, typeList);
        while (!stoppingToken.IsCancellationRequested)
        {
            Task changed = tracker.Changed;
            try
            {
                if (!loaded)
                {
                    // The node's current conditions first: what is already True keeps its transition time.
                    var body = await SendAsync(client, HttpMethod.Get, path, null, stoppingToken);
                    Load(body);
                    foreach (var (type, condition) in _published)
                    {
                        if (condition.Status == "True" && types.Contains(type, StringComparer.Ordinal))
                        {
                            tracker.Adopt(type, condition.Reason, condition.Message, condition.TransitionTime(time.GetUtcNow()), node, npd);
                        }
                    }

                    loaded = true;
                    changed = tracker.Changed;
                }

                await PublishAsync(client, path + "/status", types, npd, stoppingToken);
                backoff = TimeSpan.FromSeconds(1);
                if (_lastError is not null)
                {
                    _lastError = null;
                    LogRecovered(node);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is HttpRequestException or KubernetesApiException or IOException or JsonException or OperationCanceledException or InvalidOperationException)
            {
                var reason = Describe(ex, node);
                if (reason != _lastError)
                {
                    _lastError = reason;
                    LogApiError(reason);
                }

                try
                {
                    await Task.Delay(backoff * (0.5 + Random.Shared.NextDouble()), time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, o.Conditions.MaxBackoff.Ticks));
                continue;
            }

            // Until the next observation, the next hold-down to run out, or the next heartbeat.
            var now = time.GetUtcNow();
            var wake = (_lastHeartbeat ?? now) + o.Conditions.HeartbeatInterval;
            if (tracker.NextExpiry() is { } expiry && expiry < wake)
            {
                wake = expiry;
            }

            var wait = wake - now;
            try
            {
                if (wait > TimeSpan.Zero)
                {
                    await Task.WhenAny(changed, Task.Delay(wait + TimeSpan.FromMilliseconds(50), time, stoppingToken));
                }

                stoppingToken.ThrowIfCancellationRequested();
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Patches what differs from the published state, every owned condition on a heartbeat.</summary>
    private async Task PublishAsync(KubernetesApiClient client, string statusPath, IReadOnlyList<string> types, bool npd, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var stamp = Format(now);
        var heartbeatDue = _lastHeartbeat is null || now - _lastHeartbeat >= options.Value.Conditions.HeartbeatInterval;
        var desired = tracker.DesiredConditions(now, types, npd).ToDictionary(d => d.Type, StringComparer.Ordinal);
        var entries = new List<NodeCondition>();
        var changed = false;
        foreach (var type in types)
        {
            _published.TryGetValue(type, out var current);
            if (desired.TryGetValue(type, out var want))
            {
                var status = want.True ? "True" : "False";
                var differs = current is null || current.Status != status || current.Reason != want.Reason || current.Message != want.Message;
                changed |= differs;
                entries.Add(new NodeCondition(type, status, want.Reason, want.Message,
                    current is not null && current.Status == status && current.LastTransitionTime is not null ? current.LastTransitionTime : stamp, stamp));
            }
            else if (current is not null)
            {
                // Not known yet since start (no check has covered its codes): kept as it is, with a fresh heartbeat.
                entries.Add(current with { LastHeartbeatTime = stamp });
            }
        }

        var removed = _published.Keys.Where(t => !types.Contains(t, StringComparer.Ordinal)).ToList();
        if (!changed && !heartbeatDue && removed.Count == 0)
        {
            return;
        }

        if (entries.Count == 0 && removed.Count == 0)
        {
            return; // nothing known and nothing owned on the node: nothing to say yet
        }

        var body = await SendAsync(client, HttpMethod.Patch, statusPath, PatchBody(entries, removed), cancellationToken);
        Patches++;
        _lastHeartbeat = now;
        Load(body);
        if (changed || removed.Count > 0)
        {
            var holding = string.Join(", ", entries.Where(e => e.Status == "True").Select(e => e.Type).DefaultIfEmpty("none"));
            LogPatched(holding, removed.Count);
        }
    }

    /// <summary>The owned conditions of a Node object (a GET or a PATCH answer).</summary>
    private void Load(string nodeJson)
    {
        using var document = JsonDocument.Parse(nodeJson);
        _published.Clear();
        foreach (var condition in NodeCondition.ReadAll(document.RootElement).Where(IsOwned))
        {
            _published[condition.Type] = condition;
        }
    }

    /// <summary>
    /// A Periscope-prefixed type, or an NPD-compatible type whose message Periscope wrote: never a type of the kubelet,
    /// of node-problem-detector or of anyone else.
    /// </summary>
    public static bool IsOwned(NodeCondition condition)
    {
        ArgumentNullException.ThrowIfNull(condition);
        return condition.Type.StartsWith(SignalMap.ConditionPrefix, StringComparison.Ordinal)
            || (SignalMap.NpdConditions.Contains(condition.Type, StringComparer.Ordinal)
                && condition.Message?.StartsWith(SignalMap.MessagePrefix, StringComparison.Ordinal) == true);
    }

    /// <summary>The strategic merge patch: the conditions to set, merged by type, and <c>$patch: delete</c> for removed types.</summary>
    public static string PatchBody(IEnumerable<NodeCondition> set, IEnumerable<string> delete)
    {
        ArgumentNullException.ThrowIfNull(set);
        ArgumentNullException.ThrowIfNull(delete);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("status");
            writer.WriteStartArray("conditions");
            foreach (var c in set)
            {
                writer.WriteStartObject();
                writer.WriteString("type", c.Type);
                writer.WriteString("status", c.Status);
                WriteOptional(writer, "reason", c.Reason);
                WriteOptional(writer, "message", c.Message);
                WriteOptional(writer, "lastHeartbeatTime", c.LastHeartbeatTime);
                WriteOptional(writer, "lastTransitionTime", c.LastTransitionTime);
                writer.WriteEndObject();
            }

            foreach (var type in delete)
            {
                writer.WriteStartObject();
                writer.WriteString("type", type);
                writer.WriteString("$patch", "delete");
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private async Task<string> SendAsync(KubernetesApiClient client, HttpMethod method, string path, string? body, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.Value.Conditions.RequestTimeout);
        return await client.SendJsonAsync(method, path, body, PatchMediaType, deadline.Token);
    }

    private static void WriteOptional(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is not null)
        {
            writer.WriteString(name, value);
        }
    }

    /// <summary>RFC 3339 in whole seconds, as the API server stores a metav1.Time.</summary>
    public static string Format(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static string Describe(Exception ex, string node)
        => ex switch
        {
            KubernetesApiException { Status: HttpStatusCode.Unauthorized } =>
                "the API refused the agent's credentials (401); check its service account token",
            KubernetesApiException { Status: HttpStatusCode.Forbidden } =>
                $"the agent may not read or patch the status of node {node} (403); grant get on nodes and patch on nodes/status (deploy/base/rbac.yaml), or set {SignalOptions.SectionName}:Conditions:Publish to off",
            KubernetesApiException { Status: HttpStatusCode.NotFound } =>
                $"the API has no node named {node} (404); set NODE_NAME from spec.nodeName",
            OperationCanceledException => "the API did not answer within its deadline",
            _ => ex.Message,
        };

    [LoggerMessage(EventId = 1601, Level = LogLevel.Information, Message = "Publishing node conditions of {Node} through the Kubernetes API at {Server}: {Types}.")]
    private partial void LogPublishing(string node, Uri server, string types);

    [LoggerMessage(EventId = 1602, Level = LogLevel.Error, Message = "Node conditions cannot be published: no Kubernetes API configuration ({Reason}).")]
    private partial void LogNoApi(string reason);

    [LoggerMessage(EventId = 1603, Level = LogLevel.Warning, Message = "Node conditions: {Reason}; trying again with a growing backoff (logged again only if the reason changes).")]
    private partial void LogApiError(string reason);

    [LoggerMessage(EventId = 1604, Level = LogLevel.Information, Message = "Node conditions of {Node} are published again.")]
    private partial void LogRecovered(string node);

    [LoggerMessage(EventId = 1605, Level = LogLevel.Information, Message = "Node conditions patched; True: {True}; {Removed} type(s) removed.")]
    private partial void LogPatched(string @true, int removed);
}

/// <summary>A node condition as the API holds it (times as the API wrote them).</summary>
internal sealed record NodeCondition(string Type, string Status, string? Reason, string? Message, string? LastTransitionTime, string? LastHeartbeatTime)
{
    /// <summary>The conditions of a Node object (<c>status.conditions</c>); none when it has no such list.</summary>
    public static IEnumerable<NodeCondition> ReadAll(JsonElement node)
    {
        if (node.ValueKind != JsonValueKind.Object || !node.TryGetProperty("status", out var status) || status.ValueKind != JsonValueKind.Object
            || !status.TryGetProperty("conditions", out var conditions) || conditions.ValueKind != JsonValueKind.Array)
        {
            yield break;
        }

        foreach (var element in conditions.EnumerateArray())
        {
            yield return new NodeCondition(Text(element, "type") ?? string.Empty, Text(element, "status") ?? "Unknown", Text(element, "reason"),
                Text(element, "message"), Text(element, "lastTransitionTime"), Text(element, "lastHeartbeatTime"));
        }
    }

    private static string? Text(JsonElement element, string name)
        => element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    public DateTimeOffset TransitionTime(DateTimeOffset fallback)
        => DateTimeOffset.TryParse(LastTransitionTime, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t : fallback;
}
