using System.Text.Json.Serialization;
using Periscope.Bundle;
using Periscope.Collector.Sources;

namespace Periscope.Collector.Api;

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    Converters = [typeof(UtcTimestampConverter)])]
[JsonSerializable(typeof(IReadOnlyList<RunSummary>))]
[JsonSerializable(typeof(Dictionary<string, Sources.RunProgress>))]
[JsonSerializable(typeof(List<NodeSummary>))]
[JsonSerializable(typeof(StartRunRequest))]
[JsonSerializable(typeof(StartedRun))]
internal sealed partial class ApiJsonContext : JsonSerializerContext;
