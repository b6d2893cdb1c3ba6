using Periscope.Agent.Analysis;
using Periscope.Agent.Collection.Node;
using Periscope.Agent.Collection;
using Periscope.Agent.Collectors.Kernel;
using Periscope.Bundle;
using Periscope.Testing;
using Xunit;

namespace Periscope.Agent.Tests.Collectors.Kernel;

/// <summary>OOM kills across kernel versions and every cgroup layout in use.</summary>
public sealed class OomKillTests
{
    private const string PodUid = "1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901";
    private const string PodUidSystemd = "1b2c3d4e_5f60_7182_93a4_b5c6d7e8f901";
    private static readonly string ContainerId = new string('a', 60) + "0001";
    private static readonly string OtherContainerId = new string('b', 60) + "0002";

    [Fact]
    public void Process_CgroupV2SystemdDriver_NamesContainerFromTaskMemcgNotOomMemcg()
    {
        var observations = Analyze(
        [
            $"oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=cri-containerd-{ContainerId}.scope,mems_allowed=0," +
            $"oom_memcg=/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{PodUidSystemd}.slice," +
            $"task_memcg=/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{PodUidSystemd}.slice/cri-containerd-{ContainerId}.scope,task=stress,pid=4242,uid=0",
            "Memory cgroup out of memory: Killed process 4242 (stress) total-vm:1052000kB, anon-rss:524288kB, file-rss:1024kB, shmem-rss:0kB, UID:0 pgtables:1100kB oom_score_adj:939",
        ]);

        var kill = Assert.Single(observations);
        Assert.Equal("KERNEL_OOM_KILL", kill.Code);
        Assert.Equal(Severity.Warning, kill.Severity);
        Assert.Equal(new FindingSubject(SubjectKind.Container, ContainerId), kill.Subject);
        Assert.Equal(PodUid, kill.Attributes["podUid"]);
        Assert.Equal("burstable", kill.Attributes["qosClass"]);
        Assert.Equal("4242", kill.Attributes["pid"]);
        Assert.Equal("stress", kill.Attributes["process"]);
        Assert.Equal("524288", kill.Attributes["anonRssKb"]);
        Assert.Equal("cgroup", kill.Attributes["scope"]);
        Assert.Equal("default", kill.Attributes["namespace"]);
        Assert.Equal("stress-7d9f", kill.Attributes["pod"]);
        Assert.Equal("stress", kill.Attributes["container"]);
        Assert.Equal(2, kill.Evidence!.Line);
    }

    [Fact]
    public void Process_CgroupfsDriverGlobalOom_IsCriticalAndNamesContainer()
    {
        var observations = Analyze(
        [
            $"oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/kubepods/besteffort/pod{PodUid}/{OtherContainerId},task=python3,pid=6161,uid=1000",
            "Out of memory: Killed process 6161 (python3) total-vm:8000000kB, anon-rss:7000000kB, file-rss:0kB, shmem-rss:0kB, UID:1000 pgtables:14000kB oom_score_adj:1000",
        ]);

        var kill = Assert.Single(observations);
        Assert.Equal(Severity.Critical, kill.Severity);
        Assert.Equal("global", kill.Attributes["scope"]);
        Assert.Equal(new FindingSubject(SubjectKind.Container, OtherContainerId), kill.Subject);
        Assert.Equal("besteffort", kill.Attributes["qosClass"]);
    }

    [Fact]
    public void Process_CgroupV1OldKernelTwoLineKill_IsOneEventWithFigures()
    {
        var observations = Analyze(
        [
            $"Task in /kubepods/burstable/pod{PodUid}/{ContainerId} killed as a result of limit of /kubepods/burstable/pod{PodUid}",
            "memory: usage 262144kB, limit 262144kB, failcnt 12",
            "Memory cgroup out of memory: Kill process 5151 (java) score 1987 or sacrifice child",
            "Killed process 5151 (java) total-vm:2000000kB, anon-rss:262000kB, file-rss:2000kB, shmem-rss:0kB",
        ]);

        var kill = Assert.Single(observations);
        Assert.Equal(new FindingSubject(SubjectKind.Container, ContainerId), kill.Subject);
        Assert.Equal("262000", kill.Attributes["anonRssKb"]);
        Assert.Equal("java", kill.Attributes["process"]);
        Assert.Equal(Severity.Warning, kill.Severity);
    }

    [Fact]
    public void Process_GuaranteedPodCgroupfs_HasNoQosSegment()
    {
        var observations = Analyze(
        [
            $"oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/kubepods/pod{PodUid},task_memcg=/kubepods/pod{PodUid}/{ContainerId},task=app,pid=10,uid=0",
            "Memory cgroup out of memory: Killed process 10 (app) total-vm:100kB, anon-rss:90kB, file-rss:1kB, shmem-rss:0kB, UID:0",
        ]);

        Assert.Equal("guaranteed", Assert.Single(observations).Attributes["qosClass"]);
    }

    [Fact]
    public void Process_KillWithoutCgroup_IsAboutTheNode()
    {
        var observations = Analyze(["Out of memory: Kill process 812 (mysqld) score 201 or sacrifice child"]);

        var kill = Assert.Single(observations);
        Assert.Equal(SubjectKind.Node, kill.Subject.Kind);
        Assert.Equal(Severity.Critical, kill.Severity);
    }

    [Fact]
    public void Aggregate_OnePodKilledTenTimes_IsOneFindingWithCountTen_TwoPodsAreTwo()
    {
        var lines = new List<string>();
        for (var i = 0; i < 10; i++)
        {
            lines.Add($"oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/kubepods/burstable/pod{PodUid},task_memcg=/kubepods/burstable/pod{PodUid}/{ContainerId},task=stress,pid={100 + i},uid=0");
            lines.Add($"Memory cgroup out of memory: Killed process {100 + i} (stress) total-vm:1kB, anon-rss:1kB, file-rss:1kB, shmem-rss:0kB, UID:0");
        }

        lines.Add($"oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/kubepods/burstable/pod{PodUid},task_memcg=/kubepods/burstable/pod{PodUid}/{OtherContainerId},task=sidecar,pid=999,uid=0");
        lines.Add("Memory cgroup out of memory: Killed process 999 (sidecar) total-vm:1kB, anon-rss:1kB, file-rss:1kB, shmem-rss:0kB, UID:0");

        var findings = FindingAggregator.Aggregate(Analyze(lines).Select(o => ("kernel", o)));

        Assert.Equal(2, findings.Count);
        Assert.Equal(10, findings.Single(f => f.Subject.Id == ContainerId).Count);
        Assert.Equal(1, findings.Single(f => f.Subject.Id == OtherContainerId).Count);
    }

    [Fact]
    public void Process_UserFacilityOomLookalike_IsNeverClassified()
    {
        using var root = new NodeRoot();
        var analyzer = new KernelEventAnalyzer(KernelRules.Default, ContainerDirectory.Load(new HostRoot(root.Path)), "n", "kernel/kmsg.log");

        analyzer.Process(new KmsgRecord { Facility = 1, Level = 6, Text = "Out of memory: Killed process 1 (init) total-vm:1kB, anon-rss:1kB, file-rss:1kB" }, 1);

        Assert.Empty(analyzer.Finish());
    }

    private static IReadOnlyList<Observation> Analyze(IReadOnlyList<string> lines)
    {
        using var root = new NodeRoot()
            .File($"/var/log/containers/stress-7d9f_default_stress-{ContainerId}.log", string.Empty)
            .Dir($"/var/log/pods/default_stress-7d9f_{PodUid}");
        return KernelAnalysis.Analyze(lines, root);
    }
}
