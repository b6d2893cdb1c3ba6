using Periscope.Agent.Collection;
using Periscope.Bundle;
using Periscope.Bundle.Facts;

namespace Periscope.Agent.Collectors.Containerd.Rules;

/// <summary>
/// <c>RUNTIME_NOT_READY</c> and <c>RUNTIME_NETWORK_NOT_READY</c>: the runtime's status reports RuntimeReady or
/// NetworkReady false. Other conditions are not judged.
/// </summary>
internal static class RuntimeConditionRule
{
    public static Observation? Check(CollectionContext context, FindingSubject server, RuntimeConditionFacts condition)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(condition);
        if (condition.Status)
        {
            return null;
        }

        var (code, title) = condition.Type switch
        {
            "RuntimeReady" => (FindingCodes.RuntimeNotReady, "The container runtime is not ready"),
            "NetworkReady" => (FindingCodes.RuntimeNetworkNotReady, "The container runtime's network is not ready"),
            _ => (null, null),
        };
        if (code is null)
        {
            return null;
        }

        return Observations.Of(context, code, Severity.Critical, $"{title}: {condition.Reason ?? "no reason given"}", server,
            $"{condition.Type}=false reason={condition.Reason} message={condition.Message}",
            new EvidenceReference(context.Output.BundlePath("status.json"), null),
            ("condition", condition.Type), ("reason", condition.Reason ?? string.Empty), ("message", condition.Message ?? string.Empty));
    }
}
