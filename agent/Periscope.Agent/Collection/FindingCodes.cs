namespace Periscope.Agent.Collection;

/// <summary>
/// The finding codes collectors' rules raise, named once: rules build observations with them and the analysis's
/// catalog (<c>Analysis/FindingCatalog</c>) registers them. Codes from a rule table (kernel, kubelet log signatures)
/// live in that table's data.
/// </summary>
internal static class FindingCodes
{
    // system
    public const string MemoryPressure = "MEMORY_PRESSURE";
    public const string DiskPressure = "DISK_PRESSURE";
    public const string InodePressure = "INODE_PRESSURE";
    public const string PidPressure = "PID_PRESSURE";
    public const string ConntrackNearLimit = "CONNTRACK_NEAR_LIMIT";
    public const string FsReadOnlyMount = "FS_READONLY_MOUNT";
    public const string ClockUnsynced = "CLOCK_UNSYNCED";

    // containerd (CRI)
    public const string RuntimeUnreachable = "RUNTIME_UNREACHABLE";
    public const string RuntimeNotReady = "RUNTIME_NOT_READY";
    public const string RuntimeNetworkNotReady = "RUNTIME_NETWORK_NOT_READY";
    public const string ContainerCrashLoop = "CONTAINER_CRASHLOOP";
    public const string ContainerOomKilled = "CONTAINER_OOMKILLED";
    public const string SandboxNotReady = "SANDBOX_NOT_READY";
    public const string ImageFsPressure = "IMAGEFS_PRESSURE";
    public const string RuntimeApiSlow = "RUNTIME_API_SLOW";

    // cni
    public const string CniConfigMissing = "CNI_CONFIG_MISSING";
    public const string CniConfigInvalid = "CNI_CONFIG_INVALID";
    public const string CniPluginMissing = "CNI_PLUGIN_MISSING";
    public const string CniIpExhaustion = "CNI_IP_EXHAUSTION";
    public const string CniMtuMismatch = "CNI_MTU_MISMATCH";
    public const string NicErrors = "NIC_ERRORS";
    public const string IptablesRulesExcessive = "IPTABLES_RULES_EXCESSIVE";

    // kubelet
    public const string KubeletNotRunning = "KUBELET_NOT_RUNNING";
    public const string KubeletUnhealthy = "KUBELET_UNHEALTHY";
    public const string KubeletCertExpiring = "KUBELET_CERT_EXPIRING";
    public const string KubeletCertExpired = "KUBELET_CERT_EXPIRED";

    // dns
    public const string DnsNoNameservers = "DNS_NO_NAMESERVERS";
    public const string DnsTimeout = "DNS_TIMEOUT";
    public const string DnsServfail = "DNS_SERVFAIL";
    public const string DnsClusterNameFails = "DNS_CLUSTER_NAME_FAILS";
    public const string DnsSlow = "DNS_SLOW";
    public const string DnsSearchLimits = "DNS_SEARCH_LIMITS";
    public const string DnsNdotsAmplification = "DNS_NDOTS_AMPLIFICATION";

    // azure
    public const string AzureEventScheduled = "AZURE_EVENT_SCHEDULED";
    public const string SpotNode = "SPOT_NODE";
    public const string AzureImdsUnreachable = "AZURE_IMDS_UNREACHABLE";

    // connectivity
    public const string EgressBlocked = "EGRESS_BLOCKED";
    public const string ApiServerUnreachable = "API_SERVER_UNREACHABLE";
    public const string TlsIntercepted = "TLS_INTERCEPTED";
}
