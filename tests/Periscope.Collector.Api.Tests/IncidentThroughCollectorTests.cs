using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Periscope.Bundle;
using Periscope.Collector.Incident;
using Periscope.Testing;
using Xunit;

namespace Periscope.Collector.Tests.Api;

/// <summary>
/// The incident command with no store named follows the run and fetches the report and bundles from the in-cluster
/// collector (the real <c>serve</c>), through the API server's service proxy (the fake's, which like the real one does
/// not pass the caller's Authorization on): the operator token comes from its Secret and goes in X-Periscope-Token.
/// </summary>
public sealed class IncidentThroughCollectorTests : IAsyncLifetime
{
    private const string Token = "incident-operator-token";
    private readonly TempDirectory _temp = new();
    private FakeKubernetesApi _api = null!;
    private WebApplication _collector = null!;
    private Uri _collectorUrl = null!;

    private string Store => _temp.Combine("store");

    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(Store);
        File.WriteAllText(_temp.Combine("token"), Token);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        Collector.Api.CollectorServer.ConfigureServices(builder.Services, new Collector.Api.ServerOptions { Store = Store, TokenFile = _temp.Combine("token") });
        _collector = builder.Build();
        Collector.Api.CollectorServer.Configure(_collector);
        await _collector.StartAsync();
        _collectorUrl = new Uri(_collector.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/");

        _api = await FakeKubernetesApi.StartAsync();
        _api.ProxyService("periscope", "periscope-collector:http", _collectorUrl);
        _api.PutObject("", "secrets", "periscope", new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = "periscope-operator-token", ["namespace"] = "periscope" },
            ["data"] = new JsonObject { ["token"] = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(Token)) },
        });
        _api.PutObject("apps", "daemonsets", "periscope", new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = "periscope-agent", ["namespace"] = "periscope" },
            ["spec"] = new JsonObject
            {
                ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app.kubernetes.io/name"] = "periscope-agent" } },
                ["template"] = new JsonObject { ["spec"] = new JsonObject { ["containers"] = new JsonArray(new JsonObject { ["name"] = "agent", ["image"] = "r.example/periscope-agent:1" }) } },
            },
        });
        foreach (var node in new[] { "n1", "n2" })
        {
            _api.PutNode(node, created: TestBundles.Start.AddDays(-1));
            _api.PutAgentPod("periscope", "periscope-agent-" + node, node, new Dictionary<string, string> { ["app.kubernetes.io/name"] = "periscope-agent" });
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _api.DisposeAsync();
        await _collector.StopAsync();
        await _collector.DisposeAsync();
        _temp.Dispose();
    }

    [Fact]
    public async Task NoStoreNamed_TheRunIsFollowedAndFetchedThroughTheServiceProxy()
    {
        var output = new StringWriter();
        var agents = Task.Run(async () =>
        {
            while ((string?)_api.ConfigMap("periscope-run")?["data"]?["runId"] != "run-proxy")
            {
                await Task.Delay(50);
            }

            foreach (var node in new[] { "n1", "n2" })
            {
                await TestBundles.WriteAsync(Store, "run-proxy", node, node == "n2" ? [TestBundles.Finding("KERNEL_OOM_KILL", Severity.Critical)] : null,
                    startedAt: DateTimeOffset.UtcNow.AddSeconds(-30));
            }
        });
        var options = new IncidentOptions
        {
            Kubeconfig = _api.WriteKubeconfig(_temp.Combine("kubeconfig")),
            RunId = "run-proxy",
            Timeout = TimeSpan.FromSeconds(30),
            PollInterval = TimeSpan.FromMilliseconds(100),
            OutputDirectory = _temp.Combine("out"),
            Bundles = true,
        };

        var exit = await new IncidentCommand(options, new PlainIncidentConsole(output), TimeProvider.System).RunAsync(TestContext.Current.CancellationToken);
        await agents;
        var text = output.ToString();

        Assert.True(exit == 2, text); // n2's OOM kill, in the collector's report
        Assert.Contains("following the run through the in-cluster collector periscope/periscope-collector:http", text, StringComparison.Ordinal);
        Assert.Contains("every expected node reported (2)", text, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(_temp.Combine("out"), "report-run-proxy.html")));
        Assert.Equal(["n1.zip", "n2.zip"], Directory.GetFiles(Path.Combine(_temp.Combine("out"), "bundles", "run-proxy")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(Store, "run-proxy", "n2.zip"), TestContext.Current.CancellationToken),
            await File.ReadAllBytesAsync(Path.Combine(_temp.Combine("out"), "bundles", "run-proxy", "n2.zip"), TestContext.Current.CancellationToken));
        Assert.Contains(_api.Requests, r => r.Kind == "service-proxy");
        Assert.Contains(_api.Requests, r => r.Kind == "access-review" && r.Body!.Contains("\"subresource\":\"proxy\"", StringComparison.Ordinal));

        // The collector's API still refuses a caller without the token, whichever header it tries.
        using var anonymous = new HttpClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(new Uri(_collectorUrl, "api/runs/run-proxy/progress"), TestContext.Current.CancellationToken)).StatusCode);
        using var wrong = new HttpRequestMessage(HttpMethod.Get, new Uri(_collectorUrl, "api/runs/run-proxy/progress"));
        wrong.Headers.Add("X-Periscope-Token", "not-the-token");
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.SendAsync(wrong, TestContext.Current.CancellationToken)).StatusCode);
    }
}
