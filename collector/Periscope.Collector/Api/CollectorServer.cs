using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Periscope.Collector.Reports;
using Periscope.Collector.Sources;

namespace Periscope.Collector.Api;

/// <summary>
/// <c>periscope-collector serve</c>: the runs of a store, their reports and bundles, for operators. This is its wiring
/// — services, the request limits and headers every response gets, and the routes of its three parts:
/// <see cref="ServerAuthentication"/> (the operator token as a bearer token or a browser session; nothing is served
/// to an anonymous caller), <see cref="ServerPages"/> (the HTML pages) and <see cref="RunEndpoints"/> (the API and
/// the bundle downloads).
/// </summary>
internal static class CollectorServer
{
    /// <summary>
    /// The service with its options bound from <c>Periscope:Server</c> (the command's flags are the configuration's
    /// last source) and validated when the host starts: every problem at once, before anything listens.
    /// </summary>
    public static void ConfigureServices(IServiceCollection services, Correlation.CorrelationOptions? correlation = null)
    {
        services.AddOptions<ServerOptions>().BindConfiguration(ServerOptions.SectionName).ValidateOnStart();
        AddServices(services, correlation);
    }

    /// <summary>
    /// The service with options made in code (tests, an embedding host): taken as they are, the caller has checked them
    /// (<see cref="ServerOptions.Validate"/>).
    /// </summary>
    public static void ConfigureServices(IServiceCollection services, ServerOptions options, Correlation.CorrelationOptions? correlation = null)
    {
        services.AddSingleton(Options.Create(options));
        AddServices(services, correlation);
    }

    private static void AddServices(IServiceCollection services, Correlation.CorrelationOptions? correlation)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ServerOptions>, ServerOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ServerOptions>, ServerOptionsRules>());
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<ServerOptions>>().Value);
        services.AddSingleton(correlation ?? new Correlation.CorrelationOptions());
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<AccessToken>();
        services.AddSingleton(sp => new SessionRevocations(sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ServerOptions>().SessionLifetime));
        services.TryAddSingleton<IBundleSource>(sp => sp.GetRequiredService<ServerOptions>().OpenSource());
        services.AddSingleton<RunStarter>();
        services.AddSingleton<RunCatalog>();
        services.AddHostedService(sp => sp.GetRequiredService<RunCatalog>());
        services.AddSingleton(sp => new RunReporter(
            sp.GetRequiredService<IBundleSource>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<Correlation.CorrelationOptions>(),
            sp.GetRequiredService<ServerOptions>().OpenExpectedNodes()));
        services.AddRouting();
        ServerAuthentication.AddServices(services);
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
        ServerAuthentication.Map(app);
        ServerPages.Map(app);
        RunEndpoints.Map(app.MapGroup("/api").RequireAuthorization());
    }

    private static async Task<IResult> HealthAsync(RunCatalog catalog, CancellationToken cancellationToken)
    {
        var listing = await catalog.RunsAsync(cancellationToken);
        return listing.ListedAt is null
            ? Results.Text("the store has not been listed yet", "text/plain", statusCode: StatusCodes.Status503ServiceUnavailable)
            : Results.Text("ok", "text/plain");
    }
}
