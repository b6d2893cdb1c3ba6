using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Periscope.Agent.Collection;
using Periscope.Agent.Signals;
using Periscope.Bundle;
using Periscope.Testing;
using Xunit;

namespace Periscope.Agent.Tests.Signals;

/// <summary>Node Events through the fake API server: created in default, deduplicated with a count, rate limited, 403 explained once.</summary>
public sealed class NodeEventPublisherTests : IAsyncLifetime
{
    private const string Node = "aks-nodepool1-00000000-vmss000001";
    private readonly TempDirectory _temp = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-12-04T10:00:00Z", CultureInfo.InvariantCulture));
    private readonly FakeLogger<NodeEventPublisher> _log = new();
    private FakeKubernetesApi _api = null!;
    private SignalTracker _tracker = null!;
    private NodeEventPublisher _publisher = null!;
    private SignalOptions _options = null!;

    public async ValueTask InitializeAsync()
    {
        _api = await FakeKubernetesApi.StartAsync();
        _api.PutNode(Node);
        _options = new SignalOptions
        {
            Kubeconfig = _api.WriteKubeconfig(_temp.Combine("kubeconfig")),
            Events = new EventOptions { Publish = "on", PerMinute = 5 },
        };
        _tracker = new SignalTracker(Options.Create(_options), _time);
        _publisher = new NodeEventPublisher(_tracker, new LocalNode(new HostRoot(_temp.Path), Node), Options.Create(_options), _time, _log);
        await _publisher.StartAsync(CancellationToken.None);
    }

    public async ValueTask DisposeAsync()
    {
        await _publisher.StopAsync(CancellationToken.None);
        _publisher.Dispose();
        await _api.DisposeAsync();
        _temp.Dispose();
    }

    private void OomKill(string container, long count = 1)
    {
        var now = _time.GetUtcNow();
        _tracker.Observe(new SignalObservation(now,
            [SignalTrackerTests.Finding("KERNEL_OOM_KILL", Severity.Warning, container, SubjectKind.Container, now, now, count)],
            code => code.StartsWith("KERNEL", StringComparison.Ordinal), Incremental: true));
    }

    private async Task WaitForAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}: {string.Join(", ", _api.Requests.Select(r => r.Kind))}");
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }

    [Fact]
    public async Task Occurrences_CreateOneWarningEventInDefault_ThenAddToItsCount()
    {
        OomKill("c1", count: 2);
        await WaitForAsync(() => _api.CoreEvents().Count == 1, "the Event");
        _time.Advance(TimeSpan.FromSeconds(30));
        OomKill("c1", count: 3);
        await WaitForAsync(() => _api.Requests.Any(r => r.Kind == "patch-event"), "the count update");

        var e = Assert.Single(_api.CoreEvents());
        Assert.Equal("default", (string?)e["metadata"]!["namespace"]);
        Assert.Equal("Warning", (string?)e["type"]);
        Assert.Equal("KERNEL_OOM_KILL", (string?)e["reason"]);
        Assert.Equal("Node", (string?)e["involvedObject"]!["kind"]);
        Assert.Equal(Node, (string?)e["involvedObject"]!["name"]);
        Assert.Equal("periscope-agent", (string?)e["source"]!["component"]);
        Assert.Equal(Node, (string?)e["source"]!["host"]);
        Assert.Equal(5, (int)e["count"]!);
        Assert.Equal("2026-12-04T10:00:30Z", (string?)e["lastTimestamp"]);
        Assert.StartsWith("KERNEL_OOM_KILL on container c1", (string?)e["message"], StringComparison.Ordinal);

        // Another subject is another Event; so is the same one after the dedupe window.
        OomKill("c2");
        _time.Advance(TimeSpan.FromMinutes(31));
        OomKill("c1");
        await WaitForAsync(() => _api.CoreEvents().Count == 3, "two more Events");
    }

    [Fact]
    public async Task RateLimit_DropsWritesBeyondItsRate_AndRefills()
    {
        for (var i = 0; i < 8; i++)
        {
            OomKill($"burst-{i}");
        }

        await WaitForAsync(() => _publisher.Created + _publisher.Dropped == 8, "every occurrence handled");
        Assert.Equal(5, _api.CoreEvents().Count);
        Assert.Equal(3, _publisher.Dropped);
        Assert.Single(_log.Collector.GetSnapshot(), r => r.Level == LogLevel.Warning);

        _time.Advance(TimeSpan.FromMinutes(1));
        OomKill("later");
        await WaitForAsync(() => _api.CoreEvents().Count == 6, "an Event once the bucket refilled");
    }

    [Fact]
    public async Task Forbidden_IsExplainedOnce_AndNothingStopsTheSignals()
    {
        _api.ForcedStatus = 403;
        for (var i = 0; i < 4; i++)
        {
            OomKill($"denied-{i}");
        }

        await WaitForAsync(() => _publisher.Dropped == 4, "every write refused");
        var warning = Assert.Single(_log.Collector.GetSnapshot(), r => r.Level == LogLevel.Warning);
        Assert.Contains("403", warning.Message, StringComparison.Ordinal);
        Assert.Contains("events", warning.Message, StringComparison.Ordinal);
        Assert.Equal(4, _tracker.Evaluate(_time.GetUtcNow()).Signals.Count);
    }
}
