namespace Periscope.Bundle;

/// <summary>One external command a collector ran (or could not run).</summary>
public sealed record CommandRecord
{
    /// <summary>The command line, with host-root paths as passed.</summary>
    public required string CommandLine { get; init; }

    /// <summary>Resolved binary path, or <see langword="null"/> when the binary was not found.</summary>
    public string? Binary { get; init; }

    /// <summary>Exit code, where the process ran to an end.</summary>
    public int? ExitCode { get; init; }

    /// <summary><c>ok</c>, <c>missing-binary</c>, <c>timed-out</c>, <c>output-capped</c> or <c>failed</c>.</summary>
    public required string Outcome { get; init; }

    /// <summary>Wall time in milliseconds.</summary>
    public double DurationMs { get; init; }
}
