using System.Text.Json.Serialization;

namespace Periscope.Bundle;

/// <summary>The <c>findings.json</c> entry of a bundle.</summary>
public sealed record FindingsDocument
{
    /// <summary>Schema version, <c>MAJOR.MINOR</c>.</summary>
    [JsonRequired]
    public string SchemaVersion { get; init; } = BundleSchema.Version;

    /// <summary>Findings, worst first.</summary>
    [JsonRequired]
    public IReadOnlyList<Finding> Findings { get; init; } = [];

    /// <summary>
    /// The node's signals for automation when the bundle was sealed (schema 1.1; absent from older bundles and from a
    /// writer that has none).
    /// </summary>
    public NodeSignals? Signals { get; init; }
}
