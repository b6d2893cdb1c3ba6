using System.Globalization;
using DnsClient;
using Periscope.Agent.Collection;
using Periscope.Bundle;
using Periscope.Bundle.Facts;

namespace Periscope.Agent.Collectors.Dns.Rules;

/// <summary>
/// What the rules on one name server's answers share: the server as the subject, the probe that shows it as
/// attributes (role, name, outcome, rcode, latency).
/// </summary>
internal static class DnsProbeObservation
{
    public static Observation Of(CollectionContext context, string code, Severity severity, DnsProbeFacts probe, string title, string detail)
    {
        ArgumentNullException.ThrowIfNull(probe);
        return Observations.Of(context, code, severity, title, new FindingSubject(SubjectKind.Server, probe.Server), detail, evidence: null,
            ("role", probe.Role), ("name", probe.Name), ("outcome", probe.Outcome), ("rcode", probe.Rcode ?? string.Empty),
            ("latencyMs", probe.LatencyMs.ToString("0", CultureInfo.InvariantCulture)));
    }
}

/// <summary><c>DNS_TIMEOUT</c>: queries to a server got no answer in time; critical when none did.</summary>
internal static class DnsTimeoutRule
{
    /// <param name="context">The run.</param>
    /// <param name="probes">One server's probes.</param>
    /// <param name="options">The query deadline.</param>
    public static Observation? Check(CollectionContext context, IReadOnlyList<DnsProbeFacts> probes, DnsCollectorOptions options)
    {
        ArgumentNullException.ThrowIfNull(probes);
        ArgumentNullException.ThrowIfNull(options);
        var timedOut = probes.Where(p => p.Outcome == "timed-out").ToList();
        if (timedOut.Count == 0)
        {
            return null;
        }

        var all = timedOut.Count == probes.Count;
        var server = timedOut[0].Server;
        return DnsProbeObservation.Of(context, FindingCodes.DnsTimeout, all ? Severity.Critical : Severity.Warning, timedOut[0],
            all ? $"Name server {server} does not answer" : $"Name server {server} does not answer for {timedOut[0].Name}",
            $"{timedOut.Count} of {probes.Count} queries got no answer within {options.QueryTimeout.TotalMilliseconds:0} ms ({string.Join(", ", timedOut.Select(p => p.Name))}).");
    }
}

/// <summary><c>DNS_SERVFAIL</c>: a server answered SERVFAIL; critical when it did for every query.</summary>
internal static class DnsServfailRule
{
    /// <param name="context">The run.</param>
    /// <param name="probes">One server's probes.</param>
    public static Observation? Check(CollectionContext context, IReadOnlyList<DnsProbeFacts> probes)
    {
        ArgumentNullException.ThrowIfNull(probes);
        var failed = probes.Where(p => p.Rcode == nameof(DnsResponseCode.ServerFailure)).ToList();
        if (failed.Count == 0)
        {
            return null;
        }

        var all = failed.Count == probes.Count;
        return DnsProbeObservation.Of(context, FindingCodes.DnsServfail, all ? Severity.Critical : Severity.Warning, failed[0],
            $"Name server {failed[0].Server} answers SERVFAIL",
            $"{failed.Count} of {probes.Count} queries answered SERVFAIL ({string.Join(", ", failed.Select(p => p.Name))}): the server cannot resolve them, typically because its own upstream fails.");
    }
}

/// <summary>
/// <c>DNS_CLUSTER_NAME_FAILS</c>: cluster DNS answered its first question (the cluster's own name), but not with an
/// address and not with SERVFAIL (that is <c>DNS_SERVFAIL</c>'s).
/// </summary>
internal static class DnsClusterNameFailsRule
{
    /// <param name="context">The run.</param>
    /// <param name="probes">One server's probes; for cluster DNS the first asks for the cluster's own name.</param>
    public static Observation? Check(CollectionContext context, IReadOnlyList<DnsProbeFacts> probes)
    {
        ArgumentNullException.ThrowIfNull(probes);
        if (probes.Count == 0 || probes[0] is not { Role: "cluster-dns", Outcome: "answered" } clusterName
            || clusterName.Rcode == nameof(DnsResponseCode.ServerFailure)
            || (clusterName.Rcode == nameof(DnsResponseCode.NoError) && clusterName.Addresses.Count > 0))
        {
            return null;
        }

        return DnsProbeObservation.Of(context, FindingCodes.DnsClusterNameFails, Severity.Critical, clusterName,
            $"Cluster DNS {clusterName.Server} cannot resolve {clusterName.Name.TrimEnd('.')}",
            $"Answered {clusterName.Rcode} with {clusterName.Addresses.Count} addresses: pods cannot resolve cluster services through it (wrong clusterDomain, CoreDNS not serving the zone, or another server at this address).");
    }
}

/// <summary><c>DNS_SLOW</c>, one per answer slower than the threshold.</summary>
internal static class DnsSlowRule
{
    /// <param name="context">The run.</param>
    /// <param name="probes">One server's probes.</param>
    /// <param name="options">The threshold.</param>
    public static IEnumerable<Observation> Check(CollectionContext context, IReadOnlyList<DnsProbeFacts> probes, DnsCollectorOptions options)
    {
        ArgumentNullException.ThrowIfNull(probes);
        ArgumentNullException.ThrowIfNull(options);
        foreach (var slow in probes.Where(p => p.Outcome == "answered" && p.LatencyMs > options.SlowThreshold.TotalMilliseconds))
        {
            yield return DnsProbeObservation.Of(context, FindingCodes.DnsSlow, Severity.Warning, slow,
                $"Name server {slow.Server} took {slow.LatencyMs:0} ms to answer",
                $"{slow.Name} answered in {slow.LatencyMs:0} ms (threshold {options.SlowThreshold.TotalMilliseconds:0} ms).");
        }
    }
}
