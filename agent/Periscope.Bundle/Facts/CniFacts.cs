using System.Text.Json.Serialization;

namespace Periscope.Bundle.Facts;

/// <summary>Pod networking on the node: CNI configuration and plugins, IPAM use, interfaces, routes and packet-filter size.</summary>
public sealed record CniFacts
{
    /// <summary>The CNI configuration directory (node path).</summary>
    public required string ConfDirectory { get; init; }

    /// <summary>Why the configuration and plugin checks were skipped (not a Kubernetes node), when they were.</summary>
    public string? ChecksSkipped { get; init; }

    /// <summary>Every configuration file, in the lexical order the runtime reads them.</summary>
    [JsonRequired]
    public IReadOnlyList<CniConfigFacts> Configs { get; init; } = [];

    /// <summary>The active configuration: the first valid file.</summary>
    public string? ActiveConfig { get; init; }

    /// <summary>The network mode the active configuration implies: azure-cni, azure-cni-overlay, kubenet, bridge, cilium, calico, flannel or other.</summary>
    public string? NetworkMode { get; init; }

    /// <summary>The plugin binaries the active configuration needs.</summary>
    [JsonRequired]
    public IReadOnlyList<CniPluginFacts> Plugins { get; init; } = [];

    /// <summary>Address use per pod address range.</summary>
    [JsonRequired]
    public IReadOnlyList<IpamRangeFacts> Ipam { get; init; } = [];

    /// <summary>Network interfaces (<c>/sys/class/net</c>).</summary>
    [JsonRequired]
    public IReadOnlyList<InterfaceFacts> Interfaces { get; init; } = [];

    /// <summary>The primary interface: the one holding the IPv4 default route.</summary>
    public string? PrimaryInterface { get; init; }

    /// <summary>Routes (<c>/proc/net/route</c>, <c>/proc/net/ipv6_route</c>), at most the first 1,000.</summary>
    [JsonRequired]
    public IReadOnlyList<RouteFacts> Routes { get; init; } = [];

    /// <summary>Routes in all, where more than were kept.</summary>
    [JsonRequired]
    public int RouteCount { get; init; }

    /// <summary>Packet-filter rule counts per tool.</summary>
    [JsonRequired]
    public IReadOnlyList<RuleCountFacts> Rules { get; init; } = [];
}

/// <summary>One CNI configuration file.</summary>
public sealed record CniConfigFacts
{
    /// <summary>File name.</summary>
    public required string File { get; init; }

    /// <summary>The network name.</summary>
    public string? Name { get; init; }

    /// <summary>cniVersion.</summary>
    public string? CniVersion { get; init; }

    /// <summary>Plugin types, in chain order.</summary>
    [JsonRequired]
    public IReadOnlyList<string> PluginTypes { get; init; } = [];

    /// <summary>Why the file is not a valid configuration, when it is not.</summary>
    public string? Error { get; init; }
}

/// <summary>A plugin binary the active configuration needs.</summary>
/// <param name="Type">The plugin type (its binary's name).</param>
/// <param name="Path">Where it was found, or null.</param>
/// <param name="Executable">Whether the file found is executable.</param>
public sealed record CniPluginFacts([property: JsonRequired] string Type, string? Path, [property: JsonRequired] bool Executable);

/// <summary>Addresses of one pod range: the range's usable addresses against those allocated.</summary>
/// <param name="Source"><c>host-local</c> or <c>azure-cni</c>.</param>
/// <param name="Network">The network (or pool) name.</param>
/// <param name="Range">The range, CIDR with optional rangeStart-rangeEnd.</param>
/// <param name="Usable">Usable addresses (without the network, broadcast and gateway addresses).</param>
/// <param name="Allocated">Addresses in use.</param>
public sealed record IpamRangeFacts([property: JsonRequired] string Source, [property: JsonRequired] string Network, [property: JsonRequired] string Range, [property: JsonRequired] long Usable, [property: JsonRequired] long Allocated);

/// <summary>One interface.</summary>
public sealed record InterfaceFacts
{
    /// <summary>Interface name.</summary>
    public required string Name { get; init; }

    /// <summary>Operational state (<c>up</c>, <c>down</c>, <c>unknown</c>, ...).</summary>
    public string? OperState { get; init; }

    /// <summary>MTU.</summary>
    public int? Mtu { get; init; }

    /// <summary>Packets received.</summary>
    [JsonRequired]
    public long RxPackets { get; init; }

    /// <summary>Packets sent.</summary>
    [JsonRequired]
    public long TxPackets { get; init; }

    /// <summary>Receive errors.</summary>
    [JsonRequired]
    public long RxErrors { get; init; }

    /// <summary>Transmit errors.</summary>
    [JsonRequired]
    public long TxErrors { get; init; }

    /// <summary>Received packets dropped.</summary>
    [JsonRequired]
    public long RxDropped { get; init; }

    /// <summary>Packets to send dropped.</summary>
    [JsonRequired]
    public long TxDropped { get; init; }
}

/// <summary>One route.</summary>
/// <param name="Family"><c>ipv4</c> or <c>ipv6</c>.</param>
/// <param name="Destination">Destination, CIDR.</param>
/// <param name="Gateway">Gateway, when not on-link.</param>
/// <param name="Interface">Outgoing interface.</param>
/// <param name="Metric">Metric.</param>
public sealed record RouteFacts([property: JsonRequired] string Family, [property: JsonRequired] string Destination, string? Gateway, [property: JsonRequired] string Interface, [property: JsonRequired] long Metric);

/// <summary>Rules counted from one tool's output.</summary>
/// <param name="Tool"><c>iptables-save</c>, <c>ip6tables-save</c> or <c>nft</c>.</param>
/// <param name="Outcome">How the command ended (<c>ok</c>, <c>missing-binary</c>, <c>timed-out</c>, <c>output-capped</c>, <c>failed</c>).</param>
/// <param name="Tables">Rules per table.</param>
/// <param name="Total">Rules in all.</param>
public sealed record RuleCountFacts([property: JsonRequired] string Tool, [property: JsonRequired] string Outcome, [property: JsonRequired] IReadOnlyDictionary<string, long> Tables, [property: JsonRequired] long Total);
