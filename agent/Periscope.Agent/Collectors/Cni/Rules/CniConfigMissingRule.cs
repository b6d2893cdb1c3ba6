using Periscope.Agent.Collection;
using Periscope.Bundle;

namespace Periscope.Agent.Collectors.Cni.Rules;

/// <summary><c>CNI_CONFIG_MISSING</c>: a Kubernetes node with no CNI config file at all.</summary>
internal static class CniConfigMissingRule
{
    public static Observation? Check(CollectionContext context, string confDirectory, int configs, bool isNode)
        => configs > 0 || !isNode
            ? null
            : Observations.Of(context, FindingCodes.CniConfigMissing, Severity.Critical, $"No CNI config in {confDirectory}",
                new FindingSubject(SubjectKind.File, confDirectory),
                "Without a network configuration the runtime reports NetworkReady=false, the node stays NotReady and no pod can start.");
}
