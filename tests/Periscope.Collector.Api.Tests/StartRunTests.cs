using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Mvc.Testing;
using Periscope.Testing;
using Xunit;

namespace Periscope.Collector.Api.Tests;

/// <summary>Starting a run from the service writes the run-id ConfigMap, against the fake Kubernetes API.</summary>
public sealed partial class StartRunTests : IAsyncLifetime
{
    private const string Token = "start-run-token";
    private readonly TempDirectory _temp = new();
    private FakeKubernetesApi _api = null!;

    public async ValueTask InitializeAsync()
    {
        _api = await FakeKubernetesApi.StartAsync();
        File.WriteAllText(_temp.Combine("token"), Token);
        Directory.CreateDirectory(_temp.Combine("store"));
    }

    public async ValueTask DisposeAsync()
    {
        await _api.DisposeAsync();
        _temp.Dispose();
    }

    private CollectorApiFactory Factory(string kubernetes = "auto") => new(new Api.ServerOptions
    {
        Store = _temp.Combine("store"),
        TokenFile = _temp.Combine("token"),
        Kubernetes = kubernetes,
        Kubeconfig = _api.WriteKubeconfig(_temp.Combine("kubeconfig")),
    });

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    [Fact]
    public async Task Start_WithBearer_CreatesThenReplacesTheRunIdConfigMap()
    {
        await using var factory = Factory();
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);

        using var first = await client.PostAsync("/api/runs", Json("""{"runId":"from-ui-1","collectors":"kernel,dns"}"""));
        var afterFirst = _api.Data("periscope-run");
        using var second = await client.PostAsync("/api/runs", Json("""{"runId":"from-ui-2"}"""));

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal("from-ui-1", JsonDocument.Parse(await first.Content.ReadAsStringAsync()).RootElement.GetProperty("runId").GetString());
        Assert.Equal(new Dictionary<string, string> { ["runId"] = "from-ui-1", ["collectors"] = "kernel,dns" }, afterFirst);
        Assert.Equal(HttpStatusCode.Accepted, second.StatusCode);
        Assert.Equal(new Dictionary<string, string> { ["runId"] = "from-ui-2" }, _api.Data("periscope-run"));
    }

    [Fact]
    public async Task Start_InvalidRunId_Is400AndWritesNothing()
    {
        await using var factory = Factory();
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);

        using var response = await client.PostAsync("/api/runs", Json("""{"runId":"../x"}"""));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Null(_api.Data("periscope-run"));
    }

    [Fact]
    public async Task Start_BrowserSessionWithoutTheAntiForgeryHeader_IsRefused_WithItIsAccepted()
    {
        await using var factory = Factory();
        var client = factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });
        var signIn = await client.GetStringAsync("/signin");
        using (await client.PostAsync("/signin", new FormUrlEncodedContent(new Dictionary<string, string> { ["csrf"] = Csrf().Match(signIn).Groups[1].Value, ["token"] = Token })))
        {
        }

        using var forged = await client.PostAsync("/api/runs", Json("""{"runId":"forged"}"""));
        var page = await client.GetStringAsync("/");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/runs") { Content = Json("""{"runId":"from-browser"}""") };
        request.Headers.Add("X-CSRF-Token", Csrf().Match(page).Groups[1].Value);
        using var genuine = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, genuine.StatusCode);
        Assert.Equal("from-browser", _api.Data("periscope-run")!["runId"]);
        Assert.Contains("Start a run on every node", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_NoKubernetesAccess_Is501()
    {
        await using var factory = Factory(kubernetes: "off");
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);

        using var response = await client.PostAsync("/api/runs", Json("{}"));

        Assert.Equal(HttpStatusCode.NotImplemented, response.StatusCode);
    }

    [Fact]
    public async Task Start_ApiForbids_Is502NamingTheMissingPermission()
    {
        _api.ForcedStatus = 403;
        await using var factory = Factory();
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);

        using var response = await client.PostAsync("/api/runs", Json("""{"runId":"denied"}"""));

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Contains("grant get, create and update", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [GeneratedRegex("name=\"csrf\" value=\"([^\"]+)\"")]
    private static partial Regex Csrf();
}
