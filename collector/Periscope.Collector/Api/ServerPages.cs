using System.Net;
using System.Text;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Periscope.Collector.Reports;
using Periscope.Collector.Sources;

namespace Periscope.Collector.Api;

/// <summary>The operator's pages: the runs of the store (and a form to start one), a run's report with its bundles.</summary>
internal static class ServerPages
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/", RunsPageAsync).RequireAuthorization();
        app.MapGet("/runs/{runId}", RunPageAsync).RequireAuthorization();
        app.MapPost("/runs/start", StartRunFormAsync).RequireAuthorization();
    }

    private static async Task<IResult> RunsPageAsync(HttpContext context, RunCatalog catalog, ServerOptions options, IAntiforgery antiforgery, RunStarter starter, TimeProvider time, CancellationToken cancellationToken)
    {
        var listing = await catalog.RunsAsync(cancellationToken);
        var runs = listing.Runs;
        var tokens = antiforgery.GetAndStoreTokens(context);
        var now = time.GetUtcNow();
        var rows = new StringBuilder();
        foreach (var run in runs)
        {
            var health = run.Health ?? RunHealth.None;
            var status = Words.Of(health.Status);
            var counts = health.Critical + health.Warning == 0
                ? "—"
                : string.Join(", ", new[] { health.Critical > 0 ? $"{health.Critical} critical" : null, health.Warning > 0 ? $"{health.Warning} warning" : null }.OfType<string>());
            rows.Append($"<tr><td><a href=\"/runs/{Uri.EscapeDataString(run.RunId)}\">{E(run.RunId)}</a></td><td><span class=\"badge {status}\">{status}</span></td><td>{E(counts)}</td><td>{run.Sealed} of {run.Bundles}</td><td>{Ago(run.StartedAt, now)}</td><td>{Ago(run.UpdatedAt, now)}</td></tr>");
        }

        var page = Page("Runs", $"""
            <form method="post" action="/signout" class="signout"><input type="hidden" name="csrf" value="{E(tokens.RequestToken!)}"><button type="submit">Sign out</button></form>
            <h1>Runs</h1>
            {(starter.Enabled ? $"<form method=\"post\" action=\"/runs/start\"><input type=\"hidden\" name=\"csrf\" value=\"{E(tokens.RequestToken!)}\"><label>Run id <input name=\"runId\" placeholder=\"default: the time now\"></label> <label>Collectors <input name=\"collectors\" placeholder=\"all\"></label> <button type=\"submit\">Start a run on every node</button></form>" : string.Empty)}
            {(listing.Error is null ? string.Empty : $"<p class=\"error\">The store could not be listed: {E(listing.Error)}. Showing the runs listed at {E(Words.Time(listing.ListedAt))}.</p>")}
            {(runs.Count == 0 ? "<p>The store holds no run yet.</p>" : $"<table><tr><th>Run</th><th>Status</th><th>Nodes</th><th>Sealed bundles</th><th>Started</th><th>Last bundle received</th></tr>{rows}</table>")}
            <p class="muted">Listed {E(Words.Time(listing.ListedAt))}; new runs appear within {options.PollInterval.TotalSeconds:0} s.</p>
            """);
        return Results.Content(page, "text/html; charset=utf-8");
    }

    private static async Task<IResult> RunPageAsync(string runId, IBundleSource source, RunCatalog catalog, CancellationToken cancellationToken)
    {
        if (await RunEndpoints.FindReportAsync(source, catalog, runId, cancellationToken) is not { } report)
        {
            return Results.NotFound();
        }

        return Results.Stream(await catalog.RenderAsync(writer => HtmlReportRenderer.RenderServed(report, writer, RunEndpoints.BundleLink, RunEndpoints.EntryLink), cancellationToken), "text/html; charset=utf-8");
    }

    private static async Task<IResult> StartRunFormAsync(HttpContext context, RunStarter starter, IAntiforgery antiforgery, CancellationToken cancellationToken)
    {
        if (!await antiforgery.IsRequestValidAsync(context))
        {
            return Results.Problem(statusCode: StatusCodes.Status400BadRequest, detail: "Missing or wrong anti-forgery token.");
        }

        var form = await context.Request.ReadFormAsync(cancellationToken);
        return await RunEndpoints.StartAsync(starter, form["runId"], form["collectors"], form["since"], _ => Results.Redirect("/"), cancellationToken);
    }

    /// <summary>A page: no script, nothing loaded from elsewhere.</summary>
    public static string Page(string title, string body) => $$"""
        <!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{{E(title)}} — Periscope</title>
        <style>body{font:14px/1.45 system-ui,sans-serif;margin:2rem;max-width:1000px}table{border-collapse:collapse}th,td{border:1px solid #ddd;padding:.3rem .6rem;text-align:left}.error{color:#c62828}.signout{float:right}.muted{color:#666}.badge{padding:.1rem .45rem;border-radius:.3rem;font-weight:600;font-size:.8rem}.critical{color:#fff;background:#c62828}.warning{background:#f9a825}.healthy{color:#fff;background:#2e7d32}.unknown{color:#fff;background:#6a1b9a}</style>
        </head><body>{{body}}</body></html>
        """;

    /// <summary>"12 min ago", with the UTC time on hover.</summary>
    private static string Ago(DateTimeOffset? at, DateTimeOffset now)
        => at is null ? "—" : $"<time datetime=\"{E(Bundle.UtcTimestampConverter.Format(at.Value))}\" title=\"{E(Words.Time(at))}\">{E(Words.Ago(at, now))}</time>";

    /// <summary>HTML-encoded text.</summary>
    public static string E(string text) => WebUtility.HtmlEncode(text);
}
