using System.Text.Json.Serialization;
using Periscope.Bundle;

namespace Periscope.Agent.Runs;

/// <summary>Source-generated JSON of the run room's own document, the run history (<c>.periscope/runs.json</c>).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    WriteIndented = true,
    ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip,
    Converters = [typeof(UtcTimestampConverter)])]
[JsonSerializable(typeof(RunHistoryDocument))]
internal sealed partial class RunsJsonContext : JsonSerializerContext;
