using System.Text.Json.Serialization;
using Periscope.Bundle;
using Periscope.Collector.Sources;

namespace Periscope.Collector.Reports;

/// <summary>Source-generated JSON for the report and the collector's CLI documents.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    WriteIndented = true,
    Converters = [typeof(UtcTimestampConverter)])]
[JsonSerializable(typeof(HealthReport))]
[JsonSerializable(typeof(VerifyOutput))]
internal sealed partial class ReportJsonContext : JsonSerializerContext;

/// <summary>The one JSON document <c>verify --json</c> prints.</summary>
internal sealed record VerifyOutput(string RunId, int ExitCode, IReadOnlyList<VerifyResult> Bundles);
