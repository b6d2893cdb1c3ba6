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

/// <summary><c>periscope-agent run</c> in process: the HTTP trigger, the run history across restarts, the other triggers.</summary>
public sealed class RunServiceTests : IDisposable
{
    private const string Token = "local-run-token-0123456789";
    private const string Node = "aks-nodepool1-00000000-vmss000000";
    private readonly TempDirectory _temp = new();
    private readonly string _store;
    private readonly string _tokenFile;

    public RunServiceTests()
    {
        _store = _temp.Combine("spool");
        _tokenFile = _temp.Combine("token");
        File.WriteAllText(_tokenFile, Token + "\n");
    }

    public void Dispose() => _temp.Dispose();

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response)
        => JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();

    /// <summary>
    /// Polls GET /v1/runs/{id} until the run has ended. <paramref name="tick"/>, if given, steps a fake clock before each
    /// look until the run is known (queued or running), and no more: the run's own deadlines then stay on their clock.
    /// </summary>
    private static async Task<JsonElement> WaitForRunAsync(AgentServiceHost agent, string runId, Action? tick = null)
    {
        var known = false;
        for (var i = 0; i < 600; i++)
        {
            if (!known)
            {
                tick?.Invoke();
            }

            using var response = await agent.Client.SendAsync(AgentServiceHost.Request(HttpMethod.Get, $"/v1/runs/{runId}", Token));
            if (response.StatusCode == HttpStatusCode.OK)
            {
                known = true;
                var run = await JsonAsync(response);
                if (run.TryGetProperty("state", out var state) && state.GetString() != "running")
                {
                    return run;
                }
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"run {runId} did not end");
    }

    [Fact]
    public async Task PostRun_ValidToken_CollectsOnceAndSealsTheBundle()
    {
        await using var agent = await AgentServiceHost.StartAsync(_store, _tokenFile);

        using var accepted = await agent.Client.SendAsync(AgentServiceHost.Request(HttpMethod.Post, "/v1/runs", Token, """{"runId":"incident-42","collectors":"system,kernel"}"""));
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var run = await WaitForRunAsync(agent, "incident-42");

        Assert.Equal("completed", run.GetProperty("state").GetString());
        Assert.Equal("http", run.GetProperty("source").GetString());
        Assert.True(File.Exists(Path.Combine(_store, StoreLayout.BundlePath("incident-42", Node))));
        Assert.True(File.Exists(Path.Combine(_store, StoreLayout.StatusPath("incident-42", Node))));

        using var again = await agent.Client.SendAsync(AgentServiceHost.Request(HttpMethod.Post, "/v1/runs", Token, """{"runId":"incident-42"}"""));
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Contains("collected once", (await JsonAsync(again)).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_NodeNameTheStoreCannotHold_StopsTheAgentWithTheReason()
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => AgentServiceHost.StartAsync(_store, _tokenFile,
            new Dictionary<string, string?> { ["Periscope:Node"] = new string('n', 250) }));

        Assert.Contains("at most 242 characters", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("wrong-token")]
    [InlineData("local-run-token-012345678")]
    public async Task PostRun_MissingOrWrongToken_Is401AndRunsNothing(string? token)
    {
        await using var agent = await AgentServiceHost.StartAsync(_store, _tokenFile);

        using var response = await agent.Client.SendAsync(AgentServiceHost.Request(HttpMethod.Post, "/v1/runs", token, """{"runId":"nope"}"""));
        using var list = await agent.Client.SendAsync(AgentServiceHost.Request(HttpMethod.Get, "/v1/runs", token));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Equal(HttpStatusCode.Unauthorized, list.StatusCode);
        Assert.False(Directory.Exists(Path.Combine(_store, "nope")));
    }

    [Fact]
    public async Task PostRun_NoTokenFileConfigured_Is403ButHealthzAnswers()
    {
        await using var agent = await AgentServiceHost.StartAsync(_store, tokenFile: null);

        using var response = await agent.Client.SendAsync(AgentServiceHost.Request(HttpMethod.Post, "/v1/runs", "anything", """{"runId":"nope"}"""));
        using var health = await agent.Client.GetAsync("/healthz");

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("ok", (await JsonAsync(health)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task PostRun_TokenFileRotated_NewTokenWorksWithoutRestartAndOldIsRefused()
    {
        await using var agent = await AgentServiceHost.StartAsync(_store, _tokenFile);
        File.WriteAllText(_tokenFile, "rotated-token-abcdef");

        using var old = await agent.Client.SendAsync(AgentServiceHost.Request(HttpMethod.Get, "/v1/runs", Token));
        using var rotated = await agent.Client.SendAsync(AgentServiceHost.Request(HttpMethod.Get, "/v1/runs", "rotated-token-abcdef"));

        Assert.Equal(HttpStatusCode.Unauthorized, old.StatusCode);
        Assert.Equal(HttpStatusCode.OK, rotated.StatusCode);
    }

    [Fact]
    public async Task PostRun_InvalidFields_Is400WithEveryReason()
    {
        await using var agent = await AgentServiceHost.StartAsync(_store, _tokenFile);

        using var response = await agent.Client.SendAsync(AgentServiceHost.Request(HttpMethod.Post, "/v1/runs", Token, """{"runId":"../etc","collectors":"system,gpu","since":"last tuesday"}"""));
        var detail = (await JsonAsync(response)).GetProperty("detail").GetString()!;

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("runId '../etc' is not valid", detail, StringComparison.Ordinal);
        Assert.Contains("gpu", detail, StringComparison.Ordinal);
        Assert.Contains("last tuesday", detail, StringComparison.Ordinal);
        using var garbage = await agent.Client.SendAsync(AgentServiceHost.Request(HttpMethod.Post, "/v1/runs", Token, "{not json"));
        Assert.Equal(HttpStatusCode.BadRequest, garbage.StatusCode);
        using var huge = await agent.Client.SendAsync(AgentServiceHost.Request(HttpMethod.Post, "/v1/runs", Token, $$"""{"runId":"x","since":"{{new string('1', 200_000)}}"}"""));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, huge.StatusCode);
    }

    [Fact]
    public async Task Restart_CompletedRunId_IsRememberedAndNotCollectedAgain()
    {
        await using (var first = await AgentServiceHost.StartAsync(_store, _tokenFile))
        {
            using var accepted = await first.Client.SendAsync(AgentServiceHost.Request(HttpMethod.Post, "/v1/runs", Token, """{"runId":"survives-restart","collectors":"system"}"""));
            await WaitForRunAsync(first, "survives-restart");
        }

        await using var second = await AgentServiceHost.StartAsync(_store, _tokenFile);
        using var again = await second.Client.SendAsync(AgentServiceHost.Request(HttpMethod.Post, "/v1/runs", Token, """{"runId":"survives-restart"}"""));
        using var record = await second.Client.SendAsync(AgentServiceHost.Request(HttpMethod.Get, "/v1/runs/survives-restart", Token));

        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal("completed", (await JsonAsync(record)).GetProperty("state").GetString());
    }

    [Fact]
    public async Task Start_RunInterruptedByACrash_IsRecordedAbandonedItsStagingRemovedAndNotRunAgain()
    {
        // What a crash in the middle of a run leaves: the history says running, the staging holds evidence.
        var history = RunHistory.Load(_store);
        Assert.True(history.TryStart(RunId.Parse("crashed-run"), "configmap", DateTimeOffset.UtcNow));
        var staging = Path.Combine(_store, ".staging", $"crashed-run.{Node}.0123");
        Directory.CreateDirectory(staging);
        File.WriteAllText(Path.Combine(staging, "evidence.log"), "half a run");

        await using var agent = await AgentServiceHost.StartAsync(_store, _tokenFile);
        using var record = await agent.Client.SendAsync(AgentServiceHost.Request(HttpMethod.Get, "/v1/runs/crashed-run", Token));
        using var again = await agent.Client.SendAsync(AgentServiceHost.Request(HttpMethod.Post, "/v1/runs", Token, """{"runId":"crashed-run"}"""));

        var run = await JsonAsync(record);
        Assert.Equal("abandoned", run.GetProperty("state").GetString());
        Assert.Contains("stopped during the run", run.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.False(Directory.Exists(staging));
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.False(Directory.Exists(Path.Combine(_store, "crashed-run")));
    }

    [Fact]
    public async Task FilesTrigger_MountedConfigMap_RunsEachNewRunIdOnce()
    {
        var mount = _temp.Combine("run-configmap");
        Directory.CreateDirectory(mount);
        File.WriteAllText(Path.Combine(mount, "runId"), "from-files-1\n");
        File.WriteAllText(Path.Combine(mount, "collectors"), "system");
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-11-30T08:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var poll = TimeSpan.FromSeconds(10);
        await using var agent = await AgentServiceHost.StartAsync(_store, _tokenFile, new Dictionary<string, string?>
        {
            ["Periscope:Triggers:ConfigMap:Source"] = "files",
            ["Periscope:Triggers:ConfigMap:Directory"] = mount,
            ["Periscope:Triggers:ConfigMap:PollInterval"] = "00:00:10",
        }, services => services.AddSingleton<TimeProvider>(time));

        var first = await WaitForRunAsync(agent, "from-files-1"); // the first look is at start
        File.WriteAllText(Path.Combine(mount, "runId"), "from-files-2");
        var second = await WaitForRunAsync(agent, "from-files-2", () => time.Advance(poll));
        for (var i = 0; i < 5; i++)
        {
            time.Advance(poll); // several more polls of the same files
            await Task.Delay(20); // lets the trigger's loop take the tick: it runs on its own thread
        }

        Assert.Equal("configmap-files", first.GetProperty("source").GetString());
        Assert.Equal("completed", second.GetProperty("state").GetString());
        using var list = await agent.Client.SendAsync(AgentServiceHost.Request(HttpMethod.Get, "/v1/runs", Token));
        var runs = (await JsonAsync(list)).GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("runId").GetString()).ToList();
        Assert.Equal(["from-files-2", "from-files-1"], runs);
    }

    [Fact]
    public async Task IntervalTrigger_EveryInterval_RunsNamedByStartTime()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-11-30T08:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        await using var agent = await AgentServiceHost.StartAsync(_store, _tokenFile, new Dictionary<string, string?>
        {
            ["Periscope:Triggers:Interval"] = "01:00:00",
            ["Periscope:Triggers:IntervalCollectors"] = "system",
        }, services => services.AddSingleton<TimeProvider>(time));

        await Task.Delay(200);
        Assert.False(Directory.Exists(Path.Combine(_store, "20261130T080000Z")));
        time.Advance(TimeSpan.FromHours(1));
        var run = await WaitForRunAsync(agent, "20261130T090000Z");

        Assert.Equal("interval", run.GetProperty("source").GetString());
        Assert.Equal("completed", run.GetProperty("state").GetString());
    }
}
