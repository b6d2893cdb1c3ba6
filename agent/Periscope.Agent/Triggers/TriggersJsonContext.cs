using System.Text.Json.Serialization;
using Periscope.Agent.Runs;
using Periscope.Bundle;

namespace Periscope.Agent.Triggers;

/// <summary>Source-generated JSON of the agent's HTTP endpoint (<c>/v1/runs</c>, <c>/healthz</c>): bodies and problems.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    WriteIndented = true,
    ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip,
    Converters = [typeof(UtcTimestampConverter)])]
[JsonSerializable(typeof(RunRequestBody))]
[JsonSerializable(typeof(RunAccepted))]
[JsonSerializable(typeof(RunRecord))]
[JsonSerializable(typeof(HealthDocument))]
[JsonSerializable(typeof(RunsDocument))]
[JsonSerializable(typeof(ProblemDocument))]
[JsonSerializable(typeof(Periscope.Agent.Signals.SignalsDocument))]
internal sealed partial class TriggersJsonContext : JsonSerializerContext;
