using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Periscope.Agent.Runs;
using Periscope.Agent.Tests.Hosting;
using Periscope.Agent.Triggers;
using Periscope.Bundle;
using Periscope.Testing;
using Xunit;

namespace Periscope.Agent.Tests.Runs;

/// <summary>
/// The agent survives a full disk: with its store on a full filesystem (a small tmpfs filled to the last byte) a run
/// triggered over <c>/v1/runs</c> fails — recorded, logged, counted — the service stays up, and the same run id runs
/// once there is room again and its retry time has come.
/// </summary>
[Collection(SerialHostTests.Name)]
public sealed class FullDiskTests : IAsyncLifetime
{
    private const string Token = "full-disk-token-0123456789";
    private const string Node = "aks-nodepool1-00000000-vmss000000";
    private readonly TempDirectory _temp = new();
    private string _mount = null!;

    public async ValueTask InitializeAsync()
    {
        Requires.Root();
        _mount = _temp.Combine("small-disk");
        Directory.CreateDirectory(_mount);
        var mounted = await TestProcess.RunAsync("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", _mount);
        Requires.That(mounted.ExitCode == 0, $"a tmpfs could not be mounted: {mounted.Stderr}");
    }

    public async ValueTask DisposeAsync()
    {
        await TestProcess.RunAsync("umount", "-l", _mount);
        _temp.Dispose();
    }

    [Fact]
    public async Task PostRun_StoreOnAFullDisk_FailsTheRunKeepsServingAndRunsItLater()
    {
        var ct = TestContext.Current.CancellationToken;
        var token = _temp.Combine("token");
        await File.WriteAllTextAsync(token, Token, ct);
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = Path.Combine(_mount, "spool");
        Directory.CreateDirectory(store);
        var filler = Path.Combine(_mount, "filler");
        Fill(filler);
        await using var agent = await AgentServiceHost.StartAsync(store, token, configure: services => services.AddSingleton<TimeProvider>(clock));

        using var accepted = await agent.Client.SendAsync(AgentServiceHost.Request(HttpMethod.Post, "/v1/runs", Token, """{"runId":"full-1","collectors":"system"}"""), ct);
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var failed = await WaitForRunAsync(agent, "full-1");

        Assert.Equal("failed", failed.GetProperty("state").GetString());
        Assert.Contains("storage", failed.GetProperty("detail").GetString(), StringComparison.Ordinal);
        using var health = await agent.Client.GetAsync("/healthz", ct);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        using var early = await agent.Client.SendAsync(AgentServiceHost.Request(HttpMethod.Post, "/v1/runs", Token, """{"runId":"full-1"}"""), ct);
        Assert.Equal(HttpStatusCode.Conflict, early.StatusCode); // not before its retry time

        File.Delete(filler);
        clock.Advance(TimeSpan.FromMinutes(2));
        using var again = await agent.Client.SendAsync(AgentServiceHost.Request(HttpMethod.Post, "/v1/runs", Token, """{"runId":"full-1","collectors":"system"}"""), ct);
        Assert.Equal(HttpStatusCode.Accepted, again.StatusCode);
        var completed = await WaitForRunAsync(agent, "full-1", failed);

        Assert.Equal("completed", completed.GetProperty("state").GetString());
        Assert.True(File.Exists(Path.Combine(store, StoreLayout.BundlePath("full-1", Node))));
    }

    [Fact]
    public void Offer_PastTheQueueCapacity_IsRefusedAsFull()
    {
        using var temp = new TempDirectory();
        var queue = new RunQueue(RunHistory.Load(temp.Path));
        for (var i = 0; i < RunQueue.Capacity; i++)
        {
            Assert.Equal(OfferResult.Accepted, queue.Offer(new RunTrigger(RunId.Parse($"flood-{i}"), null, null, "http")));
        }

        Assert.Equal(OfferResult.Full, queue.Offer(new RunTrigger(RunId.Parse("flood-overflow"), null, null, "http")));
        Assert.Equal(OfferResult.AlreadyQueued, queue.Offer(new RunTrigger(RunId.Parse("flood-0"), null, null, "http")));
    }

    private static void Fill(string path)
    {
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 0);
        var block = new byte[64 * 1024];
        try
        {
            while (true)
            {
                file.Write(block);
            }
        }
        catch (IOException)
        {
            // full: try smaller writes to take the last bytes too
        }

        try
        {
            var one = new byte[1];
            while (true)
            {
                file.Write(one);
            }
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Polls until the run has ended (a run that started after <paramref name="previous"/>, when given).</summary>
    private static async Task<JsonElement> WaitForRunAsync(AgentServiceHost agent, string runId, JsonElement? previous = null)
    {
        var last = previous?.GetProperty("startedAt").GetString();
        for (var i = 0; i < 600; i++)
        {
            using var response = await agent.Client.SendAsync(AgentServiceHost.Request(HttpMethod.Get, $"/v1/runs/{runId}", Token));
            if (response.StatusCode == HttpStatusCode.OK)
            {
                var run = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
                // A queued run answers {"runId","status":"queued"}: no state yet.
                var state = run.TryGetProperty("state", out var s) ? s.GetString() : "queued";
                if (state is not ("running" or "queued") && (last is null || run.GetProperty("startedAt").GetString() != last))
                {
                    return run;
                }
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"run {runId} did not end");
    }
}
