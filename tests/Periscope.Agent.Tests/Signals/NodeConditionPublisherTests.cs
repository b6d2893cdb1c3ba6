using System.Globalization;
using System.Text.Json.Nodes;
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

/// <summary>
/// Node conditions published through the fake API server, which applies strategic merge patches by type as the real
/// one does: set, hold-down, clear, heartbeat, restart, removal, ownership, 403 and a hung server.
/// </summary>
public sealed class NodeConditionPublisherTests : IAsyncLifetime
{
    private const string Node = "aks-nodepool1-00000000-vmss000000";
    private static readonly DateTimeOffset Start = DateTimeOffset.Parse("2026-12-04T10:00:00Z", CultureInfo.InvariantCulture);
    private readonly TempDirectory _temp = new();
    private readonly FakeTimeProvider _time = new(Start);
    private readonly FakeLogger<NodeConditionPublisher> _log = new();
    private FakeKubernetesApi _api = null!;
    private SignalTracker _tracker = null!;
    private NodeConditionPublisher? _publisher;
    private SignalOptions _options = null!;

    public async ValueTask InitializeAsync()
    {
        _api = await FakeKubernetesApi.StartAsync();
        _api.PutNode(Node);
        _options = new SignalOptions
        {
            HoldDown = TimeSpan.FromMinutes(5),
            Kubeconfig = _api.WriteKubeconfig(_temp.Combine("kubeconfig")),
            Conditions = new ConditionOptions { Publish = "on", HeartbeatInterval = TimeSpan.FromMinutes(5), RequestTimeout = TimeSpan.FromSeconds(10) },
        };
        _tracker = new SignalTracker(Options.Create(_options), _time);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await _api.DisposeAsync();
        _temp.Dispose();
    }

    private async Task StopAsync()
    {
        if (_publisher is not null)
        {
            await _publisher.StopAsync(CancellationToken.None);
            _publisher.Dispose();
            _publisher = null;
        }
    }

    private void Start_()
    {
        _publisher = new NodeConditionPublisher(_tracker, new LocalNode(new HostRoot(_temp.Path), Node), Options.Create(_options), _time, _log);
        _ = _publisher.StartAsync(CancellationToken.None);
    }

    private void Observe(string collector, params Finding[] findings)
        => _tracker.Observe(SignalObservation.FromRun(_time.GetUtcNow(), findings, [collector]));

    private int Patches => _api.Requests.Count(r => r.Kind == "patch-node-status");

    /// <summary>Waits (in real time, the fake clock standing still) until the condition holds.</summary>
    private async Task WaitForAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            if (condition())
            {
                return;
            }

            await Task.Delay(20, TestContext.Current.CancellationToken);
        }

        Assert.Fail($"Timed out waiting for {what}. Requests: {string.Join(", ", _api.Requests.Select(r => r.Kind))}");
    }

    /// <summary>Gives the publisher time to act on what it was told, then checks no request was made.</summary>
    private async Task AssertQuietAsync(int patchesBefore)
    {
        await Task.Delay(300, TestContext.Current.CancellationToken);
        Assert.Equal(patchesBefore, Patches);
    }

    private string? Status(string type) => (string?)_api.NodeCondition(Node, type)?["status"];

    private string? Transition(string type) => (string?)_api.NodeCondition(Node, type)?["lastTransitionTime"];

    private static string Stamp(DateTimeOffset time) => NodeConditionPublisher.Format(time);

    [Fact]
    public async Task Set_CriticalFinding_PatchesTrueByStrategicMerge_AndLeavesTheKubeletsConditionsAlone()
    {
        var kubelet = _api.NodeConditions(Node).Select(c => c.ToJsonString()).ToList();
        Start_();
        await WaitForAsync(() => _api.Requests.Any(r => r.Kind == "get-node"), "the start-up read of the node");
        await AssertQuietAsync(0); // nothing known yet: nothing published, no blanket False

        Observe("containerd", TrackerFinding("RUNTIME_NETWORK_NOT_READY"));
        await WaitForAsync(() => Status(SignalMap.ContainerRuntimeNetworkNotReady) == "True", "the condition set True");

        var patch = _api.Requests.Single(r => r.Kind == "patch-node-status");
        Assert.Equal("application/strategic-merge-patch+json", patch.ContentType?.Split(';')[0]);
        var condition = _api.NodeCondition(Node, SignalMap.ContainerRuntimeNetworkNotReady)!;
        Assert.Equal("RuntimeNetworkNotReady", (string?)condition["reason"]);
        Assert.StartsWith("periscope-agent: RUNTIME_NETWORK_NOT_READY on the node", (string?)condition["message"], StringComparison.Ordinal);
        Assert.Equal(Stamp(Start), (string?)condition["lastTransitionTime"]);
        Assert.Equal(Stamp(Start), (string?)condition["lastHeartbeatTime"]);
        Assert.Equal("False", Status(SignalMap.ContainerRuntimeUnhealthy)); // its codes were checked too
        Assert.Null(_api.NodeCondition(Node, SignalMap.KernelOops)); // never checked: not published
        Assert.Equal(kubelet, _api.NodeConditions(Node).Where(c => !((string)c["type"]!).StartsWith("Periscope", StringComparison.Ordinal)).Select(c => c.ToJsonString()));
    }

    [Fact]
    public async Task HoldDown_ClearsOnlyAfterTheFindingWasAbsentForIt_WithANewTransitionTime()
    {
        Start_();
        Observe("containerd", TrackerFinding("RUNTIME_NOT_READY"));
        await WaitForAsync(() => Status(SignalMap.ContainerRuntimeUnhealthy) == "True", "True");
        var patches = Patches;

        _time.Advance(TimeSpan.FromMinutes(1));
        Observe("containerd"); // gone
        await AssertQuietAsync(patches); // still True: no write
        Assert.Equal("True", Status(SignalMap.ContainerRuntimeUnhealthy));

        _time.Advance(TimeSpan.FromMinutes(4));
        await AssertQuietAsync(patches);
        _time.Advance(TimeSpan.FromMinutes(1)); // five minutes after the check that did not see it
        await WaitForAsync(() => Status(SignalMap.ContainerRuntimeUnhealthy) == "False", "the condition cleared");
        Assert.Equal(Stamp(Start + TimeSpan.FromMinutes(6)), Transition(SignalMap.ContainerRuntimeUnhealthy));
        Assert.Equal("NoProblem", (string?)_api.NodeCondition(Node, SignalMap.ContainerRuntimeUnhealthy)!["reason"]);
    }

    [Fact]
    public async Task Heartbeat_RefreshesEveryOwnedConditionOnItsPeriod_WithoutMovingTransitionTimes()
    {
        Start_();
        Observe("containerd", TrackerFinding("RUNTIME_NOT_READY"));
        await WaitForAsync(() => Status(SignalMap.ContainerRuntimeUnhealthy) == "True", "True");
        Assert.Equal(1, Patches);

        // Checks that see the same thing write nothing.
        for (var i = 0; i < 4; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(59));
            Observe("containerd", TrackerFinding("RUNTIME_NOT_READY"));
        }

        await AssertQuietAsync(1);
        _time.Advance(TimeSpan.FromSeconds(65)); // five minutes since the last write
        await WaitForAsync(() => Patches == 2, "the heartbeat");

        var condition = _api.NodeCondition(Node, SignalMap.ContainerRuntimeUnhealthy)!;
        Assert.Equal(Stamp(Start), (string?)condition["lastTransitionTime"]);
        Assert.Equal(Stamp(_time.GetUtcNow()), (string?)condition["lastHeartbeatTime"]);
        Assert.Equal(Stamp(_time.GetUtcNow()), (string?)_api.NodeCondition(Node, SignalMap.ContainerRuntimeNetworkNotReady)!["lastHeartbeatTime"]);
    }

    [Fact]
    public async Task Restart_KeepsATrueConditionAndItsTransitionTime_AndNeverResetsToFalse()
    {
        var earlier = Start.AddHours(-2);
        _api.SetNodeCondition(Node, Owned(SignalMap.ContainerRuntimeNetworkNotReady, "True", "RuntimeNetworkNotReady", earlier));
        _api.SetNodeCondition(Node, Owned(SignalMap.PodIPExhaustion, "False", "NoProblem", earlier));

        Start_();
        await WaitForAsync(() => Patches >= 1, "the first heartbeat");
        Assert.Equal("True", Status(SignalMap.ContainerRuntimeNetworkNotReady));
        Assert.Equal(Stamp(earlier), Transition(SignalMap.ContainerRuntimeNetworkNotReady));
        Assert.Equal("False", Status(SignalMap.PodIPExhaustion));
        Assert.Equal(Stamp(earlier), Transition(SignalMap.PodIPExhaustion));

        // Still failing after the restart: True, the clock of health checkers untouched.
        Observe("containerd", TrackerFinding("RUNTIME_NETWORK_NOT_READY"));
        await WaitForAsync(() => Status(SignalMap.ContainerRuntimeUnhealthy) == "False", "the runtime type, now checked, published");
        Assert.Equal(Stamp(earlier), Transition(SignalMap.ContainerRuntimeNetworkNotReady));
        Assert.Equal("True", Status(SignalMap.ContainerRuntimeNetworkNotReady));
        Assert.Equal("RuntimeNetworkNotReady", (string?)_api.NodeCondition(Node, SignalMap.ContainerRuntimeNetworkNotReady)!["reason"]);
    }

    [Fact]
    public async Task Restart_AdoptedConditionClears_OnlyAfterACheckFoundItGoneForTheHoldDown()
    {
        var earlier = Start.AddHours(-2);
        _api.SetNodeCondition(Node, Owned(SignalMap.ContainerRuntimeNetworkNotReady, "True", "RuntimeNetworkNotReady", earlier));
        Start_();
        await WaitForAsync(() => Patches >= 1, "the first heartbeat");

        _time.Advance(TimeSpan.FromMinutes(30)); // no check in that time: no evidence of absence
        await WaitForAsync(() => Patches >= 2, "a heartbeat");
        Assert.Equal("True", Status(SignalMap.ContainerRuntimeNetworkNotReady));

        Observe("containerd");
        _time.Advance(TimeSpan.FromMinutes(5));
        await WaitForAsync(() => Status(SignalMap.ContainerRuntimeNetworkNotReady) == "False", "cleared");
        Assert.Equal(Stamp(_time.GetUtcNow()), Transition(SignalMap.ContainerRuntimeNetworkNotReady));
    }

    [Fact]
    public async Task Removal_OwnedTypesNoLongerConfiguredAreDeleted_OthersTypesAreNeverTouched()
    {
        var earlier = Start.AddHours(-2);
        _api.SetNodeCondition(Node, Owned("PeriscopeRetiredCheck", "True", "Retired", earlier));
        _api.SetNodeCondition(Node, Owned(SignalMap.PodIPExhaustion, "False", "NoProblem", earlier));
        _api.SetNodeCondition(Node, Owned("KernelDeadlock", "False", "NoProblem", earlier)); // Periscope's, from when the NPD option was on
        var npd = new JsonObject
        {
            ["type"] = "ReadonlyFilesystem", ["status"] = "False", ["reason"] = "FilesystemIsNotReadOnly",
            ["message"] = "Filesystem is not read-only", ["lastTransitionTime"] = Stamp(earlier), ["lastHeartbeatTime"] = Stamp(earlier),
        };
        _api.SetNodeCondition(Node, npd);
        _options.Conditions.Exclude = [SignalMap.PodIPExhaustion];
        var others = _api.NodeConditions(Node).Where(c => (string?)c["type"] is "Ready" or "MemoryPressure" or "ReadonlyFilesystem").Select(c => c.ToJsonString()).ToList();

        Start_();
        await WaitForAsync(() => _api.NodeCondition(Node, "PeriscopeRetiredCheck") is null, "the retired type removed");

        Assert.Null(_api.NodeCondition(Node, SignalMap.PodIPExhaustion));
        Assert.Null(_api.NodeCondition(Node, "KernelDeadlock"));
        Assert.Equal(others, _api.NodeConditions(Node).Where(c => (string?)c["type"] is "Ready" or "MemoryPressure" or "ReadonlyFilesystem").Select(c => c.ToJsonString()));
        var body = JsonNode.Parse(_api.Requests.Last(r => r.Kind == "patch-node-status").Body!)!;
        Assert.Contains(body["status"]!["conditions"]!.AsArray(), c => (string?)c!["type"] == "PeriscopeRetiredCheck" && (string?)c["$patch"] == "delete");
        Assert.DoesNotContain(body["status"]!["conditions"]!.AsArray(), c => (string?)c!["type"] is "ReadonlyFilesystem" or "Ready" or "MemoryPressure");
    }

    [Fact]
    public async Task NpdTypes_AreSetOnlyWithTheOption()
    {
        var lockup = TrackerFinding("KERNEL_SOFT_LOCKUP", last: Start, first: Start);
        Start_();
        Observe("kernel", lockup);
        await WaitForAsync(() => Status(SignalMap.KernelLockup) == "True", "the Periscope type");
        Assert.Null(_api.NodeCondition(Node, "KernelDeadlock"));
        await StopAsync();

        _options.Conditions.NpdCompatible = true;
        _tracker = new SignalTracker(Options.Create(_options), _time);
        Start_();
        Observe("kernel", lockup);
        await WaitForAsync(() => Status("KernelDeadlock") == "True", "the NPD type with the option on");
        Assert.StartsWith("periscope-agent: KERNEL_SOFT_LOCKUP", (string?)_api.NodeCondition(Node, "KernelDeadlock")!["message"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Forbidden_IsExplainedOnce_RetriedWithBackoff_AndRecovers()
    {
        _api.ForcedStatus = 403;
        Observe("containerd", TrackerFinding("RUNTIME_NOT_READY"));
        Start_();
        for (var i = 0; i < 6; i++)
        {
            var before = _api.Requests.Count;
            await WaitForAsync(() =>
            {
                _time.Advance(TimeSpan.FromSeconds(10)); // through the backoff, which grows to two minutes
                return _api.Requests.Count > before;
            }, "a retry");
        }

        var warnings = _log.Collector.GetSnapshot().Where(r => r.Level >= LogLevel.Warning).ToList();
        var warning = Assert.Single(warnings);
        Assert.Contains("403", warning.Message, StringComparison.Ordinal);
        Assert.Contains("nodes/status", warning.Message, StringComparison.Ordinal);

        _api.ForcedStatus = null;
        await WaitForAsync(() =>
        {
            _time.Advance(TimeSpan.FromSeconds(10));
            return Status(SignalMap.ContainerRuntimeUnhealthy) == "True";
        }, "published after the grant");
    }

    [Fact]
    public async Task HungApi_EachRequestGivesUpAtItsDeadline_AndStopIsPrompt()
    {
        _options.Conditions.RequestTimeout = TimeSpan.FromMilliseconds(300);
        _api.Hang = true;
        Start_();
        await WaitForAsync(() => _api.Requests.Any(r => r.Kind == "get-node"), "the first read");
        await WaitForAsync(() => _log.Collector.GetSnapshot().Any(r => r.Message.Contains("deadline", StringComparison.Ordinal)), "the deadline logged");
        _time.Advance(TimeSpan.FromSeconds(2));
        await WaitForAsync(() => _api.Requests.Count(r => r.Kind == "get-node") >= 2, "a retry after the backoff");

        var stopping = System.Diagnostics.Stopwatch.StartNew();
        await StopAsync();
        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(5), $"stop took {stopping.Elapsed}");
    }

    [Fact]
    public async Task FakeApi_AJsonMergePatchReplacesTheWholeList_SoTheWrongPatchWouldFailTheseTests()
    {
        using var http = new HttpClient { BaseAddress = _api.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Patch, $"/api/v1/nodes/{Node}/status")
        {
            Content = new StringContent("""{"status":{"conditions":[{"type":"PeriscopeX","status":"True"}]}}""", System.Text.Encoding.UTF8, "application/merge-patch+json"),
        };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", _api.Token);
        using var response = await http.SendAsync(request, TestContext.Current.CancellationToken);

        response.EnsureSuccessStatusCode();
        Assert.Equal(["PeriscopeX"], _api.NodeConditions(Node).Select(c => (string)c["type"]!));
    }

    private static JsonObject Owned(string type, string status, string reason, DateTimeOffset transitioned) => new()
    {
        ["type"] = type,
        ["status"] = status,
        ["reason"] = reason,
        ["message"] = $"{SignalMap.MessagePrefix}{SignalMap.CodeOfReason(reason) ?? reason} on the node: {(SignalMap.CodeOfReason(reason) ?? reason).ToLowerInvariant().Replace('_', ' ')}",
        ["lastTransitionTime"] = Stamp(transitioned),
        ["lastHeartbeatTime"] = Stamp(transitioned),
    };

    private static Finding TrackerFinding(string code, DateTimeOffset? first = null, DateTimeOffset? last = null)
        => SignalTrackerTests.Finding(code, first: first, last: last);
}
