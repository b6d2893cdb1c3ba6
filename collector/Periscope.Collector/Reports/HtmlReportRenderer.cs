using System.Net;
using System.Text;
using Periscope.Bundle;

namespace Periscope.Collector.Reports;

/// <summary>
/// The report as one self-contained HTML file: inline style, no script, no external request. Every value from a
/// bundle is HTML-encoded; links to bundles are relative store paths.
/// </summary>
internal static class HtmlReportRenderer
{
    private const string Style = """
        body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1d1d1f;max-width:1200px}
        h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:2rem}h3{font-size:1rem;margin:1.5rem 0 .3rem}
        table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
        th{background:#f5f5f7}code{font:12px ui-monospace,monospace}
        .critical{color:#fff;background:#c62828}.warning{background:#f9a825}.info{background:#e3f2fd}.healthy{color:#fff;background:#2e7d32}.unknown{color:#fff;background:#6a1b9a}
        .badge{padding:.1rem .45rem;border-radius:.3rem;font-weight:600;font-size:.8rem;white-space:nowrap}
        td.id code{word-break:break-all}
        .muted{color:#666}
        .error{color:#c62828}
        .headline{font-size:1.1rem;font-weight:600}
        svg.timeline{max-width:100%;height:auto}
        """;

    /// <param name="report">The report.</param>
    /// <param name="link">Maps a bundle's store path to its link: itself in a file next to the store (the CLI), the
    /// download URL in a served report.</param>
    public static string Render(HealthReport report, Func<string, string>? link = null)
    {
        using var text = new StringWriter(System.Globalization.CultureInfo.InvariantCulture);
        Render(report, text, link);
        return text.ToString();
    }

    /// <summary>The served report's links: each bundle to its download, each evidence line to the bundle's entry around it.</summary>
    public static void RenderServed(HealthReport report, TextWriter html, Func<string, string> link, Func<string, string, long?, string> evidence)
        => Render(report, html, link, evidence);

    /// <summary>Writes the page to <paramref name="html"/> as it goes, node by node: it is never held whole.</summary>
    /// <param name="report">The report.</param>
    /// <param name="html">Where the page is written.</param>
    /// <param name="link">As for <see cref="Render(HealthReport, Func{string, string}?)"/>.</param>
    /// <param name="evidence">Maps (bundle store path, entry, line) to a link that opens those lines; null (the standalone
    /// file) names the entry and line as plain text.</param>
    public static void Render(HealthReport report, TextWriter html, Func<string, string>? link = null, Func<string, string, long?, string>? evidence = null)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(html);
        link ??= path => path;
        var s = report.Summary;
        html.Write("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">");
        html.Write("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">");
        html.Write($"<title>Periscope — run {E(report.RunId)}</title><style>{Style}</style></head><body>");
        html.Write($"<h1>Periscope health report — run <code>{E(report.RunId)}</code></h1>");
        html.Write($"<p class=\"headline\">{E(Headline.Of(report))}</p>");
        html.Write($"<p>{Badge(Words.Of(report.Status))} {s.Nodes} {(s.Nodes == 1 ? "node" : "nodes")}: {s.Critical} critical, {s.Warning} warning, {s.Healthy} healthy, {s.Unknown} unknown ({s.Rejected} rejected, {s.Incomplete} incomplete). <span class=\"muted\">Generated {E(Words.Time(report.GeneratedAt))}.</span></p>");

        html.Write("<h2>Across the cluster</h2>");
        if (report.Correlations.Count == 0)
        {
            html.Write("<p>No correlation rule fired.</p>");
        }
        else
        {
            html.Write("<table><tr><th>Severity</th><th>Code</th><th>Scope</th><th>Finding</th><th>Nodes</th><th>Evidence</th></tr>");
            foreach (var c in report.Correlations)
            {
                var cells = string.Join("<br>", c.Evidence.Select(e => $"<a href=\"{E(link(e.Bundle))}\">{E(e.Node)}</a>{(e.File is null ? string.Empty : " " + Evidence(evidence, e.Bundle, e.File, e.Line))}{(e.Note is null ? string.Empty : $" <span class=\"muted\">{E(e.Note)}</span>")}"));
                html.Write($"<tr><td>{Badge(Words.Of(c.Severity))}</td><td><code>{E(c.Code)}</code></td><td>{E(c.Scope)}{(c.Pool is null ? string.Empty : $" <code>{E(c.Pool)}</code>")}</td><td><strong>{E(c.Title)}</strong><br>{E(c.Detail)}</td><td>{c.Nodes.Count}: {E(string.Join(", ", c.Nodes.Take(20)))}{(c.Nodes.Count > 20 ? ", …" : string.Empty)}</td><td>{cells}</td></tr>");
            }

            html.Write("</table>");
        }

        if (Words.Expected(report.ExpectedNodes) is { } expected)
        {
            html.Write($"<p class=\"{(report.ExpectedNodes!.Error is null ? "muted" : "error")}\">{E(expected)}</p>");
        }

        html.Write("<h2>Timeline of critical events</h2>");
        if (report.Timeline.Count == 0)
        {
            html.Write("<p>No critical kernel, runtime or kubelet event on any node.</p>");
        }
        else
        {
            html.Write(TimelineSvg.Render(report.Timeline));
        }

        if (report.StaleConditions.Count > 0)
        {
            html.Write("<h2>Stale Periscope conditions</h2>");
            html.Write("<p>No agent refreshes these node conditions, yet health checkers read their <code>lastTransitionTime</code> and act on them. Restore the agent, or remove them: <code>periscope-agent conditions remove --node NAME</code>.</p>");
            html.Write("<table><tr><th>Node</th><th>Type</th><th>Status</th><th>Reason</th><th>Last heartbeat</th><th>Why</th></tr>");
            foreach (var c in report.StaleConditions)
            {
                html.Write($"<tr><td>{E(c.Node)}</td><td><code>{E(c.Type)}</code></td><td>{E(c.Status)}</td><td>{E(c.Reason ?? string.Empty)}</td><td>{E(Words.Time(c.LastHeartbeatTime))}</td><td>{E(c.Why)}</td></tr>");
            }

            html.Write("</table>");
        }

        html.Write("<h2>Findings across nodes</h2>");
        if (report.Findings.Count == 0)
        {
            html.Write("<p>No findings on any node.</p>");
        }
        else
        {
            html.Write("<table><tr><th>Severity</th><th>Code</th><th>Scope</th><th>Nodes</th><th>Occurrences</th><th>Title</th><th>Last seen</th></tr>");
            foreach (var f in report.Findings)
            {
                html.Write($"<tr><td>{Badge(Words.Of(f.Severity))}</td><td><code>{E(f.Code)}</code></td><td>{E(f.Scope)}{(f.Pools.Count == 0 ? string.Empty : $" <code>{E(string.Join(", ", f.Pools))}</code>")}</td><td>{f.NodeCount}/{f.ReportingNodes}: {E(string.Join(", ", f.Nodes))}</td><td>{f.Occurrences}</td><td>{E(f.Title)}</td><td>{E(Words.Time(f.LastSeen))}</td></tr>");
            }

            html.Write("</table>");
        }

        if (report.Pools.Any(p => p.Pool is not null))
        {
            html.Write("<h2>Pools</h2>");
            html.Write("<table><tr><th>Pool</th><th>Nodes</th><th>Health</th><th>VM sizes</th><th>Node images</th><th>Kubelet versions</th><th>Spot</th><th>Azure events scheduled</th><th>Upgrade blockers</th></tr>");
            foreach (var p in report.Pools)
            {
                html.Write($"<tr><td>{(p.Pool is null ? "<span class=\"muted\">unknown</span>" : $"<code>{E(p.Pool)}</code>")}{(p.Mode is null ? string.Empty : $" <span class=\"muted\">{E(p.Mode.ToLowerInvariant())}</span>")}</td><td>{p.Nodes}</td><td>{E(PoolHealth(p))}</td><td>{E(PoolReport.List(p.VmSizes))}</td><td>{E(PoolReport.List(p.NodeImageVersions))}</td><td>{E(PoolReport.List(p.KubeletVersions))}</td><td>{p.Spot} of {p.Nodes}</td><td>{(p.ScheduledEvents.Count == 0 ? "—" : E(string.Join(", ", p.ScheduledEvents)))}</td><td>{(p.UpgradeBlockers.Count == 0 ? "—" : E(string.Join(", ", p.UpgradeBlockers)))}</td></tr>");
            }

            html.Write("</table>");
        }

        html.Write("<h2>Nodes × collectors</h2>");
        html.Write(Matrix(report, link));

        html.Write("<h2>Nodes</h2>");
        foreach (var node in report.Nodes)
        {
            html.Write($"<h3 id=\"node-{E(node.Node)}\">{E(node.Node)} {Badge(Words.Of(node.Status))}</h3>");
            html.Write($"<p>Bundle: <a href=\"{E(link(node.Bundle))}\">{E(node.Bundle)}</a></p>");
            if (node.Rejected is not null)
            {
                html.Write($"<p><strong>{(node.Incomplete ? "Incomplete" : "Rejected")}:</strong> {E(node.Rejected)}</p>");
                continue;
            }

            html.Write($"<p class=\"muted\">{E(Words.Placement(node))}{E(node.OsImage ?? "unknown OS")}, kernel {E(node.KernelVersion ?? "unknown")}; collected {E(Words.Time(node.StartedAt))} – {E(Words.Time(node.EndedAt))}.</p>");
            html.Write("<p>Collectors: ");
            html.Write(string.Join(", ", node.Collectors.Select(c => $"{E(c.Name)} {Badge(Words.Of(c.Status) is "ok" ? "healthy" : Words.Of(c.Status) is "skipped" ? "info" : "warning", Words.Of(c.Status))}{(c.Error is null ? string.Empty : $" <span class=\"muted\">{E(c.Error)}</span>")}")));
            html.Write("</p>");
            if (node.Signals is { } signals)
            {
                var held = Words.Conditions(signals);
                var badge = signals.Verdict switch { SignalVerdict.Unhealthy => "critical", SignalVerdict.Degraded => "warning", _ => "healthy" };
                html.Write($"<p>Signals when collected: {Badge(badge, Words.Of(signals.Verdict))} action <code>{E(Words.Of(signals.Action))}</code>");
                html.Write(held.Count > 0 ? "; conditions True: " + string.Join(", ", held.Select(c => $"<code>{E(c)}</code>")) : string.Empty);
                html.Write($" <span class=\"muted\">{E(signals.Reason)}</span></p>");
            }

            if (node.Findings.Count > 0)
            {
                html.Write("<table><tr><th>Severity</th><th>Code</th><th>Subject</th><th>Count</th><th>Title</th><th>Detail</th><th>Evidence</th></tr>");
                foreach (var f in node.Findings)
                {
                    var cell = f.Evidence.Count > 0 ? Evidence(evidence, node.Bundle, f.Evidence[^1].File, f.Evidence[^1].Line) : string.Empty;
                    html.Write($"<tr><td>{Badge(Words.Of(f.Severity))}</td><td><code>{E(f.Code)}</code></td><td class=\"id\">{E(Words.Of(f.Subject.Kind))} <code>{E(f.Subject.Id)}</code></td><td>{f.Count}</td><td>{E(f.Title)}</td><td>{E(f.Detail ?? string.Empty)}</td><td>{cell}</td></tr>");
                }

                html.Write("</table>");
            }
        }

        html.Write("</body></html>\n");
    }

    /// <summary>
    /// One row per node (worst first), one column per collector: the collector's status, and the node's worst finding
    /// from that collector; a node whose bundle could not be read says why in one cell.
    /// </summary>
    private static string Matrix(HealthReport report, Func<string, string> link)
    {
        var collectors = report.Nodes.SelectMany(n => n.Collectors.Select(c => c.Name)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var pools = report.Nodes.Any(n => n.Pool is not null);
        var table = new StringBuilder($"<table class=\"matrix\"><tr><th>Node</th>{(pools ? "<th>Pool</th>" : string.Empty)}<th>Status</th>");
        foreach (var collector in collectors)
        {
            table.Append($"<th>{E(collector)}</th>");
        }

        table.Append("</tr>");
        foreach (var node in report.Nodes)
        {
            table.Append($"<tr><td><a href=\"#node-{E(node.Node)}\">{E(node.Node)}</a> <a class=\"muted\" href=\"{E(link(node.Bundle))}\">bundle</a></td>{(pools ? $"<td>{E(node.Pool ?? "—")}</td>" : string.Empty)}<td>{Badge(Words.Of(node.Status))}</td>");
            if (node.Rejected is not null)
            {
                table.Append($"<td colspan=\"{Math.Max(collectors.Count, 1)}\" class=\"muted\">{(node.Incomplete ? "incomplete" : "rejected")}: {E(node.Rejected)}</td></tr>");
                continue;
            }

            foreach (var collector in collectors)
            {
                var record = node.Collectors.FirstOrDefault(c => c.Name == collector);
                var worst = node.Findings.Where(f => f.Collector == collector).Select(f => f.Severity).DefaultIfEmpty().Max();
                var hasFinding = node.Findings.Any(f => f.Collector == collector);
                var status = record is null ? "—" : Words.Of(record.Status);
                var css = hasFinding ? Words.Of(worst) : status is "ok" ? "healthy" : status is "skipped" or "—" ? "info" : "warning";
                table.Append($"<td>{Badge(css, hasFinding ? $"{status}: {Words.Of(worst)}" : status)}</td>");
            }

            table.Append("</tr>");
        }

        return table.Append("</table>").ToString();
    }

    /// <summary>"1 critical, 2 warning, 5 healthy" (the counts that are not zero).</summary>
    internal static string PoolHealth(PoolReport pool)
        => string.Join(", ", new[] { (pool.Critical, "critical"), (pool.Warning, "warning"), (pool.Healthy, "healthy"), (pool.Unknown, "unknown") }
            .Where(c => c.Item1 > 0).Select(c => $"{c.Item1} {c.Item2}"));

    /// <summary>An evidence entry and line: a link that opens them when served, plain text in a standalone file.</summary>
    private static string Evidence(Func<string, string, long?, string>? link, string bundle, string file, long? line)
    {
        var text = $"<code>{E(file)}{(line is null ? string.Empty : $":{line}")}</code>";
        return link is null ? text : $"<a href=\"{E(link(bundle, file, line))}\">{text}</a>";
    }

    private static string Badge(string cssClass, string? text = null) => $"<span class=\"badge {cssClass}\">{E(text ?? cssClass)}</span>";

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
