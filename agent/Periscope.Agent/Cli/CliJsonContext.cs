using System.Text.Json.Serialization;
using Periscope.Bundle;

namespace Periscope.Agent.Cli;

/// <summary>Source-generated JSON of the CLI's <c>--json</c> output (<c>collect</c>, <c>collectors</c>).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    WriteIndented = true,
    ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip,
    Converters = [typeof(UtcTimestampConverter)])]
[JsonSerializable(typeof(CollectOutput))]
[JsonSerializable(typeof(CollectorsOutput))]
internal sealed partial class CliJsonContext : JsonSerializerContext;
