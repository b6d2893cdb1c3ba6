using Periscope.Agent.Collection;
using Periscope.Bundle;
using Periscope.Bundle.Facts;

namespace Periscope.Agent.Collectors.Dns.Rules;

/// <summary>
/// <c>DNS_NDOTS_AMPLIFICATION</c> (informational), on a Kubernetes node: pods get <c>ndots:5</c> and the cluster's
/// three search domains before the host's, so a name with fewer than 5 dots is tried with every search domain first.
/// </summary>
internal static class DnsNdotsAmplificationRule
{
    /// <summary>The ndots the kubelet gives pods.</summary>
    public const int PodNdots = 5;

    /// <param name="context">The run.</param>
    /// <param name="file">The file the kubelet builds pods' resolv.conf from.</param>
    /// <param name="clusterServers">How many cluster DNS servers the kubelet names (none: not a Kubernetes node).</param>
    public static Observation? Check(CollectionContext context, ResolvConfFacts file, int clusterServers)
    {
        ArgumentNullException.ThrowIfNull(file);
        if (clusterServers == 0)
        {
            return null; // not a Kubernetes node: no pod resolv.conf is built from this file
        }

        var search = 3 + file.Search.Count;
        var perName = search + 1;
        return Observations.Of(context, FindingCodes.DnsNdotsAmplification, Severity.Info,
            $"Each external name a pod resolves costs up to {perName} lookups",
            new FindingSubject(SubjectKind.File, file.Path),
            $"Pods get ndots:{PodNdots} and {search} search domains (3 of the cluster, {file.Search.Count} from {file.Path}): a name with fewer than {PodNdots} dots is tried with each search domain before itself, A and AAAA each. A trailing dot, or dnsConfig ndots:1 for pods that mostly resolve external names, avoids it.",
            evidence: null,
            ("ndots", PodNdots), ("searchDomains", search), ("lookupsPerName", perName));
    }
}
