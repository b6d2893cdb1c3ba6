using System.Text.RegularExpressions;
using Periscope.Agent.Analysis;
using Periscope.Agent.Collection.LogRules;
using Periscope.Agent.Collectors.Kernel;
using Periscope.Bundle;
using Xunit;

namespace Periscope.Agent.Tests.Collectors.Kernel;

/// <summary>The shipped rule table, checked like a shipped config file, against real kernel lines.</summary>
public sealed class KernelRuleTableTests
{
    private static readonly LogRuleSet Rules = KernelRules.Default;

    public static TheoryData<string, string, string?> MatchingLines => new()
    {
        // OOM killer, kernel >= 5.x (one-line context + kill line) and 4.x (Kill process ... or sacrifice child)
        { "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=cri-containerd-1.scope,mems_allowed=0,oom_memcg=/kubepods/burstable/pod1,task_memcg=/kubepods/burstable/pod1/c1,task=stress,pid=4242,uid=0", "KERNEL_OOM_KILL", "oom-context" },
        { "Task in /kubepods/burstable/pod2c3d4e5f-6071-8293-a4b5-c6d7e8f90112/3333 killed as a result of limit of /kubepods/burstable/pod2c3d4e5f-6071-8293-a4b5-c6d7e8f90112", "KERNEL_OOM_KILL", "oom-context" },
        { "Memory cgroup out of memory: Killed process 4242 (stress) total-vm:1052000kB, anon-rss:524288kB, file-rss:1024kB, shmem-rss:0kB, UID:0 pgtables:1100kB oom_score_adj:939", "KERNEL_OOM_KILL", "oom-kill" },
        { "Out of memory: Killed process 6161 (python3) total-vm:8000000kB, anon-rss:7000000kB, file-rss:0kB, shmem-rss:0kB, UID:1000 pgtables:14000kB oom_score_adj:1000", "KERNEL_OOM_KILL", "oom-kill" },
        { "Memory cgroup out of memory: Kill process 5151 (java) score 1987 or sacrifice child", "KERNEL_OOM_KILL", "oom-kill" },
        { "Out of memory: Kill process 812 (mysqld) score 201 or sacrifice child", "KERNEL_OOM_KILL", "oom-kill" },
        { "Killed process 5151 (java) total-vm:2000000kB, anon-rss:262000kB, file-rss:2000kB, shmem-rss:0kB", "KERNEL_OOM_KILL", "oom-detail" },
        { "INFO: task kworker/u8:2:1234 blocked for more than 120 seconds.", "KERNEL_HUNG_TASK", null },
        { "watchdog: BUG: soft lockup - CPU#3 stuck for 23s! [containerd:981]", "KERNEL_SOFT_LOCKUP", null },
        { "BUG: soft lockup - CPU#0 stuck for 22s! [swapper/0:0]", "KERNEL_SOFT_LOCKUP", null },
        { "NMI watchdog: Watchdog detected hard LOCKUP on cpu 2", "KERNEL_SOFT_LOCKUP", null },
        { "rcu: INFO: rcu_sched detected stalls on CPUs/tasks:", "KERNEL_RCU_STALL", null },
        { "INFO: rcu_preempt self-detected stall on CPU", "KERNEL_RCU_STALL", null },
        { "BUG: unable to handle kernel NULL pointer dereference at 0000000000000008", "KERNEL_OOPS", null },
        { "BUG: kernel NULL pointer dereference, address: 0000000000000040", "KERNEL_OOPS", null },
        { "Oops: 0000 [#1] SMP PTI", "KERNEL_OOPS", null },
        { "general protection fault, probably for non-canonical address 0xdead000000000100: 0000 [#1] SMP NOPTI", "KERNEL_OOPS", null },
        { "divide error: 0000 [#1] SMP PTI", "KERNEL_OOPS", null },
        { "Kernel panic - not syncing: Fatal exception in interrupt", "KERNEL_OOPS", null },
        { "kernel BUG at mm/slub.c:4002!", "KERNEL_OOPS", null },
        { "unregister_netdevice: waiting for eth0 to become free. Usage count = 1", "KERNEL_UNREGISTER_NETDEVICE", null },
        { "EXT4-fs error (device sda1): ext4_find_entry:1455: inode #2: comm ls: reading directory lblock 0", "FS_EXT4_ERROR", null },
        { "EXT4-fs (sda1): Remounting filesystem read-only", "FS_READONLY", null },
        { "BTRFS: error (device nvme0n1p2) in btrfs_commit_transaction:2418: errno=-5 IO failure (Error while writing out transaction); forced readonly", "FS_READONLY", null },
        { "XFS (sdb1): Corruption of in-memory data detected.  Shutting down filesystem", "FS_XFS_SHUTDOWN", null },
        { "XFS (dm-0): Filesystem has been shut down due to log error (0x2).", "FS_XFS_SHUTDOWN", null },
        { "blk_update_request: I/O error, dev sdb, sector 2048 op 0x1:(WRITE) flags 0x0 phys_seg 1 prio class 0", "DISK_IO_ERROR", null },
        { "I/O error, dev nvme1n1, sector 1234 op 0x0:(READ) flags 0x80700 phys_seg 1 prio class 2", "DISK_IO_ERROR", null },
        { "Buffer I/O error on dev sdc1, logical block 0, async page read", "DISK_IO_ERROR", null },
        { "EDAC MC0: 1 CE memory read error on CPU_SrcID#0_Ha#0_Chan#1_DIMM#0 (channel:1 slot:0 page:0x12345 offset:0x0 grain:32 syndrome:0x0)", "MEMORY_READ_ERROR", null },
        { "EDAC skx MC1: 1 UE memory read error on CPU_SrcID#1_MC#0_Chan#0_DIMM#0", "MEMORY_READ_ERROR", null },
        { "{1}[Hardware Error]: event severity: fatal", "HARDWARE_ERROR", null },
        { "mce: [Hardware Error]: CPU 2: Machine Check: 0 Bank 5: be00000000800400", "HARDWARE_ERROR", null },
        { "nf_conntrack: nf_conntrack: table full, dropping packet", "CONNTRACK_TABLE_FULL", null },
        { "nf_conntrack: table full, dropping packet", "CONNTRACK_TABLE_FULL", null },
        { "e1000e: eth0 NIC Link is Down", "NIC_LINK_FLAP", null },
        { "igb 0000:01:00.0 eno1: igb: eno1 NIC Link is Down", "NIC_LINK_FLAP", null },
        { "mlx5_core 0000:00:02.0 enP1s2: Link down", "NIC_LINK_FLAP", null },
        { "app[7788]: segfault at 0 ip 000055d1c2a3b4c5 sp 00007ffd12345678 error 4 in app[55d1c2a00000+10000]", "PROCESS_SEGFAULT", null },
    };

    public static TheoryData<string> NonMatchingLines => new()
    {
        "DEBUG: starting worker",                        // "BUG" inside another word
        "EXT4-fs (sda1): mounted filesystem with ordered data mode. Quota mode: none.",
        "e1000e: eth0 NIC Link is Up 1000 Mbps Full Duplex, Flow Control: Rx/Tx",
        "XFS (sda1): Mounting V5 Filesystem",
        "nf_conntrack: default automatic helper assignment has been turned off for security reasons",
        "systemd[1]: Started Kubernetes Kubelet.",
        "rcu: Hierarchical RCU implementation.",
        "Memory: 16302536K/16776692K available (16384K kernel code, 3366K rwdata)",
        "EDAC MC: Ver: 3.0.0",
        "[Firmware Bug]: TSC doesn't count with P0 frequency!",
        "oom_reaper: reaped process 4242 (stress), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB",
    };

    [Fact]
    public void ShippedTable_Loads_AndEveryCodeIsRegistered()
    {
        Assert.NotEmpty(Rules.Rules);
        Assert.All(Rules.Rules, r => Assert.True(FindingCatalog.IsRegistered(r.Code), $"{r.Code} is not in FindingCatalog"));
        Assert.All(Rules.Rules, r => Assert.Equal("kernel", FindingCatalog.Get(r.Code).Collector));
    }

    [Fact]
    public void ShippedTable_CoversEveryKernelCodeOfTheCatalog()
    {
        var kernelCodes = FindingCatalog.All.Where(d => d.Collector == "kernel").Select(d => d.Code).ToHashSet();
        Assert.Equal(kernelCodes, Rules.Rules.Select(r => r.Code).ToHashSet());
    }

    [Fact]
    public void ShippedTable_PatternsAreEreCompatible()
    {
        // bench/ exports the patterns to grep -E: only ERE syntax plus named groups (?<name>...) is allowed.
        foreach (var rule in Rules.Rules)
        {
            var pattern = rule.Definition.Pattern;
            Assert.DoesNotContain("(?:", pattern, StringComparison.Ordinal);
            Assert.DoesNotMatch(new Regex(@"\\[dDsSwWbB]"), pattern);
            Assert.DoesNotMatch(new Regex(@"[*+?}]\?"), pattern); // lazy quantifiers
            Assert.DoesNotMatch(new Regex(@"\(\?[=!<][^a-zA-Z]"), pattern); // lookarounds
        }
    }

    [Theory]
    [MemberData(nameof(MatchingLines))]
    public void Match_RealKernelLine_IsClassified(string line, string code, string? role)
    {
        var match = Rules.Match(line);

        Assert.NotNull(match);
        Assert.Equal(code, match.Rule.Code);
        Assert.Equal(role ?? "event", match.Rule.Role);
    }

    [Theory]
    [MemberData(nameof(MatchingLines))]
    public void Match_RealKernelLine_HoldsOneOfItsRulesKeywords(string line, string code, string? role)
    {
        _ = role;
        var rule = Rules.Match(line)!.Rule;
        Assert.Equal(code, rule.Code);
        Assert.Contains(rule.Keywords, k => line.Contains(k, StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(NonMatchingLines))]
    public void Match_BenignLine_IsNotClassified(string line)
        => Assert.Null(Rules.Match(line));

    [Fact]
    public void Match_HardwareErrorSeverity_FollowsCperLine()
    {
        Assert.Equal(Severity.Critical, SeverityOf("{1}[Hardware Error]: event severity: fatal"));
        Assert.Equal(Severity.Warning, SeverityOf("{1}[Hardware Error]: event severity: recoverable"));
        Assert.Equal(Severity.Info, SeverityOf("{1}[Hardware Error]: event severity: corrected"));
        Assert.Equal(Severity.Warning, SeverityOf("EDAC MC0: 1 CE memory read error on DIMM#0"));
        Assert.Equal(Severity.Critical, SeverityOf("EDAC MC0: 1 UE memory read error on DIMM#0"));
    }

    [Fact]
    public void Compile_RuleWithoutKeywords_IsRefused()
    {
        var error = Assert.Throws<InvalidDataException>(() => LogRuleSet.FromDefinitions(
        [
            new LogRuleDefinition { Code = "X", Title = "x", Pattern = "x" },
        ]));
        Assert.Contains("keywords", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Compile_InvalidPattern_IsRefusedWithRuleName()
    {
        var error = Assert.Throws<InvalidDataException>(() => LogRuleSet.FromDefinitions(
        [
            new LogRuleDefinition { Code = "X", Title = "x", Pattern = "(unclosed", Keywords = ["u"] },
        ]));
        Assert.Contains("X", error.Message, StringComparison.Ordinal);
    }

    private static Severity SeverityOf(string line)
    {
        var match = Rules.Match(line)!;
        return match.Rule.SeverityFor(match.Match);
    }
}
