using Periscope.Agent.Collection;
using Periscope.Bundle;
using Periscope.Bundle.Facts;

namespace Periscope.Agent.Collectors.Cni.Rules;

/// <summary>
/// <c>CNI_MTU_MISMATCH</c>: an interface carrying pod traffic, or the active config's <c>mtu</c>, larger than the
/// primary interface's MTU (tunnels need 50 bytes of room for their headers): large packets are dropped or fragmented.
/// </summary>
internal static class CniMtuMismatchRule
{
    /// <summary>The room a tunnel interface needs for its headers below the primary interface's MTU.</summary>
    public const int TunnelOverhead = 50;

    /// <summary>One observation per interface carrying pod traffic, and per plugin of the active config, whose MTU is too large.</summary>
    /// <param name="context">The run.</param>
    /// <param name="interfaces">The node's interfaces.</param>
    /// <param name="primaryName">The interface holding the IPv4 default route, if any.</param>
    /// <param name="active">The active CNI config, if any.</param>
    public static IEnumerable<Observation> Check(CollectionContext context, IReadOnlyList<InterfaceFacts> interfaces, string? primaryName, CniConfig? active)
    {
        ArgumentNullException.ThrowIfNull(interfaces);
        if (primaryName is null || interfaces.FirstOrDefault(i => i.Name == primaryName) is not { Mtu: { } primary })
        {
            yield break;
        }

        foreach (var nic in interfaces)
        {
            if (nic.Mtu is { } mtu && NodeNetwork.CarriesPods(nic.Name) && mtu > (NodeNetwork.IsTunnel(nic.Name) ? primary - TunnelOverhead : primary))
            {
                yield return Of(context, nic.Name, mtu, isInterface: true, primaryName, primary);
            }
        }

        foreach (var plugin in (active?.Plugins ?? []).Where(p => p.Mtu > primary))
        {
            yield return Of(context, $"{active!.Facts.File}:{plugin.Type}", plugin.Mtu!.Value, isInterface: false, primaryName, primary);
        }
    }

    /// <param name="context">The run.</param>
    /// <param name="name">The interface, or <c>file:plugin</c> for a config's mtu.</param>
    /// <param name="mtu">Its MTU.</param>
    /// <param name="isInterface">An interface (else a config's setting).</param>
    /// <param name="primaryName">The primary interface.</param>
    /// <param name="primaryMtu">Its MTU.</param>
    public static Observation Of(CollectionContext context, string name, int mtu, bool isInterface, string primaryName, int primaryMtu)
        => Observations.Of(context, FindingCodes.CniMtuMismatch, Severity.Warning,
            $"{name} has MTU {mtu}, above the primary interface {primaryName}'s {primaryMtu}",
            new FindingSubject(isInterface ? SubjectKind.Interface : SubjectKind.File, name),
            "Pod packets larger than the path allows are dropped or fragmented: connections hang on large transfers (TLS handshakes, image pulls) while small requests work.",
            evidence: null,
            ("mtu", mtu), ("primaryInterface", primaryName), ("primaryMtu", primaryMtu));
}
