using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Periscope.Agent.Collectors.Kernel;

/// <summary>Bounds of the <c>kernel</c> collector. The time window is the run's (<c>--since</c>, default 24 h).</summary>
public sealed class KernelCollectorOptions
{
    public const string SectionName = "Periscope:Collectors:Kernel";

    /// <summary>Most bytes of kernel log read; the newest part is kept.</summary>
    [Range(4096, long.MaxValue)]
    public long MaxBytes { get; set; } = 32L * 1024 * 1024;

    /// <summary>The kernel log device (a regular file here is a captured node's log).</summary>
    [Required]
    public string KmsgPath { get; set; } = "/dev/kmsg";

    /// <summary>The syslog kernel log used when the device cannot be read.</summary>
    [Required]
    public string KernLogPath { get; set; } = "/var/log/kern.log";
}

[OptionsValidator]
internal sealed partial class KernelCollectorOptionsValidator : IValidateOptions<KernelCollectorOptions>;
