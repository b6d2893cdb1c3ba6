using System.Globalization;
using Periscope.Agent.Collection;
using Periscope.Agent.Runs;
using Periscope.Bundle;

namespace Periscope.Agent.Cli;

/// <summary>The human summary of a run: worst findings first, coloured on a terminal (unless NO_COLOR is set).</summary>
internal sealed class SummaryPrinter(TextWriter output, bool color)
{
    private const string Reset = "\u001b[0m";

    public static bool UseColor(TextWriter writer)
        => writer == Console.Out && !Console.IsOutputRedirected && Environment.GetEnvironmentVariable("NO_COLOR") is null
           && Environment.GetEnvironmentVariable("TERM") is not "dumb";

    public void Print(RunOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        var manifest = outcome.Bundle.Manifest;
        var counts = FindingCounts.Of(outcome.Findings);
        output.WriteLine($"Node {manifest.Node.Name}, run {manifest.RunId}: {Paint(HealthWord(outcome.Health), HealthColor(outcome.Health))}");
        output.WriteLine($"  {counts.Critical} critical, {counts.Warning} warning, {counts.Info} info");
        output.WriteLine($"  bundle {Relative(outcome.Bundle.BundlePath)}");
        output.WriteLine();

        if (outcome.Findings.Count == 0)
        {
            output.WriteLine("  No findings.");
        }

        foreach (var finding in outcome.Findings)
        {
            var severity = finding.Severity switch
            {
                Severity.Critical => Paint("CRITICAL", "\u001b[1;31m"),
                Severity.Warning => Paint("WARNING ", "\u001b[33m"),
                _ => Paint("INFO    ", "\u001b[36m"),
            };
            var count = finding.Count > 1 ? $" ×{finding.Count}" : string.Empty;
            output.WriteLine($"  {severity} {finding.Code,-28} {finding.Title}{count}");
            var subject = finding.Subject.Kind == SubjectKind.Node ? null : $"{finding.Subject.Kind.ToString().ToLowerInvariant()} {Short(finding.Subject.Id)}";
            var when = finding.LastSeen is { } last ? $"last {UtcTimestampConverter.Format(last)}" : null;
            var evidence = finding.Evidence.Count == 0 ? null
                : finding.Evidence[^1].Line is { } line ? $"{finding.Evidence[^1].File}:{line}" : finding.Evidence[^1].File;
            var where = string.Join(" · ", new[] { subject, when, evidence }.Where(s => s is not null));
            if (where.Length > 0)
            {
                output.WriteLine($"           {where}");
            }
        }

        output.WriteLine();
        output.WriteLine("Collectors:");
        var width = outcome.Results.Select(r => r.Name.Length).DefaultIfEmpty(0).Max();
        foreach (var result in outcome.Results)
        {
            var status = result.Status switch
            {
                CollectorStatus.Ok => Paint("ok", "\u001b[32m"),
                CollectorStatus.Skipped => Paint("skipped", "\u001b[2m"),
                CollectorStatus.Partial => Paint("partial", "\u001b[33m"),
                _ => Paint(StatusWord(result.Status), "\u001b[31m"),
            };
            var duration = result.Duration.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture);
            output.WriteLine($"  {result.Name.PadRight(width)} {status,-9} {duration,6} ms  {result.Error}");
        }

    }

    public static string StatusWord(CollectorStatus status) => status switch
    {
        CollectorStatus.Ok => "ok",
        CollectorStatus.Partial => "partial",
        CollectorStatus.Failed => "failed",
        CollectorStatus.Skipped => "skipped",
        _ => "timed-out",
    };

    private static string HealthWord(HealthStatus health) => health switch
    {
        HealthStatus.Healthy => "HEALTHY",
        HealthStatus.Warning => "WARNING",
        HealthStatus.Critical => "CRITICAL",
        _ => "UNKNOWN",
    };

    private static string HealthColor(HealthStatus health) => health switch
    {
        HealthStatus.Healthy => "\u001b[1;32m",
        HealthStatus.Warning => "\u001b[1;33m",
        HealthStatus.Critical => "\u001b[1;31m",
        _ => "\u001b[1;35m",
    };

    private string Paint(string text, string code) => color ? code + text + Reset : text;

    private static string Short(string id) => id.Length == 64 ? id[..12] : id;

    private static string Relative(string path)
    {
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, path);
        return relative.StartsWith("..", StringComparison.Ordinal) ? path : relative;
    }
}
