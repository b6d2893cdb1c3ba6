using System.Security.Claims;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Periscope.Collector.Api;

/// <summary>
/// Who may see anything: API clients send the operator token as a bearer token; a browser signs in once with it
/// (<c>/signin</c>, itself protected against forgery) and then holds an HttpOnly, SameSite=Strict session cookie that
/// lives while that token is the current one and until it is signed out. Every state-changing request a browser makes
/// carries an anti-forgery token. Anonymous API calls get 401, anonymous pages are sent to the sign-in page.
/// </summary>
internal static class ServerAuthentication
{
    private const string Session = CookieAuthenticationDefaults.AuthenticationScheme;
    private const string Either = "token-or-session";
    private const string SessionTokenClaim = "periscope:token";
    private const string SessionIdClaim = "periscope:session";

    public static void AddServices(IServiceCollection services)
    {
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
                o.ForwardDefaultSelector = context => context.Request.Headers.Authorization.Count > 0 || context.Request.Headers.ContainsKey(TokenAuthenticationHandler.TokenHeader)
                    ? TokenAuthenticationHandler.SchemeName : Session)
            .AddScheme<AuthenticationSchemeOptions, TokenAuthenticationHandler>(TokenAuthenticationHandler.SchemeName, null)
            .AddCookie(Session, o =>
            {
                o.Cookie.Name = "periscope_session";
                o.Cookie.HttpOnly = true;
                o.Cookie.SameSite = SameSiteMode.Strict;
                o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
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
        services.AddOptions<CookieAuthenticationOptions>(Session)
            .Configure<IOptions<ServerOptions>>((o, server) => o.ExpireTimeSpan = server.Value.SessionLifetime);
        services.AddAuthorization();
    }

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/signin", SignInPage);
        app.MapPost("/signin", SignInAsync);
        app.MapPost("/signout", SignOutAsync).RequireAuthorization();
    }

    /// <summary>Requests authenticated by the session cookie must carry the anti-forgery token; bearer requests need not.</summary>
    public static async Task<bool> AntiforgeryHoldsAsync(HttpContext context, IAntiforgery antiforgery)
        => context.Request.Headers.Authorization.Count > 0 || await antiforgery.IsRequestValidAsync(context);

    private static IResult SignInPage(HttpContext context, IAntiforgery antiforgery, string? failed = null)
    {
        var tokens = antiforgery.GetAndStoreTokens(context);
        var page = ServerPages.Page("Sign in", $"""
            <h1>Periscope</h1>
            {(failed is null ? string.Empty : "<p class=\"error\">That token is not the operator token.</p>")}
            <form method="post" action="/signin">
              <input type="hidden" name="csrf" value="{ServerPages.E(tokens.RequestToken!)}">
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
}
