using System.Text.Json.Serialization;
using Periscope.Bundle.Facts;

namespace Periscope.Bundle;

/// <summary>Source-generated JSON metadata for every bundle document (trim- and AOT-safe).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    WriteIndented = true,
    Converters = [typeof(UtcTimestampConverter)])]
[JsonSerializable(typeof(Manifest))]
[JsonSerializable(typeof(FactsDocument))]
[JsonSerializable(typeof(FindingsDocument))]
[JsonSerializable(typeof(StatusRecord))]
[JsonSerializable(typeof(SystemFacts))]
[JsonSerializable(typeof(KernelFacts))]
[JsonSerializable(typeof(ContainerdFacts))]
[JsonSerializable(typeof(KubeletFacts))]
[JsonSerializable(typeof(DnsFacts))]
[JsonSerializable(typeof(CniFacts))]
[JsonSerializable(typeof(Finding))]
public sealed partial class BundleJsonContext : JsonSerializerContext;
