using Periscope.Bundle;

namespace Periscope.Collector.Reports;

/// <summary>The words renderings use for enum values (the same as the JSON contract).</summary>
internal static class Words
{
    public static string Of(HealthStatus status) => status switch
    {
        HealthStatus.Healthy => "healthy",
        HealthStatus.Warning => "warning",
        HealthStatus.Critical => "critical",
        _ => "unknown",
    };

    public static string Of(Severity severity) => severity switch
    {
        Severity.Critical => "critical",
        Severity.Warning => "warning",
        _ => "info",
    };

    public static string Of(CollectorStatus status) => status switch
    {
        CollectorStatus.Ok => "ok",
        CollectorStatus.Partial => "partial",
        CollectorStatus.Failed => "failed",
        CollectorStatus.Skipped => "skipped",
        _ => "timed-out",
    };

    public static string Of(SubjectKind kind) => kind.ToString().ToLowerInvariant();

    /// <summary>Which nodes were expected, in a sentence, e.g. "Expected nodes: 12, from the Kubernetes nodes list.".</summary>
    public static string? Expected(ExpectedNodesSummary? expected)
    {
        if (expected is null)
        {
            return null;
        }

        var joined = expected.JoinedAfterStart.Count == 0
            ? "."
            : $" ({expected.JoinedAfterStart.Count} joined after the run started and are not expected in it).";
        var from = expected.Source switch
        {
            "kubernetes" => $"Expected nodes: {expected.Count}, from the Kubernetes nodes list{joined}",
            "previous-run" => $"Expected nodes: {expected.Count}, those of the previous run {expected.PreviousRunId}.",
            _ => "Expected nodes: unknown (no previous run).",
        };
        return expected.Error is null ? from : $"{from} The Kubernetes nodes list could not be used: {expected.Error}";
    }

    public static string Time(DateTimeOffset? time) => time is { } t ? UtcTimestampConverter.Format(t) : "—";
}
