using System.Text.Json;
using System.Text.Json.Serialization;

namespace Periscope.Agent.Triggers;

// The few fields of the Kubernetes API's objects that the run-id ConfigMap trigger reads (core/v1 ConfigMap and
// ConfigMapList, meta/v1 Status and WatchEvent). KubernetesClient.Aot's model classes would do, but its JSON context
// covers every API type, and rooting it doubles the agent's binary and its resident memory.

internal sealed record ObjectMeta(string? Name, string? ResourceVersion);

internal sealed record ListMeta(string? ResourceVersion);

internal sealed record ConfigMapObject(ObjectMeta? Metadata, Dictionary<string, string>? Data);

internal sealed record ConfigMapListObject(ListMeta? Metadata, List<ConfigMapObject>? Items);

internal sealed record StatusObject(int? Code, string? Reason, string? Message);

/// <summary>One line of a watch stream; <see cref="Object"/> is a ConfigMap, or a Status when the type is ERROR.</summary>
internal sealed record WatchEventObject(string? Type, JsonElement Object);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(ConfigMapListObject))]
[JsonSerializable(typeof(ConfigMapObject))]
[JsonSerializable(typeof(StatusObject))]
[JsonSerializable(typeof(WatchEventObject))]
internal sealed partial class KubernetesObjectsJsonContext : JsonSerializerContext;
