using System.Globalization;
using System.Net;
using Periscope.Agent.Collection;
using Periscope.Bundle.Facts;

namespace Periscope.Agent.Collectors.Cni;

/// <summary>Interfaces (<c>/sys/class/net</c>) and routes (<c>/proc/net/route</c>, <c>/proc/net/ipv6_route</c>) of the host root.</summary>
internal static class NodeNetwork
{
    public const int MaxInterfaces = 4096;
    public const int MaxRoutes = 1000;

    /// <summary>Name prefixes of interfaces that carry pod traffic (veths, CNI bridges and tunnels).</summary>
    private static readonly string[] PodInterfacePrefixes = ["veth", "azv", "cali", "lxc", "cilium_", "flannel.", "vxlan.", "cni", "cbr", "genev", "azure", "kube-bridge"];

    /// <summary>Name prefixes of encapsulating (VXLAN, Geneve) interfaces, which need room below the primary MTU.</summary>
    private static readonly string[] TunnelPrefixes = ["flannel.", "vxlan.", "cilium_vxlan", "cilium_geneve", "genev"];

    public static async Task<List<InterfaceFacts>> ReadInterfacesAsync(INodeFileSystem host, CancellationToken cancellationToken)
    {
        var interfaces = new List<InterfaceFacts>();
        foreach (var name in host.ListDirectory("/sys/class/net").Order(StringComparer.Ordinal).Take(MaxInterfaces))
        {
            var directory = $"/sys/class/net/{name}";
            interfaces.Add(new InterfaceFacts
            {
                Name = name,
                OperState = (await ReadAsync(host, $"{directory}/operstate", cancellationToken))?.Trim(),
                Mtu = (int?)Number(await ReadAsync(host, $"{directory}/mtu", cancellationToken)),
                RxPackets = Number(await ReadAsync(host, $"{directory}/statistics/rx_packets", cancellationToken)) ?? 0,
                TxPackets = Number(await ReadAsync(host, $"{directory}/statistics/tx_packets", cancellationToken)) ?? 0,
                RxErrors = Number(await ReadAsync(host, $"{directory}/statistics/rx_errors", cancellationToken)) ?? 0,
                TxErrors = Number(await ReadAsync(host, $"{directory}/statistics/tx_errors", cancellationToken)) ?? 0,
                RxDropped = Number(await ReadAsync(host, $"{directory}/statistics/rx_dropped", cancellationToken)) ?? 0,
                TxDropped = Number(await ReadAsync(host, $"{directory}/statistics/tx_dropped", cancellationToken)) ?? 0,
            });
        }

        return interfaces;
    }

    public static bool CarriesPods(string name) => PodInterfacePrefixes.Any(p => name.StartsWith(p, StringComparison.Ordinal));

    public static bool IsTunnel(string name) => TunnelPrefixes.Any(p => name.StartsWith(p, StringComparison.Ordinal));

    /// <summary>IPv4 routes from <c>/proc/net/route</c>: hexadecimal little-endian addresses, one route per line after the header.</summary>
    public static IEnumerable<RouteFacts> ParseIpv4Routes(string text)
    {
        foreach (var line in text.Split('\n').Skip(1))
        {
            var f = line.Split(['\t', ' '], StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 8 || !uint.TryParse(f[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var destination)
                || !uint.TryParse(f[2], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var gateway)
                || !uint.TryParse(f[7], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var mask)
                || !long.TryParse(f[6], NumberStyles.Integer, CultureInfo.InvariantCulture, out var metric))
            {
                continue;
            }

            var prefix = global::System.Numerics.BitOperations.PopCount(mask);
            yield return new RouteFacts("ipv4", $"{new IPAddress(destination)}/{prefix}", gateway == 0 ? null : new IPAddress(gateway).ToString(), f[0], metric);
        }
    }

    /// <summary>IPv6 routes from <c>/proc/net/ipv6_route</c>: 32-digit hexadecimal addresses; local and loopback routes are left out.</summary>
    public static IEnumerable<RouteFacts> ParseIpv6Routes(string text)
    {
        foreach (var line in text.Split('\n'))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 10 || f[0].Length != 32 || f[4].Length != 32 || f[9] == "lo"
                || !int.TryParse(f[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var prefix)
                || !long.TryParse(f[5], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var metric))
            {
                continue;
            }

            var gateway = Ipv6(f[4]);
            yield return new RouteFacts("ipv6", $"{Ipv6(f[0])}/{prefix}", gateway.Equals(IPAddress.IPv6Any) ? null : gateway.ToString(), f[9], metric);
        }
    }

    private static IPAddress Ipv6(string hex) => new(Convert.FromHexString(hex));

    private static async Task<string?> ReadAsync(INodeFileSystem host, string path, CancellationToken cancellationToken)
    {
        try
        {
            return await host.TryReadTextAsync(path, 4096, cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null; // a counter the driver does not expose, or an interface gone while we looked
        }
    }

    private static long? Number(string? text)
        => long.TryParse(text?.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : null;
}
