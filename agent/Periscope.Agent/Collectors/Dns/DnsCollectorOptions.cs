using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Periscope.Agent.Collectors.Dns;

/// <summary>Settings of the <c>dns</c> collector. Bound from <c>Periscope:Collectors:Dns</c>.</summary>
public sealed class DnsCollectorOptions
{
    public const string SectionName = "Periscope:Collectors:Dns";

    /// <summary>The host's resolver configuration (node path).</summary>
    [Required]
    public string ResolvConfPath { get; set; } = "/etc/resolv.conf";

    /// <summary>systemd-resolved's list of upstream servers (node path); read when present.</summary>
    [Required]
    public string ResolvedUpstreamPath { get; set; } = "/run/systemd/resolve/resolv.conf";

    /// <summary>The kubelet config read for clusterDNS and clusterDomain when the kubelet's <c>--config</c> is not found.</summary>
    [Required]
    public string KubeletConfigPath { get; set; } = "/var/lib/kubelet/config.yaml";

    /// <summary>A name outside the cluster that every node must resolve (asked of every server).</summary>
    [Required]
    public string ExternalName { get; set; } = "registry.k8s.io";

    /// <summary>Deadline of each query; a query without an answer by then is a timeout (no retries).</summary>
    public TimeSpan QueryTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>DNS_SLOW when an answer takes longer than this.</summary>
    public TimeSpan SlowThreshold { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Most servers probed (resolv.conf, resolved's upstreams and cluster DNS together).</summary>
    [Range(1, 64)]
    public int MaxServers { get; set; } = 8;
}

[OptionsValidator]
internal sealed partial class DnsCollectorOptionsValidator : IValidateOptions<DnsCollectorOptions>;
