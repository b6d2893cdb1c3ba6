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

    public static string Time(DateTimeOffset? time) => time is { } t ? UtcTimestampConverter.Format(t) : "—";
}
