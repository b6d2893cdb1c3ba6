using Periscope.Agent.Collection;
using Periscope.Bundle;
using Periscope.Bundle.Facts;

namespace Periscope.Agent.Collectors.Cni.Rules;

/// <summary>
/// <c>CNI_CONFIG_INVALID</c>, one per config file the runtime cannot use: critical on a Kubernetes node where no valid
/// config is left (no pod gets a network), else a warning (the runtime skips it).
/// </summary>
internal static class CniConfigInvalidRule
{
    /// <param name="context">The run.</param>
    /// <param name="confDirectory">The CNI config directory.</param>
    /// <param name="invalid">The config that is not valid.</param>
    /// <param name="active">The config the runtime uses instead, if any.</param>
    /// <param name="isNode">Whether this is a Kubernetes node.</param>
    public static Observation Of(CollectionContext context, string confDirectory, CniConfigFacts invalid, CniConfigFacts? active, bool isNode)
    {
        ArgumentNullException.ThrowIfNull(invalid);
        return Observations.Of(context, FindingCodes.CniConfigInvalid, active is null && isNode ? Severity.Critical : Severity.Warning,
            $"CNI config {invalid.File} is not valid",
            new FindingSubject(SubjectKind.File, $"{confDirectory}/{invalid.File}"),
            active is null
                ? $"{invalid.Error}. No valid CNI config is left: the runtime reports NetworkReady=false and no pod can get a network."
                : $"{invalid.Error}. The runtime skips it; the active network is {active.File}.",
            evidence: null,
            ("error", invalid.Error ?? string.Empty));
    }
}
