using System.Text.Json.Serialization;

namespace Periscope.Agent.Collection.LogRules;

/// <summary>Source-generated JSON of the log rule tables (<c>kernel-rules.json</c>, <c>kubelet-rules.json</c>).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip)]
[JsonSerializable(typeof(LogRuleFile))]
internal sealed partial class LogRulesJsonContext : JsonSerializerContext;
