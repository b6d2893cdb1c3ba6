using System.Text;
using Periscope.Bundle;

namespace Periscope.Collector.Reports;

/// <summary>The report as Markdown, for a ticket.</summary>
internal static class MarkdownReportRenderer
{
    public static string Render(HealthReport report)
    {
        using var text = new StringWriter(System.Globalization.CultureInfo.InvariantCulture);
        Render(report, text);
        return text.ToString();
    }

    /// <summary>Writes the report to <paramref name="md"/> as it goes, node by node: it is never held whole.</summary>
    public static void Render(HealthReport report, TextWriter md)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(md);
        var s = report.Summary;
        md.WriteLine($"# Periscope health report — run `{report.RunId}`");
        md.WriteLine();
        md.WriteLine($"**{Cell(Headline.Of(report))}**");
        md.WriteLine();
        md.WriteLine($"**Status: {Words.Of(report.Status).ToUpperInvariant()}** · {s.Nodes} {(s.Nodes == 1 ? "node" : "nodes")}: {s.Critical} critical, {s.Warning} warning, {s.Healthy} healthy, {s.Unknown} unknown ({s.Rejected} rejected, {s.Incomplete} incomplete) · generated {Words.Time(report.GeneratedAt)}");
        md.WriteLine();
        md.WriteLine("## Across the cluster");
        md.WriteLine();
        if (report.Correlations.Count == 0)
        {
            md.WriteLine("No correlation rule fired.");
        }
        else
        {
            md.WriteLine("| Severity | Code | Scope | Finding | Nodes | Evidence |");
            md.WriteLine("|---|---|---|---|---|---|");
            foreach (var c in report.Correlations)
            {
                var evidence = string.Join("<br>", c.Evidence.Take(5).Select(e => $"[{e.Node}]({e.Bundle}){(e.File is null ? string.Empty : $" {Code(e.File + (e.Line is null ? string.Empty : $":{e.Line}"))}")}{(e.Note is null ? string.Empty : $" ({Cell(e.Note)})")}"));
                md.WriteLine($"| {Words.Of(c.Severity)} | {Code(c.Code)} | {c.Scope}{(c.Pool is null ? string.Empty : $" {Code(c.Pool)}")} | **{Cell(c.Title)}**<br>{Cell(c.Detail)} | {c.Nodes.Count}: {Cell(string.Join(", ", c.Nodes.Take(10)))}{(c.Nodes.Count > 10 ? ", …" : string.Empty)} | {evidence} |");
            }
        }

        if (Words.Expected(report.ExpectedNodes) is { } expected)
        {
            md.WriteLine();
            md.WriteLine(expected);
        }

        md.WriteLine();
        md.WriteLine("## Timeline of critical events");
        md.WriteLine();
        if (report.Timeline.Count == 0)
        {
            md.WriteLine("No critical kernel, runtime or kubelet event on any node.");
        }
        else
        {
            md.WriteLine("| First seen | Last seen | Node | Code | Count | Title |");
            md.WriteLine("|---|---|---|---|---|---|");
            foreach (var e in report.Timeline)
            {
                md.WriteLine($"| {Words.Time(e.Time)} | {Words.Time(e.LastSeen)} | [{Cell(e.Node)}]({e.Bundle}) | {Code(e.Code)} | {e.Count} | {Cell(e.Title)} |");
            }
        }

        if (report.StaleConditions.Count > 0)
        {
            md.WriteLine();
            md.WriteLine("## Stale Periscope conditions");
            md.WriteLine();
            md.WriteLine("No agent refreshes these node conditions, yet health checkers read their `lastTransitionTime` and act on them. Restore the agent, or remove them: `periscope-agent conditions remove --node NAME`.");
            md.WriteLine();
            md.WriteLine("| Node | Type | Status | Reason | Last heartbeat | Why |");
            md.WriteLine("|---|---|---|---|---|---|");
            foreach (var c in report.StaleConditions)
            {
                md.WriteLine($"| {Cell(c.Node)} | {Code(c.Type)} | {Cell(c.Status)} | {Cell(c.Reason ?? string.Empty)} | {Words.Time(c.LastHeartbeatTime)} | {Cell(c.Why)} |");
            }
        }

        md.WriteLine();
        md.WriteLine("## Findings across nodes");
        md.WriteLine();
        if (report.Findings.Count == 0)
        {
            md.WriteLine("No findings on any node.");
        }
        else
        {
            md.WriteLine("| Severity | Code | Scope | Nodes | Occurrences | Title | Last seen |");
            md.WriteLine("|---|---|---|---|---|---|---|");
            foreach (var f in report.Findings)
            {
                md.WriteLine($"| {Words.Of(f.Severity)} | {Code(f.Code)} | {f.Scope}{(f.Pools.Count == 0 ? string.Empty : $" {Code(string.Join(", ", f.Pools))}")} | {f.NodeCount}/{f.ReportingNodes}: {Cell(string.Join(", ", f.Nodes.Take(10)))}{(f.Nodes.Count > 10 ? ", …" : string.Empty)} | {f.Occurrences} | {Cell(f.Title)} | {Words.Time(f.LastSeen)} |");
            }
        }

        if (report.Pools.Any(p => p.Pool is not null))
        {
            md.WriteLine();
            md.WriteLine("## Pools");
            md.WriteLine();
            md.WriteLine("| Pool | Nodes | Health | VM sizes | Node images | Kubelet versions | Spot | Azure events scheduled | Upgrade blockers |");
            md.WriteLine("|---|---|---|---|---|---|---|---|---|");
            foreach (var p in report.Pools)
            {
                md.WriteLine($"| {(p.Pool is null ? "unknown" : Code(p.Pool))}{(p.Mode is null ? string.Empty : $" ({Cell(p.Mode.ToLowerInvariant())})")} | {p.Nodes} | {HtmlReportRenderer.PoolHealth(p)} | {Cell(PoolReport.List(p.VmSizes))} | {Cell(PoolReport.List(p.NodeImageVersions))} | {Cell(PoolReport.List(p.KubeletVersions))} | {p.Spot} of {p.Nodes} | {(p.ScheduledEvents.Count == 0 ? "—" : Cell(string.Join(", ", p.ScheduledEvents)))} | {(p.UpgradeBlockers.Count == 0 ? "—" : Cell(string.Join(", ", p.UpgradeBlockers)))} |");
            }
        }

        md.WriteLine();
        md.WriteLine("## Nodes");
        foreach (var node in report.Nodes)
        {
            md.WriteLine();
            md.WriteLine($"### {node.Node} — {Words.Of(node.Status)}");
            md.WriteLine();
            md.WriteLine($"Bundle: [`{node.Bundle}`]({node.Bundle})");
            if (node.Rejected is not null)
            {
                md.WriteLine();
                md.WriteLine($"> {(node.Incomplete ? "Incomplete" : "Rejected")}: {Cell(node.Rejected)}");
                continue;
            }

            md.WriteLine();
            md.WriteLine($"{Cell(Words.Placement(node))}{Cell(node.OsImage ?? "unknown OS")}, kernel {Cell(node.KernelVersion ?? "unknown")}; collected {Words.Time(node.StartedAt)} – {Words.Time(node.EndedAt)}.");
            md.WriteLine();
            md.WriteLine("Collectors: " + string.Join(", ", node.Collectors.Select(c => $"{Cell(c.Name)} {Words.Of(c.Status)}{(c.Error is null ? string.Empty : $" ({Cell(c.Error)})")}")));
            if (node.Signals is { } signals)
            {
                md.WriteLine();
                md.WriteLine($"Signals when collected: **{Words.Of(signals.Verdict)}**, action {Code(Words.Of(signals.Action))}"
                    + (Words.Conditions(signals) is { Count: > 0 } held ? "; conditions True: " + string.Join(", ", held.Select(c => Code(c))) : string.Empty)
                    + $" ({Cell(signals.Reason)}).");
            }
            if (node.Findings.Count > 0)
            {
                md.WriteLine();
                md.WriteLine("| Severity | Code | Subject | Count | Title | Evidence |");
                md.WriteLine("|---|---|---|---|---|---|");
                foreach (var f in node.Findings)
                {
                    var evidence = f.Evidence.Count > 0 ? Code($"{f.Evidence[^1].File}:{f.Evidence[^1].Line}") : string.Empty;
                    md.WriteLine($"| {Words.Of(f.Severity)} | {Code(f.Code)} | {Words.Of(f.Subject.Kind)} {Code(f.Subject.Id)} | {f.Count} | {Cell(f.Title)} | {evidence} |");
                }
            }
        }

    }

    /// <summary>
    /// Text from a bundle in a table cell or a line: HTML and the Markdown syntax of links, images, code and emphasis
    /// are escaped (a bundle's text is data, never markup: no tag, link or image can come through), and it stays on
    /// one line.
    /// </summary>
    private static string Cell(string text)
    {
        var escaped = new StringBuilder(text.Length + 16);
        foreach (var c in text)
        {
            _ = c switch
            {
                '&' => escaped.Append("&amp;"),
                '<' => escaped.Append("&lt;"),
                '>' => escaped.Append("&gt;"),
                // Links and images need brackets, code and emphasis these marks: escaped, they are plain text.
                '\\' or '`' or '*' or '[' or ']' or '|' => escaped.Append('\\').Append(c),
                '\n' or '\r' => escaped.Append(' '),
                _ when char.IsControl(c) => escaped.Append(' '),
                _ => escaped.Append(c),
            };
        }

        return escaped.ToString();
    }

    /// <summary>
    /// Text from a bundle as inline code: Markdown does not read HTML inside a code span, so only what would end the
    /// span or the table cell (a backtick, a pipe, a line break) is replaced.
    /// </summary>
    private static string Code(string text)
    {
        var inner = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            _ = c switch
            {
                '`' => inner.Append('\''),
                '|' => inner.Append("\\|"),
                _ when char.IsControl(c) => inner.Append(' '),
                _ => inner.Append(c),
            };
        }

        return $"`{inner}`";
    }
}
