using System.Collections.Frozen;
using Periscope.Agent.Collection;
using Periscope.Bundle;

namespace Periscope.Agent.Analysis;

/// <summary>
/// Every finding code the agent can raise. A code never changes meaning once released; a test keeps this list and
/// docs/findings.md in step.
/// </summary>
internal static class FindingCatalog
{
    public static readonly IReadOnlyList<FindingDefinition> All =
    [
        // system
        new(FindingCodes.MemoryPressure, "system", Severity.Critical, "Available memory is below the kubelet's hard eviction threshold."),
        new(FindingCodes.DiskPressure, "system", Severity.Critical, "A filesystem holding kubelet, runtime or log data is below its free-space threshold."),
        new(FindingCodes.InodePressure, "system", Severity.Critical, "A filesystem holding kubelet, runtime or log data is below its free-inode threshold."),
        new(FindingCodes.PidPressure, "system", Severity.Critical, "Few process ids are left before the kernel limit."),
        new(FindingCodes.ConntrackNearLimit, "system", Severity.Warning, "The connection-tracking table is close to full."),
        new(FindingCodes.FsReadOnlyMount, "system", Severity.Critical, "A filesystem holding kubelet, runtime or log data is mounted read-only."),
        new(FindingCodes.ClockUnsynced, "system", Severity.Warning, "The node's time-sync service reports the clock is not synchronised."),

        // kernel
        new("KERNEL_OOM_KILL", "kernel", Severity.Warning, "The kernel's OOM killer killed a process (critical when the whole node ran out of memory)."),
        new("KERNEL_HUNG_TASK", "kernel", Severity.Warning, "A task was blocked in the kernel for longer than the hung-task timeout."),
        new("KERNEL_SOFT_LOCKUP", "kernel", Severity.Critical, "A CPU was stuck in kernel mode (soft or hard lockup)."),
        new("KERNEL_RCU_STALL", "kernel", Severity.Warning, "An RCU grace period stalled: a CPU is not making progress."),
        new("KERNEL_OOPS", "kernel", Severity.Critical, "The kernel hit a BUG, oops, general protection fault, divide error or panic."),
        new("KERNEL_UNREGISTER_NETDEVICE", "kernel", Severity.Warning, "A network device could not be released (leaked reference), which blocks pod teardown."),
        new("FS_EXT4_ERROR", "kernel", Severity.Critical, "ext4 reported a filesystem error."),
        new("FS_READONLY", "kernel", Severity.Critical, "A filesystem was remounted read-only after an error."),
        new("FS_XFS_SHUTDOWN", "kernel", Severity.Critical, "XFS shut a filesystem down after an error."),
        new("DISK_IO_ERROR", "kernel", Severity.Critical, "A block device returned I/O errors."),
        new("MEMORY_READ_ERROR", "kernel", Severity.Warning, "The memory controller reported corrected (warning) or uncorrected (critical) errors."),
        new("HARDWARE_ERROR", "kernel", Severity.Warning, "The platform reported a hardware error; severity follows the CPER record."),
        new("CONNTRACK_TABLE_FULL", "kernel", Severity.Critical, "The connection-tracking table was full and packets were dropped."),
        new("NIC_LINK_FLAP", "kernel", Severity.Warning, "A network interface lost its link repeatedly."),
        new("PROCESS_SEGFAULT", "kernel", Severity.Info, "A user process crashed with a segmentation fault."),
        new("PROCESS_TRAP", "kernel", Severity.Info, "A user process crashed on a CPU trap (general protection fault, divide error, invalid opcode)."),
        new("KERNEL_WARNING", "kernel", Severity.Info, "The kernel printed a WARNING report (a condition its code did not expect; it went on running)."),
        new("KERNEL_OOM_NO_VICTIM", "kernel", Severity.Critical, "The node ran out of memory and the OOM killer found no process it could kill."),
        new("NVME_TIMEOUT", "kernel", Severity.Warning, "NVMe commands timed out and were aborted."),
        new("NVME_CONTROLLER_RESET", "kernel", Severity.Warning, "An NVMe controller was reset."),
        new("DISK_REMOVED", "kernel", Severity.Critical, "A disk was removed or taken offline by the kernel after it failed."),
        new("FS_EXT4_PAST_ERRORS", "kernel", Severity.Info, "An ext4 filesystem records errors from before this boot that no fsck has cleared."),
        new("NETWORK_FS_UNRESPONSIVE", "kernel", Severity.Warning, "An NFS or SMB (Azure Files) server stopped answering (info once it answered again)."),
        new("MEMORY_ALLOCATION_FAILURE", "kernel", Severity.Warning, "A kernel memory allocation failed (page allocation or vmalloc failure) without an OOM kill."),
        new("TCP_OUT_OF_MEMORY", "kernel", Severity.Warning, "TCP ran out of the socket buffer memory tcp_mem allows."),
        new("MEMORY_HWPOISON", "kernel", Severity.Warning, "A memory page failed (hardware poison) and was taken out of use; critical when recovery failed."),
        new("NETDEV_TX_TIMEOUT", "kernel", Severity.Warning, "A network interface's transmit queue timed out (NETDEV WATCHDOG)."),
        new("GPU_XID", "kernel", Severity.Warning, "An NVIDIA GPU reported an Xid error; severity follows the Xid."),
        new("HV_BALLOON_FLOOR", "kernel", Severity.Info, "The Hyper-V host asked for memory back and the VM's balloon reached its floor."),
        new("HOST_SHUTDOWN_REQUEST", "kernel", Severity.Warning, "The hypervisor host asked the VM to shut down or restart."),

        // kubelet
        new(FindingCodes.KubeletNotRunning, "kubelet", Severity.Critical, "No kubelet process on a Kubernetes node."),
        new(FindingCodes.KubeletUnhealthy, "kubelet", Severity.Critical, "The kubelet's healthz does not answer 200."),
        new(FindingCodes.KubeletCertExpiring, "kubelet", Severity.Warning, "A kubelet certificate expires soon."),
        new(FindingCodes.KubeletCertExpired, "kubelet", Severity.Critical, "A kubelet certificate has expired."),
        new("KUBELET_RESTARTS_FREQUENT", "kubelet", Severity.Warning, "The kubelet started many times within a short window (from its journal)."),
        new("KUBELET_PLEG_UNHEALTHY", "kubelet", Severity.Warning, "The kubelet logged that its pod lifecycle event generator was not healthy."),
        new("KUBELET_SANDBOX_CREATE_FAILED", "kubelet", Severity.Warning, "The kubelet logged that it could not create a pod's sandbox."),
        new("KUBELET_IMAGEFS_UNAVAILABLE", "kubelet", Severity.Warning, "The kubelet logged that it could not read the image filesystem."),
        new("KUBELET_EVICTING", "kubelet", Severity.Warning, "The kubelet's eviction manager logged that it was reclaiming a resource."),
        new("KUBELET_NODE_NOT_READY", "kubelet", Severity.Warning, "The kubelet logged that it marked the node NotReady."),
        new("KUBELET_API_UNREACHABLE", "kubelet", Severity.Warning, "The kubelet logged that it could not reach or authenticate to the API server."),

        // containerd (CRI)
        new(FindingCodes.RuntimeUnreachable, "containerd", Severity.Critical, "The container runtime's CRI socket is missing, refuses connections or does not answer."),
        new(FindingCodes.RuntimeNotReady, "containerd", Severity.Critical, "The runtime reports RuntimeReady=false."),
        new(FindingCodes.RuntimeNetworkNotReady, "containerd", Severity.Critical, "The runtime reports NetworkReady=false (typically: CNI not initialised)."),
        new(FindingCodes.ContainerCrashLoop, "containerd", Severity.Warning, "A container keeps restarting and its last exit was non-zero."),
        new(FindingCodes.ContainerOomKilled, "containerd", Severity.Warning, "A container was killed for exceeding its memory limit (joined with the kernel's OOM kill when both are seen)."),
        new(FindingCodes.SandboxNotReady, "containerd", Severity.Warning, "A pod's newest sandbox, already re-created by the kubelet, is not ready."),
        new(FindingCodes.ImageFsPressure, "containerd", Severity.Warning, "The runtime's image filesystem is nearly full."),
        new(FindingCodes.RuntimeApiSlow, "containerd", Severity.Warning, "A CRI call took longer than the threshold."),
        new("CONTAINERD_RESTARTS_FREQUENT", "containerd", Severity.Warning, "containerd started many times within a short window (from its journal)."),

        // dns
        new(FindingCodes.DnsNoNameservers, "dns", Severity.Critical, "The node's resolv.conf is missing or names no name server."),
        new(FindingCodes.DnsTimeout, "dns", Severity.Critical, "A name server did not answer within the deadline."),
        new(FindingCodes.DnsServfail, "dns", Severity.Critical, "A name server answered SERVFAIL."),
        new(FindingCodes.DnsClusterNameFails, "dns", Severity.Critical, "Cluster DNS answered, but not with an address for kubernetes.default.svc.<clusterDomain>."),
        new(FindingCodes.DnsSlow, "dns", Severity.Warning, "A name server answered slower than the threshold."),
        new(FindingCodes.DnsSearchLimits, "dns", Severity.Warning, "The resolv.conf pods are built from has more search domains, search characters or name servers than are honoured."),
        new(FindingCodes.DnsNdotsAmplification, "dns", Severity.Info, "Pods' ndots:5 and search list multiply the lookups for every external name."),

        // cni
        new(FindingCodes.CniConfigMissing, "cni", Severity.Critical, "No CNI configuration on a Kubernetes node."),
        new(FindingCodes.CniPluginMissing, "cni", Severity.Critical, "A plugin binary the active CNI configuration needs is missing or not executable."),
        new(FindingCodes.CniConfigInvalid, "cni", Severity.Warning, "A CNI configuration file is not valid (critical when no valid one is left)."),
        new(FindingCodes.CniIpExhaustion, "cni", Severity.Warning, "A pod address range is nearly (warning) or completely (critical) allocated."),
        new(FindingCodes.CniMtuMismatch, "cni", Severity.Warning, "A pod-side interface or the CNI config has a larger MTU than the node's primary interface allows."),
        new(FindingCodes.NicErrors, "cni", Severity.Warning, "An interface has errors or drops above the threshold share of its packets."),
        new(FindingCodes.IptablesRulesExcessive, "cni", Severity.Warning, "The node has more packet-filter rules than the threshold."),

        // azure
        new(FindingCodes.AzureEventScheduled, "azure", Severity.Critical, "Azure scheduled maintenance for this VM: critical for Preempt, Terminate and Redeploy, warning for Reboot and Freeze."),
        new(FindingCodes.SpotNode, "azure", Severity.Info, "The node is an Azure Spot VM: Azure may evict it at any time with 30 s notice."),
        new(FindingCodes.AzureImdsUnreachable, "azure", Severity.Warning, "On an Azure VM, the Instance Metadata Service refused, failed or did not answer."),

        // connectivity
        new(FindingCodes.ApiServerUnreachable, "connectivity", Severity.Critical, "The node cannot resolve, reach or complete TLS with the API server its kubelet uses."),
        new(FindingCodes.EgressBlocked, "connectivity", Severity.Warning, "An endpoint the node depends on cannot be resolved, reached, or its TLS completed with a valid certificate."),
        new(FindingCodes.TlsIntercepted, "connectivity", Severity.Warning, "An endpoint answered TLS with a certificate that chains to no trusted root, as a TLS-inspecting firewall does."),
    ];

    private static readonly FrozenDictionary<string, FindingDefinition> ByCode = All.ToFrozenDictionary(d => d.Code, StringComparer.Ordinal);

    public static bool IsRegistered(string code) => ByCode.ContainsKey(code);

    public static FindingDefinition Get(string code)
        => ByCode.TryGetValue(code, out var definition)
            ? definition
            : throw new KeyNotFoundException($"Finding code '{code}' is not registered in FindingCatalog.");
}
