namespace Periscope.Bundle;

/// <summary>Limits a reader enforces so that a hostile bundle (a zip bomb, a huge entry list) costs little.</summary>
public sealed record BundleLimits
{
    /// <summary>Most entries a bundle may hold.</summary>
    public int MaxEntries { get; init; } = 20_000;

    /// <summary>Most bytes all entries may expand to together.</summary>
    public long MaxExpandedSize { get; init; } = 2L * 1024 * 1024 * 1024;

    /// <summary>Most bytes a JSON document entry (manifest, facts, findings) may expand to.</summary>
    public long MaxDocumentSize { get; init; } = 64L * 1024 * 1024;

    /// <summary>Most bytes <c>findings.json</c> may expand to (a writer keeps its worst findings within it).</summary>
    public long MaxFindingsSize { get; init; } = 16L * 1024 * 1024;

    /// <summary>Most findings <c>findings.json</c> may hold.</summary>
    public int MaxFindings { get; init; } = 5_000;

    /// <summary>Most bytes <c>facts.json</c> may expand to.</summary>
    public long MaxFactsSize { get; init; } = 16L * 1024 * 1024;

    /// <summary>
    /// Most bytes the zip's central directory may take, read from its end record before the directory is loaded
    /// (20,000 entries of the longest names fit in it).
    /// </summary>
    public long MaxCentralDirectorySize { get; init; } = 16L * 1024 * 1024;

    /// <summary>Highest expanded-to-compressed ratio an entry may have once it is larger than <see cref="RatioFloor"/>.</summary>
    public double MaxCompressionRatio { get; init; } = 250;

    /// <summary>Entries smaller than this are not held to the ratio limit (tiny repetitive files compress very well).</summary>
    public long RatioFloor { get; init; } = 1024 * 1024;

    /// <summary>The defaults.</summary>
    public static BundleLimits Default { get; } = new();
}
