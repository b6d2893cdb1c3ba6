using System.Collections.Frozen;
using System.Text;
using Periscope.Bundle;

namespace Periscope.Agent.Signals;

/// <summary>
/// The one mapping from finding codes to signals: which node condition each code holds True, which are Events, the
/// scope, and the recommended action. docs/signals.md is this table in prose; a test keeps the two, and this table and
/// docs/findings.md, in step. The bundle, the report, the conditions, <c>/v1/signals</c> and the metrics all read it.
/// </summary>
internal static class SignalMap
{
    /// <summary>Every condition type Periscope owns starts with this; nothing else does.</summary>
    public const string ConditionPrefix = "Periscope";

    /// <summary>Every condition message Periscope writes starts with this (how an NPD-compatible type it set is told apart).</summary>
    public const string MessagePrefix = "periscope-agent: ";

    public const string ContainerRuntimeUnhealthy = ConditionPrefix + "ContainerRuntimeUnhealthy";
    public const string ContainerRuntimeNetworkNotReady = ConditionPrefix + "ContainerRuntimeNetworkNotReady";
    public const string KubeletUnhealthy = ConditionPrefix + "KubeletUnhealthy";
    public const string KubeletCertificateExpiring = ConditionPrefix + "KubeletCertificateExpiring";
    public const string KubeletCertificateExpired = ConditionPrefix + "KubeletCertificateExpired";
    public const string FilesystemReadOnly = ConditionPrefix + "FilesystemReadOnly";
    public const string FilesystemCorrupt = ConditionPrefix + "FilesystemCorrupt";
    public const string DiskFailing = ConditionPrefix + "DiskFailing";
    public const string HardwareError = ConditionPrefix + "HardwareError";
    public const string GpuFailing = ConditionPrefix + "GpuFailing";
    public const string KernelLockup = ConditionPrefix + "KernelLockup";
    public const string KernelOops = ConditionPrefix + "KernelOops";
    public const string MemoryExhausted = ConditionPrefix + "MemoryExhausted";
    public const string ConntrackTableFull = ConditionPrefix + "ConntrackTableFull";
    public const string PodIPExhaustion = ConditionPrefix + "PodIPExhaustion";
    public const string NetworkPluginNotConfigured = ConditionPrefix + "NetworkPluginNotConfigured";
    public const string ResolverNotConfigured = ConditionPrefix + "ResolverNotConfigured";

    // node-problem-detector's types (its kernel, docker and systemd monitors): only behind an option, off by default.
    public const string NpdKernelDeadlock = "KernelDeadlock";
    public const string NpdReadonlyFilesystem = "ReadonlyFilesystem";
    public const string NpdFrequentKubeletRestart = "FrequentKubeletRestart";
    public const string NpdFrequentContainerdRestart = "FrequentContainerdRestart";

    private const Severity C = Severity.Critical;
    private const Severity W = Severity.Warning;

    public static readonly IReadOnlyList<SignalRule> All =
    [
        // system: the kubelet already reports memory, disk and PID pressure as its own conditions.
        Signal("MEMORY_PRESSURE", null, SignalAction.None, "the kubelet's MemoryPressure condition and eviction handle it"),
        Signal("DISK_PRESSURE", null, SignalAction.None, "the kubelet's DiskPressure condition and image garbage collection handle it"),
        Signal("INODE_PRESSURE", null, SignalAction.None, "the kubelet's DiskPressure condition handles it"),
        Signal("PID_PRESSURE", null, SignalAction.None, "the kubelet's PIDPressure condition handles it"),
        Signal("CONNTRACK_NEAR_LIMIT", null, SignalAction.None, "a load or tuning problem (nf_conntrack_max); a reboot only empties the table"),
        Signal("FS_READONLY_MOUNT", FilesystemReadOnly, SignalAction.Reboot, "a filesystem the node writes is read-only; a reboot runs fsck and mounts it again", npd: NpdReadonlyFilesystem),
        Signal("CLOCK_UNSYNCED", null, SignalAction.None, "the time-sync service must be fixed; a reboot does not"),

        // kernel
        Event("KERNEL_OOM_KILL", SignalAction.None, "a workload exceeded its memory; the node is fine"),
        Event("KERNEL_HUNG_TASK", SignalAction.None, "often I/O stalls that pass; a lockup or a failing disk is its own signal"),
        Signal("KERNEL_SOFT_LOCKUP", KernelLockup, SignalAction.Reboot, "a CPU stuck in the kernel does not recover by itself", npd: NpdKernelDeadlock),
        Event("KERNEL_RCU_STALL", SignalAction.None, "a stall that may pass; a lockup is its own signal"),
        Signal("KERNEL_OOPS", KernelOops, SignalAction.Reboot, "after an oops the kernel's state cannot be trusted"),
        Event("KERNEL_UNREGISTER_NETDEVICE", SignalAction.None, "a leaked device reference blocks pod teardown; watch for repeats"),
        Signal("FS_EXT4_ERROR", FilesystemCorrupt, SignalAction.Reboot, "a reboot runs fsck on the damaged filesystem"),
        Signal("FS_READONLY", FilesystemReadOnly, SignalAction.Reboot, "a filesystem was remounted read-only; a reboot runs fsck and mounts it again", npd: NpdReadonlyFilesystem),
        Signal("FS_XFS_SHUTDOWN", FilesystemCorrupt, SignalAction.Reboot, "a shut-down XFS filesystem needs unmounting and repair"),
        Signal("DISK_IO_ERROR", DiskFailing, SignalAction.Replace, "a disk returning I/O errors does not heal"),
        Signal("MEMORY_READ_ERROR", HardwareError, SignalAction.Replace, "uncorrected memory errors mean failing hardware (corrected ones are a warning)"),
        Signal("HARDWARE_ERROR", HardwareError, SignalAction.Replace, "a fatal platform error means failing hardware"),
        Signal("CONNTRACK_TABLE_FULL", ConntrackTableFull, SignalAction.None, "packets are dropped, but a reboot only empties the table: raise nf_conntrack_max or find the load"),
        Event("NIC_LINK_FLAP", SignalAction.None, "link loss that recovered"),
        None("PROCESS_SEGFAULT", "a process crash; the crash loop signal covers a container"),
        None("PROCESS_TRAP", "a process crash; the crash loop signal covers a container"),
        None("KERNEL_WARNING", "the kernel went on running"),
        Signal("KERNEL_OOM_NO_VICTIM", MemoryExhausted, SignalAction.Reboot, "out of memory with nothing left to kill: the node cannot recover by itself"),
        Event("NVME_TIMEOUT", SignalAction.None, "timeouts the driver recovered from; failing I/O is its own signal"),
        Event("NVME_CONTROLLER_RESET", SignalAction.None, "a reset the driver recovered from; failing I/O is its own signal"),
        Signal("DISK_REMOVED", DiskFailing, SignalAction.Replace, "the kernel gave up on a disk"),
        None("FS_EXT4_PAST_ERRORS", "errors from before this boot: a maintenance fsck, not an alarm"),
        Event("NETWORK_FS_UNRESPONSIVE", SignalAction.None, "the file server is the problem, and it serves other nodes too", SignalScope.Cluster),
        Event("MEMORY_ALLOCATION_FAILURE", SignalAction.None, "the kernel recovers from a failed allocation"),
        Event("TCP_OUT_OF_MEMORY", SignalAction.None, "a socket buffer limit (tcp_mem) was reached; tune or find the load"),
        Signal("MEMORY_HWPOISON", HardwareError, SignalAction.Replace, "a memory page failed and recovery failed: failing hardware"),
        Event("NETDEV_TX_TIMEOUT", SignalAction.None, "the driver resets the queue; repeats show in link flaps or NIC errors"),
        Signal("GPU_XID", GpuFailing, SignalAction.Reboot, "a fatal Xid (the GPU fell off the bus, double-bit ECC) needs a reset of the GPU, which a reboot gives"),
        None("HV_BALLOON_FLOOR", "the host reclaiming memory is not a fault"),
        Event("HOST_SHUTDOWN_REQUEST", SignalAction.None, "the platform is already restarting the machine"),

        // kubelet
        Signal("KUBELET_NOT_RUNNING", KubeletUnhealthy, SignalAction.Reboot, "no kubelet means no pods; a reboot starts its unit again"),
        Signal("KUBELET_UNHEALTHY", KubeletUnhealthy, SignalAction.Reboot, "a kubelet that does not answer its health check runs no pods reliably"),
        Signal("KUBELET_CERT_EXPIRING", KubeletCertificateExpiring, SignalAction.None, "rotation should renew it; an operator checks why it has not", at: W),
        Signal("KUBELET_CERT_EXPIRED", KubeletCertificateExpired, SignalAction.Replace, "a kubelet whose certificate expired cannot rejoin the cluster; a new machine bootstraps a new one"),
        Event("KUBELET_RESTARTS_FREQUENT", SignalAction.None, "the restarts' cause is in the kubelet's log", npd: NpdFrequentKubeletRestart, at: W),
        Event("KUBELET_PLEG_UNHEALTHY", SignalAction.None, "often the runtime is slow; the runtime's own signals say more"),
        Event("KUBELET_SANDBOX_CREATE_FAILED", SignalAction.None, "a pod's sandbox failed; the network plugin's signals say more"),
        Event("KUBELET_IMAGEFS_UNAVAILABLE", SignalAction.None, "the runtime's image filesystem could not be read"),
        Event("KUBELET_EVICTING", SignalAction.None, "the kubelet is reclaiming resources as designed"),
        Event("KUBELET_NODE_NOT_READY", SignalAction.None, "the node's own Ready condition carries it"),
        Event("KUBELET_API_UNREACHABLE", SignalAction.None, "the API server or the path to it is down, for every node alike", SignalScope.Cluster),

        // containerd
        Signal("RUNTIME_UNREACHABLE", ContainerRuntimeUnhealthy, SignalAction.RestartRuntime, "the runtime does not answer on its socket; restarting it is the mildest fix"),
        Signal("RUNTIME_NOT_READY", ContainerRuntimeUnhealthy, SignalAction.RestartRuntime, "the runtime says it is not ready; restarting it is the mildest fix"),
        Signal("RUNTIME_NETWORK_NOT_READY", ContainerRuntimeNetworkNotReady, SignalAction.None, "the network plugin's own DaemonSet must write its configuration; restarting the runtime does not"),
        Event("CONTAINER_CRASHLOOP", SignalAction.None, "a workload's problem, not the node's"),
        Event("CONTAINER_OOMKILLED", SignalAction.None, "a workload exceeded its memory limit"),
        Event("SANDBOX_NOT_READY", SignalAction.None, "a pod's sandbox is being re-created"),
        Signal("IMAGEFS_PRESSURE", null, SignalAction.None, "the kubelet's image garbage collection and DiskPressure handle it"),
        Event("RUNTIME_API_SLOW", SignalAction.None, "a slow call that answered"),
        Event("CONTAINERD_RESTARTS_FREQUENT", SignalAction.None, "the restarts' cause is in containerd's log", npd: NpdFrequentContainerdRestart, at: W),

        // dns: the node's resolver configuration is the node's; a failing server is usually everyone's.
        Signal("DNS_NO_NAMESERVERS", ResolverNotConfigured, SignalAction.None, "the node's resolver configuration must be fixed; a reboot does not write it"),
        Event("DNS_TIMEOUT", SignalAction.None, "a name server that does not answer fails every node alike", SignalScope.Cluster),
        Event("DNS_SERVFAIL", SignalAction.None, "a failing name server fails every node alike", SignalScope.Cluster),
        Event("DNS_CLUSTER_NAME_FAILS", SignalAction.None, "cluster DNS failing fails every node alike", SignalScope.Cluster),
        Event("DNS_SLOW", SignalAction.None, "a slow name server slows every node alike", SignalScope.Cluster),
        Signal("DNS_SEARCH_LIMITS", null, SignalAction.None, "a configuration limit pods hit; fix the search list"),
        None("DNS_NDOTS_AMPLIFICATION", "advice on pods' DNS settings"),

        // cni
        Signal("CNI_CONFIG_MISSING", NetworkPluginNotConfigured, SignalAction.None, "the network plugin's DaemonSet must install its configuration; a reboot does not"),
        Signal("CNI_PLUGIN_MISSING", NetworkPluginNotConfigured, SignalAction.None, "the network plugin's DaemonSet must install its binaries; a reboot does not"),
        Signal("CNI_CONFIG_INVALID", NetworkPluginNotConfigured, SignalAction.None, "the network plugin's configuration must be fixed; a reboot does not"),
        Signal("CNI_IP_EXHAUSTION", PodIPExhaustion, SignalAction.None, "the node's pod address range is used up; leaked addresses or the range's size must be fixed"),
        Signal("CNI_MTU_MISMATCH", null, SignalAction.None, "a configuration mismatch; fix the MTU"),
        Event("NIC_ERRORS", SignalAction.None, "interface errors; persistent ones point at the NIC or its driver"),
        Signal("IPTABLES_RULES_EXCESSIVE", null, SignalAction.None, "a scale problem of the rule writers (kube-proxy, network policy)"),

        // azure: Azure acts on its VMs itself.
        Signal("AZURE_EVENT_SCHEDULED", null, SignalAction.None, "Azure acts on the VM itself at the scheduled time (AKS cordons and drains for Preempt and Redeploy); a repair would race it"),
        None("SPOT_NODE", "a fact about the VM that explains abrupt losses"),
        Signal("AZURE_IMDS_UNREACHABLE", null, SignalAction.None, "a network policy, firewall or proxy must let the node reach 169.254.169.254; a reboot does not"),

        // connectivity: the path out of the node is usually every node's.
        Event("API_SERVER_UNREACHABLE", SignalAction.None, "the path to the API server (DNS, routes, firewall, private endpoint) is usually every node's; a reboot does not fix it", SignalScope.Cluster),
        Event("EGRESS_BLOCKED", SignalAction.None, "an egress rule, DNS or proxy blocks every node alike; a reboot does not fix it", SignalScope.Cluster),
        Event("TLS_INTERCEPTED", SignalAction.None, "a TLS-inspecting middlebox re-signs the traffic of every node; exempt the endpoint or trust its CA", SignalScope.Cluster),
    ];

    private static readonly FrozenDictionary<string, SignalRule> ByCode = All.ToFrozenDictionary(r => r.Code, StringComparer.Ordinal);

    private static readonly FrozenDictionary<string, string> ByReason = All.ToFrozenDictionary(r => r.Reason, r => r.Code, StringComparer.Ordinal);

    /// <summary>Every condition type Periscope owns (the Periscope-prefixed ones in the table).</summary>
    public static readonly IReadOnlyList<string> OwnedConditions = All.Where(r => r.Condition is not null).Select(r => r.Condition!).Distinct(StringComparer.Ordinal).ToList();

    /// <summary>Every node-problem-detector type a row maps to.</summary>
    public static readonly IReadOnlyList<string> NpdConditions = All.Where(r => r.NpdCondition is not null).Select(r => r.NpdCondition!).Distinct(StringComparer.Ordinal).ToList();

    /// <summary>The condition types published under these options: the owned ones not excluded, then NPD's when on.</summary>
    public static IReadOnlyList<string> ConfiguredConditions(ConditionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var types = OwnedConditions.Where(t => !options.Exclude.Contains(t, StringComparer.Ordinal)).ToList();
        if (options.NpdCompatible)
        {
            types.AddRange(NpdConditions);
        }

        return types;
    }

    public static SignalRule? Get(string code) => ByCode.GetValueOrDefault(code);

    /// <summary>The code a condition reason names, or null.</summary>
    public static string? CodeOfReason(string? reason) => reason is null ? null : ByReason.GetValueOrDefault(reason);

    /// <summary>The codes that hold <paramref name="conditionType"/> True (with the NPD types when <paramref name="npd"/>).</summary>
    public static IReadOnlyList<SignalRule> RulesOf(string conditionType, bool npd)
        => All.Where(r => r.Condition == conditionType || (npd && r.NpdCondition == conditionType)).ToList();

    /// <summary>The code in PascalCase: RUNTIME_NOT_READY → RuntimeNotReady.</summary>
    public static string ReasonOf(string code)
    {
        ArgumentNullException.ThrowIfNull(code);
        var reason = new StringBuilder(code.Length);
        foreach (var word in code.Split('_', StringSplitOptions.RemoveEmptyEntries))
        {
            reason.Append(char.ToUpperInvariant(word[0])).Append(word[1..].ToLowerInvariant());
        }

        return reason.ToString();
    }

    private static SignalRule Signal(string code, string? condition, SignalAction action, string why, string? npd = null, Severity at = C)
        => new(code, SignalKind.Signal, condition, npd, at, SignalScope.Node, action, why);

    private static SignalRule Event(string code, SignalAction action, string why, SignalScope scope = SignalScope.Node, string? npd = null, Severity at = C)
        => new(code, SignalKind.Event, null, npd, at, scope, action, why);

    private static SignalRule None(string code, string why)
        => new(code, SignalKind.None, null, null, C, SignalScope.Node, SignalAction.None, why);
}
