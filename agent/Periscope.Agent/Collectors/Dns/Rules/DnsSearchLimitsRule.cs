using Periscope.Agent.Collection;
using Periscope.Bundle;
using Periscope.Bundle.Facts;

namespace Periscope.Agent.Collectors.Dns.Rules;

/// <summary>
/// <c>DNS_SEARCH_LIMITS</c> on the file the kubelet builds pods' resolv.conf from: more search domains or search
/// characters than the kubelet passes on, or more name servers than the resolver uses.
/// </summary>
internal static class DnsSearchLimitsRule
{
    public static Observation? Check(CollectionContext context, ResolvConfFacts file)
    {
        ArgumentNullException.ThrowIfNull(file);
        var searchChars = file.Search.Sum(s => s.Length) + Math.Max(0, file.Search.Count - 1);
        var problems = new List<string>();
        if (file.Search.Count > DnsCollector.MaxSearchDomains)
        {
            problems.Add($"{file.Search.Count} search domains (the kubelet allows {DnsCollector.MaxSearchDomains})");
        }

        if (searchChars > DnsCollector.MaxSearchChars)
        {
            problems.Add($"a search line of {searchChars} characters (the kubelet allows {DnsCollector.MaxSearchChars})");
        }

        if (file.Nameservers.Count > DnsCollector.MaxNameservers)
        {
            problems.Add($"{file.Nameservers.Count} nameservers (the resolver uses only the first {DnsCollector.MaxNameservers}: {string.Join(", ", file.Nameservers.Take(DnsCollector.MaxNameservers))})");
        }

        if (problems.Count == 0)
        {
            return null;
        }

        return Observations.Of(context, FindingCodes.DnsSearchLimits, Severity.Warning, $"{file.Path} exceeds resolver limits",
            new FindingSubject(SubjectKind.File, file.Path),
            string.Join("; ", problems) + ". The kubelet trims the list for pods and logs a warning on every pod start.",
            evidence: null,
            ("searchDomains", file.Search.Count), ("searchChars", searchChars), ("nameservers", file.Nameservers.Count));
    }
}
