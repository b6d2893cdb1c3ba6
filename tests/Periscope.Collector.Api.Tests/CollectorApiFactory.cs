using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Periscope.Collector.Api;

namespace Periscope.Collector.Api.Tests;

/// <summary>The collector's server as <c>serve</c> composes it, on the in-memory test server.</summary>
/// <param name="options">The server's options.</param>
/// <param name="services">Registered first (a fake clock, say), so the server's own defaults do not replace them.</param>
internal sealed class CollectorApiFactory(ServerOptions options, Action<IServiceCollection>? services = null) : WebApplicationFactory<ServerOptions>
{
    protected override IHostBuilder CreateHostBuilder()
        => new HostBuilder().ConfigureWebHost(web => web
            .UseContentRoot(AppContext.BaseDirectory)
            .ConfigureServices(collection =>
            {
                services?.Invoke(collection);
                CollectorServer.ConfigureServices(collection, options);
            })
            .Configure(CollectorServer.Configure));
}
