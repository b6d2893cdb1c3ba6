using System.Net.Http.Headers;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Periscope.Agent.Hosting;
using Periscope.Testing;

namespace Periscope.Agent.Tests.Hosting;

/// <summary>
/// The long-running agent in process, as <c>periscope-agent run</c> builds it, on a free loopback port, replaying the
/// healthy fixture node into a private store (the spool). Disposing stops it as SIGTERM would.
/// </summary>
internal sealed class AgentServiceHost : IAsyncDisposable
{
    private readonly IHost _host;

    private AgentServiceHost(IHost host, HttpClient client)
    {
        _host = host;
        Client = client;
    }

    public HttpClient Client { get; }

    public IServiceProvider Services => _host.Services;

    public static async Task<AgentServiceHost> StartAsync(string store, string? tokenFile, IDictionary<string, string?>? settings = null, Action<IServiceCollection>? configure = null)
    {
        var overrides = new Dictionary<string, string?>
        {
            ["Periscope:HostRoot"] = Fixtures.Node("healthy"),
            ["Periscope:Store"] = store,
            ["Periscope:Node"] = "aks-nodepool1-00000000-vmss000000",
            ["Periscope:Http:Listen"] = "127.0.0.1:0",
            ["Periscope:Http:TokenFile"] = tokenFile,
            ["Periscope:Triggers:ConfigMap:Source"] = "none",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            overrides[key] = value;
        }

        var host = AgentHost.BuildService(new HostSettings { Overrides = overrides, Configure = configure });
        try
        {
            await host.StartAsync();
        }
        catch
        {
            host.Dispose();
            throw;
        }

        var address = host.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new AgentServiceHost(host, new HttpClient { BaseAddress = new Uri(address) });
    }

    public static HttpRequestMessage Request(HttpMethod method, string path, string? token, string? json = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (json is not null)
        {
            request.Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json");
        }

        return request;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _host.StopAsync();
        _host.Dispose();
    }
}
