using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Periscope.Agent.Collectors.Cni;

/// <summary>Settings of the <c>cni</c> collector. Bound from <c>Periscope:Collectors:Cni</c>.</summary>
public sealed class CniCollectorOptions
{
    public const string SectionName = "Periscope:Collectors:Cni";

    /// <summary>CNI configuration directory (node path).</summary>
    [Required]
    public string ConfDirectory { get; set; } = "/etc/cni/net.d";

    /// <summary>Where plugin binaries are looked for (node paths), in order.</summary>
    public string[] BinDirectories { get; set; } = ["/opt/cni/bin"];

    /// <summary>host-local's default data directory (node path), used when a config sets no <c>dataDir</c>.</summary>
    [Required]
    public string HostLocalDataDirectory { get; set; } = "/var/lib/cni/networks";

    /// <summary>Azure CNI's IPAM state files (node paths), read when present.</summary>
    public string[] AzureIpamStateFiles { get; set; } = ["/var/run/azure-vnet-ipam.json", "/var/lib/azure-network/azure-vnet-ipam.json"];

    /// <summary>The kubelet config, whose presence (or a kubelet process) makes this a Kubernetes node.</summary>
    [Required]
    public string KubeletConfigPath { get; set; } = "/var/lib/kubelet/config.yaml";

    /// <summary>CNI_IP_EXHAUSTION warning at this share of a range's usable addresses (critical when full).</summary>
    [Range(1, 100)]
    public int IpExhaustionWarningPercent { get; set; } = 90;

    /// <summary>NIC_ERRORS when errors and drops exceed this share of an interface's packets.</summary>
    [Range(0.0, 1.0)]
    public double NicErrorRatio { get; set; } = 0.001;

    /// <summary>Interfaces with fewer packets than this are not judged by <see cref="NicErrorRatio"/>.</summary>
    [Range(0, long.MaxValue)]
    public long NicMinPackets { get; set; } = 10_000;

    /// <summary>IPTABLES_RULES_EXCESSIVE above this many rules.</summary>
    [Range(1, int.MaxValue)]
    public int RulesThreshold { get; set; } = 20_000;

    /// <summary>Deadline of each rule-listing command.</summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Most bytes of a rule-listing command's output read.</summary>
    [Range(4096, 1024L * 1024 * 1024)]
    public long MaxRulesetBytes { get; set; } = 64L * 1024 * 1024;
}

[OptionsValidator]
internal sealed partial class CniCollectorOptionsValidator : IValidateOptions<CniCollectorOptions>;
