using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Periscope.Agent.Collectors.Kubelet;

/// <summary>Settings of the <c>kubelet</c> collector. Bound from <c>Periscope:Collectors:Kubelet</c>.</summary>
public sealed class KubeletCollectorOptions
{
    public const string SectionName = "Periscope:Collectors:Kubelet";

    /// <summary>Config file when the kubelet's <c>--config</c> flag is not found (node path).</summary>
    [Required]
    public string ConfigPath { get; set; } = "/var/lib/kubelet/config.yaml";

    /// <summary>Kubeconfigs tried when the <c>--kubeconfig</c> flag is not found (node paths).</summary>
    public string[] KubeconfigPaths { get; set; } = ["/var/lib/kubelet/kubeconfig", "/etc/kubernetes/kubelet.conf"];

    /// <summary>The kubelet's certificate directory (node path). Only CERTIFICATE blocks are parsed; nothing is copied.</summary>
    [Required]
    public string PkiDirectory { get; set; } = "/var/lib/kubelet/pki";

    /// <summary>The healthz endpoint; on the node's loopback (the DaemonSet runs with hostNetwork).</summary>
    [Required]
    public string HealthzUrl { get; set; } = "http://127.0.0.1:10248/healthz";

    /// <summary>Deadline of the healthz probe.</summary>
    public TimeSpan HealthzTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>KUBELET_RESTARTS_FREQUENT at this many starts within <see cref="RestartsWindow"/>.</summary>
    [Range(2, 1000)]
    public int RestartsThreshold { get; set; } = 5;

    /// <summary>The window of <see cref="RestartsThreshold"/>.</summary>
    public TimeSpan RestartsWindow { get; set; } = TimeSpan.FromMinutes(20);

    /// <summary>Most bytes of kubelet journal read.</summary>
    [Range(4096, 1024L * 1024 * 1024)]
    public long JournalMaxBytes { get; set; } = 16L * 1024 * 1024;

    /// <summary>Only the newest this many kubelet journal entries of the window are read.</summary>
    [Range(100, 10_000_000)]
    public int JournalMaxEntries { get; set; } = 200_000;

    /// <summary>Plain kubelet log files (node paths), read when the journal has no kubelet entries.</summary>
    public string[] LogFiles { get; set; } = ["/var/log/kubelet.log", "/var/log/kubelet/kubelet.log"];

    /// <summary>KUBELET_CERT_EXPIRING when a certificate expires sooner than this.</summary>
    public TimeSpan CertificateExpiryWarning { get; set; } = TimeSpan.FromDays(7);
}

[OptionsValidator]
internal sealed partial class KubeletCollectorOptionsValidator : IValidateOptions<KubeletCollectorOptions>;
