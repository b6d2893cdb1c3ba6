using System.Net;
using System.Security.Claims;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Periscope.Bundle;
using Periscope.Collector.Reports;
using Periscope.Collector.Sources;

namespace Periscope.Collector.Api;

/// <summary>
/// <c>periscope-collector serve</c>: the runs of a store, their reports and bundles, for operators. Every page, API
/// call and download needs the operator token: API clients send it as a bearer token; a browser signs in once with it
/// (<c>/signin</c>, itself protected against forgery) and then holds an HttpOnly, SameSite=Strict session cookie, and
/// every state-changing request it makes carries an anti-forgery token. Anonymous API calls get 401, anonymous pages
/// are sent to the sign-in page. A bundle is served only by run id and node name, both validated, from inside the store.
/// </summary>
internal static partial class CollectorServer
{
    private const string Session = CookieAuthenticationDefaults.AuthenticationScheme;
    private const string Either = "token-or-session";
    private const string SessionTokenClaim = "periscope:token";
    private const string SessionIdClaim = "periscope:session";

    public static void ConfigureServices(IServiceCollection services, ServerOptions options, Correlation.CorrelationOptions? correlation = null)
    {
        services.AddSingleton(options);
        services.AddSingleton(correlation ?? new Correlation.CorrelationOptions());
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<AccessToken>();
        services.AddSingleton(sp => new SessionRevocations(sp.GetRequiredService<TimeProvider>(), options.SessionLifetime));
        services.TryAddSingleton<IBundleSource>(_ => options.OpenSource());
        services.AddSingleton<RunStarter>();
        services.AddSingleton<RunCatalog>();
        services.AddHostedService(sp => sp.GetRequiredService<RunCatalog>());
        services.AddSingleton(sp => new RunReporter(
            sp.GetRequiredService<IBundleSource>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<Correlation.CorrelationOptions>(), options.OpenExpectedNodes()));
        services.AddRouting();
        services.AddAntiforgery(o =>
        {
            o.HeaderName = "X-CSRF-Token";
            o.FormFieldName = "csrf";
            o.Cookie.Name = "periscope_csrf";
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Strict;
        });
        services.AddAuthentication(Either)
            .AddPolicyScheme(Either, "bearer token or session cookie", o =>
                o.ForwardDefaultSelector = context => context.Request.Headers.Authorization.Count > 0 ? TokenAuthenticationHandler.SchemeName : Session)
            .AddScheme<AuthenticationSchemeOptions, TokenAuthenticationHandler>(TokenAuthenticationHandler.SchemeName, null)
            .AddCookie(Session, o =>
            {
                o.Cookie.Name = "periscope_session";
                o.Cookie.HttpOnly = true;
                o.Cookie.SameSite = SameSiteMode.Strict;
                o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                o.ExpireTimeSpan = options.SessionLifetime;
                o.SlidingExpiration = false;
                o.LoginPath = "/signin";
                o.Events.OnValidatePrincipal = context =>
                {
                    // A session lives only while the operator token that opened it is the current one, and until it is
                    // signed out.
                    var services = context.HttpContext.RequestServices;
                    var fingerprint = context.Principal?.FindFirst(SessionTokenClaim)?.Value;
                    var sessionId = context.Principal?.FindFirst(SessionIdClaim)?.Value;
                    var current = services.GetRequiredService<AccessToken>().Fingerprint();
                    if (fingerprint is null || sessionId is null || current is null
                        || !string.Equals(fingerprint, current, StringComparison.Ordinal)
                        || services.GetRequiredService<SessionRevocations>().IsRevoked(sessionId))
                    {
                        context.RejectPrincipal();
                    }

                    return Task.CompletedTask;
                };
                o.Events.OnRedirectToLogin = context =>
                {
                    // The API answers 401; only pages are sent to the sign-in form.
                    if (context.Request.Path.StartsWithSegments("/api", StringComparison.Ordinal))
                    {
                        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                        return Task.CompletedTask;
                    }

                    context.Response.Redirect("/signin");
                    return Task.CompletedTask;
                };
            });
        services.AddAuthorization();
    }

    public static void Configure(IApplicationBuilder app)
    {
        app.Use(async (context, next) =>
        {
            // Pages carry no script and load nothing from elsewhere.
            context.Response.Headers.ContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'";
            context.Response.Headers.XContentTypeOptions = "nosniff";
            context.Response.Headers["Referrer-Policy"] = "no-referrer";
            if (HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method))
            {
                await next(context);
                return;
            }

            // Every request body the service takes (sign-in, sign-out, a run to start) is a few hundred bytes: past
            // MaxBodyBytes it is refused with 413, never read into memory and never a 500.
            if (context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            {
                limit.MaxRequestBodySize = MaxBodyBytes;
            }

            if (context.Request.ContentLength > MaxBodyBytes)
            {
                await TooLargeAsync(context);
                return;
            }

            try
            {
                await next(context);
            }
            catch (Exception ex) when (!context.Response.HasStarted && IsTooLarge(ex))
            {
                await TooLargeAsync(context); // a body without a length that grew past the limit, or past a form limit
            }
        });
        app.UseRouting();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseEndpoints(Map);
    }

    /// <summary>Most bytes of a request body.</summary>
    public const long MaxBodyBytes = 64 * 1024;

    /// <summary>A body past the limit, as Kestrel, the form reader or anti-forgery (which reads the form first) say it.</summary>
    private static bool IsTooLarge(Exception? ex)
    {
        for (; ex is not null; ex = ex.InnerException)
        {
            if (ex is BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } or InvalidDataException)
            {
                return true;
            }
        }

        return false;
    }

    private static async Task TooLargeAsync(HttpContext context)
    {
        context.Response.Clear();
        context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
        context.Response.ContentType = "text/plain; charset=utf-8";
        await context.Response.WriteAsync($"The request body is over {MaxBodyBytes} bytes.");
    }

    public static void Map(IEndpointRouteBuilder app)
    {
        // Anonymous, for the kubelet's probes: the service is up and has listed its store (503 with the reason if it
        // never could); nothing about the runs is said.
        app.MapGet("/healthz", HealthAsync);
        app.MapGet("/signin", SignInPage);
        app.MapPost("/signin", SignInAsync);
        app.MapPost("/signout", SignOutAsync).RequireAuthorization();
        app.MapGet("/", RunsPageAsync).RequireAuthorization();
        app.MapGet("/runs/{runId}", RunPageAsync).RequireAuthorization();
        app.MapPost("/runs/start", StartRunFormAsync).RequireAuthorization();

        var api = app.MapGroup("/api").RequireAuthorization();
        api.MapGet("/runs", ListRunsAsync);
        api.MapPost("/runs", StartRunAsync);
        api.MapGet("/runs/{runId}/report", ReportAsync);
        api.MapGet("/runs/{runId}/nodes", ListNodesAsync);
        api.MapGet("/runs/{runId}/nodes/{node}/bundle", DownloadAsync);
    }

    /// <summary>The served report links each bundle to its download.</summary>
    public static string BundleLink(string storePath)
    {
        var slash = storePath.IndexOf('/', StringComparison.Ordinal);
        var run = storePath[..slash];
        var node = storePath[(slash + 1)..^StoreLayout.BundleSuffix.Length];
        return $"/api/runs/{Uri.EscapeDataString(run)}/nodes/{Uri.EscapeDataString(node)}/bundle";
    }

    private static async Task<IResult> HealthAsync(RunCatalog catalog, CancellationToken cancellationToken)
    {
        var listing = await catalog.RunsAsync(cancellationToken);
        return listing.ListedAt is null
            ? Results.Text("the store has not been listed yet", "text/plain", statusCode: StatusCodes.Status503ServiceUnavailable)
            : Results.Text("ok", "text/plain");
    }

    private static IResult SignInPage(HttpContext context, IAntiforgery antiforgery, string? failed = null)
    {
        var tokens = antiforgery.GetAndStoreTokens(context);
        var page = Page("Sign in", $"""
            <h1>Periscope</h1>
            {(failed is null ? string.Empty : "<p class=\"error\">That token is not the operator token.</p>")}
            <form method="post" action="/signin">
              <input type="hidden" name="csrf" value="{E(tokens.RequestToken!)}">
              <label>Operator token <input type="password" name="token" autocomplete="current-password" autofocus required></label>
              <button type="submit">Sign in</button>
            </form>
            """);
        return Results.Content(page, "text/html; charset=utf-8");
    }

    private static async Task<IResult> SignInAsync(HttpContext context, IAntiforgery antiforgery, AccessToken token)
    {
        if (!await antiforgery.IsRequestValidAsync(context))
        {
            return Results.Problem(statusCode: StatusCodes.Status400BadRequest, detail: "The sign-in form has expired or did not come from this service; load it again.");
        }

        var form = await context.Request.ReadFormAsync();
        if (!token.Matches(form["token"].ToString()))
        {
            return Results.Redirect("/signin?failed=1");
        }

        var identity = new ClaimsIdentity(
        [
            new Claim(ClaimTypes.Name, "operator"),
            new Claim(SessionTokenClaim, token.Fingerprint() ?? string.Empty),
            new Claim(SessionIdClaim, Guid.NewGuid().ToString("N")),
        ], Session);
        await context.SignInAsync(Session, new ClaimsPrincipal(identity));
        return Results.Redirect("/");
    }

    private static async Task<IResult> SignOutAsync(HttpContext context, IAntiforgery antiforgery)
    {
        if (!await antiforgery.IsRequestValidAsync(context))
        {
            return Results.Problem(statusCode: StatusCodes.Status400BadRequest, detail: "Missing or wrong anti-forgery token.");
        }

        // The cookie is a signed ticket the browser holds: signing out also ends it on the server, so a copy of the
        // cookie is refused from now on.
        if (context.User.FindFirst(SessionIdClaim)?.Value is { } sessionId)
        {
            context.RequestServices.GetRequiredService<SessionRevocations>().Revoke(sessionId);
        }

        await context.SignOutAsync(Session);
        return Results.Redirect("/signin");
    }

    private static async Task<IResult> RunsPageAsync(HttpContext context, RunCatalog catalog, ServerOptions options, IAntiforgery antiforgery, RunStarter starter, CancellationToken cancellationToken)
    {
        var listing = await catalog.RunsAsync(cancellationToken);
        var runs = listing.Runs;
        var tokens = antiforgery.GetAndStoreTokens(context);
        var rows = new StringBuilder();
        foreach (var run in runs)
        {
            rows.Append($"<tr><td><a href=\"/runs/{Uri.EscapeDataString(run.RunId)}\">{E(run.RunId)}</a></td><td>{E(Words.Time(run.StartedAt))}</td><td>{run.Sealed} of {run.Bundles}</td><td>{E(Words.Time(run.UpdatedAt))}</td></tr>");
        }

        var page = Page("Runs", $"""
            <form method="post" action="/signout" class="signout"><input type="hidden" name="csrf" value="{E(tokens.RequestToken!)}"><button type="submit">Sign out</button></form>
            <h1>Runs</h1>
            {(starter.Enabled ? $"<form method=\"post\" action=\"/runs/start\"><input type=\"hidden\" name=\"csrf\" value=\"{E(tokens.RequestToken!)}\"><label>Run id <input name=\"runId\" placeholder=\"default: the time now\"></label> <label>Collectors <input name=\"collectors\" placeholder=\"all\"></label> <button type=\"submit\">Start a run on every node</button></form>" : string.Empty)}
            {(listing.Error is null ? string.Empty : $"<p class=\"error\">The store could not be listed: {E(listing.Error)}. Showing the runs listed at {E(Words.Time(listing.ListedAt))}.</p>")}
            {(runs.Count == 0 ? "<p>The store holds no run yet.</p>" : $"<table><tr><th>Run</th><th>Started</th><th>Sealed bundles</th><th>Last bundle received</th></tr>{rows}</table>")}
            <p class="muted">Listed {E(Words.Time(listing.ListedAt))}; new runs appear within {options.PollInterval.TotalSeconds:0} s.</p>
            """);
        return Results.Content(page, "text/html; charset=utf-8");
    }

    private static async Task<IResult> RunPageAsync(string runId, IBundleSource source, RunCatalog catalog, CancellationToken cancellationToken)
    {
        if (await FindReportAsync(source, catalog, runId, cancellationToken) is not { } report)
        {
            return Results.NotFound();
        }

        return Results.Stream(await catalog.RenderAsync(writer => HtmlReportRenderer.Render(report, writer, BundleLink), cancellationToken), "text/html; charset=utf-8");
    }

    /// <summary>
    /// <c>POST /api/runs</c> ({runId?, collectors?, since?}): writes the run-id ConfigMap. A browser session must send
    /// the anti-forgery token (<c>X-CSRF-Token</c>); a bearer-token client need not (no ambient credential to forge).
    /// </summary>
    private static async Task<IResult> StartRunAsync(HttpContext context, RunStarter starter, IAntiforgery antiforgery, CancellationToken cancellationToken)
    {
        if (!await AntiforgeryHoldsAsync(context, antiforgery))
        {
            return Results.Problem(statusCode: StatusCodes.Status400BadRequest, detail: "Missing or wrong anti-forgery token (X-CSRF-Token).");
        }

        StartRunRequest? body;
        try
        {
            body = await JsonSerializer.DeserializeAsync(context.Request.Body, ApiJsonContext.Default.StartRunRequest, cancellationToken);
        }
        catch (JsonException ex)
        {
            return Results.Problem(statusCode: StatusCodes.Status400BadRequest, detail: $"The body is not a JSON object of runId, collectors and since: {ex.Message}");
        }

        return await StartAsync(starter, body?.RunId, body?.Collectors, body?.Since, started => Results.Json(started, ApiJsonContext.Default.StartedRun, statusCode: StatusCodes.Status202Accepted), cancellationToken);
    }

    private static async Task<IResult> StartRunFormAsync(HttpContext context, RunStarter starter, IAntiforgery antiforgery, CancellationToken cancellationToken)
    {
        if (!await antiforgery.IsRequestValidAsync(context))
        {
            return Results.Problem(statusCode: StatusCodes.Status400BadRequest, detail: "Missing or wrong anti-forgery token.");
        }

        var form = await context.Request.ReadFormAsync(cancellationToken);
        return await StartAsync(starter, form["runId"], form["collectors"], form["since"], _ => Results.Redirect("/"), cancellationToken);
    }

    private static async Task<IResult> StartAsync(RunStarter starter, string? runId, string? collectors, string? since, Func<StartedRun, IResult> done, CancellationToken cancellationToken)
    {
        if (!starter.Enabled)
        {
            return Results.Problem(statusCode: StatusCodes.Status501NotImplemented, detail: "Starting runs needs Kubernetes access (run in the cluster, or set Periscope:Server:Kubeconfig).");
        }

        try
        {
            return done(await starter.StartAsync(runId, collectors, since, cancellationToken));
        }
        catch (ArgumentException ex)
        {
            return Results.Problem(statusCode: StatusCodes.Status400BadRequest, detail: ex.Message);
        }
        catch (Exception ex) when (ex is InvalidOperationException or k8s.Exceptions.KubeConfigException or IOException)
        {
            return Results.Problem(statusCode: StatusCodes.Status502BadGateway, detail: ex.Message);
        }
    }

    /// <summary>Requests authenticated by the session cookie must carry the anti-forgery token; bearer requests need not.</summary>
    private static async Task<bool> AntiforgeryHoldsAsync(HttpContext context, IAntiforgery antiforgery)
        => context.Request.Headers.Authorization.Count > 0 || await antiforgery.IsRequestValidAsync(context);

    /// <summary>
    /// The runs as last polled, newest first. <c>Periscope-Listed-At</c> says when; a failed listing answers the runs
    /// of the one before with <c>Periscope-Listing-Error</c>, or 503 when the store was never listed.
    /// </summary>
    private static async Task<IResult> ListRunsAsync(HttpContext context, RunCatalog catalog, CancellationToken cancellationToken)
    {
        var listing = await catalog.RunsAsync(cancellationToken);
        if (listing.ListedAt is null)
        {
            return Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, detail: $"The store could not be listed: {listing.Error}");
        }

        context.Response.Headers["Periscope-Listed-At"] = UtcTimestampConverter.Format(listing.ListedAt.Value);
        if (listing.Error is not null)
        {
            context.Response.Headers["Periscope-Listing-Error"] = listing.Error.ReplaceLineEndings(" ");
        }

        return Results.Json(listing.Runs, ApiJsonContext.Default.IReadOnlyListRunSummary);
    }

    private static async Task<IResult> ReportAsync(string runId, string? format, IBundleSource source, RunCatalog catalog, CancellationToken cancellationToken)
    {
        if (await FindReportAsync(source, catalog, runId, cancellationToken) is not { } report)
        {
            return Results.NotFound();
        }

        return format switch
        {
            null or "json" => Results.Json(report, ReportJsonContext.Default.HealthReport), // streamed, never one string
            "html" => Results.Stream(await catalog.RenderAsync(writer => HtmlReportRenderer.Render(report, writer, BundleLink), cancellationToken), "text/html; charset=utf-8"),
            "markdown" => Results.Stream(await catalog.RenderAsync(writer => MarkdownReportRenderer.Render(report, writer), cancellationToken), "text/markdown; charset=utf-8"),
            _ => Results.Problem(statusCode: StatusCodes.Status400BadRequest, detail: "format is json, html or markdown."),
        };
    }

    private static async Task<IResult> ListNodesAsync(string runId, IBundleSource source, RunCatalog catalog, CancellationToken cancellationToken)
    {
        if (await FindReportAsync(source, catalog, runId, cancellationToken) is not { } report)
        {
            return Results.NotFound();
        }

        var nodes = report.Nodes.Select(n => new NodeSummary(n.Node, n.Pool, n.Status, n.Rejected, n.Incomplete, BundleLink(n.Bundle))).ToList();
        return Results.Json(nodes, ApiJsonContext.Default.ListNodeSummary);
    }

    /// <summary>
    /// One node's bundle: streamed, or with <see cref="ServerOptions.Downloads"/> <c>sas</c> a 302 to a short-lived
    /// read-only SAS URL of that blob. The run id and node name must be valid names (no separators, no leading dot),
    /// the bundle must be sealed (its status record exists), and a directory store checks the path lies inside it.
    /// When a SAS cannot be signed (an identity refused a user delegation key) the bundle is streamed instead and the
    /// reason logged: the operator gets the bundle either way.
    /// </summary>
    private static async Task<IResult> DownloadAsync(
        HttpContext context, string runId, string node, IBundleSource source, ServerOptions options, TimeProvider time, ILoggerFactory logging, CancellationToken cancellationToken)
    {
        if (!RunId.IsValid(runId) || !NodeName.IsValid(node))
        {
            return Results.NotFound();
        }

        if (options.Downloads == "sas" && source is BlobBundleSource blob)
        {
            try
            {
                var signed = await blob.ReadOnlyUriAsync(runId, node, options.SasLifetime, time.GetUtcNow(), cancellationToken);
                context.Response.Headers.CacheControl = "no-store";
                return signed is null ? Results.NotFound() : Results.Redirect(signed.AbsoluteUri);
            }
            catch (InvalidOperationException ex)
            {
                LogSasRefused(logging.CreateLogger("Periscope.Collector.Downloads"), runId, node, ex.Message);
            }
        }

        var stream = await source.OpenBundleAsync(runId, node, cancellationToken);
        return stream is null
            ? Results.NotFound()
            : Results.Stream(stream, "application/zip", $"{runId}-{node}.zip", enableRangeProcessing: stream.CanSeek);
    }

    /// <summary>
    /// The report of a run that exists, or null. A run of the last listing that has gone from the store since (its
    /// report cannot be read and its folder or prefix is empty) is not found either; any other failure is thrown.
    /// </summary>
    private static async Task<HealthReport?> FindReportAsync(IBundleSource source, RunCatalog catalog, string runId, CancellationToken cancellationToken)
    {
        if (!await RunExistsAsync(source, catalog, runId, cancellationToken))
        {
            return null;
        }

        try
        {
            return await catalog.ReportAsync(runId, cancellationToken);
        }
        catch (IOException)
        {
            if (await ListedAsync(source, runId, cancellationToken))
            {
                throw;
            }

            return null;
        }
    }

    /// <summary>
    /// A run of the catalog's last listing exists; one newer than it is looked for by one listing of its own folder or
    /// prefix (not of every run).
    /// </summary>
    private static async Task<bool> RunExistsAsync(IBundleSource source, RunCatalog catalog, string runId, CancellationToken cancellationToken)
    {
        if (!RunId.IsValid(runId))
        {
            return false;
        }

        return catalog.Knows(runId) || await ListedAsync(source, runId, cancellationToken);
    }

    /// <summary>One listing of the run's own folder or prefix.</summary>
    private static async Task<bool> ListedAsync(IBundleSource source, string runId, CancellationToken cancellationToken)
    {
        try
        {
            return (await source.ListNodesAsync(runId, cancellationToken)).Count > 0;
        }
        catch (DirectoryNotFoundException)
        {
            return false;
        }
    }

    private static string Page(string title, string body) => $$"""
        <!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{{E(title)}} — Periscope</title>
        <style>body{font:14px/1.45 system-ui,sans-serif;margin:2rem;max-width:1000px}table{border-collapse:collapse}th,td{border:1px solid #ddd;padding:.3rem .6rem;text-align:left}.error{color:#c62828}.signout{float:right}.muted{color:#666}</style>
        </head><body>{{body}}</body></html>
        """;

    private static string E(string text) => WebUtility.HtmlEncode(text);

    [LoggerMessage(EventId = 2101, Level = LogLevel.Warning, Message = "Streaming {RunId}/{Node} instead of redirecting to a SAS: {Reason}")]
    private static partial void LogSasRefused(ILogger logger, string runId, string node, string reason);
}

/// <summary>The body of <c>POST /api/runs</c>: the run-id ConfigMap's fields.</summary>
internal sealed record StartRunRequest(string? RunId, string? Collectors, string? Since);

/// <summary>A node of a run, for <c>GET /api/runs/{runId}/nodes</c>.</summary>
internal sealed record NodeSummary(string Node, string? Pool, HealthStatus Status, string? Rejected, bool Incomplete, string Bundle);
