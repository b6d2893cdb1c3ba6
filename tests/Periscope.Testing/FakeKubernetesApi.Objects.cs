using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Periscope.Testing;

/// <summary>
/// The FAKE API server's generic objects, for what installs and runs Periscope: any namespaced or cluster-scoped
/// resource under <c>/api/v1</c> and <c>/apis/{group}/{version}</c> (DaemonSets, Deployments, Services, RBAC, …) is
/// read (GET), listed (GET the collection, <c>labelSelector</c> honoured), server-side applied (PATCH with
/// <c>application/apply-patch+yaml</c>; <c>fieldManager</c> required, as the real server requires it, and recorded in
/// <c>metadata.managedFields</c>) and deleted (DELETE; 404 when absent). Pods of a namespace are listed from the pods
/// store. <c>POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews</c> answers allowed unless the attributes
/// were denied with <see cref="Deny"/>. <c>/api/v1/namespaces/{ns}/services/{name}/proxy/{path}</c> forwards to a
/// loopback URL given with <see cref="ProxyService"/>, as the API server's service proxy forwards to the service.
/// </summary>
public sealed partial class FakeKubernetesApi
{
    private readonly SortedDictionary<string, JsonObject> _objects = new(StringComparer.Ordinal);
    private readonly HashSet<string> _denied = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Uri> _serviceProxies = new(StringComparer.Ordinal);

    /// <summary>Every access review for these attributes answers not allowed (e.g. <c>Deny("create", "daemonsets", "apps", "periscope")</c>).</summary>
    public void Deny(string verb, string resource, string group = "", string? ns = null, string? subresource = null)
    {
        lock (_lock)
        {
            _denied.Add(ReviewKey(verb, group, resource, subresource, ns));
        }
    }

    /// <summary>The API server's service proxy for <c>{ns}/{service}</c> forwards to <paramref name="target"/>.</summary>
    public void ProxyService(string ns, string service, Uri target)
    {
        lock (_lock)
        {
            _serviceProxies[$"{ns}/{service}"] = target;
        }
    }

    /// <summary>An object as stored, or null (group "" for the core group; ns null for cluster-scoped).</summary>
    public JsonObject? GetObject(string group, string resource, string? ns, string name)
    {
        lock (_lock)
        {
            return _objects.TryGetValue(ObjectKey(group, resource, ns, name), out var found) ? (JsonObject)found.DeepClone() : null;
        }
    }

    /// <summary>The objects of a resource (any namespace), as stored.</summary>
    public IReadOnlyList<JsonObject> ListObjects(string group, string resource)
    {
        lock (_lock)
        {
            var prefix = $"{group}/{resource}/";
            return [.. _objects.Where(o => o.Key.StartsWith(prefix, StringComparison.Ordinal)).Select(o => (JsonObject)o.Value.DeepClone())];
        }
    }

    /// <summary>Stores an object as a test's cluster has it (not through the API: no request is recorded).</summary>
    public void PutObject(string group, string resource, string? ns, JsonObject value)
    {
        ArgumentNullException.ThrowIfNull(value);
        lock (_lock)
        {
            var name = (string)value["metadata"]!["name"]!;
            value["metadata"]!["resourceVersion"] = (++_resourceVersion).ToString(CultureInfo.InvariantCulture);
            _objects[ObjectKey(group, resource, ns, name)] = value;
        }
    }

    /// <summary>
    /// An agent pod of a DaemonSet on a node, with the status the kubelet would report: its phase and, for the one
    /// container, a waiting reason (<c>ImagePullBackOff</c>, <c>CrashLoopBackOff</c>) with the last termination, or a
    /// PodScheduled=False condition for a pod the scheduler could not place.
    /// </summary>
    public void PutAgentPod(string ns, string name, string node, IReadOnlyDictionary<string, string> labels, string phase = "Running",
        string? waitingReason = null, string? waitingMessage = null, (string Reason, int ExitCode, string? Message)? lastTerminated = null, int restarts = 0, string? unschedulable = null)
    {
        PutPod(ns, name, labels, node, ownerKind: "DaemonSet", phase: phase);
        lock (_lock)
        {
            var pod = _pods[$"{ns}/{name}"];
            var container = new JsonObject { ["name"] = "agent", ["restartCount"] = restarts, ["ready"] = waitingReason is null && phase == "Running" };
            container["state"] = waitingReason is null
                ? new JsonObject { ["running"] = new JsonObject { ["startedAt"] = "2026-12-05T10:00:00Z" } }
                : new JsonObject { ["waiting"] = new JsonObject { ["reason"] = waitingReason, ["message"] = waitingMessage } };
            if (lastTerminated is { } last)
            {
                container["lastState"] = new JsonObject { ["terminated"] = new JsonObject { ["reason"] = last.Reason, ["exitCode"] = last.ExitCode, ["message"] = last.Message } };
            }

            pod["status"]!["containerStatuses"] = new JsonArray(container);
            if (unschedulable is not null)
            {
                // As the DaemonSet controller makes it: bound to its node by required affinity, not yet by nodeName.
                pod["spec"]!["nodeName"] = null;
                pod["spec"]!["affinity"] = new JsonObject
                {
                    ["nodeAffinity"] = new JsonObject
                    {
                        ["requiredDuringSchedulingIgnoredDuringExecution"] = new JsonObject
                        {
                            ["nodeSelectorTerms"] = new JsonArray(new JsonObject
                            {
                                ["matchFields"] = new JsonArray(new JsonObject { ["key"] = "metadata.name", ["operator"] = "In", ["values"] = new JsonArray(node) }),
                            }),
                        },
                    },
                };
                pod["status"]!["conditions"] = new JsonArray(new JsonObject { ["type"] = "PodScheduled", ["status"] = "False", ["reason"] = "Unschedulable", ["message"] = unschedulable });
            }
        }
    }

    private static string ObjectKey(string group, string resource, string? ns, string name) => $"{group}/{resource}/{ns ?? string.Empty}/{name}";

    private static string ReviewKey(string verb, string group, string resource, string? subresource, string? ns)
        => $"{verb} {group}/{resource}{(string.IsNullOrEmpty(subresource) ? string.Empty : "/" + subresource)} {ns ?? string.Empty}";

    private void MapObjects(WebApplication app)
    {
        app.MapPost("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", ReviewAsync);
        app.MapGet("/api/v1/namespaces/{ns}/pods", (HttpContext c, string ns) => ListNamespacePodsAsync(c, ns));
        app.Map("/api/v1/namespaces/{ns}/services/{service}/proxy/{**path}", (HttpContext c, string ns, string service, string? path) => ServiceProxyAsync(c, ns, service, path));

        // Core group: namespaces (cluster-scoped), namespaced resources.
        app.MapGet("/api/v1/{resource}", (HttpContext c, string resource) => ListObjectsAsync(c, "", "v1", resource, null));
        app.MapMethods("/api/v1/namespaces/{name}", ["GET", "PATCH", "DELETE"], (HttpContext c, string name) => ObjectAsync(c, "", "v1", "namespaces", null, name));
        app.MapGet("/api/v1/namespaces/{ns}/{resource}", (HttpContext c, string ns, string resource) => ListObjectsAsync(c, "", "v1", resource, ns));
        app.MapPost("/api/v1/namespaces/{ns}/{resource}", (HttpContext c, string ns, string resource) => CreateObjectAsync(c, "", resource, ns));
        app.MapMethods("/api/v1/namespaces/{ns}/{resource}/{name}", ["GET", "PATCH", "DELETE"], (HttpContext c, string ns, string resource, string name) => ObjectAsync(c, "", "v1", resource, ns, name));

        // Named groups.
        app.MapGet("/apis/{group}/{version}/{resource}", (HttpContext c, string group, string version, string resource) => ListObjectsAsync(c, group, version, resource, null));
        app.MapMethods("/apis/{group}/{version}/{resource}/{name}", ["GET", "PATCH", "DELETE"], (HttpContext c, string group, string version, string resource, string name) => ObjectAsync(c, group, version, resource, null, name));
        app.MapGet("/apis/{group}/{version}/namespaces/{ns}/{resource}", (HttpContext c, string group, string version, string ns, string resource) => ListObjectsAsync(c, group, version, resource, ns));
        app.MapMethods("/apis/{group}/{version}/namespaces/{ns}/{resource}/{name}", ["GET", "PATCH", "DELETE"], (HttpContext c, string group, string version, string ns, string resource, string name) => ObjectAsync(c, group, version, resource, ns, name));
    }

    private bool Record(HttpContext context, string kind, string? body = null)
    {
        lock (_lock)
        {
            _requests.Add(new FakeApiRequest(kind, context.Request.Query["resourceVersion"].ToString(), context.Request.Query["labelSelector"].ToString(), context.Request.Headers.Authorization.ToString())
            {
                Body = body,
                ContentType = context.Request.ContentType,
                At = DateTimeOffset.UtcNow,
                Path = context.Request.Path + context.Request.QueryString,
            });
        }

        return context.Request.Headers.Authorization.ToString() == $"Bearer {Token}";
    }

    private async Task ReviewAsync(HttpContext context)
    {
        var body = await new StreamReader(context.Request.Body).ReadToEndAsync();
        if (!Record(context, "access-review", body))
        {
            await WriteStatusAsync(context, 401, "Unauthorized", "Unauthorized");
            return;
        }

        var review = JsonNode.Parse(body)!.AsObject();
        var attributes = review["spec"]?["resourceAttributes"] as JsonObject;
        if (attributes is null)
        {
            await WriteStatusAsync(context, 400, "BadRequest", "spec.resourceAttributes is required here");
            return;
        }

        bool allowed;
        lock (_lock)
        {
            allowed = !_denied.Contains(ReviewKey((string?)attributes["verb"] ?? "", (string?)attributes["group"] ?? "", (string?)attributes["resource"] ?? "",
                (string?)attributes["subresource"], (string?)attributes["namespace"]));
        }

        review["status"] = new JsonObject { ["allowed"] = allowed };
        if (!allowed)
        {
            review["status"]!["reason"] = "denied by the fake's test";
        }

        review["apiVersion"] = "authorization.k8s.io/v1";
        review["kind"] = "SelfSubjectAccessReview";
        context.Response.StatusCode = 201;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(review.ToJsonString());
    }

    /// <summary><c>GET /api/v1/configmaps</c>: the ConfigMaps of every namespace (here: the one), <c>labelSelector</c> honoured.</summary>
    private async Task ListAllConfigMapsAsync(HttpContext context)
    {
        if (!Record(context, "list-all-configmaps"))
        {
            await WriteStatusAsync(context, 401, "Unauthorized", "Unauthorized");
            return;
        }

        var selector = context.Request.Query["labelSelector"].ToString();
        JsonArray items;
        lock (_lock)
        {
            items = new JsonArray([.. _configMaps.Values.Where(c => selector.Length == 0 || (c["metadata"]!["labels"] is JsonObject && Selects(c, selector))).Select(c => c.DeepClone())]);
        }

        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(new JsonObject { ["kind"] = "ConfigMapList", ["apiVersion"] = "v1", ["metadata"] = new JsonObject(), ["items"] = items }.ToJsonString());
    }

    private async Task DeleteConfigMapAsync(HttpContext context, string ns, string name)
    {
        if (!Record(context, "delete configmaps"))
        {
            await WriteStatusAsync(context, 401, "Unauthorized", "Unauthorized");
            return;
        }

        bool exists;
        lock (_lock)
        {
            exists = ns == Namespace && _configMaps.ContainsKey(name);
        }

        if (!exists)
        {
            await WriteStatusAsync(context, 404, "NotFound", $"configmaps \"{name}\" not found");
            return;
        }

        Delete(name);
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(StatusObject(200, "Success", "deleted").ToJsonString());
    }

    private async Task ListNamespacePodsAsync(HttpContext context, string ns)
    {
        if (!Record(context, "list-namespace-pods"))
        {
            await WriteStatusAsync(context, 401, "Unauthorized", "Unauthorized");
            return;
        }

        var selector = context.Request.Query["labelSelector"].ToString();
        JsonArray items;
        lock (_lock)
        {
            items = new JsonArray([.. _pods.Values.Where(p => (string?)p["metadata"]!["namespace"] == ns && (selector.Length == 0 || Selects(p, selector))).Select(p => p.DeepClone())]);
        }

        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(new JsonObject
        {
            ["kind"] = "PodList", ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject { ["resourceVersion"] = _resourceVersion.ToString(CultureInfo.InvariantCulture) },
            ["items"] = items,
        }.ToJsonString());
    }

    private async Task ListObjectsAsync(HttpContext context, string group, string version, string resource, string? ns)
    {
        if (!Record(context, $"list {resource}"))
        {
            await WriteStatusAsync(context, 401, "Unauthorized", "Unauthorized");
            return;
        }

        var selector = context.Request.Query["labelSelector"].ToString();
        var prefix = $"{group}/{resource}/";
        JsonArray items;
        lock (_lock)
        {
            items = new JsonArray([.. _objects.Where(o => o.Key.StartsWith(prefix, StringComparison.Ordinal)
                    && (ns is null || (string?)o.Value["metadata"]!["namespace"] == ns)
                    && (selector.Length == 0 || (o.Value["metadata"]!["labels"] is JsonObject && Selects(o.Value, selector))))
                .Select(o => o.Value.DeepClone())]);
        }

        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(new JsonObject
        {
            ["kind"] = "List", ["apiVersion"] = group.Length == 0 ? version : $"{group}/{version}",
            ["metadata"] = new JsonObject { ["resourceVersion"] = _resourceVersion.ToString(CultureInfo.InvariantCulture) },
            ["items"] = items,
        }.ToJsonString());
    }

    private async Task ObjectAsync(HttpContext context, string group, string version, string resource, string? ns, string name)
    {
        var method = context.Request.Method;
        var body = method == "PATCH" ? await new StreamReader(context.Request.Body).ReadToEndAsync() : null;
        if (!Record(context, $"{method.ToLowerInvariant()} {resource}", body))
        {
            await WriteStatusAsync(context, 401, "Unauthorized", "Unauthorized");
            return;
        }

        var key = ObjectKey(group, resource, ns, name);
        if (method == "GET" || method == "DELETE")
        {
            JsonObject? found;
            lock (_lock)
            {
                found = _objects.TryGetValue(key, out var o) ? o : null;
                if (found is not null && method == "DELETE")
                {
                    _objects.Remove(key);
                    _resourceVersion++;
                }
            }

            if (found is null)
            {
                await WriteStatusAsync(context, 404, "NotFound", $"{resource}{(group.Length == 0 ? string.Empty : "." + group)} \"{name}\" not found");
                return;
            }

            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(found.ToJsonString());
            return;
        }

        // PATCH: server-side apply only.
        var mediaType = context.Request.ContentType?.Split(';')[0].Trim();
        if (mediaType != "application/apply-patch+yaml")
        {
            await WriteStatusAsync(context, 415, "UnsupportedMediaType", $"this fake applies only application/apply-patch+yaml (got {mediaType})");
            return;
        }

        var manager = context.Request.Query["fieldManager"].ToString();
        if (manager.Length == 0)
        {
            await WriteStatusAsync(context, 422, "Invalid", "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch");
            return;
        }

        JsonObject applied;
        try
        {
            applied = JsonNode.Parse(body!)!.AsObject(); // JSON is YAML: the clients here send JSON
        }
        catch (JsonException ex)
        {
            await WriteStatusAsync(context, 400, "BadRequest", $"error decoding YAML: {ex.Message}");
            return;
        }

        if ((string?)applied["metadata"]?["name"] != name)
        {
            await WriteStatusAsync(context, 400, "BadRequest", "the name of the object does not match the name on the URL");
            return;
        }

        JsonObject stored;
        lock (_lock)
        {
            var existing = _objects.TryGetValue(key, out var o) ? o : null;
            stored = existing is null ? applied : Merge((JsonObject)existing.DeepClone(), applied);
            var metadata = stored["metadata"]!.AsObject();
            if (ns is not null)
            {
                metadata["namespace"] = ns;
            }

            metadata["uid"] ??= Guid.NewGuid().ToString();
            metadata["creationTimestamp"] ??= DateTimeOffset.UtcNow.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
            metadata["resourceVersion"] = (++_resourceVersion).ToString(CultureInfo.InvariantCulture);
            metadata["managedFields"] = new JsonArray(new JsonObject { ["manager"] = manager, ["operation"] = "Apply", ["apiVersion"] = group.Length == 0 ? version : $"{group}/{version}" });
            _objects[key] = stored;
            stored = (JsonObject)stored.DeepClone();
        }

        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(stored.ToJsonString());
    }

    /// <summary>POST to a collection: creates (409 when it exists); a Secret's stringData is stored base64 as data, as the real server does.</summary>
    private async Task CreateObjectAsync(HttpContext context, string group, string resource, string ns)
    {
        var body = await new StreamReader(context.Request.Body).ReadToEndAsync();
        if (!Record(context, $"create {resource}", body))
        {
            await WriteStatusAsync(context, 401, "Unauthorized", "Unauthorized");
            return;
        }

        var created = JsonNode.Parse(body)!.AsObject();
        var name = (string?)created["metadata"]?["name"] ?? string.Empty;
        if (created["stringData"] is JsonObject stringData)
        {
            var data = created["data"] as JsonObject ?? [];
            foreach (var (key, value) in stringData.ToList())
            {
                data[key] = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes((string?)value ?? string.Empty));
            }

            created["data"] = data;
            created.Remove("stringData");
        }

        lock (_lock)
        {
            var key = ObjectKey(group, resource, ns, name);
            if (_objects.ContainsKey(key))
            {
                created = null!;
            }
            else
            {
                created["metadata"]!["namespace"] = ns;
                created["metadata"]!["resourceVersion"] = (++_resourceVersion).ToString(CultureInfo.InvariantCulture);
                _objects[key] = created;
                created = (JsonObject)created.DeepClone();
            }
        }

        if (created is null)
        {
            await WriteStatusAsync(context, 409, "AlreadyExists", $"{resource} \"{name}\" already exists");
            return;
        }

        context.Response.StatusCode = 201;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(created.ToJsonString());
    }

    /// <summary>Objects merge key by key; anything else (lists included) is replaced.</summary>
    private static JsonObject Merge(JsonObject target, JsonObject patch)
    {
        foreach (var (key, value) in patch.ToList())
        {
            target[key] = target[key] is JsonObject inner && value is JsonObject part ? Merge(inner, (JsonObject)part.DeepClone()) : value?.DeepClone();
        }

        return target;
    }

    private async Task ServiceProxyAsync(HttpContext context, string ns, string service, string? path)
    {
        if (!Record(context, "service-proxy"))
        {
            await WriteStatusAsync(context, 401, "Unauthorized", "Unauthorized");
            return;
        }

        Uri? target;
        lock (_lock)
        {
            target = _serviceProxies.GetValueOrDefault($"{ns}/{Uri.UnescapeDataString(service)}");
        }

        if (target is null)
        {
            await WriteStatusAsync(context, 503, "ServiceUnavailable", $"no endpoints available for service \"{service}\"");
            return;
        }

        // As the API server does: the caller's Authorization is its own credential and is not forwarded.
        using var client = new HttpClient();
        // The path arrives escaped as clients send it (a/b as a%2Fb); the real server decodes it, as Go's URL parsing does.
        using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), new Uri(target, Uri.UnescapeDataString(path ?? string.Empty) + context.Request.QueryString));
        foreach (var header in context.Request.Headers.Where(h => h.Key.StartsWith("X-", StringComparison.OrdinalIgnoreCase)))
        {
            request.Headers.TryAddWithoutValidation(header.Key, header.Value.ToArray());
        }

        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
        context.Response.StatusCode = (int)response.StatusCode;
        context.Response.ContentType = response.Content.Headers.ContentType?.ToString();
        await response.Content.CopyToAsync(context.Response.Body, context.RequestAborted);
    }
}
