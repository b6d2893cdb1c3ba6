using Periscope.Agent.Collection;
using Periscope.Agent.Collectors.Containerd;
using Periscope.Agent.Collectors.Containerd.Rules;
using Periscope.Bundle;
using Periscope.Bundle.Facts;
using Xunit;

namespace Periscope.Agent.Tests.Collectors.Containerd;

/// <summary>Each of the containerd collector's finding rules on its figures alone, on both sides of what it judges.</summary>
public sealed class ContainerdRuleTests() : RuleTests("containerd")
{
    private static readonly FindingSubject Server = new(SubjectKind.File, "/run/containerd/containerd.sock");
    private static readonly DateTimeOffset Exited = Now.AddMinutes(-5);
    private readonly ContainerdCollectorOptions _options = new();

    private static ContainerFacts Attempt(uint attempt, string state, int? exitCode = null, string? reason = null, int? restarts = null) => new()
    {
        Id = $"c{attempt}",
        SandboxId = "s1",
        Namespace = "shop",
        Pod = "cart-7d9",
        PodUid = "uid-1",
        Name = "cart",
        Attempt = attempt,
        State = state,
        ExitCode = exitCode,
        Reason = reason,
        RestartCount = restarts,
        FinishedAt = state == "exited" ? Exited.AddMinutes(attempt) : null,
    };

    [Fact]
    public void RuntimeUnreachable_NamesHowInTheTitleAndAttributes()
    {
        var missing = RuntimeUnreachableRule.Of(Context, Server, "socket-missing", "no socket");
        var other = RuntimeUnreachableRule.Of(Context, Server, "unavailable", "it hung up");

        Assert.Equal(FindingCodes.RuntimeUnreachable, missing.Code);
        Assert.Equal(Severity.Critical, missing.Severity);
        Assert.Equal("The container runtime socket is missing", missing.Title);
        Assert.Equal("The container runtime could not be reached", other.Title);
        Assert.Equal("unavailable", other.Attributes["reachability"]);
        Assert.Equal(Now, other.Time);
    }

    [Fact]
    public void RuntimeCondition_OnlyRuntimeAndNetworkReadyFalse_AreFindings()
    {
        Assert.Null(RuntimeConditionRule.Check(Context, Server, new RuntimeConditionFacts("NetworkReady", true, null, null)));
        Assert.Null(RuntimeConditionRule.Check(Context, Server, new RuntimeConditionFacts("SomeOtherCondition", false, "X", null)));

        var network = RuntimeConditionRule.Check(Context, Server, new RuntimeConditionFacts("NetworkReady", false, "NetworkPluginNotReady", "cni config uninitialized"));
        var runtime = RuntimeConditionRule.Check(Context, Server, new RuntimeConditionFacts("RuntimeReady", false, null, null));

        Assert.NotNull(network);
        Assert.Equal(FindingCodes.RuntimeNetworkNotReady, network.Code);
        Assert.Equal("The container runtime's network is not ready: NetworkPluginNotReady", network.Title);
        Assert.Equal("cni config uninitialized", network.Attributes["message"]);
        Assert.Equal(new EvidenceReference("containerd/status.json", null), network.Evidence);
        Assert.NotNull(runtime);
        Assert.Equal(FindingCodes.RuntimeNotReady, runtime.Code);
        Assert.Equal("The container runtime is not ready: no reason given", runtime.Title);
    }

    [Fact]
    public void RuntimeApiSlow_OnlyPastTheThreshold()
    {
        var threshold = _options.SlowCallThreshold.TotalMilliseconds;

        Assert.Null(RuntimeApiSlowRule.Check(Context, Server, new CriCallFacts("RuntimeService/ListContainers", threshold, "ok"), _options));
        var slow = RuntimeApiSlowRule.Check(Context, Server, new CriCallFacts("RuntimeService/ListContainers", threshold + 400.4, "ok"), _options);

        Assert.NotNull(slow);
        Assert.Equal(FindingCodes.RuntimeApiSlow, slow.Code);
        Assert.Equal("RuntimeService/ListContainers", slow.Attributes["method"]);
        Assert.Equal("2400", slow.Attributes["durationMs"]);
    }

    [Fact]
    public void ImageFsPressure_BelowTheThreshold_UnlessUnmeasured()
    {
        var atThreshold = new FileSystemUsage(SizeBytes: 1000, AvailableBytes: 150, Inodes: 10, InodesFree: 5);

        Assert.Null(ImageFsPressureRule.Check(Context, Server, "/var/lib/containerd", 500, usage: null, _options));
        Assert.Null(ImageFsPressureRule.Check(Context, Server, "/var/lib/containerd", 500, atThreshold, _options));
        var full = ImageFsPressureRule.Check(Context, Server, "/var/lib/containerd", 500, atThreshold with { AvailableBytes = 149 }, _options);

        Assert.NotNull(full);
        Assert.Equal(FindingCodes.ImageFsPressure, full.Code);
        Assert.Equal(new FindingSubject(SubjectKind.File, "/var/lib/containerd"), full.Subject);
        Assert.Equal(Server.Id, full.Attributes["server"]);
        Assert.Contains("images use 500 bytes", full.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void CrashLoop_EnoughRestartsAndANonZeroLastExit_DatedByThatExit()
    {
        IReadOnlyList<ContainerFacts> looping = [Attempt(3, "running", restarts: 3), Attempt(2, "exited", 1, "Error", restarts: 2)];
        IReadOnlyList<ContainerFacts> cleanExit = [Attempt(3, "running", restarts: 3), Attempt(2, "exited", 0, "Completed")];
        IReadOnlyList<ContainerFacts> fewRestarts = [Attempt(2, "running", restarts: 2), Attempt(1, "exited", 1, "Error")];

        Assert.Null(ContainerCrashLoopRule.Check(Context, cleanExit, _options));
        Assert.Null(ContainerCrashLoopRule.Check(Context, fewRestarts, _options));
        var loop = ContainerCrashLoopRule.Check(Context, looping, _options);

        Assert.NotNull(loop);
        Assert.Equal(FindingCodes.ContainerCrashLoop, loop.Code);
        Assert.Equal(new FindingSubject(SubjectKind.Container, "shop/cart-7d9/cart"), loop.Subject);
        Assert.Equal("c2", loop.Attributes["containerId"]);
        Assert.Equal("3", loop.Attributes["restartCount"]);
        Assert.Equal("1", loop.Attributes["exitCode"]);
        Assert.Equal(Exited.AddMinutes(2), loop.Time);
    }

    [Fact]
    public void OomKilled_RecordedStandsAlone_ASigkillExitAsksTheKernelToConfirm()
    {
        IReadOnlyList<ContainerFacts> attempts = [Attempt(3, "running"), Attempt(2, "exited", 137, "OOMKilled"), Attempt(1, "exited", 137, "Error"), Attempt(0, "exited", 1, "Error")];

        var killed = ContainerOomKilledRule.Check(Context, attempts).ToList();

        Assert.Equal(2, killed.Count);
        Assert.All(killed, o => Assert.Equal(FindingCodes.ContainerOomKilled, o.Code));
        Assert.All(killed, o => Assert.Equal(new FindingSubject(SubjectKind.Container, "shop/cart-7d9/cart"), o.Subject));
        Assert.False(killed[0].Attributes.ContainsKey(Observation.ConfirmByKernelAttribute));
        Assert.Equal("true", killed[1].Attributes[Observation.ConfirmByKernelAttribute]);
        Assert.Equal(Exited.AddMinutes(1), killed[1].Time);
        Assert.Empty(ContainerOomKilledRule.Check(Context, [Attempt(0, "exited", 1, "Error")]));
    }

    [Fact]
    public void SandboxNotReady_OnlyTheNewestSandboxOfAPodTheKubeletRecreated()
    {
        SandboxFacts Sandbox(uint attempt, string state) => new()
        {
            Id = $"s{attempt}", Namespace = "shop", Pod = "cart-7d9", Uid = "uid-1", Attempt = attempt, State = state,
            CreatedAt = Exited.AddMinutes(attempt),
        };

        Assert.Null(SandboxNotReadyRule.Check(Context, [Sandbox(0, "notready")])); // never re-created: a finished pod
        Assert.Null(SandboxNotReadyRule.Check(Context, [Sandbox(0, "notready"), Sandbox(1, "ready")]));
        var stuck = SandboxNotReadyRule.Check(Context, [Sandbox(0, "notready"), Sandbox(2, "notready")]);

        Assert.NotNull(stuck);
        Assert.Equal(FindingCodes.SandboxNotReady, stuck.Code);
        Assert.Equal(new FindingSubject(SubjectKind.Pod, "uid-1"), stuck.Subject);
        Assert.Equal("s2", stuck.Attributes["sandboxId"]);
        Assert.Equal("2", stuck.Attributes["attempt"]);
        Assert.Equal(Exited.AddMinutes(2), stuck.Time);
    }
}
