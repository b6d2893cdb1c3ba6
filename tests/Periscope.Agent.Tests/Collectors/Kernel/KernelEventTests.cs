using System.Text;
using Periscope.Agent.Analysis;
using Periscope.Agent.Collection;
using Periscope.Agent.Collection.Node;
using Periscope.Agent.Collectors.Kernel;
using Periscope.Bundle;
using Periscope.Testing;
using Xunit;

namespace Periscope.Agent.Tests.Collectors.Kernel;

/// <summary>
/// One event, one count, one subject: multi-line kernel reports (OOM group kills, a child sacrificed, an oops and the
/// panic after it, a warning) are one event each; user-space crashes are not kernel oopses; recovery and noise.
/// </summary>
public sealed class KernelEventTests
{
    private const string PodUidSystemd = "1b2c3d4e_5f60_7182_93a4_b5c6d7e8f901";
    private static readonly string ContainerId = new string('c', 60) + "0003";

    [Fact]
    public void OomGroupKill_VictimRepeatedAndSiblings_IsOneKillOfTheContainer()
    {
        var memcg = $"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{PodUidSystemd}.slice/cri-containerd-{ContainerId}.scope";
        var observations = Analyze(
        [
            $"oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=cri-containerd-{ContainerId}.scope,mems_allowed=0,oom_memcg={memcg},task_memcg={memcg},task=java,pid=900,uid=1000",
            "Memory cgroup out of memory: Killed process 900 (java) total-vm:4000000kB, anon-rss:2000000kB, file-rss:1000kB, shmem-rss:0kB, UID:1000 pgtables:5000kB oom_score_adj:936",
            $"Tasks in {memcg} are going to be killed due to memory.oom.group set",
            "Memory cgroup out of memory: Killed process 900 (java) total-vm:4000000kB, anon-rss:2000000kB, file-rss:1000kB, shmem-rss:0kB, UID:1000 pgtables:5000kB oom_score_adj:936",
            "Memory cgroup out of memory: Killed process 901 (C2 CompilerThre) total-vm:4000000kB, anon-rss:0kB, file-rss:0kB, shmem-rss:0kB, UID:1000 pgtables:5000kB oom_score_adj:936",
            "Memory cgroup out of memory: Killed process 950 (sh) total-vm:2000kB, anon-rss:100kB, file-rss:0kB, shmem-rss:0kB, UID:1000 pgtables:40kB oom_score_adj:936",
        ]);

        var kill = Assert.Single(observations);
        Assert.Equal(new FindingSubject(SubjectKind.Container, ContainerId), kill.Subject);
        Assert.Equal(Severity.Warning, kill.Severity);
        Assert.Equal(("900", "java"), (kill.Attributes["pid"], kill.Attributes["process"]));
        Assert.Equal("901 (C2 CompilerThre), 950 (sh)", kill.Attributes["groupKilled"]);
    }

    [Fact]
    public void OomGroupKill_ThenAnotherOom_IsTwoKills()
    {
        var memcg = $"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{PodUidSystemd}.slice/cri-containerd-{ContainerId}.scope";
        var observations = Analyze(
        [
            $"oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg={memcg},task_memcg={memcg},task=a,pid=10,uid=0",
            "Memory cgroup out of memory: Killed process 10 (a) total-vm:1000kB, anon-rss:900kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:40kB oom_score_adj:1000",
            $"Tasks in {memcg} are going to be killed due to memory.oom.group set",
            "Memory cgroup out of memory: Killed process 11 (b) total-vm:1000kB, anon-rss:10kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:40kB oom_score_adj:1000",
            $"oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg={memcg},task_memcg={memcg},task=c,pid=12,uid=0",
            "Memory cgroup out of memory: Killed process 12 (c) total-vm:1000kB, anon-rss:900kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:40kB oom_score_adj:1000",
        ]);

        Assert.Equal(["a", "c"], observations.Select(o => o.Attributes["process"]));
        Assert.All(observations, o => Assert.Equal(SubjectKind.Container, o.Subject.Kind));
    }

    [Theory]
    [InlineData("Memory cgroup out of memory: Killed process 4242 (stress) total-vm:100kB, anon-rss:90kB, file-rss:0kB, shmem-rss:0kB")]
    [InlineData("Out of memory: Killed process 4242 (stress) total-vm:100kB, anon-rss:90kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:4kB oom_score_adj:0")]
    [InlineData("Killed process 4242 (stress) total-vm:100kB, anon-rss:90kB, file-rss:0kB, shmem-rss:0kB")]
    public void KillAfterAConstrainedHeader_TakesItsAttributionFromTheHeader_WhateverItsWording(string kill)
    {
        var memcg = $"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{PodUidSystemd}.slice/cri-containerd-{ContainerId}.scope";
        var observations = Analyze(
        [
            $"oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg={memcg},task_memcg={memcg},task=stress,pid=4242,uid=0",
            kill,
        ]);

        var observation = Assert.Single(observations);
        Assert.Equal(new FindingSubject(SubjectKind.Container, ContainerId), observation.Subject);
        Assert.Equal((Severity.Warning, "cgroup", "90"), (observation.Severity, observation.Attributes["scope"], observation.Attributes["anonRssKb"]));
    }

    [Fact]
    public void SacrificeChild_KillOfTheChild_IsOneKillOfTheContainer()
    {
        var podUid = "1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901";
        var observations = Analyze(
        [
            $"Task in /kubepods/burstable/pod{podUid}/{ContainerId} killed as a result of limit of /kubepods/burstable/pod{podUid}",
            "memory: usage 262144kB, limit 262144kB, failcnt 40",
            "Memory cgroup out of memory: Kill process 5151 (java) score 1987 or sacrifice child",
            "Killed process 5160 (jspawnhelper) total-vm:20000kB, anon-rss:1000kB, file-rss:200kB, shmem-rss:0kB",
        ]);

        var kill = Assert.Single(observations);
        Assert.Equal(new FindingSubject(SubjectKind.Container, ContainerId), kill.Subject);
        Assert.Equal("5160 (jspawnhelper)", kill.Attributes["killedChild"]);
        Assert.Equal("1000", kill.Attributes["anonRssKb"]);
    }

    [Fact]
    public void OopsThenPanic_WithTheirEndLines_IsOneEvent()
    {
        var observations = Analyze(
        [
            "BUG: kernel NULL pointer dereference, address: 0000000000000008",
            "#PF: supervisor read access in kernel mode",
            "Oops: 0000 [#1] SMP NOPTI",
            "CPU: 3 PID: 811 Comm: kworker/3:1 Not tainted 5.15.0-1057-azure #65-Ubuntu",
            "RIP: 0010:mlx5e_xmit+0x3a/0x7d0 [mlx5_core]",
            "---[ end trace 2f1e3d4c5b6a7980 ]---",
            "RIP: 0010:mlx5e_xmit+0x3a/0x7d0 [mlx5_core]",
            "Kernel panic - not syncing: Fatal exception in interrupt",
            "Kernel Offset: 0x2a000000 from 0xffffffff81000000 (relocation range: 0xffffffff80000000-0xffffffffbfffffff)",
            "---[ end Kernel panic - not syncing: Fatal exception in interrupt ]---",
        ]);

        var oops = Assert.Single(observations);
        Assert.Equal("KERNEL_OOPS", oops.Code);
        Assert.Equal("Fatal exception in interrupt", oops.Attributes["panic"]);
        Assert.Equal(1, oops.Evidence!.Line);
    }

    [Fact]
    public void TwoOopses_EachEnded_AreTwoEvents_AndAPanicSeenOnlyByItsTrailerIsOne()
    {
        var observations = Analyze(
        [
            "general protection fault, probably for non-canonical address 0xdead000000000100: 0000 [#1] SMP NOPTI",
            "---[ end trace 0000000000000001 ]---",
            "BUG: unable to handle page fault for address: ffffffffc0a12345",
            "Oops: 0002 [#2] SMP NOPTI",
            "---[ end trace 0000000000000002 ]---",
        ]);
        var trailer = Analyze(["---[ end Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0) ]---"]);

        Assert.Equal(2, observations.Count);
        Assert.All(observations, o => Assert.Equal("KERNEL_OOPS", o.Code));
        var panic = Assert.Single(trailer);
        Assert.Equal(("KERNEL_OOPS", Severity.Critical), (panic.Code, panic.Severity));
        Assert.Equal("VFS: Unable to mount root fs on unknown-block(0,0)", panic.Attributes["panic"]);
    }

    [Fact]
    public void UserSpaceTrapsAndSegfaults_AreProcessCrashes_OneFindingPerProcess_NeverAnOops()
    {
        var observations = Analyze(
        [
            "traps: node[2211] general protection fault ip:55d1c2a3b4c5 sp:7ffd12345678 error:0 in node[55d1c2a00000+2000000]",
            "traps: node[2290] general protection fault ip:55d1c2a3b4c5 sp:7ffd12345678 error:0 in node[55d1c2a00000+2000000]",
            "traps: VM Periodic Tas[1090] trap divide error ip:7f1a2b3c4d5e sp:7f1a00001000 error:0 in libjvm.so[7f1a1a000000+1000000]",
            "python3[3300]: segfault at 0 ip 00007f0000000001 sp 00007ffe00000000 error 4 in libfoo.so[7f0000000000+100000]",
            "envoy[3400]: segfault at 10 ip 00007f0000000002 sp 00007ffe00000010 error 6 in envoy[55d000000000+3000000]",
        ]);

        var findings = FindingAggregator.Aggregate(observations.Select(o => ("kernel", o)));

        Assert.DoesNotContain(findings, f => f.Code == "KERNEL_OOPS");
        var traps = findings.Where(f => f.Code == "PROCESS_TRAP").OrderBy(f => f.Attributes["process"], StringComparer.Ordinal).ToList();
        Assert.Equal(["VM Periodic Tas", "node"], traps.Select(f => f.Attributes["process"]));
        Assert.Equal([1L, 2L], traps.Select(f => f.Count));
        Assert.Equal("divide error", traps[0].Attributes["trap"]);
        Assert.Equal(2, findings.Count(f => f.Code == "PROCESS_SEGFAULT"));
        Assert.All(findings, f => Assert.Equal(Severity.Info, f.Severity));
    }

    [Fact]
    public void KernelWarningBlock_IsOneInfoEvent_NotAnOops()
    {
        var observations = Analyze(
        [
            "WARNING: CPU: 2 PID: 1234 at net/core/dev.c:6210 netif_napi_add_weight+0x13d/0x150",
            "Modules linked in: xt_conntrack nf_nat",
            "RIP: 0010:netif_napi_add_weight+0x13d/0x150",
            "---[ end trace 1a2b3c4d5e6f7081 ]---",
            "WARNING: CPU: 0 PID: 1 at net/core/dev.c:6210 netif_napi_add_weight+0x13d/0x150",
            "---[ end trace 1a2b3c4d5e6f7082 ]---",
        ]);

        var findings = FindingAggregator.Aggregate(observations.Select(o => ("kernel", o)));

        var warning = Assert.Single(findings);
        Assert.Equal(("KERNEL_WARNING", Severity.Info, 2L), (warning.Code, warning.Severity, warning.Count));
        Assert.Equal("net/core/dev.c:6210", warning.Attributes["location"]);
    }

    [Fact]
    public void NetworkFilesystem_NotRespondingThenOk_IsRecovered_OthersStayWarnings()
    {
        var observations = Analyze(
        [
            "nfs: server 10.0.0.4 not responding, still trying",
            "nfs: server 10.0.0.5 not responding, timed out",
            "CIFS: VFS: \\\\stacct01.file.core.windows.net has not responded in 180 seconds. Reconnecting...",
            "nfs: server 10.0.0.4 OK",
        ]);

        Assert.Equal(3, observations.Count);
        var recovered = observations.Single(o => o.Subject.Id == "10.0.0.4");
        Assert.Equal((Severity.Info, "true"), (recovered.Severity, recovered.Attributes["recovered"]));
        Assert.Equal(Severity.Warning, observations.Single(o => o.Subject.Id == "10.0.0.5").Severity);
        var smb = observations.Single(o => o.Subject.Id == "stacct01.file.core.windows.net");
        Assert.Equal((SubjectKind.Server, Severity.Warning), (smb.Subject.Kind, smb.Severity));
    }

    [Fact]
    public void VirtualCdRomErrors_AreNoise_RealDiskErrorsAreNot()
    {
        var observations = Analyze(
        [
            "I/O error, dev sr0, sector 0 op 0x0:(READ) flags 0x80700 phys_seg 1 prio class 2",
            "Buffer I/O error on dev sr0, logical block 0, async page read",
            "I/O error, dev sdb, sector 2048 op 0x1:(WRITE) flags 0x0 phys_seg 1 prio class 0",
        ]);

        var error = Assert.Single(observations);
        Assert.Equal(("DISK_IO_ERROR", "sdb"), (error.Code, error.Subject.Id));
    }

    [Fact]
    public void GpuXid_SeverityAndMeaningFollowTheXid()
    {
        var observations = Analyze(
        [
            "NVRM: Xid (PCI:0001:00:00): 79, pid=2311, name=python, GPU has fallen off the bus.",
            "NVRM: Xid (PCI:0002:00:00): 13, pid=2400, name=python, Graphics Exception: ESR 0x505648=0x2000d",
        ]);

        Assert.Equal((Severity.Critical, "GPU has fallen off the bus"), (observations[0].Severity, observations[0].Attributes["meaning"]));
        Assert.Equal(new FindingSubject(SubjectKind.Device, "0001:00:00"), observations[0].Subject);
        Assert.Equal(Severity.Warning, observations[1].Severity);
    }

    [Fact]
    public void HungTaskAndLockup_RealTaskNames_AreKeptWhole()
    {
        var observations = Analyze(
        [
            "INFO: task C2 CompilerThre:4410 blocked for more than 122 seconds.",
            "INFO: task kworker/u16:2+flush-8:0:311 blocked for more than 241 seconds.",
            "watchdog: BUG: soft lockup - CPU#1 stuck for 26s! [kworker/u16:2:311]",
        ]);

        Assert.Equal(["C2 CompilerThre", "kworker/u16:2+flush-8:0", "kworker/u16:2"], observations.Select(o => o.Attributes["process"]));
        Assert.Equal(["4410", "311", "311"], observations.Select(o => o.Attributes["pid"]));
    }

    [Theory]
    [InlineData("Dec  1 10:00:00 node-1 kernel: [   12.345678][  T311] INFO: task a:1 blocked for more than 120 seconds.", "INFO: task a:1 blocked for more than 120 seconds.")]
    [InlineData("Dec  1 10:00:00 node-1 kernel: [   12.345678] [    C2] NETDEV WATCHDOG: eth0 (mlx5_core): transmit queue 3 timed out", "NETDEV WATCHDOG: eth0 (mlx5_core): transmit queue 3 timed out")]
    [InlineData("Dec  1 10:00:00 node-1 kernel: [Hardware Error]: event severity: fatal", "[Hardware Error]: event severity: fatal")]
    [InlineData("Dec  1 10:00:00 node-1 kernel: [  T1] Run /init as init process", "Run /init as init process")]
    public void SyslogKernelLines_TimeStampAndCallerId_AreRemoved_TheMessagesOwnBracketsKept(string line, string text)
    {
        Assert.True(KernelTextReaders.TryParseSyslog(line, new DateTimeOffset(2026, 12, 4, 0, 0, 0, TimeSpan.Zero), out var record));
        Assert.Equal(text, record.Text);
    }

    [Fact]
    public async Task CapturedKmsg_CallerIdFieldAndDictionaryLines_AreReadAsOneRecord()
    {
        var text = """
            3,120,5000000,-,caller=T311;INFO: task C2 CompilerThre:4410 blocked for more than 122 seconds.
             SUBSYSTEM=block
             DEVICE=b259:0
            4,121,5100000,-,caller=C2;nvme nvme0: I/O 123 QID 4 timeout, aborting
            """;
        using var root = new NodeRoot();
        var analyzer = KernelAnalysis.Analyzer(root);
        var sink = new KernelRecordSink(new StringWriter(), analyzer, DateTimeOffset.MinValue, DateTimeOffset.MaxValue);

        await KernelTextReaders.ReadCapturedKmsgAsync(new MemoryStream(Encoding.UTF8.GetBytes(text)), DateTimeOffset.UnixEpoch, sink, 1 << 20, new KmsgReadStats(), CancellationToken.None);

        Assert.Equal(["KERNEL_HUNG_TASK", "NVME_TIMEOUT"], analyzer.Finish().Select(o => o.Code));
        Assert.Equal(0, sink.Unparsed);
    }

    private static List<Observation> Analyze(IReadOnlyList<string> lines)
    {
        using var root = new NodeRoot();
        return KernelAnalysis.Analyze(lines, root);
    }
}
