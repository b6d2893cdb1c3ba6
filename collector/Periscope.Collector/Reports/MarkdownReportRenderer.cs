using System.Text;
using Periscope.Bundle;

namespace Periscope.Collector.Reports;

/// <summary>The report as Markdown, for a ticket.</summary>
internal static class MarkdownReportRenderer
{
    public static string Render(HealthReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var s = report.Summary;
        var md = new StringBuilder();
        md.AppendLine($"# Periscope health report — run `{report.RunId}`");
        md.AppendLine();
        md.AppendLine($"**Status: {Words.Of(report.Status).ToUpperInvariant()}** · {s.Nodes} {(s.Nodes == 1 ? "node" : "nodes")}: {s.Critical} critical, {s.Warning} warning, {s.Healthy} healthy, {s.Unknown} unknown ({s.Rejected} rejected, {s.Incomplete} incomplete) · generated {Words.Time(report.GeneratedAt)}");
        md.AppendLine();
        md.AppendLine("## Across the cluster");
        md.AppendLine();
        if (report.Correlations.Count == 0)
        {
            md.AppendLine("No correlation rule fired.");
        }
        else
        {
            md.AppendLine("| Severity | Code | Scope | Finding | Nodes | Evidence |");
            md.AppendLine("|---|---|---|---|---|---|");
            foreach (var c in report.Correlations)
            {
                var evidence = string.Join("<br>", c.Evidence.Take(5).Select(e => $"[{e.Node}]({e.Bundle}){(e.File is null ? string.Empty : $" {Code(e.File + (e.Line is null ? string.Empty : $":{e.Line}"))}")}{(e.Note is null ? string.Empty : $" ({Cell(e.Note)})")}"));
                md.AppendLine($"| {Words.Of(c.Severity)} | {Code(c.Code)} | {c.Scope}{(c.Pool is null ? string.Empty : $" {Code(c.Pool)}")} | **{Cell(c.Title)}**<br>{Cell(c.Detail)} | {c.Nodes.Count}: {Cell(string.Join(", ", c.Nodes.Take(10)))}{(c.Nodes.Count > 10 ? ", …" : string.Empty)} | {evidence} |");
            }
        }

        if (Words.Expected(report.ExpectedNodes) is { } expected)
        {
            md.AppendLine();
            md.AppendLine(expected);
        }

        md.AppendLine();
        md.AppendLine("## Timeline of critical events");
        md.AppendLine();
        if (report.Timeline.Count == 0)
        {
            md.AppendLine("No critical kernel, runtime or kubelet event on any node.");
        }
        else
        {
            md.AppendLine("| First seen | Last seen | Node | Code | Count | Title |");
            md.AppendLine("|---|---|---|---|---|---|");
            foreach (var e in report.Timeline)
            {
                md.AppendLine($"| {Words.Time(e.Time)} | {Words.Time(e.LastSeen)} | [{Cell(e.Node)}]({e.Bundle}) | {Code(e.Code)} | {e.Count} | {Cell(e.Title)} |");
            }
        }

        md.AppendLine();
        md.AppendLine("## Findings across nodes");
        md.AppendLine();
        if (report.Findings.Count == 0)
        {
            md.AppendLine("No findings on any node.");
        }
        else
        {
            md.AppendLine("| Severity | Code | Scope | Nodes | Occurrences | Title | Last seen |");
            md.AppendLine("|---|---|---|---|---|---|---|");
            foreach (var f in report.Findings)
            {
                md.AppendLine($"| {Words.Of(f.Severity)} | {Code(f.Code)} | {f.Scope}{(f.Pools.Count == 0 ? string.Empty : $" {Code(string.Join(", ", f.Pools))}")} | {f.NodeCount}/{f.ReportingNodes}: {Cell(string.Join(", ", f.Nodes.Take(10)))}{(f.Nodes.Count > 10 ? ", …" : string.Empty)} | {f.Occurrences} | {Cell(f.Title)} | {Words.Time(f.LastSeen)} |");
            }
        }

        md.AppendLine();
        md.AppendLine("## Nodes");
        foreach (var node in report.Nodes)
        {
            md.AppendLine();
            md.AppendLine($"### {node.Node} — {Words.Of(node.Status)}");
            md.AppendLine();
            md.AppendLine($"Bundle: [`{node.Bundle}`]({node.Bundle})");
            if (node.Rejected is not null)
            {
                md.AppendLine();
                md.AppendLine($"> {(node.Incomplete ? "Incomplete" : "Rejected")}: {Cell(node.Rejected)}");
                continue;
            }

            md.AppendLine();
            md.AppendLine($"{Cell(node.OsImage ?? "unknown OS")}, kernel {Cell(node.KernelVersion ?? "unknown")}; collected {Words.Time(node.StartedAt)} – {Words.Time(node.EndedAt)}.");
            md.AppendLine();
            md.AppendLine("Collectors: " + string.Join(", ", node.Collectors.Select(c => $"{Cell(c.Name)} {Words.Of(c.Status)}{(c.Error is null ? string.Empty : $" ({Cell(c.Error)})")}")));
            if (node.Findings.Count > 0)
            {
                md.AppendLine();
                md.AppendLine("| Severity | Code | Subject | Count | Title | Evidence |");
                md.AppendLine("|---|---|---|---|---|---|");
                foreach (var f in node.Findings)
                {
                    var evidence = f.Evidence.Count > 0 ? Code($"{f.Evidence[^1].File}:{f.Evidence[^1].Line}") : string.Empty;
                    md.AppendLine($"| {Words.Of(f.Severity)} | {Code(f.Code)} | {Words.Of(f.Subject.Kind)} {Code(f.Subject.Id)} | {f.Count} | {Cell(f.Title)} | {evidence} |");
                }
            }
        }

        return md.ToString();
    }

    /// <summary>
    /// Text from a bundle in a table cell or a line: HTML and Markdown syntax are escaped (a bundle's text is data,
    /// never markup: no tag, link, image or emphasis can come through), and it stays on one line.
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
                '\\' or '`' or '*' or '_' or '[' or ']' or '(' or ')' or '!' or '#' or '|' or '~' => escaped.Append('\\').Append(c),
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
