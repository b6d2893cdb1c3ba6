using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Periscope.Collector.Api;

/// <summary>
/// API clients: <c>Authorization: Bearer &lt;token&gt;</c> with the operator token — or, for requests that come through
/// the Kubernetes API server's service proxy (which authenticates the caller itself and does not pass the
/// Authorization header on), the same token in <c>X-Periscope-Token</c>.
/// </summary>
internal sealed class TokenAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, AccessToken token)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "token";

    /// <summary>The operator token's header for requests through the API server's service proxy.</summary>
    public const string TokenHeader = "X-Periscope-Token";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        var proxied = Request.Headers[TokenHeader].ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && proxied.Length == 0)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        if (!token.Matches(header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..] : proxied))
        {
            return Task.FromResult(AuthenticateResult.Fail("the bearer token is not the operator token"));
        }

        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, "operator")], SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        return Task.CompletedTask;
    }
}
