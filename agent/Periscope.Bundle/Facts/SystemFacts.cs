using System.Text.Json.Serialization;

namespace Periscope.Bundle.Facts;

/// <summary>Basic node health read from /proc, /sys and the filesystems.</summary>
public sealed record SystemFacts
{
    /// <summary>Kernel release (<c>/proc/sys/kernel/osrelease</c>).</summary>
    public string? KernelRelease { get; init; }

    /// <summary>OS image (PRETTY_NAME of <c>/etc/os-release</c>).</summary>
    public string? OsImage { get; init; }

    /// <summary>OS id and version id of <c>/etc/os-release</c> (<c>ubuntu 22.04</c>).</summary>
    public string? OsVersion { get; init; }

    /// <summary>Seconds since boot (<c>/proc/uptime</c>).</summary>
    public double? UptimeSeconds { get; init; }

    /// <summary>Boot time (<c>btime</c> of <c>/proc/stat</c>).</summary>
    public DateTimeOffset? BootTime { get; init; }

    /// <summary>Memory figures.</summary>
    public MemoryFacts? Memory { get; init; }

    /// <summary>Load averages and thread counts (<c>/proc/loadavg</c>).</summary>
    public LoadFacts? Load { get; init; }

    /// <summary>Pressure stall information per resource (<c>cpu</c>, <c>memory</c>, <c>io</c>), where the kernel has it.</summary>
    public IReadOnlyDictionary<string, PressureFacts>? Pressure { get; init; }

    /// <summary>Process ids in use against the limit.</summary>
    public PidFacts? Pids { get; init; }

    /// <summary>Connection-tracking table use (the reader's network namespace: the host's under hostNetwork).</summary>
    public ConntrackFacts? Conntrack { get; init; }

    /// <summary>The filesystems holding the kubelet, runtime and log directories.</summary>
    [JsonRequired]
    public IReadOnlyList<FilesystemFacts> Filesystems { get; init; } = [];

    /// <summary>Clock synchronisation state.</summary>
    public TimeSyncFacts? TimeSync { get; init; }

    /// <summary>What could not be read, per source, and why.</summary>
    public IReadOnlyDictionary<string, string>? Unavailable { get; init; }
}

/// <summary>Memory figures from <c>/proc/meminfo</c>.</summary>
/// <param name="TotalBytes">MemTotal.</param>
/// <param name="AvailableBytes">MemAvailable.</param>
public sealed record MemoryFacts([property: JsonRequired] long TotalBytes, [property: JsonRequired] long AvailableBytes);

/// <summary>Load averages and scheduling entities from <c>/proc/loadavg</c>.</summary>
/// <param name="Load1">1-minute load average.</param>
/// <param name="Load5">5-minute load average.</param>
/// <param name="Load15">15-minute load average.</param>
/// <param name="Runnable">Runnable scheduling entities.</param>
/// <param name="Threads">All scheduling entities (threads).</param>
public sealed record LoadFacts([property: JsonRequired] double Load1, [property: JsonRequired] double Load5, [property: JsonRequired] double Load15, [property: JsonRequired] long Runnable, [property: JsonRequired] long Threads);

/// <summary>One resource's pressure stall information.</summary>
/// <param name="Some">The <c>some</c> line: at least one task stalled.</param>
/// <param name="Full">The <c>full</c> line: all non-idle tasks stalled (absent for cpu on older kernels).</param>
public sealed record PressureFacts(PressureLine? Some, PressureLine? Full);

/// <summary>One line of a <c>/proc/pressure/*</c> file.</summary>
/// <param name="Avg10">Percent of time stalled over 10 s.</param>
/// <param name="Avg60">Percent of time stalled over 60 s.</param>
/// <param name="Avg300">Percent of time stalled over 300 s.</param>
/// <param name="TotalMicroseconds">Total stall time.</param>
public sealed record PressureLine([property: JsonRequired] double Avg10, [property: JsonRequired] double Avg60, [property: JsonRequired] double Avg300, [property: JsonRequired] long TotalMicroseconds);

/// <summary>Process ids in use against the limit.</summary>
/// <param name="InUse">Threads in existence (every thread holds a pid).</param>
/// <param name="PidMax"><c>kernel.pid_max</c>.</param>
/// <param name="ThreadsMax"><c>kernel.threads-max</c>.</param>
/// <param name="Limit">The smaller of the two, as the kubelet counts it.</param>
public sealed record PidFacts([property: JsonRequired] long InUse, long? PidMax, long? ThreadsMax, [property: JsonRequired] long Limit);

/// <summary>Connection-tracking table use.</summary>
/// <param name="Count"><c>nf_conntrack_count</c>.</param>
/// <param name="Max"><c>nf_conntrack_max</c>.</param>
public sealed record ConntrackFacts([property: JsonRequired] long Count, [property: JsonRequired] long Max);

/// <summary>Use of the filesystem holding one directory that matters to Kubernetes.</summary>
public sealed record FilesystemFacts
{
    /// <summary>The directory asked about, as a path on the node (<c>/var/lib/kubelet</c>).</summary>
    public required string Path { get; init; }

    /// <summary>Role: <c>nodefs</c> (kubelet), <c>imagefs</c> (runtime) or <c>logs</c>.</summary>
    public required string Role { get; init; }

    /// <summary>The mount point holding it, from <c>/proc/mounts</c>.</summary>
    public string? MountPoint { get; init; }

    /// <summary>The mounted device.</summary>
    public string? Device { get; init; }

    /// <summary>Filesystem type.</summary>
    public string? FsType { get; init; }

    /// <summary>Whether the mount is read-only.</summary>
    [JsonRequired]
    public bool ReadOnly { get; init; }

    /// <summary>Whether the directory itself exists on the node.</summary>
    [JsonRequired]
    public bool Exists { get; init; }

    /// <summary>Size in bytes.</summary>
    public long? SizeBytes { get; init; }

    /// <summary>Bytes available to unprivileged users.</summary>
    public long? AvailableBytes { get; init; }

    /// <summary>Total inodes.</summary>
    public long? Inodes { get; init; }

    /// <summary>Free inodes.</summary>
    public long? InodesFree { get; init; }

    /// <summary>Why usage could not be measured, where it could not.</summary>
    public string? Error { get; init; }
}

/// <summary>Clock synchronisation state.</summary>
public sealed record TimeSyncFacts
{
    /// <summary>The time-sync service found on the node (<c>chronyd</c>, <c>systemd-timesyncd</c>, <c>ntpd</c>), if any.</summary>
    public string? Service { get; init; }

    /// <summary><c>synchronized</c>, <c>unsynchronized</c> or <c>unknown</c>.</summary>
    public required string State { get; init; }

    /// <summary>How the state was told (or why it could not be).</summary>
    public string? Detail { get; init; }

    /// <summary>Estimated error of the kernel clock in microseconds, where known.</summary>
    public long? MaxErrorMicroseconds { get; init; }
}
