using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Hosting;
using Periscope.Collector.Api;

namespace Periscope.Collector.Api.Tests;

/// <summary>The collector's server as <c>serve</c> composes it, on the in-memory test server.</summary>
internal sealed class CollectorApiFactory(ServerOptions options) : WebApplicationFactory<ServerOptions>
{
    protected override IHostBuilder CreateHostBuilder()
        => new HostBuilder().ConfigureWebHost(web => web
            .UseContentRoot(AppContext.BaseDirectory)
            .ConfigureServices(services => CollectorServer.ConfigureServices(services, options))
            .Configure(CollectorServer.Configure));
}
