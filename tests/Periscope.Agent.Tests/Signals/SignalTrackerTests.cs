using System.Globalization;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Periscope.Agent.Signals;
using Periscope.Bundle;
using Xunit;

namespace Periscope.Agent.Tests.Signals;

/// <summary>The signal state machine: first sighting, hold-down, evidence of absence, history, restart carry-over.</summary>
public sealed class SignalTrackerTests
{
    private const string Node = "node-a";
    private static readonly string[] AllTypes = [.. SignalMap.OwnedConditions];
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-12-04T10:00:00Z", CultureInfo.InvariantCulture));
    private readonly SignalTracker _tracker;

    public SignalTrackerTests() => _tracker = new SignalTracker(Options.Create(new SignalOptions { HoldDown = TimeSpan.FromMinutes(5) }), _time);

    internal static Finding Finding(string code, Severity severity = Severity.Critical, string subject = Node, SubjectKind kind = SubjectKind.Node,
        DateTimeOffset? first = null, DateTimeOffset? last = null, long count = 1)
        => new()
        {
            Code = code,
            Severity = severity,
            Title = code.ToLowerInvariant().Replace('_', ' '),
            Collector = "test",
            Subject = new FindingSubject(kind, subject),
            Count = count,
            FirstSeen = first,
            LastSeen = last,
        };

    private void Observe(string collector, params Finding[] findings)
        => _tracker.Observe(SignalObservation.FromRun(_time.GetUtcNow(), findings, [collector]));

    private DesiredCondition? Condition(string type)
        => _tracker.DesiredConditions(_time.GetUtcNow(), AllTypes, npd: false).SingleOrDefault(c => c.Type == type);

    [Fact]
    public void StateFinding_HoldsItsConditionThroughTheHoldDown_ThenClears()
    {
        Observe("containerd", Finding("RUNTIME_NETWORK_NOT_READY"));
        var set = Condition(SignalMap.ContainerRuntimeNetworkNotReady);
        Assert.True(set!.True);
        Assert.Equal("RuntimeNetworkNotReady", set.Reason);
        Assert.StartsWith("periscope-agent: RUNTIME_NETWORK_NOT_READY on the node", set.Message, StringComparison.Ordinal);
        Assert.Equal(SignalVerdict.Unhealthy, _tracker.Evaluate(_time.GetUtcNow()).Verdict);

        // Gone at the next check: holding down, still True.
        _time.Advance(TimeSpan.FromMinutes(1));
        Observe("containerd");
        var holding = Assert.Single(_tracker.Evaluate(_time.GetUtcNow()).Signals);
        Assert.Equal(SignalState.HoldingDown, holding.State);
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromMinutes(5), holding.ClearsAt);
        Assert.True(Condition(SignalMap.ContainerRuntimeNetworkNotReady)!.True);

        _time.Advance(TimeSpan.FromMinutes(5) - TimeSpan.FromSeconds(1));
        Assert.True(Condition(SignalMap.ContainerRuntimeNetworkNotReady)!.True);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(Condition(SignalMap.ContainerRuntimeNetworkNotReady)!.True);
        Assert.Equal(SignalVerdict.Healthy, _tracker.Evaluate(_time.GetUtcNow()).Verdict);
    }

    [Fact]
    public void SeenAgainDuringHoldDown_StaysActive_NoFlap()
    {
        Observe("containerd", Finding("RUNTIME_NOT_READY"));
        var since = _tracker.Evaluate(_time.GetUtcNow()).Signals[0].Since;
        for (var i = 0; i < 10; i++)
        {
            _time.Advance(TimeSpan.FromMinutes(2));
            Observe("containerd", i % 2 == 0 ? [] : [Finding("RUNTIME_NOT_READY")]);
            Assert.True(Condition(SignalMap.ContainerRuntimeUnhealthy)!.True);
        }

        Assert.Equal(since, _tracker.Evaluate(_time.GetUtcNow()).Signals[0].Since);
    }

    [Fact]
    public void Absence_NeedsACheckThatCoversTheCode()
    {
        Observe("containerd", Finding("RUNTIME_NOT_READY"));

        // Checks of other collectors, or a containerd check that did not complete, prove nothing absent.
        for (var i = 0; i < 6; i++)
        {
            _time.Advance(TimeSpan.FromMinutes(5));
            Observe("dns");
            _tracker.Observe(SignalObservation.FromRun(_time.GetUtcNow(), [], []));
        }

        Assert.True(Condition(SignalMap.ContainerRuntimeUnhealthy)!.True);
        Assert.Equal(SignalState.Active, _tracker.Evaluate(_time.GetUtcNow()).Signals[0].State);
    }

    [Fact]
    public void LoggedEvent_HoldsForTheHoldDownAfterItsLastOccurrence_AndHistoryIsNoSignal()
    {
        var now = _time.GetUtcNow();
        Observe("kernel",
            Finding("KERNEL_OOM_NO_VICTIM", first: now.AddMinutes(-1), last: now.AddMinutes(-1)),
            Finding("KERNEL_OOPS", first: now.AddHours(-3), last: now.AddHours(-2)),
            Finding("PROCESS_SEGFAULT", Severity.Info, first: now, last: now));

        var signals = _tracker.Evaluate(now).Signals;
        var signal = Assert.Single(signals);
        Assert.Equal("KERNEL_OOM_NO_VICTIM", signal.Code);
        Assert.Equal(now.AddMinutes(-1), signal.Since);
        Assert.Equal(now.AddMinutes(4), signal.ClearsAt);
        Assert.Null(Condition(SignalMap.KernelOops) is { True: true } ? "set" : null);

        // The next full run's window still holds the same record: not a new occurrence, and it does not extend the hold.
        _time.Advance(TimeSpan.FromMinutes(3));
        Observe("kernel", Finding("KERNEL_OOM_NO_VICTIM", first: now.AddMinutes(-1), last: now.AddMinutes(-1)));
        Assert.True(Condition(SignalMap.MemoryExhausted)!.True);
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.False(Condition(SignalMap.MemoryExhausted)!.True);
    }

    [Fact]
    public void WarningFinding_IsASignal_ButSetsOnlyATypeMarkedWarning()
    {
        Observe("containerd", Finding("CNI_IP_EXHAUSTION", Severity.Warning), Finding("RUNTIME_API_SLOW", Severity.Warning));
        Observe("kubelet", Finding("KUBELET_CERT_EXPIRING", Severity.Warning));

        var signals = _tracker.Evaluate(_time.GetUtcNow());
        Assert.Equal(3, signals.Signals.Count);
        Assert.Equal(SignalVerdict.Unhealthy, signals.Verdict); // the certificate type is set by a warning
        Assert.Equal(SignalAction.None, signals.Action);
        Assert.False(Condition(SignalMap.PodIPExhaustion) is { True: true });
        Assert.Null(signals.Signals.Single(s => s.Code == "CNI_IP_EXHAUSTION").Condition); // a type it does not hold is not named
        Assert.Equal(SignalMap.KubeletCertificateExpiring, signals.Signals.Single(s => s.Code == "KUBELET_CERT_EXPIRING").Condition);
        Assert.True(Condition(SignalMap.KubeletCertificateExpiring)!.True);
    }

    [Fact]
    public void Verdict_ClusterWideCauses_DegradeButNeverHoldAConditionOrAskForRepair()
    {
        Observe("dns", Finding("DNS_CLUSTER_NAME_FAILS", subject: "10.0.0.10", kind: SubjectKind.Server),
            Finding("DNS_TIMEOUT", subject: "10.0.0.10", kind: SubjectKind.Server));

        var signals = _tracker.Evaluate(_time.GetUtcNow());
        Assert.Equal(SignalVerdict.Degraded, signals.Verdict);
        Assert.Equal(SignalAction.None, signals.Action);
        Assert.All(signals.Signals, s => Assert.Equal(SignalScope.Cluster, s.Scope));
        Assert.DoesNotContain(_tracker.DesiredConditions(_time.GetUtcNow(), AllTypes, npd: false), c => c.True);
    }

    [Fact]
    public void Action_IsTheStrongestOfTheHeldConditions()
    {
        Observe("containerd", Finding("RUNTIME_NOT_READY"));
        Observe("kernel", Finding("DISK_IO_ERROR", subject: "sda", kind: SubjectKind.Device, first: _time.GetUtcNow(), last: _time.GetUtcNow()));

        var signals = _tracker.Evaluate(_time.GetUtcNow());
        Assert.Equal(SignalAction.Replace, signals.Action);
        Assert.StartsWith("DISK_IO_ERROR on device sda", signals.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownUntilCovered_NoFalseIsDesiredBeforeEveryCodeOfTheTypeWasChecked()
    {
        Assert.Empty(_tracker.DesiredConditions(_time.GetUtcNow(), AllTypes, npd: false));

        Observe("cni");
        var desired = _tracker.DesiredConditions(_time.GetUtcNow(), AllTypes, npd: false);
        Assert.Contains(desired, d => d.Type == SignalMap.NetworkPluginNotConfigured && !d.True);
        Assert.Contains(desired, d => d.Type == SignalMap.PodIPExhaustion && !d.True);
        Assert.DoesNotContain(desired, d => d.Type == SignalMap.ContainerRuntimeUnhealthy);
    }

    [Fact]
    public void Adopted_ConditionKeepsItsSince_AndClearsOnlyAfterACoveringCheckAndTheHoldDown()
    {
        var transitioned = _time.GetUtcNow().AddHours(-1);
        _tracker.Adopt(SignalMap.ContainerRuntimeNetworkNotReady, "RuntimeNetworkNotReady", "periscope-agent: RUNTIME_NETWORK_NOT_READY on the node: x", transitioned, Node, npd: false);

        var signal = Assert.Single(_tracker.Evaluate(_time.GetUtcNow()).Signals);
        Assert.Equal("RUNTIME_NETWORK_NOT_READY", signal.Code);
        Assert.Equal(transitioned, signal.Since);
        _time.Advance(TimeSpan.FromHours(1));
        Assert.True(Condition(SignalMap.ContainerRuntimeNetworkNotReady)!.True); // no check yet: no evidence of absence

        Observe("containerd");
        _time.Advance(TimeSpan.FromMinutes(5));
        Assert.False(Condition(SignalMap.ContainerRuntimeNetworkNotReady)!.True);
    }

    [Fact]
    public void Occurrences_OfEventSignals_AreCountedOnce()
    {
        var now = _time.GetUtcNow();
        Observe("kernel", Finding("KERNEL_OOM_KILL", Severity.Warning, "c1", SubjectKind.Container, now, now, count: 2));
        Observe("kernel", Finding("KERNEL_OOM_KILL", Severity.Warning, "c1", SubjectKind.Container, now, now, count: 2));
        _time.Advance(TimeSpan.FromSeconds(30));
        var later = _time.GetUtcNow();
        _tracker.Observe(new SignalObservation(later, [Finding("KERNEL_OOM_KILL", Severity.Warning, "c1", SubjectKind.Container, later, later, count: 3)],
            code => code.StartsWith("KERNEL", StringComparison.Ordinal), Incremental: true));

        var taken = _tracker.TakeOccurrences();
        Assert.Equal([2L, 3L], taken.Select(o => o.NewOccurrences));
        Assert.Empty(_tracker.TakeOccurrences());
        Assert.Equal(5, _tracker.Evaluate(later).Signals.Single().Count);
    }
}
