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
        { "C2 CompilerThre[4410]: segfault at 7f00000018 ip 00007f3a1b2c3d4e sp 00007f3a0a0b0c00 error 6 in libjvm.so[7f3a1a000000+1000000]", "PROCESS_SEGFAULT", null },

        // memory.oom.group (cgroup v2, Kubernetes 1.28+) and names with spaces and parentheses
        { "Tasks in /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/cri-containerd-1.scope are going to be killed due to memory.oom.group set", "KERNEL_OOM_KILL", "oom-group" },
        { "Memory cgroup out of memory: Killed process 77 ((sd-pam)) total-vm:1000kB, anon-rss:100kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:40kB oom_score_adj:0", "KERNEL_OOM_KILL", "oom-kill" },
        { "INFO: task C2 CompilerThre:4410 blocked for more than 122 seconds.", "KERNEL_HUNG_TASK", null },
        { "INFO: task kworker/u16:2+flush-8:0:311 blocked for more than 241 seconds.", "KERNEL_HUNG_TASK", null },
        { "watchdog: BUG: soft lockup - CPU#1 stuck for 26s! [kworker/u16:2:311]", "KERNEL_SOFT_LOCKUP", null },
        { "BTRFS error (device sda4: state E): level verify failed on logical 1234 mirror 1 wanted 1 found 0; forced readonly", "FS_READONLY", null },

        // block ends, user-space traps, warnings
        { "---[ end trace 8a1b2c3d4e5f6071 ]---", "KERNEL_OOPS", "block-end" },
        { "---[ end Kernel panic - not syncing: Fatal exception ]---", "KERNEL_OOPS", "block-end" },
        { "traps: node[2211] general protection fault ip:55d1c2a3b4c5 sp:7ffd12345678 error:0 in node[55d1c2a00000+2000000]", "PROCESS_TRAP", null },
        { "traps: VM Periodic Tas[1090] trap divide error ip:7f1a2b3c4d5e sp:7f1a00001000 error:0 in libjvm.so[7f1a1a000000+1000000]", "PROCESS_TRAP", null },
        { "traps: python3[3300] trap invalid opcode ip:7f00000001 sp:7ffe00000000 error:0 in libfoo.so[7f0000000000+100000]", "PROCESS_TRAP", null },
        { "WARNING: CPU: 2 PID: 1234 at net/core/dev.c:6210 netif_napi_add_weight+0x13d/0x150", "KERNEL_WARNING", null },
        { "Out of memory and no killable processes...", "KERNEL_OOM_NO_VICTIM", null },

        // storage
        { "nvme nvme0: I/O 123 QID 4 timeout, aborting", "NVME_TIMEOUT", null },
        { "nvme nvme1: I/O tag 18 (f012) opcode 0x2 (Read) QID 3 timeout, aborting req_op:READ(0) size:4096", "NVME_TIMEOUT", null },
        { "nvme nvme0: resetting controller", "NVME_CONTROLLER_RESET", null },
        { "nvme nvme2: controller is down; will reset: CSTS=0xffffffff, PCI_STATUS=0xffff", "NVME_CONTROLLER_RESET", null },
        { "nvme nvme0: Removing after probe failure status: -19", "DISK_REMOVED", null },
        { "sd 1:0:1:0: Device offlined - not ready after error recovery", "DISK_REMOVED", null },
        { "EXT4-fs (sda1): error count since last fsck: 4", "FS_EXT4_PAST_ERRORS", null },
        { "I/O error, dev sr0, sector 0 op 0x0:(READ) flags 0x80700 phys_seg 1 prio class 2", "DISK_IO_ERROR", "ignore" },
        { "Buffer I/O error on dev sr0, logical block 0, async page read", "DISK_IO_ERROR", "ignore" },

        // network filesystems, memory, network, GPU, Hyper-V
        { "nfs: server 10.0.0.4 not responding, still trying", "NETWORK_FS_UNRESPONSIVE", null },
        { "nfs: server 10.0.0.4 OK", "NETWORK_FS_UNRESPONSIVE", "recovery" },
        { "CIFS: VFS: \\\\stacct01.file.core.windows.net has not responded in 180 seconds. Reconnecting...", "NETWORK_FS_UNRESPONSIVE", null },
        { "kworker/1:2: page allocation failure: order:4, mode:0x40cc0(GFP_KERNEL|__GFP_COMP), nodemask=(null),cpuset=/,mems_allowed=0", "MEMORY_ALLOCATION_FAILURE", null },
        { "vmalloc: allocation failure: 0 bytes, mode:0xcc0(GFP_KERNEL), nodemask=(null)", "MEMORY_ALLOCATION_FAILURE", null },
        { "TCP: out of memory -- consider tuning tcp_mem", "TCP_OUT_OF_MEMORY", null },
        { "Memory failure: 0x3a5f12: recovery action for dirty LRU page: Recovered", "MEMORY_HWPOISON", null },
        { "NETDEV WATCHDOG: eth0 (mlx5_core): transmit queue 3 timed out 5320 ms", "NETDEV_TX_TIMEOUT", null },
        { "NVRM: Xid (PCI:0001:00:00): 79, pid=2311, name=python, GPU has fallen off the bus.", "GPU_XID", null },
        { "NVRM: Xid (PCI:0002:00:00): 48, pid='<unknown>', name=<unknown>, An uncorrectable double bit error (DBE) has been detected on GPU in the framebuffer at partition 0, subpartition 0.", "GPU_XID", null },
        { "hv_netvsc 000d3a6f-1c2b-000d-3a6f-1c2b000d3a6f eth0: VF unregistering: enP12345s1", "NIC_LINK_FLAP", null },
        { "hv_balloon: Balloon request will be partially fulfilled. Balloon floor reached.", "HV_BALLOON_FLOOR", null },
        { "hv_utils: Shutdown request received - graceful shutdown initiated", "HOST_SHUTDOWN_REQUEST", null },
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
        "nvme nvme0: pci function 0000:00:04.0",
        "nvme0n1: p1 p14 p15",
        "nfs: server 10.0.0.4 is now reachable over TCP",
        "EXT4-fs (sda1): initial error at time 1700000000: ext4_journal_check_start:83",
        "hv_netvsc 000d3a6f-1c2b-000d-3a6f-1c2b000d3a6f eth0: VF slot 1 added",
        "hv_netvsc 000d3a6f-1c2b-000d-3a6f-1c2b000d3a6f eth0: VF registering: enP12345s1",
        "hv_utils: Heartbeat IC version 3.0",
        "hv_balloon: Using Dynamic Memory protocol version 2.0",
        "NVRM: loading NVIDIA UNIX x86_64 Kernel Module  535.154.05",
        "TCP: request_sock_TCP: Possible SYN flooding on port 8080. Sending cookies.",
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
