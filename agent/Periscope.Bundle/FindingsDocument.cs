namespace Periscope.Bundle;

/// <summary>The <c>findings.json</c> entry of a bundle.</summary>
public sealed record FindingsDocument
{
    /// <summary>Schema version, <c>MAJOR.MINOR</c>.</summary>
    public string SchemaVersion { get; init; } = BundleSchema.Version;

    /// <summary>Findings, worst first.</summary>
    public IReadOnlyList<Finding> Findings { get; init; } = [];
}
