using System.Text.Json.Serialization;
using Periscope.Agent.Cli;
using Periscope.Agent.Collection.LogRules;
using Periscope.Agent.Collectors.Kernel;
using Periscope.Bundle;

namespace Periscope.Agent.Hosting;

/// <summary>Source-generated JSON for the agent's own documents (rule table, CLI output).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip,
    WriteIndented = true,
    Converters = [typeof(UtcTimestampConverter)])]
[JsonSerializable(typeof(LogRuleFile))]
[JsonSerializable(typeof(CollectOutput))]
[JsonSerializable(typeof(CollectorsOutput))]
[JsonSerializable(typeof(Triggers.RunHistoryDocument))]
[JsonSerializable(typeof(Triggers.RunRequestBody))]
[JsonSerializable(typeof(Triggers.RunAccepted))]
[JsonSerializable(typeof(Triggers.RunRecord))]
[JsonSerializable(typeof(Triggers.HealthDocument))]
[JsonSerializable(typeof(Triggers.RunsDocument))]
[JsonSerializable(typeof(Triggers.ProblemDocument))]
internal sealed partial class AgentJsonContext : JsonSerializerContext;
