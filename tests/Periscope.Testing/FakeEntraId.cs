using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Periscope.Testing;

/// <summary>
/// A FAKE Microsoft Entra ID token service (none can run here), over TLS on loopback, with the two paths the agent's
/// credentials use: the App Service style managed identity endpoint (<c>GET /msi/token</c> with the
/// <c>X-IDENTITY-HEADER</c>; the credential finds it through <c>IDENTITY_ENDPOINT</c> and <c>IDENTITY_HEADER</c>) and the
/// OAuth 2.0 client-credentials token endpoint a workload identity exchanges its federated token at
/// (<c>POST /{tenant}/oauth2/v2.0/token</c>, with instance discovery and OpenID metadata). Tokens are unsigned JWTs
/// for <c>https://storage.azure.com</c> that Azurite's basic OAuth accepts. Requests are recorded.
/// </summary>
public sealed class FakeEntraId : IAsyncDisposable
{
    public const string TenantId = "72f988bf-0000-4000-8000-2d7cd011db47";
    public const string IdentityHeader = "fake-identity-header-value";
    private readonly WebApplication _app;
    private readonly List<string> _requests = [];
    private readonly Lock _lock = new();

    private FakeEntraId(WebApplication app) => _app = app;

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>The federated token a workload identity must present (the projected service account token).</summary>
    public string ExpectedAssertion { get; set; } = "header.projected-service-account-token.signature";

    public IReadOnlyList<string> Requests
    {
        get
        {
            lock (_lock)
            {
                return _requests.ToList();
            }
        }
    }

    public static async Task<FakeEntraId> StartAsync(TestCertificates certificates)
    {
        ArgumentNullException.ThrowIfNull(certificates);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0, listen => listen.UseHttps(certificates.Server)));
        var app = builder.Build();
        var fake = new FakeEntraId(app);
        app.MapGet("/msi/token", (HttpContext context) => fake.ManagedIdentityAsync(context));
        app.MapGet("/common/discovery/instance", (HttpContext context) => fake.DiscoveryAsync(context));
        app.MapGet("/{tenant}/v2.0/.well-known/openid-configuration", (HttpContext context, string tenant) => fake.MetadataAsync(context, tenant));
        app.MapPost("/{tenant}/oauth2/v2.0/token", (HttpContext context, string tenant) => fake.TokenAsync(context, tenant));
        await app.StartAsync();
        fake.BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal));
        return fake;
    }

    private void Record(string line)
    {
        lock (_lock)
        {
            _requests.Add(line);
        }
    }

    private async Task ManagedIdentityAsync(HttpContext context)
    {
        var resource = context.Request.Query["resource"].ToString();
        var clientId = context.Request.Query["client_id"].ToString();
        Record($"msi resource={resource} client_id={clientId}");
        if (context.Request.Headers["X-IDENTITY-HEADER"].ToString() != IdentityHeader)
        {
            context.Response.StatusCode = 401;
            return;
        }

        var expires = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds();
        await WriteJsonAsync(context, new JsonObject
        {
            ["access_token"] = Jwt(resource),
            ["expires_on"] = expires.ToString(CultureInfo.InvariantCulture),
            ["resource"] = resource,
            ["token_type"] = "Bearer",
            ["client_id"] = clientId,
        });
    }

    private Task DiscoveryAsync(HttpContext context)
    {
        Record("discovery");
        var host = BaseAddress.Authority;
        return WriteJsonAsync(context, new JsonObject
        {
            ["tenant_discovery_endpoint"] = $"https://{host}/{TenantId}/v2.0/.well-known/openid-configuration",
            ["api-version"] = "1.1",
            ["metadata"] = new JsonArray(new JsonObject
            {
                ["preferred_network"] = host,
                ["preferred_cache"] = host,
                ["aliases"] = new JsonArray(host),
            }),
        });
    }

    private Task MetadataAsync(HttpContext context, string tenant)
    {
        Record($"metadata tenant={tenant}");
        var root = $"https://{BaseAddress.Authority}/{tenant}";
        return WriteJsonAsync(context, new JsonObject
        {
            ["token_endpoint"] = $"{root}/oauth2/v2.0/token",
            ["authorization_endpoint"] = $"{root}/oauth2/v2.0/authorize",
            ["issuer"] = $"{root}/v2.0",
        });
    }

    private async Task TokenAsync(HttpContext context, string tenant)
    {
        var form = await context.Request.ReadFormAsync();
        var assertion = form["client_assertion"].ToString();
        Record($"token tenant={tenant} client_id={form["client_id"]} grant_type={form["grant_type"]} scope={form["scope"]} assertion_ok={assertion == ExpectedAssertion}");
        if (assertion != ExpectedAssertion)
        {
            context.Response.StatusCode = 401;
            await WriteJsonAsync(context, new JsonObject
            {
                ["error"] = "invalid_client",
                ["error_description"] = "AADSTS700211: No matching federated identity record found for presented assertion issuer.",
            });
            return;
        }

        await WriteJsonAsync(context, new JsonObject
        {
            ["token_type"] = "Bearer",
            ["expires_in"] = 3599,
            ["ext_expires_in"] = 3599,
            ["access_token"] = Jwt("https://storage.azure.com"),
        });
    }

    /// <summary>An unsigned JWT with the claims Azurite's basic OAuth checks (issuer, audience, lifetime).</summary>
    /// <summary>A token as this fake issues them, for <paramref name="audience"/> (what a fake Azure CLI prints, say).</summary>
    public static string Jwt(string audience)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var header = new JsonObject { ["alg"] = "RS256", ["typ"] = "JWT" };
        var payload = new JsonObject
        {
            ["aud"] = audience.TrimEnd('/'),
            ["iss"] = $"https://sts.windows.net/{TenantId}/",
            ["iat"] = now - 60,
            ["nbf"] = now - 60,
            ["exp"] = now + 3600,
            ["oid"] = "0c9a1b2e-0000-4000-8000-000000000001",
            ["tid"] = TenantId,
        };
        return $"{Base64Url(header.ToJsonString())}.{Base64Url(payload.ToJsonString())}.{Base64Url("not-signed")}";
    }

    private static string Base64Url(string text)
        => Convert.ToBase64String(Encoding.UTF8.GetBytes(text)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static async Task WriteJsonAsync(HttpContext context, JsonObject body)
    {
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body.ToJsonString());
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
