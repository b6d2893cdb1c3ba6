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

    public static string Of(SignalVerdict verdict) => verdict switch
    {
        SignalVerdict.Unhealthy => "unhealthy",
        SignalVerdict.Degraded => "degraded",
        _ => "healthy",
    };

    public static string Of(SignalAction action) => action switch
    {
        SignalAction.RestartRuntime => "restart-runtime",
        SignalAction.Reboot => "reboot",
        SignalAction.Replace => "replace",
        _ => "none",
    };

    /// <summary>The Periscope condition types a node's signals held True, each once.</summary>
    public static IReadOnlyList<string> Conditions(NodeSignals signals)
        => [.. signals.Signals.Select(s => s.Condition).OfType<string>().Distinct(StringComparer.Ordinal)];

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

    /// <summary>A duration in the largest fitting units: "2 h 5 min", "37 min", "45 s".</summary>
    public static string Duration(TimeSpan span)
        => span.TotalHours >= 1 ? $"{(int)span.TotalHours} h {span.Minutes} min"
            : span.TotalMinutes >= 1 ? $"{(int)span.TotalMinutes} min"
            : $"{Math.Max(0, (int)span.TotalSeconds)} s";

    public static string Time(DateTimeOffset? time) => time is { } t ? UtcTimestampConverter.Format(t) : "—";
}
