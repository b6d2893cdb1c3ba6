using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Periscope.Bundle;
using Periscope.Collector.Api;
using Periscope.Testing;
using Xunit;

namespace Periscope.Collector.Api.Tests;

/// <summary>
/// <c>serve</c> discovers runs by polling the store on a clock (a fake one here, moved by hand) and keeps the reports
/// of unchanged runs built.
/// </summary>
public sealed class RunCatalogTests : IAsyncLifetime
{
    private const string Token = "catalog-token";
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(30);
    private readonly TempDirectory _temp = new();
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));
    private CollectorApiFactory _factory = null!;
    private HttpClient _client = null!;

    private string Store => _temp.Combine("store");

    private RunCatalog Catalog => _factory.Services.GetRequiredService<RunCatalog>();

    public async ValueTask InitializeAsync()
    {
        File.WriteAllText(_temp.Combine("token"), Token);
        await TestBundles.WriteAsync(Store, "run-1", "n1", startedAt: TestBundles.Start);
        _factory = new CollectorApiFactory(
            new ServerOptions { Store = Store, TokenFile = _temp.Combine("token"), PollInterval = Poll },
            services => services.AddSingleton<TimeProvider>(_clock));
        _client = _factory.CreateClient();
        _client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _factory.DisposeAsync();
        _temp.Dispose();
    }

    private async Task<List<string>> RunIdsAsync()
    {
        using var runs = JsonDocument.Parse(await _client.GetStringAsync("/api/runs", TestContext.Current.CancellationToken));
        return runs.RootElement.EnumerateArray().Select(r => r.GetProperty("runId").GetString()!).ToList();
    }

    /// <summary>Moves the clock one poll on and waits until the catalog has listed again (or tried: its check time moves).</summary>
    private async Task PollAsync()
    {
        var before = (await Catalog.RunsAsync(TestContext.Current.CancellationToken)).CheckedAt;
        _clock.Advance(Poll);
        for (var i = 0; i < 500 && (await Catalog.RunsAsync(TestContext.Current.CancellationToken)).CheckedAt == before; i++)
        {
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }

        Assert.NotEqual(before, (await Catalog.RunsAsync(TestContext.Current.CancellationToken)).CheckedAt);
    }

    [Fact]
    public async Task Runs_NewRunInTheStore_IsListedAfterTheNextPoll()
    {
        Assert.Equal(["run-1"], await RunIdsAsync());
        await TestBundles.WriteAsync(Store, "run-2", "n1", startedAt: TestBundles.Start.AddHours(1));

        var beforePoll = await RunIdsAsync();
        await PollAsync();
        using var response = await _client.GetAsync("/api/runs", TestContext.Current.CancellationToken);

        Assert.Equal(["run-1"], beforePoll); // listed once, not on every request
        Assert.Equal(["run-2", "run-1"], await RunIdsAsync());
        Assert.Equal("2026-11-30T12:00:30Z", response.Headers.GetValues("Periscope-Listed-At").Single());
    }

    [Fact]
    public async Task Report_UnchangedRun_IsBuiltOnce_ANewBundleRebuildsItAfterThePoll()
    {
        await RunIdsAsync();
        var first = await _client.GetStringAsync("/api/runs/run-1/report", TestContext.Current.CancellationToken);
        var again = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => _client.GetStringAsync("/api/runs/run-1/nodes", TestContext.Current.CancellationToken)));
        var builtWhileUnchanged = Catalog.ReportsBuilt;

        await TestBundles.WriteAsync(Store, "run-1", "n2", startedAt: TestBundles.Start);
        await PollAsync();
        using var report = JsonDocument.Parse(await _client.GetStringAsync("/api/runs/run-1/report", TestContext.Current.CancellationToken));

        Assert.Contains("\"n1\"", first, StringComparison.Ordinal);
        Assert.All(again, nodes => Assert.DoesNotContain("\"n2\"", nodes, StringComparison.Ordinal));
        Assert.Equal(1, builtWhileUnchanged);
        Assert.Equal(2, report.RootElement.GetProperty("summary").GetProperty("nodes").GetInt32());
        Assert.Equal(2, Catalog.ReportsBuilt);
    }

    [Fact]
    public async Task Runs_StoreGone_KeepsTheRunsListedBefore_AndSaysWhy()
    {
        Assert.Equal(["run-1"], await RunIdsAsync());
        Directory.Move(Store, _temp.Combine("moved-away"));

        await PollAsync();
        using var response = await _client.GetAsync("/api/runs", TestContext.Current.CancellationToken);
        var page = await _client.GetStringAsync("/", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("run-1", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        Assert.Contains("does not exist", response.Headers.GetValues("Periscope-Listing-Error").Single(), StringComparison.Ordinal);
        Assert.Contains("The store could not be listed", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Report_RunRemovedFromTheStoreSinceThePoll_IsNotFound()
    {
        Assert.Equal(["run-1"], await RunIdsAsync());
        Directory.Delete(Path.Combine(Store, "run-1"), recursive: true);

        using var response = await _client.GetAsync("/api/runs/run-1/report", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
