using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Periscope.Agent.Collection;
using Periscope.Bundle.Facts;

namespace Periscope.Agent.Collectors.Cni;

/// <summary>
/// Pod address use: host-local's ranges against its allocation files (<c>&lt;dataDir&gt;/&lt;network&gt;/&lt;ip&gt;</c>),
/// and Azure CNI's IPAM state (the node's secondary addresses, and which are in use).
/// </summary>
internal static class PodAddressRanges
{
    /// <summary>One configured host-local range.</summary>
    internal sealed record HostLocalRange(IPNetwork Subnet, IPAddress Start, IPAddress End, IPAddress? Gateway)
    {
        /// <summary>Addresses host-local can hand out: rangeStart..rangeEnd without the gateway.</summary>
        public long Usable
        {
            get
            {
                var count = ToNumber(End) - ToNumber(Start) + 1;
                if (Gateway is not null && Contains(Gateway))
                {
                    count--;
                }

                return count > long.MaxValue ? long.MaxValue : (long)count;
            }
        }

        public bool Contains(IPAddress address)
            => address.AddressFamily == Start.AddressFamily && ToNumber(address) >= ToNumber(Start) && ToNumber(address) <= ToNumber(End);

        public override string ToString() => $"{Subnet}" + (IsDefault ? string.Empty : $" {Start}-{End}");

        private bool IsDefault => Start.Equals(DefaultStart(Subnet)) && End.Equals(DefaultEnd(Subnet));
    }

    /// <summary>host-local's ranges in an <c>ipam</c> object (the <c>subnet</c> form or the <c>ranges</c> form), as host-local defaults them.</summary>
    public static List<HostLocalRange> ParseHostLocal(string ipamJson)
    {
        var ranges = new List<HostLocalRange>();
        using var document = JsonDocument.Parse(ipamJson);
        var ipam = document.RootElement;
        if (ipam.TryGetProperty("ranges", out var sets) && sets.ValueKind == JsonValueKind.Array)
        {
            foreach (var set in sets.EnumerateArray().Where(s => s.ValueKind == JsonValueKind.Array))
            {
                foreach (var range in set.EnumerateArray())
                {
                    if (Range(range) is { } parsed)
                    {
                        ranges.Add(parsed);
                    }
                }
            }
        }
        else if (Range(ipam) is { } single)
        {
            ranges.Add(single);
        }

        return ranges;
    }

    /// <summary>Allocated addresses per range, from host-local's files of <paramref name="network"/>.</summary>
    public static IEnumerable<IpamRangeFacts> HostLocal(INodeFileSystem host, string dataDirectory, string network, IReadOnlyList<HostLocalRange> ranges)
    {
        var allocated = host.ListDirectory($"{dataDirectory}/{network}")
            .Select(n => IPAddress.TryParse(n, out var address) ? address : null)
            .OfType<IPAddress>()
            .ToList();
        foreach (var range in ranges)
        {
            yield return new IpamRangeFacts("host-local", network, range.ToString(), range.Usable, allocated.Count(range.Contains));
        }
    }

    /// <summary>Azure CNI's <c>azure-vnet-ipam.json</c>: per pool, the node's addresses and those in use.</summary>
    public static List<IpamRangeFacts> AzureState(string json)
    {
        var facts = new List<IpamRangeFacts>();
        using var document = JsonDocument.Parse(json);
        if (!document.RootElement.TryGetProperty("IPAM", out var ipam) || !ipam.TryGetProperty("AddressSpaces", out var spaces) || spaces.ValueKind != JsonValueKind.Object)
        {
            return facts;
        }

        foreach (var space in spaces.EnumerateObject())
        {
            if (!space.Value.TryGetProperty("Pools", out var pools) || pools.ValueKind != JsonValueKind.Object)
            {
                continue;
            }

            foreach (var pool in pools.EnumerateObject())
            {
                if (!pool.Value.TryGetProperty("Addresses", out var addresses) || addresses.ValueKind != JsonValueKind.Object)
                {
                    continue;
                }

                long total = 0, inUse = 0;
                foreach (var address in addresses.EnumerateObject())
                {
                    total++;
                    if (address.Value.TryGetProperty("InUse", out var used) && used.ValueKind == JsonValueKind.True)
                    {
                        inUse++;
                    }
                }

                facts.Add(new IpamRangeFacts("azure-cni", space.Name, pool.Name, total, inUse));
            }
        }

        return facts;
    }

    private static HostLocalRange? Range(JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty("subnet", out var s) || s.ValueKind != JsonValueKind.String
            || !IPNetwork.TryParse(s.GetString(), out var subnet))
        {
            return null;
        }

        var start = Address(element, "rangeStart") ?? DefaultStart(subnet);
        var end = Address(element, "rangeEnd") ?? DefaultEnd(subnet);
        var gateway = Address(element, "gateway") ?? DefaultStart(subnet);
        return ToNumber(end) < ToNumber(start) ? null : new HostLocalRange(subnet, start, end, gateway);
    }

    private static IPAddress? Address(JsonElement element, string name)
        => element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && IPAddress.TryParse(value.GetString(), out var address) ? address : null;

    /// <summary>host-local's default first address: the one after the network address.</summary>
    private static IPAddress DefaultStart(IPNetwork subnet) => FromNumber(ToNumber(subnet.BaseAddress) + 1, subnet.BaseAddress.AddressFamily);

    /// <summary>host-local's default last address: the broadcast address's predecessor for IPv4, the last address for IPv6.</summary>
    private static IPAddress DefaultEnd(IPNetwork subnet)
    {
        var bits = subnet.BaseAddress.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        var size = subnet.PrefixLength == 0 ? UInt128.MaxValue : (UInt128.One << (bits - subnet.PrefixLength)) - 1;
        var last = ToNumber(subnet.BaseAddress) + size;
        return FromNumber(bits == 32 ? last - 1 : last, subnet.BaseAddress.AddressFamily);
    }

    private static UInt128 ToNumber(IPAddress address)
    {
        UInt128 value = 0;
        foreach (var b in address.GetAddressBytes())
        {
            value = (value << 8) | b;
        }

        return value;
    }

    private static IPAddress FromNumber(UInt128 value, AddressFamily family)
    {
        var bytes = new byte[family == AddressFamily.InterNetwork ? 4 : 16];
        for (var i = bytes.Length - 1; i >= 0; i--)
        {
            bytes[i] = (byte)(value & 0xFF);
            value >>= 8;
        }

        return new IPAddress(bytes);
    }
}
