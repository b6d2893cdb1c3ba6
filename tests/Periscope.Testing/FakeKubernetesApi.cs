using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Periscope.Testing;

/// <summary>
/// A FAKE Kubernetes API server (no kube-apiserver can run here), in process on loopback, that follows the real
/// protocol for ConfigMaps of one namespace: <c>GET /api/v1/namespaces/{ns}/configmaps</c> lists (with
/// <c>fieldSelector=metadata.name=…</c>) and returns the list's resourceVersion; with <c>watch=true</c> it streams
/// newline-delimited watch events (<c>{"type":"ADDED|MODIFIED|DELETED|ERROR","object":…}</c>) newer than the given
/// resourceVersion, then waits for more until <c>timeoutSeconds</c>. A resourceVersion older than the last
/// <see cref="Compact"/> gets a 200 with one ERROR event carrying a 410 Gone Status ("too old resource version"),
/// as the real server answers a watch. <see cref="DropWatches"/> cuts every open watch connection. Every request
/// needs the bearer token, else 401 with a Status. Requests are recorded for assertions.
/// Nodes (<see cref="PutNode"/>) are listed by <c>GET /api/v1/nodes</c> with <c>labelSelector</c> (<c>k=v</c>,
/// <c>k!=v</c>, <c>k</c>, comma-joined) and paged by <c>limit</c> and <c>continue</c>, as the real server pages.
/// <c>GET /api/v1/nodes/{name}</c> (and <c>/status</c>) reads one node; <c>PATCH /api/v1/nodes/{name}/status</c> applies
/// a strategic merge patch (<c>application/strategic-merge-patch+json</c>) with the real semantics for the node's
/// lists: <c>status.conditions</c> and <c>status.addresses</c> merge by <c>type</c>, an element with
/// <c>"$patch": "delete"</c> removes the element of that type, <c>$setElementOrder</c> directives are accepted; or a
/// JSON merge patch (<c>application/merge-patch+json</c>, RFC 7386), which replaces a list whole — so a client that
/// sends the wrong kind wipes the kubelet's conditions here as it would on a real cluster.
/// </summary>
public sealed partial class FakeKubernetesApi : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, JsonObject> _configMaps = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, JsonObject> _nodes = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, JsonObject> _pods = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, JsonObject> _pdbs = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, JsonObject> _listedEvents = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Namespace, string Name), JsonObject> _coreEvents = [];
    private readonly List<(long Version, string Type, JsonObject Object)> _events = [];
    private readonly List<HttpContext> _watches = [];
    private readonly List<FakeApiRequest> _requests = [];
    private long _resourceVersion = 1000;
    private long _compactedBefore;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private FakeKubernetesApi(WebApplication app, string ns, string token)
    {
        _app = app;
        Namespace = ns;
        Token = token;
    }

    public string Namespace { get; }

    public string Token { get; }

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Status code every request gets instead of its answer, while set (a 403 from missing RBAC, say).</summary>
    public int? ForcedStatus { get; set; }

    /// <summary>When set, every ConfigMap create or replace is answered with this status (an admission webhook's denial, a quota).</summary>
    public int? ConfigMapWriteStatus { get; set; }

    /// <summary>While true, node requests are held unanswered until the client gives up (a hung API server).</summary>
    public bool Hang { get; set; }

    public IReadOnlyList<FakeApiRequest> Requests
    {
        get
        {
            lock (_lock)
            {
                return _requests.ToList();
            }
        }
    }

    /// <param name="certificate">Serve HTTPS with this certificate (as the real API server does, for in-cluster
    /// clients that trust the service account's ca.crt); plain HTTP when null.</param>
    public static async Task<FakeKubernetesApi> StartAsync(string ns = "periscope", string token = "fake-service-account-token", System.Security.Cryptography.X509Certificates.X509Certificate2? certificate = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0, l =>
        {
            if (certificate is not null)
            {
                l.UseHttps(certificate);
            }
        }));
        var app = builder.Build();
        var api = new FakeKubernetesApi(app, ns, token);
        app.MapGet("/api/v1/namespaces/{ns}/configmaps", (HttpContext context, string ns) => api.HandleAsync(context, ns));
        app.MapGet("/api/v1/nodes", api.ListNodesAsync);
        app.MapGet("/api/v1/pods", api.ListPodsAsync);
        app.MapGet("/apis/policy/v1/poddisruptionbudgets", api.ListPdbsAsync);
        app.MapGet("/api/v1/events", api.ListEventsAsync);
        app.MapGet("/api/v1/namespaces/{ns}/configmaps/{name}", (HttpContext context, string ns, string name) => api.GetOneAsync(context, ns, name));
        app.MapPost("/api/v1/namespaces/{ns}/configmaps", (HttpContext context, string ns) => api.WriteAsync(context, ns, null));
        app.MapPut("/api/v1/namespaces/{ns}/configmaps/{name}", (HttpContext context, string ns, string name) => api.WriteAsync(context, ns, name));
        app.MapGet("/api/v1/nodes/{name}", (HttpContext context, string name) => api.GetNodeAsync(context, name, "get-node"));
        app.MapGet("/api/v1/nodes/{name}/status", (HttpContext context, string name) => api.GetNodeAsync(context, name, "get-node-status"));
        app.MapMethods("/api/v1/nodes/{name}/status", ["PATCH"], (HttpContext context, string name) => api.PatchNodeStatusAsync(context, name));
        app.MapPost("/api/v1/namespaces/{ns}/events", (HttpContext context, string ns) => api.CreateEventAsync(context, ns));
        app.MapMethods("/api/v1/namespaces/{ns}/events/{name}", ["PATCH"], (HttpContext context, string ns, string name) => api.PatchEventAsync(context, ns, name));
        app.MapGet("/api/v1/configmaps", api.ListAllConfigMapsAsync);
        app.MapDelete("/api/v1/namespaces/{ns}/configmaps/{name}", (HttpContext context, string ns, string name) => api.DeleteConfigMapAsync(context, ns, name));
        api.MapObjects(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        api.BaseAddress = new Uri(address);
        return api;
    }

    /// <summary>Writes a kubeconfig that points at this server with its token, in namespace <see cref="Namespace"/>.</summary>
    public string WriteKubeconfig(string path, string? token = null)
    {
        File.WriteAllText(path, $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: fake
              cluster:
                server: {BaseAddress.ToString().TrimEnd('/')}
            users:
            - name: agent
              user:
                token: {token ?? Token}
            contexts:
            - name: fake
              context:
                cluster: fake
                user: agent
                namespace: {Namespace}
            current-context: fake
            """);
        return path;
    }

    /// <summary>Creates or replaces a ConfigMap's data (an ADDED or MODIFIED event); returns its new resourceVersion.</summary>
    public long Put(string name, IReadOnlyDictionary<string, string> data) => Put(name, data, null, null);

    /// <summary>A ConfigMap as stored, or null.</summary>
    public JsonObject? ConfigMap(string name)
    {
        lock (_lock)
        {
            return _configMaps.TryGetValue(name, out var found) ? (JsonObject)found.DeepClone() : null;
        }
    }

    private long Put(string name, IReadOnlyDictionary<string, string> data, JsonNode? labels, JsonNode? annotations)
    {
        lock (_lock)
        {
            var version = ++_resourceVersion;
            var dataObject = new JsonObject();
            foreach (var (key, value) in data)
            {
                dataObject[key] = value;
            }

            var type = _configMaps.ContainsKey(name) ? "MODIFIED" : "ADDED";
            var configMap = new JsonObject
            {
                ["kind"] = "ConfigMap",
                ["apiVersion"] = "v1",
                ["metadata"] = new JsonObject
                {
                    ["name"] = name,
                    ["namespace"] = Namespace,
                    ["resourceVersion"] = version.ToString(CultureInfo.InvariantCulture),
                    ["uid"] = "6a0c1b3e-0000-4000-8000-" + name.GetHashCode(StringComparison.Ordinal).ToString("x12", CultureInfo.InvariantCulture)[..12],
                    ["labels"] = labels?.DeepClone(),
                    ["annotations"] = annotations?.DeepClone(),
                },
                ["data"] = dataObject,
            };
            _configMaps[name] = configMap;
            _events.Add((version, type, (JsonObject)configMap.DeepClone()));
            Signal();
            return version;
        }
    }

    public void Delete(string name)
    {
        lock (_lock)
        {
            if (_configMaps.Remove(name, out var configMap))
            {
                var version = ++_resourceVersion;
                configMap["metadata"]!["resourceVersion"] = version.ToString(CultureInfo.InvariantCulture);
                _events.Add((version, "DELETED", configMap));
                Signal();
            }
        }
    }

    /// <summary>Adds or replaces a node with these labels, Ready condition (True, False or Unknown) and creation time.</summary>
    /// <summary>Sets annotations on a node.</summary>
    public void AnnotateNode(string name, IReadOnlyDictionary<string, string> annotations)
    {
        lock (_lock)
        {
            var metadata = _nodes[name]["metadata"]!.AsObject();
            var map = metadata["annotations"] as JsonObject ?? new JsonObject();
            foreach (var (key, value) in annotations)
            {
                map[key] = value;
            }

            metadata["annotations"] = map;
        }
    }

    /// <summary>
    /// A pod, stored whole as the real server stores it (spec with a container whose env holds a secret value): a
    /// client that lists pods without asking for the Table gets all of it, which the tests can see it never does.
    /// </summary>
    public void PutPod(string ns, string name, IReadOnlyDictionary<string, string> labels, string? node, string? ownerKind = "ReplicaSet", string phase = "Running")
    {
        var labelObject = new JsonObject();
        foreach (var (key, value) in labels)
        {
            labelObject[key] = value;
        }

        var metadata = new JsonObject { ["name"] = name, ["namespace"] = ns, ["uid"] = Guid.NewGuid().ToString(), ["labels"] = labelObject, ["creationTimestamp"] = "2026-11-01T00:00:00Z" };
        if (ownerKind is not null)
        {
            metadata["ownerReferences"] = new JsonArray(new JsonObject { ["apiVersion"] = "apps/v1", ["kind"] = ownerKind, ["name"] = name[..Math.Max(1, name.LastIndexOf('-'))], ["controller"] = true, ["uid"] = Guid.NewGuid().ToString() });
        }

        var pod = new JsonObject
        {
            ["metadata"] = metadata,
            ["spec"] = new JsonObject
            {
                ["nodeName"] = node,
                ["containers"] = new JsonArray(new JsonObject { ["name"] = "app", ["image"] = "app:1", ["env"] = new JsonArray(new JsonObject { ["name"] = "DB_PASSWORD", ["value"] = PodSecretValue }) }),
            },
            ["status"] = new JsonObject { ["phase"] = phase, ["podIP"] = "10.244.0.9" },
        };
        lock (_lock)
        {
            pod["metadata"]!["resourceVersion"] = (++_resourceVersion).ToString(CultureInfo.InvariantCulture);
            _pods[$"{ns}/{name}"] = pod;
        }
    }

    /// <summary>The value in every pod's env: it must never reach a client that asked for the Table.</summary>
    public const string PodSecretValue = "pod-env-secret-4f1c";

    /// <summary>A PodDisruptionBudget (policy/v1) selecting <paramref name="matchLabels"/>, with its status.</summary>
    public void PutPdb(string ns, string name, IReadOnlyDictionary<string, string> matchLabels, int disruptionsAllowed, int expectedPods)
    {
        var match = new JsonObject();
        foreach (var (key, value) in matchLabels)
        {
            match[key] = value;
        }

        lock (_lock)
        {
            _pdbs[$"{ns}/{name}"] = new JsonObject
            {
                ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns, ["resourceVersion"] = (++_resourceVersion).ToString(CultureInfo.InvariantCulture) },
                ["spec"] = new JsonObject { ["minAvailable"] = expectedPods, ["selector"] = new JsonObject { ["matchLabels"] = match } },
                ["status"] = new JsonObject { ["disruptionsAllowed"] = disruptionsAllowed, ["expectedPods"] = expectedPods, ["currentHealthy"] = expectedPods, ["desiredHealthy"] = expectedPods },
            };
        }
    }

    /// <summary>An event about a Node (namespace default, as the kubelet and AKS record them).</summary>
    public void PutNodeEvent(string node, string reason, string component, string message, DateTimeOffset time, string type = "Normal")
    {
        var name = $"{node}.{Guid.NewGuid():N}";
        var stamp = time.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        lock (_lock)
        {
            _listedEvents[$"default/{name}"] = new JsonObject
            {
                ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "default", ["resourceVersion"] = (++_resourceVersion).ToString(CultureInfo.InvariantCulture) },
                ["involvedObject"] = new JsonObject { ["kind"] = "Node", ["name"] = node, ["apiVersion"] = "v1" },
                ["reason"] = reason,
                ["message"] = message,
                ["source"] = new JsonObject { ["component"] = component },
                ["type"] = type,
                ["count"] = 1,
                ["firstTimestamp"] = stamp,
                ["lastTimestamp"] = stamp,
            };
        }
    }

    /// <param name="name">The node's name.</param>
    /// <param name="labels">Labels beside kubernetes.io/hostname and kubernetes.io/os=linux.</param>
    /// <param name="ready">The Ready condition's status.</param>
    /// <param name="reason">The Ready condition's reason.</param>
    /// <param name="unschedulable">spec.unschedulable (cordoned).</param>
    /// <param name="created">metadata.creationTimestamp.</param>
    /// <param name="cordonedAt">
    /// With <paramref name="unschedulable"/>: when <c>kubectl cordon</c> set it, recorded as the API server does, in
    /// metadata.managedFields (manager <c>kubectl-cordon</c>, operation Update, owning <c>f:spec.f:unschedulable</c>).
    /// </param>
    /// <param name="taints">spec.taints as (key, value, effect).</param>
    public void PutNode(string name, IReadOnlyDictionary<string, string>? labels = null, string ready = "True", string? reason = null, bool unschedulable = false, DateTimeOffset? created = null,
        DateTimeOffset? cordonedAt = null, IReadOnlyList<(string Key, string? Value, string Effect)>? taints = null)
    {
        var labelObject = new JsonObject
        {
            ["kubernetes.io/hostname"] = name,
            ["kubernetes.io/os"] = "linux",
        };
        foreach (var (key, value) in labels ?? new Dictionary<string, string>())
        {
            labelObject[key] = value;
        }

        var timestamp = (created ?? new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero)).UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        var node = new JsonObject
        {
            ["metadata"] = new JsonObject
            {
                ["name"] = name,
                ["uid"] = Guid.NewGuid().ToString(),
                ["creationTimestamp"] = timestamp,
                ["labels"] = labelObject,
            },
            ["spec"] = new JsonObject { ["unschedulable"] = unschedulable, ["podCIDR"] = "10.244.0.0/24" },
        };
        var managed = new JsonArray(new JsonObject
        {
            ["manager"] = "kubelet",
            ["operation"] = "Update",
            ["apiVersion"] = "v1",
            ["time"] = timestamp,
            ["fieldsType"] = "FieldsV1",
            ["fieldsV1"] = new JsonObject { ["f:metadata"] = new JsonObject { ["f:labels"] = new JsonObject { ["f:kubernetes.io/os"] = new JsonObject() } } },
        });
        if (unschedulable && cordonedAt is { } cordoned)
        {
            managed.Add(new JsonObject
            {
                ["manager"] = "kubectl-cordon",
                ["operation"] = "Update",
                ["apiVersion"] = "v1",
                ["time"] = cordoned.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
                ["fieldsType"] = "FieldsV1",
                ["fieldsV1"] = new JsonObject { ["f:spec"] = new JsonObject { ["f:unschedulable"] = new JsonObject() } },
            });
        }

        node["metadata"]!["managedFields"] = managed;
        if (taints is { Count: > 0 })
        {
            node["spec"]!["taints"] = new JsonArray([.. taints.Select(t => (JsonNode)new JsonObject { ["key"] = t.Key, ["value"] = t.Value, ["effect"] = t.Effect })]);
        }

        node["status"] = new JsonObject
        {
            ["conditions"] = new JsonArray(
                new JsonObject { ["type"] = "MemoryPressure", ["status"] = "False", ["reason"] = "KubeletHasSufficientMemory", ["lastTransitionTime"] = timestamp },
                new JsonObject { ["type"] = "Ready", ["status"] = ready, ["reason"] = reason ?? (ready == "True" ? "KubeletReady" : "KubeletNotReady"), ["lastTransitionTime"] = timestamp }),
            ["nodeInfo"] = new JsonObject { ["kubeletVersion"] = "v1.31.2", ["containerRuntimeVersion"] = "containerd://1.7.27", ["osImage"] = "Ubuntu 24.04.2 LTS" },
        };
        lock (_lock)
        {
            node["metadata"]!["resourceVersion"] = (++_resourceVersion).ToString(CultureInfo.InvariantCulture);
            _nodes[name] = node;
        }
    }

    private static bool Selects(JsonObject node, string selector)
    {
        var labels = node["metadata"]!["labels"]!.AsObject();
        foreach (var term in selector.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var notEqual = term.IndexOf("!=", StringComparison.Ordinal);
            var equal = term.IndexOf('=', StringComparison.Ordinal);
            var holds = notEqual > 0 ? (string?)labels[term[..notEqual]] != term[(notEqual + 2)..]
                : equal > 0 ? (string?)labels[term[..equal]] == term[(equal + 1)..].TrimStart('=')
                : labels.ContainsKey(term);
            if (!holds)
            {
                return false;
            }
        }

        return true;
    }

    private async Task ListNodesAsync(HttpContext context)
    {
        var query = context.Request.Query;
        lock (_lock)
        {
            _requests.Add(new FakeApiRequest("list-nodes", query["continue"].ToString(), query["labelSelector"].ToString(), context.Request.Headers.Authorization.ToString()));
        }

        if (context.Request.Headers.Authorization.ToString() != $"Bearer {Token}")
        {
            await WriteStatusAsync(context, 401, "Unauthorized", "Unauthorized");
            return;
        }

        if (ForcedStatus is { } forced)
        {
            await WriteStatusAsync(context, forced, forced == 403 ? "Forbidden" : "InternalError",
                forced == 403 ? "nodes is forbidden: User \"system:serviceaccount:periscope:collector\" cannot list resource \"nodes\" in API group \"\" at the cluster scope" : "fake failure");
            return;
        }

        var selector = query["labelSelector"].ToString();
        var limit = int.TryParse(query["limit"].ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var l) && l > 0 ? l : int.MaxValue;
        var after = query["continue"].ToString();
        JsonObject list;
        lock (_lock)
        {
            // The continue token here is the last name served (the real server's is opaque).
            var matching = _nodes.Where(p => (after.Length == 0 || string.CompareOrdinal(p.Key, after) > 0) && Selects(p.Value, selector)).ToList();
            var page = matching.Take(limit).ToList();
            var metadata = new JsonObject { ["resourceVersion"] = _resourceVersion.ToString(CultureInfo.InvariantCulture) };
            if (matching.Count > page.Count)
            {
                metadata["continue"] = page[^1].Key;
                metadata["remainingItemCount"] = matching.Count - page.Count;
            }

            list = new JsonObject
            {
                ["kind"] = "NodeList",
                ["apiVersion"] = "v1",
                ["metadata"] = metadata,
                ["items"] = new JsonArray(page.Select(p => (JsonNode)p.Value.DeepClone()).ToArray()),
            };
        }

        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(list.ToJsonString());
    }

    /// <summary>
    /// <c>GET /api/v1/pods</c>: with <c>Accept: application/json;as=Table;v=v1;g=meta.k8s.io</c> the server-side Table the
    /// real server prints for pods (its columns, each row's cells, and with <c>includeObject=Metadata</c> the pod's
    /// PartialObjectMetadata); otherwise the whole PodList. Paged like the nodes list.
    /// </summary>
    private Task ListPodsAsync(HttpContext context)
    {
        var table = context.Request.Headers.Accept.ToString().Contains("as=Table", StringComparison.Ordinal);
        return ListAsync(context, table ? "list-pods-table" : "list-pods", "pods", _pods, _ => true, page => table
            ? new JsonObject
            {
                ["kind"] = "Table",
                ["apiVersion"] = "meta.k8s.io/v1",
                ["columnDefinitions"] = new JsonArray(
                    [.. new[] { "Name", "Ready", "Status", "Restarts", "Age", "IP", "Node", "Nominated Node", "Readiness Gates" }
                        .Select(c => (JsonNode)new JsonObject { ["name"] = c, ["type"] = "string", ["format"] = c == "Name" ? "name" : "", ["description"] = c, ["priority"] = c is "IP" or "Node" or "Nominated Node" or "Readiness Gates" ? 1 : 0 })]),
                ["rows"] = new JsonArray([.. page.Select(p => (JsonNode)new JsonObject
                {
                    ["cells"] = new JsonArray(
                        (string?)p["metadata"]!["name"], "1/1", (string?)p["status"]!["phase"], 0, "5d", (string?)p["status"]!["podIP"],
                        (string?)p["spec"]!["nodeName"] ?? "<none>", "<none>", "<none>"),
                    ["object"] = new JsonObject
                    {
                        ["kind"] = "PartialObjectMetadata",
                        ["apiVersion"] = "meta.k8s.io/v1",
                        ["metadata"] = p["metadata"]!.DeepClone(),
                    },
                })]),
            }
            : new JsonObject { ["kind"] = "PodList", ["apiVersion"] = "v1", ["items"] = new JsonArray([.. page.Select(p => p.DeepClone())]) });
    }

    private Task ListPdbsAsync(HttpContext context)
        => ListAsync(context, "list-pdbs", "poddisruptionbudgets", _pdbs, _ => true,
            page => new JsonObject { ["kind"] = "PodDisruptionBudgetList", ["apiVersion"] = "policy/v1", ["items"] = new JsonArray([.. page.Select(p => p.DeepClone())]) });

    /// <summary><c>GET /api/v1/events</c>: the events of every namespace; the field selector <c>involvedObject.kind=K</c> is honoured.</summary>
    private Task ListEventsAsync(HttpContext context)
    {
        var selector = context.Request.Query["fieldSelector"].ToString();
        var kind = selector.StartsWith("involvedObject.kind=", StringComparison.Ordinal) ? selector["involvedObject.kind=".Length..] : null;
        return ListAsync(context, "list-events", "events", _listedEvents, e => kind is null || (string?)e["involvedObject"]!["kind"] == kind,
            page => new JsonObject { ["kind"] = "EventList", ["apiVersion"] = "v1", ["items"] = new JsonArray([.. page.Select(p => p.DeepClone())]) });
    }

    /// <summary>A paged list of one store (continue token: the last key served), recorded with the Accept header.</summary>
    private async Task ListAsync(HttpContext context, string kind, string resource, SortedDictionary<string, JsonObject> store, Func<JsonObject, bool> filter, Func<IReadOnlyList<JsonObject>, JsonObject> render)
    {
        var query = context.Request.Query;
        lock (_lock)
        {
            _requests.Add(new FakeApiRequest(kind, query["continue"].ToString(), query["fieldSelector"].ToString(), context.Request.Headers.Authorization.ToString())
            {
                ContentType = context.Request.Headers.Accept.ToString(),
                At = DateTimeOffset.UtcNow,
            });
        }

        if (context.Request.Headers.Authorization.ToString() != $"Bearer {Token}")
        {
            await WriteStatusAsync(context, 401, "Unauthorized", "Unauthorized");
            return;
        }

        if (ForbiddenResources.Contains(resource))
        {
            await WriteStatusAsync(context, 403, "Forbidden", $"{resource} is forbidden: User \"system:serviceaccount:periscope:collector\" cannot list resource \"{resource}\" at the cluster scope");
            return;
        }

        var limit = int.TryParse(query["limit"].ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var l) && l > 0 ? l : int.MaxValue;
        var after = query["continue"].ToString();
        JsonObject list;
        lock (_lock)
        {
            var matching = store.Where(p => (after.Length == 0 || string.CompareOrdinal(p.Key, after) > 0) && filter(p.Value)).ToList();
            var page = matching.Take(limit).ToList();
            list = render([.. page.Select(p => p.Value)]);
            var metadata = new JsonObject { ["resourceVersion"] = _resourceVersion.ToString(CultureInfo.InvariantCulture) };
            if (matching.Count > page.Count)
            {
                metadata["continue"] = page[^1].Key;
                metadata["remainingItemCount"] = matching.Count - page.Count;
            }

            list["metadata"] = metadata;
        }

        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(list.ToJsonString());
    }

    /// <summary>Resources (<c>pods</c>, <c>poddisruptionbudgets</c>, <c>events</c>) whose list is refused with 403, as missing RBAC would.</summary>
    public HashSet<string> ForbiddenResources { get; } = new(StringComparer.Ordinal);

    /// <summary>The node's conditions as stored now (clones).</summary>
    public IReadOnlyList<JsonObject> NodeConditions(string name)
    {
        lock (_lock)
        {
            return _nodes.TryGetValue(name, out var node) && node["status"]?["conditions"] is JsonArray conditions
                ? conditions.Select(c => (JsonObject)c!.DeepClone()).ToList()
                : [];
        }
    }

    /// <summary>The node's condition of this type, or null.</summary>
    public JsonObject? NodeCondition(string name, string type)
        => NodeConditions(name).FirstOrDefault(c => (string?)c["type"] == type);

    /// <summary>Sets (adds or replaces) one condition on a node, as another writer would.</summary>
    public void SetNodeCondition(string name, JsonObject condition)
    {
        ArgumentNullException.ThrowIfNull(condition);
        lock (_lock)
        {
            var conditions = (JsonArray)_nodes[name]["status"]!["conditions"]!;
            var existing = conditions.FirstOrDefault(c => (string?)c!["type"] == (string?)condition["type"]);
            if (existing is not null)
            {
                conditions.Remove(existing);
            }

            conditions.Add(condition.DeepClone());
            _nodes[name]["metadata"]!["resourceVersion"] = (++_resourceVersion).ToString(CultureInfo.InvariantCulture);
        }
    }

    private async Task<bool> NodeRequestAsync(HttpContext context, string kind, string? body = null)
    {
        lock (_lock)
        {
            _requests.Add(new FakeApiRequest(kind, context.Request.Query["resourceVersion"].ToString(), string.Empty, context.Request.Headers.Authorization.ToString())
            {
                Body = body,
                ContentType = context.Request.ContentType,
                At = DateTimeOffset.UtcNow,
            });
        }

        if (Hang)
        {
            try
            {
                await Task.Delay(Timeout.Infinite, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }

        if (context.Request.Headers.Authorization.ToString() != $"Bearer {Token}")
        {
            await WriteStatusAsync(context, 401, "Unauthorized", "Unauthorized");
            return false;
        }

        if (ForcedStatus is { } forced)
        {
            await WriteStatusAsync(context, forced, forced == 403 ? "Forbidden" : "InternalError",
                forced == 403 ? $"nodes is forbidden: User \"system:serviceaccount:{Namespace}:agent\" cannot {(kind.StartsWith("patch", StringComparison.Ordinal) ? "patch resource \"nodes/status\"" : "get resource \"nodes\"")} in API group \"\" at the cluster scope" : "fake failure");
            return false;
        }

        return true;
    }

    private async Task GetNodeAsync(HttpContext context, string name, string kind)
    {
        if (!await NodeRequestAsync(context, kind))
        {
            return;
        }

        JsonObject? node;
        lock (_lock)
        {
            node = _nodes.TryGetValue(name, out var found) ? (JsonObject)found.DeepClone() : null;
        }

        if (node is null)
        {
            await WriteStatusAsync(context, 404, "NotFound", $"nodes \"{name}\" not found");
            return;
        }

        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(node.ToJsonString());
    }

    private async Task PatchNodeStatusAsync(HttpContext context, string name)
    {
        string text;
        using (var reader = new StreamReader(context.Request.Body, Encoding.UTF8))
        {
            text = await reader.ReadToEndAsync(context.RequestAborted);
        }

        if (!await NodeRequestAsync(context, "patch-node-status", text))
        {
            return;
        }

        var mediaType = (context.Request.ContentType ?? string.Empty).Split(';')[0].Trim();
        if (mediaType is not ("application/strategic-merge-patch+json" or "application/merge-patch+json"))
        {
            await WriteStatusAsync(context, 415, "UnsupportedMediaType", $"the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got {mediaType})");
            return;
        }

        JsonObject patch;
        try
        {
            patch = JsonNode.Parse(text) as JsonObject ?? throw new JsonException("the patch is not an object");
        }
        catch (JsonException ex)
        {
            await WriteStatusAsync(context, 400, "BadRequest", ex.Message);
            return;
        }

        string? error = null;
        JsonObject? result = null;
        lock (_lock)
        {
            if (_nodes.TryGetValue(name, out var node))
            {
                var merged = (JsonObject)node.DeepClone();
                // Only the status subresource is written through /status: spec and metadata changes are ignored.
                var status = patch["status"] as JsonObject ?? new JsonObject();
                var target = merged["status"] as JsonObject ?? new JsonObject();
                error = mediaType == "application/merge-patch+json" ? MergePatch(target, status) : StrategicMerge(target, status, "status");
                merged["status"] = target.DeepClone();
                if (error is null)
                {
                    merged["metadata"]!["resourceVersion"] = (++_resourceVersion).ToString(CultureInfo.InvariantCulture);
                    _nodes[name] = merged;
                    result = (JsonObject)merged.DeepClone();
                }
            }
        }

        if (result is null)
        {
            await WriteStatusAsync(context, error is null ? 404 : 400, error is null ? "NotFound" : "BadRequest", error ?? $"nodes \"{name}\" not found");
            return;
        }

        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(result.ToJsonString());
    }

    /// <summary>The core v1 Events stored (clones), in every namespace.</summary>
    public IReadOnlyList<JsonObject> CoreEvents()
    {
        lock (_lock)
        {
            return _coreEvents.Values.Select(e => (JsonObject)e.DeepClone()).ToList();
        }
    }

    /// <summary>
    /// <c>POST /api/v1/namespaces/{ns}/events</c>: stored by name (409 if it exists). As the real server validates, an
    /// Event about a cluster-scoped object (no involvedObject.namespace, a Node) is accepted only in <c>default</c>.
    /// </summary>
    private async Task CreateEventAsync(HttpContext context, string ns)
    {
        var text = await new StreamReader(context.Request.Body, Encoding.UTF8).ReadToEndAsync(context.RequestAborted);
        if (!await NodeRequestAsync(context, "create-event", text))
        {
            return;
        }

        var body = JsonNode.Parse(text) as JsonObject;
        var name = (string?)body?["metadata"]?["name"];
        var involvedNamespace = (string?)body?["involvedObject"]?["namespace"] ?? string.Empty;
        if (body is null || name is null)
        {
            await WriteStatusAsync(context, 400, "BadRequest", "an Event needs metadata.name");
            return;
        }

        if (involvedNamespace.Length == 0 ? ns != "default" : ns != involvedNamespace)
        {
            await WriteStatusAsync(context, 422, "Invalid", $"Event \"{name}\" is invalid: involvedObject.namespace: Invalid value: \"{involvedNamespace}\": does not match event.namespace");
            return;
        }

        lock (_lock)
        {
            if (_coreEvents.ContainsKey((ns, name)))
            {
                body = null;
            }
            else
            {
                body["metadata"]!["namespace"] = ns;
                body["metadata"]!["resourceVersion"] = (++_resourceVersion).ToString(CultureInfo.InvariantCulture);
                _coreEvents[(ns, name)] = body;
            }
        }

        if (body is null)
        {
            await WriteStatusAsync(context, 409, "AlreadyExists", $"events \"{name}\" already exists");
            return;
        }

        context.Response.StatusCode = 201;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body.ToJsonString());
    }

    /// <summary><c>PATCH /api/v1/namespaces/{ns}/events/{name}</c> with a JSON merge patch (404 when it does not exist).</summary>
    private async Task PatchEventAsync(HttpContext context, string ns, string name)
    {
        var text = await new StreamReader(context.Request.Body, Encoding.UTF8).ReadToEndAsync(context.RequestAborted);
        if (!await NodeRequestAsync(context, "patch-event", text))
        {
            return;
        }

        JsonObject? result = null;
        lock (_lock)
        {
            if (_coreEvents.TryGetValue((ns, name), out var existing) && JsonNode.Parse(text) is JsonObject patch)
            {
                MergePatch(existing, patch);
                existing["metadata"]!["resourceVersion"] = (++_resourceVersion).ToString(CultureInfo.InvariantCulture);
                result = (JsonObject)existing.DeepClone();
            }
        }

        if (result is null)
        {
            await WriteStatusAsync(context, 404, "NotFound", $"events \"{name}\" not found");
            return;
        }

        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(result.ToJsonString());
    }

    /// <summary>The node's list fields and their merge keys (k8s.io/api core/v1 NodeStatus patchMergeKey tags).</summary>
    private static readonly Dictionary<string, string> MergeKeys = new(StringComparer.Ordinal)
    {
        ["status.conditions"] = "type",
        ["status.addresses"] = "type",
    };

    /// <summary>Strategic merge of <paramref name="patch"/> into <paramref name="target"/>; an error message, or null.</summary>
    private static string? StrategicMerge(JsonObject target, JsonObject patch, string path)
    {
        foreach (var (key, value) in patch.ToList())
        {
            if (key.StartsWith("$setElementOrder/", StringComparison.Ordinal) || key == "$retainKeys")
            {
                continue;
            }

            if (key.StartsWith('$'))
            {
                return $"unsupported directive {key} at {path}";
            }

            var childPath = path + "." + key;
            if (value is null)
            {
                target.Remove(key);
            }
            else if (value is JsonObject patchObject && target[key] is JsonObject targetObject)
            {
                var error = StrategicMerge(targetObject, patchObject, childPath);
                if (error is not null)
                {
                    return error;
                }
            }
            else if (value is JsonArray patchList && MergeKeys.TryGetValue(childPath, out var mergeKey))
            {
                var list = target[key] as JsonArray ?? [];
                foreach (var item in patchList)
                {
                    if (item is not JsonObject element || (string?)element[mergeKey] is not { } id)
                    {
                        return $"map: {item?.ToJsonString()} does not contain declared merge key: {mergeKey}";
                    }

                    var existing = list.OfType<JsonObject>().FirstOrDefault(e => (string?)e[mergeKey] == id);
                    var directive = (string?)element["$patch"];
                    if (directive == "delete")
                    {
                        if (existing is not null)
                        {
                            list.Remove(existing);
                        }

                        continue;
                    }

                    if (directive is not null)
                    {
                        return $"unsupported list element directive $patch: {directive} at {childPath}";
                    }

                    if (existing is null)
                    {
                        list.Add(element.DeepClone());
                    }
                    else
                    {
                        var error = StrategicMerge(existing, element, childPath + "[]");
                        if (error is not null)
                        {
                            return error;
                        }
                    }
                }

                target[key] = list.DeepClone();
            }
            else
            {
                target[key] = value.DeepClone();
            }
        }

        return null;
    }

    /// <summary>RFC 7386 JSON merge patch: objects merge, everything else (lists too) is replaced whole.</summary>
    private static string? MergePatch(JsonObject target, JsonObject patch)
    {
        foreach (var (key, value) in patch.ToList())
        {
            if (value is null)
            {
                target.Remove(key);
            }
            else if (value is JsonObject patchObject && target[key] is JsonObject targetObject)
            {
                MergePatch(targetObject, patchObject);
            }
            else
            {
                target[key] = value.DeepClone();
            }
        }

        return null;
    }

    /// <summary>Forgets the event history (etcd compaction): a watch from any resourceVersion before now gets 410 Gone.</summary>
    public void Compact()
    {
        lock (_lock)
        {
            _compactedBefore = _resourceVersion + 1;
            _events.Clear();
        }
    }

    /// <summary>Cuts every open watch connection, as a restarting API server or a load balancer does.</summary>
    public int DropWatches()
    {
        lock (_lock)
        {
            foreach (var watch in _watches)
            {
                watch.Abort();
            }

            var dropped = _watches.Count;
            _watches.Clear();
            return dropped;
        }
    }

    public int OpenWatches
    {
        get
        {
            lock (_lock)
            {
                return _watches.Count;
            }
        }
    }

    private void Signal()
    {
        var changed = _changed;
        _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        changed.TrySetResult();
    }

    private async Task HandleAsync(HttpContext context, string ns)
    {
        var query = context.Request.Query;
        var watch = query["watch"].ToString() is "true" or "1";
        var requestedVersion = query["resourceVersion"].ToString();
        var selector = query["fieldSelector"].ToString();
        lock (_lock)
        {
            _requests.Add(new FakeApiRequest(watch ? "watch" : "list", requestedVersion, selector, context.Request.Headers.Authorization.ToString()));
        }

        if (context.Request.Headers.Authorization.ToString() != $"Bearer {Token}")
        {
            await WriteStatusAsync(context, 401, "Unauthorized", "Unauthorized");
            return;
        }

        if (ForcedStatus is { } forced)
        {
            await WriteStatusAsync(context, forced, forced == 403 ? "Forbidden" : "InternalError",
                forced == 403 ? $"configmaps is forbidden: User \"system:serviceaccount:{ns}:agent\" cannot list resource \"configmaps\" in API group \"\" in the namespace \"{ns}\"" : "fake failure");
            return;
        }

        string? name = null;
        if (selector.StartsWith("metadata.name=", StringComparison.Ordinal))
        {
            name = selector["metadata.name=".Length..];
        }
        else if (selector.Length > 0)
        {
            await WriteStatusAsync(context, 400, "BadRequest", $"unsupported field selector {selector}");
            return;
        }

        if (ns != Namespace)
        {
            // A namespace that does not exist lists empty, as the real server does.
            name = "\0none";
        }

        if (!watch)
        {
            JsonObject list;
            lock (_lock)
            {
                list = new JsonObject
                {
                    ["kind"] = "ConfigMapList",
                    ["apiVersion"] = "v1",
                    ["metadata"] = new JsonObject { ["resourceVersion"] = _resourceVersion.ToString(CultureInfo.InvariantCulture) },
                    ["items"] = new JsonArray(_configMaps.Values.Where(c => name is null || (string?)c["metadata"]!["name"] == name)
                        .Select(c => (JsonNode)c.DeepClone()).ToArray()),
                };
            }

            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(list.ToJsonString());
            return;
        }

        await WatchAsync(context, name, requestedVersion, query["timeoutSeconds"].ToString());
    }

    /// <summary>The current data of a ConfigMap, or null.</summary>
    public IReadOnlyDictionary<string, string>? Data(string name)
    {
        lock (_lock)
        {
            return _configMaps.TryGetValue(name, out var configMap)
                ? configMap["data"]!.AsObject().ToDictionary(p => p.Key, p => p.Value!.GetValue<string>())
                : null;
        }
    }

    private async Task<bool> AuthorizedAsync(HttpContext context, string kind)
    {
        lock (_lock)
        {
            _requests.Add(new FakeApiRequest(kind, string.Empty, string.Empty, context.Request.Headers.Authorization.ToString()));
        }

        if (context.Request.Headers.Authorization.ToString() != $"Bearer {Token}")
        {
            await WriteStatusAsync(context, 401, "Unauthorized", "Unauthorized");
            return false;
        }

        if (ForcedStatus is { } forced)
        {
            await WriteStatusAsync(context, forced, "Forbidden", "configmaps is forbidden");
            return false;
        }

        return true;
    }

    private async Task GetOneAsync(HttpContext context, string ns, string name)
    {
        if (!await AuthorizedAsync(context, "get"))
        {
            return;
        }

        JsonObject? configMap;
        lock (_lock)
        {
            configMap = ns == Namespace && _configMaps.TryGetValue(name, out var found) ? (JsonObject)found.DeepClone() : null;
        }

        if (configMap is null)
        {
            await WriteStatusAsync(context, 404, "NotFound", $"configmaps \"{name}\" not found");
            return;
        }

        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(configMap.ToJsonString());
    }

    /// <summary>POST creates (409 if it exists), PUT replaces (404 if it does not; 409 on a stale resourceVersion).</summary>
    private async Task WriteAsync(HttpContext context, string ns, string? name)
    {
        if (!await AuthorizedAsync(context, name is null ? "create" : "replace"))
        {
            return;
        }

        if (ConfigMapWriteStatus is { } refused)
        {
            await WriteStatusAsync(context, refused, refused == 403 ? "Forbidden" : "InternalError", refused == 403 ? "admission webhook denied the request" : "fake failure");
            return;
        }

        var body = (await JsonNode.ParseAsync(context.Request.Body))!.AsObject();
        var bodyName = (string?)body["metadata"]?["name"];
        var data = (body["data"] as JsonObject)?.ToDictionary(p => p.Key, p => p.Value!.GetValue<string>()) ?? [];
        var version = (string?)body["metadata"]?["resourceVersion"];
        int status;
        lock (_lock)
        {
            var exists = _configMaps.TryGetValue(bodyName ?? string.Empty, out var current);
            status = ns != Namespace || bodyName is null || (name is not null && name != bodyName) ? 400
                : name is null && exists ? 409
                : name is not null && !exists ? 404
                : name is not null && version is not null && version != (string?)current!["metadata"]!["resourceVersion"] ? 409
                : 0;
        }

        if (status != 0)
        {
            await WriteStatusAsync(context, status, status == 409 ? "Conflict" : status == 404 ? "NotFound" : "BadRequest", $"cannot write configmap {bodyName}");
            return;
        }

        Put(bodyName!, data, body["metadata"]?["labels"], body["metadata"]?["annotations"]);
        context.Response.StatusCode = name is null ? 201 : 200;
        await GetOneAsync(context, ns, bodyName!);
    }

    private async Task WatchAsync(HttpContext context, string? name, string requestedVersion, string timeoutSeconds)
    {
        var since = long.TryParse(requestedVersion, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : 0;
        var timeout = int.TryParse(timeoutSeconds, NumberStyles.None, CultureInfo.InvariantCulture, out var t) ? TimeSpan.FromSeconds(t) : TimeSpan.FromMinutes(30);
        context.Response.ContentType = "application/json";
        await context.Response.StartAsync();

        JsonObject? gone = null;
        lock (_lock)
        {
            if (since < _compactedBefore - 1)
            {
                gone = StatusObject(410, "Expired", $"too old resource version: {since} ({_resourceVersion})");
            }
            else
            {
                _watches.Add(context);
            }
        }

        if (gone is not null)
        {
            // The real server: 200, one ERROR event with a 410 Status, end of stream.
            await WriteLineAsync(context, new JsonObject { ["type"] = "ERROR", ["object"] = gone });
            return;
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        deadline.CancelAfter(timeout);
        try
        {
            while (!deadline.IsCancellationRequested)
            {
                List<(long Version, string Type, JsonObject Object)> pending;
                Task changed;
                lock (_lock)
                {
                    pending = _events.Where(e => e.Version > since && (name is null || (string?)e.Object["metadata"]!["name"] == name)).ToList();
                    changed = _changed.Task;
                }

                foreach (var (version, type, obj) in pending)
                {
                    await WriteLineAsync(context, new JsonObject { ["type"] = type, ["object"] = obj.DeepClone() });
                    since = version;
                }

                await changed.WaitAsync(deadline.Token);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException)
        {
            // Timeout (the server ends the watch) or the connection was dropped.
        }
        finally
        {
            lock (_lock)
            {
                _watches.Remove(context);
            }
        }
    }

    private static async Task WriteLineAsync(HttpContext context, JsonObject line)
    {
        await context.Response.WriteAsync(line.ToJsonString() + "\n", Encoding.UTF8);
        await context.Response.Body.FlushAsync();
    }

    private static JsonObject StatusObject(int code, string reason, string message) => new()
    {
        ["kind"] = "Status",
        ["apiVersion"] = "v1",
        ["metadata"] = new JsonObject(),
        ["status"] = "Failure",
        ["message"] = message,
        ["reason"] = reason,
        ["code"] = code,
    };

    private static async Task WriteStatusAsync(HttpContext context, int code, string reason, string message)
    {
        context.Response.StatusCode = code;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(StatusObject(code, reason, message).ToJsonString());
    }

    public async ValueTask DisposeAsync()
    {
        DropWatches();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>
/// One request the fake API server received. For <c>list-nodes</c>, <see cref="ResourceVersion"/> holds the
/// <c>continue</c> token and <see cref="FieldSelector"/> the <c>labelSelector</c>.
/// </summary>
public sealed record FakeApiRequest(string Kind, string ResourceVersion, string FieldSelector, string Authorization)
{
    /// <summary>The request body, for writes of nodes and events.</summary>
    public string? Body { get; init; }

    public string? ContentType { get; init; }

    /// <summary>The request's path and query, for the generic object routes.</summary>
    public string? Path { get; init; }

    public DateTimeOffset At { get; init; }
}
