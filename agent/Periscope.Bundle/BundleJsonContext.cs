using System.Text.Json.Serialization;
using Periscope.Bundle.Facts;

namespace Periscope.Bundle;

/// <summary>
/// Source-generated JSON metadata for every bundle document (trim- and AOT-safe). Members the published schemas
/// require carry <see cref="JsonRequiredAttribute"/>, so a document without them is refused when read.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    WriteIndented = true,
    // A null where the contract has no null (a required string, object or list) is refused when read, and never written.
    RespectNullableAnnotations = true,
    Converters = [typeof(UtcTimestampConverter)])]
[JsonSerializable(typeof(Manifest))]
[JsonSerializable(typeof(FactsDocument))]
[JsonSerializable(typeof(FindingsDocument))]
[JsonSerializable(typeof(StatusRecord))]
[JsonSerializable(typeof(StartedMarker))]
[JsonSerializable(typeof(ReportDigest))]
[JsonSerializable(typeof(SystemFacts))]
[JsonSerializable(typeof(KernelFacts))]
[JsonSerializable(typeof(ContainerdFacts))]
[JsonSerializable(typeof(KubeletFacts))]
[JsonSerializable(typeof(DnsFacts))]
[JsonSerializable(typeof(CniFacts))]
[JsonSerializable(typeof(AzureFacts))]
[JsonSerializable(typeof(ConnectivityFacts))]
[JsonSerializable(typeof(Finding))]
[JsonSerializable(typeof(NodeSignals))]
public sealed partial class BundleJsonContext : JsonSerializerContext;
