using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Periscope.Agent.Collectors.System;

/// <summary>
/// Thresholds of the <c>system</c> collector. Defaults follow the kubelet's hard eviction defaults where one exists
/// (memory.available&lt;100Mi, nodefs.available&lt;10%, imagefs.available&lt;15%, nodefs.inodesFree&lt;5%).
/// </summary>
public sealed class SystemCollectorOptions
{
    public const string SectionName = "Periscope:Collectors:System";

    /// <summary>MEMORY_PRESSURE when MemAvailable is below this (kubelet: memory.available&lt;100Mi).</summary>
    [Range(0, long.MaxValue)]
    public long MemoryAvailableThresholdBytes { get; set; } = 100L * 1024 * 1024;

    /// <summary>DISK_PRESSURE for the kubelet and log filesystems below this percent free (kubelet: nodefs.available&lt;10%).</summary>
    [Range(0, 100)]
    public double NodeFsAvailableThresholdPercent { get; set; } = 10;

    /// <summary>DISK_PRESSURE for a separate runtime filesystem below this percent free (kubelet: imagefs.available&lt;15%).</summary>
    [Range(0, 100)]
    public double ImageFsAvailableThresholdPercent { get; set; } = 15;

    /// <summary>INODE_PRESSURE below this percent of free inodes (kubelet: nodefs.inodesFree&lt;5%).</summary>
    [Range(0, 100)]
    public double InodesFreeThresholdPercent { get; set; } = 5;

    /// <summary>PID_PRESSURE below this percent of process ids left (the kubelet has no default; ours is 10%).</summary>
    [Range(0, 100)]
    public double PidsAvailableThresholdPercent { get; set; } = 10;

    /// <summary>CONNTRACK_NEAR_LIMIT at or above this percent of nf_conntrack_max in use.</summary>
    [Range(0, 100)]
    public double ConntrackUsageThresholdPercent { get; set; } = 90;

    /// <summary>The kubelet's root directory on the node (nodefs).</summary>
    [Required]
    public string KubeletDirectory { get; set; } = "/var/lib/kubelet";

    /// <summary>The runtime's root directory on the node (imagefs when on its own filesystem).</summary>
    [Required]
    public string ContainerdDirectory { get; set; } = "/var/lib/containerd";

    /// <summary>The log directory on the node.</summary>
    [Required]
    public string LogDirectory { get; set; } = "/var/log";
}

[OptionsValidator]
internal sealed partial class SystemCollectorOptionsValidator : IValidateOptions<SystemCollectorOptions>;
