using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Periscope.Agent.Collection;
using Periscope.Agent.Runs;
using Periscope.Agent.Triggers;
using Periscope.Testing;
using Xunit;

namespace Periscope.Agent.Tests.Triggers;

/// <summary>The run-id ConfigMap watched through the API, against the fake API server that follows the watch protocol.</summary>
public sealed class ConfigMapWatchTriggerTests : IAsyncLifetime
{
    private readonly TempDirectory _temp = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-11-30T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private FakeKubernetesApi _api = null!;
    private RunQueue _queue = null!;
    private ConfigMapWatchTrigger _trigger = null!;
    private readonly List<RunTrigger> _received = [];

    public async ValueTask InitializeAsync()
    {
        _api = await FakeKubernetesApi.StartAsync();
        _queue = new RunQueue(RunHistory.Load(_temp.Combine("store")));
    }

    public async ValueTask DisposeAsync()
    {
        if (_trigger is not null)
        {
            await _trigger.StopAsync(CancellationToken.None);
            _trigger.Dispose();
        }

        await _api.DisposeAsync();
        _temp.Dispose();
    }

    private void Start(string? kubeconfigToken = null)
    {
        var options = new TriggerOptions
        {
            ConfigMap = new ConfigMapTriggerOptions
            {
                Source = "api",
                Kubeconfig = _api.WriteKubeconfig(_temp.Combine("kubeconfig"), kubeconfigToken),
                WatchTimeout = TimeSpan.FromMinutes(5),
            },
        };
        var intake = new TriggerIntake(_queue, Array.Empty<ICollector>(), NullLogger<TriggerIntake>.Instance);
        _trigger = new ConfigMapWatchTrigger(intake, Options.Create(options), _time, NullLogger<ConfigMapWatchTrigger>.Instance);
        _ = _trigger.StartAsync(CancellationToken.None);
    }

    /// <summary>Drains the queue into <see cref="_received"/> until the condition holds, advancing the fake clock past backoffs.</summary>
    private async Task WaitForAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            while (_queue.Reader.TryRead(out var trigger))
            {
                _received.Add(trigger);
            }

            if (condition())
            {
                return;
            }

            _time.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }

        Assert.Fail($"Timed out waiting for {what}. Requests: {string.Join(", ", _api.Requests.Select(r => $"{r.Kind}@{r.ResourceVersion}"))}");
    }

    private static Dictionary<string, string> Run(string id, string? collectors = null)
    {
        var data = new Dictionary<string, string> { ["runId"] = id };
        if (collectors is not null)
        {
            data["collectors"] = collectors;
        }

        return data;
    }

    [Fact]
    public async Task Watch_ExistingConfigMap_ListsThenWatchesFromTheListsResourceVersion()
    {
        var version = _api.Put("periscope-run", Run("incident-1"));

        Start();
        await WaitForAsync(() => _received.Count == 1 && _api.OpenWatches == 1, "the listed run and an open watch");

        Assert.Equal("incident-1", _received[0].RunId.Value);
        Assert.Equal("configmap", _received[0].Source);
        var requests = _api.Requests;
        Assert.Equal("list", requests[0].Kind);
        Assert.Equal("metadata.name=periscope-run", requests[0].FieldSelector);
        Assert.Equal("Bearer fake-service-account-token", requests[0].Authorization);
        Assert.Equal("watch", requests[1].Kind);
        Assert.Equal(version.ToString(System.Globalization.CultureInfo.InvariantCulture), requests[1].ResourceVersion);
    }

    [Fact]
    public async Task Watch_NewRunIdWrittenLater_ArrivesThroughTheWatchWithoutAnotherList()
    {
        Start();
        await WaitForAsync(() => _api.OpenWatches == 1, "an open watch");

        _api.Put("periscope-run", Run("incident-2", collectors: null));
        _api.Put("other-configmap", Run("not-ours"));
        await WaitForAsync(() => _received.Count == 1, "the run id from the watch");

        Assert.Equal("incident-2", Assert.Single(_received).RunId.Value);
        Assert.Single(_api.Requests, r => r.Kind == "list");
    }

    [Fact]
    public async Task Watch_ConnectionDropped_ReconnectsFromTheLastResourceVersionAndMissesNothing()
    {
        _api.Put("periscope-run", Run("before"));
        Start();
        await WaitForAsync(() => _received.Count == 1 && _api.OpenWatches == 1, "the first watch");
        var seen = _api.Put("periscope-run", Run("during"));
        await WaitForAsync(() => _received.Count == 2, "the second run id");

        Assert.Equal(1, _api.DropWatches());
        var missed = _api.Put("periscope-run", Run("while-disconnected"));
        await WaitForAsync(() => _received.Count == 3, "the run id written while the watch was down");

        Assert.Equal(["before", "during", "while-disconnected"], _received.Select(r => r.RunId.Value));
        var watches = _api.Requests.Where(r => r.Kind == "watch").ToList();
        Assert.Equal(seen.ToString(System.Globalization.CultureInfo.InvariantCulture), watches[^1].ResourceVersion);
        Assert.Single(_api.Requests, r => r.Kind == "list");
        Assert.True(missed > seen);
    }

    [Fact]
    public async Task Watch_ResourceVersionCompactedAway_Gets410AndListsAgain()
    {
        _api.Put("periscope-run", Run("first"));
        Start();
        await WaitForAsync(() => _received.Count == 1 && _api.OpenWatches == 1, "the first watch");

        // While the agent is disconnected the run id changes and the history is compacted: the watch from the old
        // resourceVersion is answered 410 Gone, and only a new list can catch up.
        _api.DropWatches();
        _api.Put("periscope-run", Run("second"));
        _api.Compact();
        await WaitForAsync(() => _received.Count == 2 && _api.OpenWatches == 1, "the relisted run id");

        Assert.Equal("second", _received[1].RunId.Value);
        var kinds = _api.Requests.Select(r => r.Kind).ToList();
        Assert.Equal(["list", "watch", "watch", "list", "watch"], kinds);
    }

    [Fact]
    public async Task Watch_SameRunIdSeenAgainOnRelist_IsQueuedOnce()
    {
        _api.Put("periscope-run", Run("only-once"));
        Start();
        await WaitForAsync(() => _api.OpenWatches == 1, "the first watch");
        _api.DropWatches();
        _api.Put("some-other-configmap", Run("unrelated")); // the namespace moves on …
        _api.Compact();                                       // … and its history is compacted: the agent must relist
        await WaitForAsync(() => _api.Requests.Count(r => r.Kind == "list") == 2 && _api.OpenWatches == 1, "the relist");

        Assert.Equal("only-once", Assert.Single(_received).RunId.Value);
    }

    [Fact]
    public async Task Watch_ForbiddenThenGranted_RetriesWithBackoffAndRecovers()
    {
        _api.ForcedStatus = 403;
        _api.Put("periscope-run", Run("after-rbac"));
        Start();
        await WaitForAsync(() => _api.Requests.Count >= 3, "a few refused lists");
        Assert.Empty(_received);
        Assert.All(_api.Requests, r => Assert.Equal("list", r.Kind));

        _api.ForcedStatus = null;
        await WaitForAsync(() => _received.Count == 1, "the run id once the RBAC is fixed");
        Assert.Equal("after-rbac", _received[0].RunId.Value);
    }

    [Fact]
    public async Task Watch_InvalidRunIdInConfigMap_IsNotQueued()
    {
        _api.Put("periscope-run", Run("../../etc"));
        Start();
        await WaitForAsync(() => _api.OpenWatches == 1, "the watch");
        _api.Put("periscope-run", Run("valid-after-fix"));
        await WaitForAsync(() => _received.Count == 1, "the corrected run id");

        Assert.Equal("valid-after-fix", Assert.Single(_received).RunId.Value);
    }

    [Fact]
    public async Task Watch_WrongToken_NeverQueuesAndKeepsTrying()
    {
        _api.Put("periscope-run", Run("secret-run"));
        Start(kubeconfigToken: "stolen-or-stale");
        await WaitForAsync(() => _api.Requests.Count >= 2, "refused requests");

        Assert.Empty(_received);
        Assert.All(_api.Requests, r => Assert.Equal("Bearer stolen-or-stale", r.Authorization));
    }
}
