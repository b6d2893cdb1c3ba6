using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Periscope.Agent.Collectors.Containerd;

/// <summary>Settings of the <c>containerd</c> collector. Bound from <c>Periscope:Collectors:Containerd</c>.</summary>
public sealed class ContainerdCollectorOptions
{
    public const string SectionName = "Periscope:Collectors:Containerd";

    /// <summary>The CRI socket, a node path under the host root.</summary>
    [Required]
    public string SocketPath { get; set; } = "/run/containerd/containerd.sock";

    /// <summary>Deadline of each CRI call.</summary>
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>RUNTIME_API_SLOW when a call takes longer than this.</summary>
    public TimeSpan SlowCallThreshold { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>CONTAINER_CRASHLOOP at this restart count or more when the last exit was non-zero.</summary>
    [Range(1, 10_000)]
    public int CrashLoopRestarts { get; set; } = 3;

    /// <summary>IMAGEFS_PRESSURE below this percent of the image filesystem free (kubelet: imagefs.available&lt;15%).</summary>
    [Range(0, 100)]
    public double ImageFsAvailableThresholdPercent { get; set; } = 15;

    /// <summary>Most bytes of a failing container's log kept (its tail).</summary>
    [Range(0, 16 * 1024 * 1024)]
    public int LogTailBytes { get; set; } = 64 * 1024;

    /// <summary>
    /// Whether to ask ListContainerStats (working sets). On a real containerd with 250 containers it is the one slow
    /// call (about 1.8 s, spent reading every container's cgroup: docs/performance.md).
    /// </summary>
    public bool ContainerStats { get; set; } = true;

    /// <summary>CONTAINERD_RESTARTS_FREQUENT at this many starts within <see cref="RestartsWindow"/>.</summary>
    [Range(2, 1000)]
    public int RestartsThreshold { get; set; } = 5;

    /// <summary>The window of <see cref="RestartsThreshold"/>.</summary>
    public TimeSpan RestartsWindow { get; set; } = TimeSpan.FromMinutes(20);

    /// <summary>Most bytes of containerd journal read.</summary>
    [Range(4096, 256L * 1024 * 1024)]
    public long JournalMaxBytes { get; set; } = 8L * 1024 * 1024;

    /// <summary>The runtime's config file, a node path; copied with secret values blanked.</summary>
    [Required]
    public string ConfigPath { get; set; } = "/etc/containerd/config.toml";

    /// <summary>Most containers whose status is asked for one by one (the rest keep their list entry).</summary>
    [Range(1, 100_000)]
    public int MaxContainerStatusCalls { get; set; } = 2000;
}

[OptionsValidator]
internal sealed partial class ContainerdCollectorOptionsValidator : IValidateOptions<ContainerdCollectorOptions>;
