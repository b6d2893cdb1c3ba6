using Periscope.Agent.Collection;
using Periscope.Bundle;
using Periscope.Bundle.Facts;

namespace Periscope.Agent.Collectors.Dns.Rules;

/// <summary><c>DNS_NO_NAMESERVERS</c>: no name server to ask, from the node's resolv.conf (missing, unreadable or empty) or the cluster's.</summary>
internal static class DnsNoNameserversRule
{
    /// <param name="context">The run.</param>
    /// <param name="resolv">The node's resolv.conf as read.</param>
    /// <param name="servers">How many name servers were found in all the files.</param>
    public static Observation? Check(CollectionContext context, ResolvConfFacts resolv, int servers)
    {
        ArgumentNullException.ThrowIfNull(resolv);
        if (servers > 0)
        {
            return null;
        }

        return Observations.Of(context, FindingCodes.DnsNoNameservers, Severity.Critical,
            resolv.Error is null ? $"{resolv.Path} names no name server" : $"{resolv.Path} cannot be read",
            new FindingSubject(SubjectKind.File, resolv.Path),
            resolv.Error ?? "Without a nameserver line the node's resolver has nowhere to send queries: image pulls and pods using the node's DNS fail.");
    }
}
