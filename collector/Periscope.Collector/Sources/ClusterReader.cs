using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using k8s;
using k8s.Autorest;

namespace Periscope.Collector.Sources;

/// <summary>
/// The cluster-scoped reads of a report, made once by the collector (never by the agents), in pages of 500 and
/// nothing else — no per-node or per-object call: PodDisruptionBudgets (<c>policy/v1</c>, all namespaces); pods as the
/// API server's Table (<c>Accept: application/json;as=Table;v=v1;g=meta.k8s.io</c>, <c>includeObject=Metadata</c>):
/// name, namespace, labels, owner, node and status only — a pod's spec, env and volumes are never transferred; and the
/// events about Nodes (<c>fieldSelector=involvedObject.kind=Node</c>). Needs list on pods, poddisruptionbudgets and
/// events. A read that fails is recorded with the reason and the others go on.
/// </summary>
internal sealed class ClusterReader(string? kubeconfig, TimeSpan? timeout = null)
{
    public const int PageSize = 500;
    private const string TableAccept = "application/json;as=Table;v=v1;g=meta.k8s.io, application/json";

    public async Task<ClusterState> ReadAsync(CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout ?? TimeSpan.FromSeconds(60));
        Kubernetes client;
        try
        {
            var config = string.IsNullOrEmpty(kubeconfig)
                ? KubernetesClientConfiguration.InClusterConfig()
                : await KubernetesClientConfiguration.BuildConfigFromConfigFileAsync(new FileInfo(kubeconfig));
            client = new Kubernetes(config);
        }
        catch (Exception ex) when (ex is k8s.Exceptions.KubeConfigException or IOException)
        {
            var error = $"no Kubernetes configuration: {ex.Message}";
            return new ClusterState([], [], [], 0, [error]);
        }

        using (client)
        {
            var requests = 0;
            var errors = new List<string>();
            var pdbs = await Guard("PodDisruptionBudgets", "poddisruptionbudgets (policy)", () => ReadPdbsAsync(client, () => requests++, deadline.Token), errors, cancellationToken);
            var pods = await Guard("pods", "pods", () => ReadPodsAsync(client, () => requests++, deadline.Token), errors, cancellationToken);
            var events = await Guard("Node events", "events", () => ReadNodeEventsAsync(client, () => requests++, deadline.Token), errors, cancellationToken);
            return new ClusterState(pdbs ?? [], pods ?? [], events ?? [], requests, errors);
        }
    }

    private async Task<T?> Guard<T>(string what, string resource, Func<Task<T>> read, List<string> errors, CancellationToken cancellationToken)
        where T : class
    {
        try
        {
            return await read();
        }
        catch (HttpOperationException ex)
        {
            errors.Add(ex.Response.StatusCode == HttpStatusCode.Forbidden
                ? $"{what}: the collector may not list {resource} (403): grant list on them (its ClusterRole)"
                : $"{what}: the Kubernetes API answered {(int)ex.Response.StatusCode}");
        }
        catch (ClusterReadException ex)
        {
            errors.Add($"{what}: {ex.Message}{(ex.Status == HttpStatusCode.Forbidden ? $" (grant list on {resource})" : string.Empty)}");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            errors.Add($"{what}: the Kubernetes API did not answer within {(timeout ?? TimeSpan.FromSeconds(60)).TotalSeconds:0} s");
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or IOException)
        {
            errors.Add($"{what}: {ex.Message}");
        }

        return null;
    }

    private static async Task<IReadOnlyList<PdbState>> ReadPdbsAsync(Kubernetes client, Action counted, CancellationToken cancellationToken)
    {
        var pdbs = new List<PdbState>();
        string? next = null;
        do
        {
            counted();
            var page = await client.PolicyV1.ListPodDisruptionBudgetForAllNamespacesAsync(continueParameter: next, limit: PageSize, cancellationToken: cancellationToken);
            foreach (var pdb in page.Items)
            {
                var selector = pdb.Spec?.Selector;
                pdbs.Add(new PdbState(
                    pdb.Metadata.NamespaceProperty, pdb.Metadata.Name, pdb.Status?.DisruptionsAllowed ?? 0, pdb.Status?.ExpectedPods ?? 0,
                    new LabelSelector(
                        selector?.MatchLabels is { } labels ? new Dictionary<string, string>(labels, StringComparer.Ordinal) : new Dictionary<string, string>(),
                        [.. (selector?.MatchExpressions ?? []).Select(e => new LabelRequirement(e.Key, e.OperatorProperty, [.. e.Values ?? []]))],
                        Empty: selector is null)));
            }

            next = page.Metadata?.ContinueProperty;
        }
        while (!string.IsNullOrEmpty(next));
        return pdbs;
    }

    private static async Task<IReadOnlyList<NodeEventRecord>> ReadNodeEventsAsync(Kubernetes client, Action counted, CancellationToken cancellationToken)
    {
        var events = new List<NodeEventRecord>();
        string? next = null;
        do
        {
            counted();
            var page = await client.CoreV1.ListEventForAllNamespacesAsync(continueParameter: next, fieldSelector: "involvedObject.kind=Node", limit: PageSize, cancellationToken: cancellationToken);
            foreach (var e in page.Items)
            {
                var time = e.LastTimestamp ?? e.EventTime ?? e.FirstTimestamp ?? e.Metadata?.CreationTimestamp;
                events.Add(new NodeEventRecord(
                    e.InvolvedObject?.Name ?? string.Empty, e.Reason ?? string.Empty, e.Message, e.Source?.Component ?? e.ReportingComponent, e.Type,
                    time is { } t ? new DateTimeOffset(DateTime.SpecifyKind(t.ToUniversalTime(), DateTimeKind.Utc)) : null, e.Count ?? 1));
            }

            next = page.Metadata?.ContinueProperty;
        }
        while (!string.IsNullOrEmpty(next));
        return events;
    }

    /// <summary>Pods as the API server's Table: the Node and Status columns and the object's metadata, nothing of the spec.</summary>
    private static async Task<IReadOnlyList<PodRef>> ReadPodsAsync(Kubernetes client, Action counted, CancellationToken cancellationToken)
    {
        var pods = new List<PodRef>();
        string? next = null;
        do
        {
            counted();
            var uri = new Uri(client.BaseUri, $"api/v1/pods?limit={PageSize}&includeObject=Metadata{(next is null ? string.Empty : "&continue=" + Uri.EscapeDataString(next))}");
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            request.Headers.Accept.Clear();
            request.Headers.TryAddWithoutValidation("Accept", TableAccept);
            if (client.Credentials is { } credentials)
            {
                await credentials.ProcessHttpRequestAsync(request, cancellationToken);
            }

            using var response = await client.HttpClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                throw new ClusterReadException(response.StatusCode, $"the Kubernetes API answered {(int)response.StatusCode} listing pods");
            }

            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            using var table = await JsonDocument.ParseAsync(body, cancellationToken: cancellationToken);
            next = ParseTable(table.RootElement, pods);
        }
        while (!string.IsNullOrEmpty(next));
        return pods;
    }

    /// <summary>Adds the Table's rows as pods; returns its continue token.</summary>
    internal static string? ParseTable(JsonElement table, List<PodRef> pods)
    {
        if (!table.TryGetProperty("kind", out var kind) || kind.GetString() != "Table")
        {
            throw new JsonException("the API server did not answer with a Table (meta.k8s.io/v1)");
        }

        int node = -1, status = -1, i = 0;
        foreach (var column in table.GetProperty("columnDefinitions").EnumerateArray())
        {
            var name = column.GetProperty("name").GetString();
            node = name == "Node" ? i : node;
            status = name == "Status" ? i : status;
            i++;
        }

        foreach (var row in table.TryGetProperty("rows", out var rows) ? rows.EnumerateArray() : default)
        {
            if (!row.TryGetProperty("object", out var obj) || !obj.TryGetProperty("metadata", out var metadata))
            {
                continue;
            }

            var cells = row.GetProperty("cells");
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            if (metadata.TryGetProperty("labels", out var map) && map.ValueKind == JsonValueKind.Object)
            {
                foreach (var label in map.EnumerateObject())
                {
                    labels[label.Name] = label.Value.GetString() ?? string.Empty;
                }
            }

            string? ownerKind = null, ownerName = null;
            if (metadata.TryGetProperty("ownerReferences", out var owners) && owners.ValueKind == JsonValueKind.Array && owners.GetArrayLength() > 0)
            {
                var owner = owners.EnumerateArray().FirstOrDefault(o => o.TryGetProperty("controller", out var c) && c.ValueKind == JsonValueKind.True);
                owner = owner.ValueKind == JsonValueKind.Undefined ? owners[0] : owner;
                ownerKind = owner.TryGetProperty("kind", out var k) ? k.GetString() : null;
                ownerName = owner.TryGetProperty("name", out var n) ? n.GetString() : null;
            }

            pods.Add(new PodRef(
                metadata.GetProperty("namespace").GetString() ?? string.Empty,
                metadata.GetProperty("name").GetString() ?? string.Empty,
                labels,
                ownerKind,
                ownerName,
                Cell(cells, node),
                Cell(cells, status)));
        }

        return table.TryGetProperty("metadata", out var list) && list.TryGetProperty("continue", out var token) ? token.GetString() : null;
    }

    private static string? Cell(JsonElement cells, int index)
        => index >= 0 && index < cells.GetArrayLength() && cells[index].ValueKind == JsonValueKind.String && cells[index].GetString() is { Length: > 0 } value && value != "<none>"
            ? value : null;
}

/// <summary>The API refused a raw read.</summary>
internal sealed class ClusterReadException(HttpStatusCode status, string message) : Exception(message)
{
    public HttpStatusCode Status => status;
}

/// <summary>What the cluster-scoped reads found, and what could not be read (each read on its own).</summary>
internal sealed record ClusterState(IReadOnlyList<PdbState> Pdbs, IReadOnlyList<PodRef> Pods, IReadOnlyList<NodeEventRecord> NodeEvents, int Requests, IReadOnlyList<string> Errors);

/// <summary>A PodDisruptionBudget: how many disruptions it allows now, and which pods it selects.</summary>
internal sealed record PdbState(string Namespace, string Name, int DisruptionsAllowed, int ExpectedPods, LabelSelector Selector);

/// <summary>A pod as the rules need it: never its spec.</summary>
internal sealed record PodRef(string Namespace, string Name, IReadOnlyDictionary<string, string> Labels, string? OwnerKind, string? OwnerName, string? Node, string? Status);

/// <summary>An event about a Node.</summary>
internal sealed record NodeEventRecord(string Node, string Reason, string? Message, string? Source, string? Type, DateTimeOffset? Time, int Count);

/// <summary>A label selector (matchLabels and matchExpressions); an absent selector selects nothing (policy/v1).</summary>
internal sealed record LabelSelector(IReadOnlyDictionary<string, string> MatchLabels, IReadOnlyList<LabelRequirement> MatchExpressions, bool Empty = false)
{
    public bool Matches(IReadOnlyDictionary<string, string> labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        if (Empty)
        {
            return false;
        }

        return MatchLabels.All(l => labels.TryGetValue(l.Key, out var v) && v == l.Value)
            && MatchExpressions.All(e => e.Operator switch
            {
                "In" => labels.TryGetValue(e.Key, out var v) && e.Values.Contains(v, StringComparer.Ordinal),
                "NotIn" => !labels.TryGetValue(e.Key, out var v) || !e.Values.Contains(v, StringComparer.Ordinal),
                "Exists" => labels.ContainsKey(e.Key),
                "DoesNotExist" => !labels.ContainsKey(e.Key),
                _ => false,
            });
    }
}

internal sealed record LabelRequirement(string Key, string Operator, IReadOnlyList<string> Values);
