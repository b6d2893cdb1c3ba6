using System.Globalization;
using Periscope.Agent.Collection;
using Periscope.Bundle;
using Periscope.Bundle.Facts;

namespace Periscope.Agent.Collectors.Kubelet.Rules;

/// <summary><c>KUBELET_UNHEALTHY</c>: the kubelet's healthz, when probed, did not answer 200.</summary>
internal static class KubeletUnhealthyRule
{
    public static Observation? Check(CollectionContext context, HealthzFacts? healthz)
    {
        if (healthz is null || healthz.StatusCode == 200)
        {
            return null;
        }

        return Observations.Of(context, FindingCodes.KubeletUnhealthy, Severity.Critical,
            healthz.StatusCode is { } code ? $"The kubelet's healthz answers {code}" : "The kubelet's healthz does not answer",
            Observations.Node(context),
            healthz.StatusCode is null ? healthz.Error : $"HTTP {healthz.StatusCode}: {healthz.Body}",
            evidence: null,
            ("url", healthz.Url), ("status", healthz.StatusCode?.ToString(CultureInfo.InvariantCulture) ?? string.Empty), ("body", healthz.Body ?? string.Empty));
    }
}
