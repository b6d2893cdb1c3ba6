using System.Globalization;
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

    /// <summary>
    /// A time for people, in HTML and Markdown: UTC to the second, <c>2026-12-04 04:16:34Z</c> (the JSON report keeps
    /// full precision).
    /// </summary>
    public static string Time(DateTimeOffset? time)
        => time is { } t ? t.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture) : "—";

    /// <summary>
    /// Where a node sits, as far as its bundle says: "pool nodepool1 (user, spot), Standard_D4s_v5 in westeurope-2,
    /// node image AKSUbuntu-…; " — empty when nothing is known.
    /// </summary>
    public static string Placement(NodeReport node)
    {
        ArgumentNullException.ThrowIfNull(node);
        var parts = new List<string>();
        if (node.Pool is { } pool)
        {
            var kind = string.Join(", ", new[] { node.Mode, node.Priority }.OfType<string>().Select(v => v.ToLowerInvariant()));
            parts.Add($"pool {pool}{(kind.Length > 0 ? $" ({kind})" : string.Empty)}");
        }

        if (node.InstanceType is not null || node.Zone is not null)
        {
            parts.Add($"{node.InstanceType ?? "unknown size"}{(node.Zone is null ? string.Empty : $" in {node.Zone}")}");
        }

        if (node.NodeImageVersion is { } image)
        {
            parts.Add($"node image {image}");
        }

        if (node.KubeletVersion is { } kubelet)
        {
            parts.Add($"kubelet {kubelet}");
        }

        return parts.Count == 0 ? string.Empty : string.Join(", ", parts) + "; ";
    }

    /// <summary>How long ago, for people: "just now", "45 s ago", "12 min ago", "3 h ago", "2 days ago".</summary>
    public static string Ago(DateTimeOffset? time, DateTimeOffset now)
    {
        if (time is not { } t)
        {
            return "—";
        }

        var age = now - t;
        return age < TimeSpan.FromSeconds(5) ? "just now"
            : age < TimeSpan.FromMinutes(1) ? $"{(int)age.TotalSeconds} s ago"
            : age < TimeSpan.FromHours(1) ? $"{(int)age.TotalMinutes} min ago"
            : age < TimeSpan.FromDays(2) ? $"{(int)age.TotalHours} h ago"
            : $"{(int)age.TotalDays} days ago";
    }
}
