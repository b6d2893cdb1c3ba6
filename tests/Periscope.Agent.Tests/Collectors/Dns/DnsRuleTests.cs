using System.Globalization;
using Periscope.Agent.Collection;
using Periscope.Agent.Collectors.Dns;
using Periscope.Agent.Collectors.Dns.Rules;
using Periscope.Bundle;
using Periscope.Bundle.Facts;
using Xunit;

namespace Periscope.Agent.Tests.Collectors.Dns;

/// <summary>Each of the DNS collector's finding rules on its figures alone, on both sides of what it judges.</summary>
public sealed class DnsRuleTests() : RuleTests("dns")
{
    private readonly DnsCollectorOptions _options = new();

    private static DnsProbeFacts Probe(string name, string outcome, string? rcode = null, double latencyMs = 3, int addresses = 0, string role = "cluster-dns") => new()
    {
        Server = "10.0.0.10",
        Role = role,
        Name = name,
        Outcome = outcome,
        Rcode = rcode,
        LatencyMs = latencyMs,
        Addresses = [.. Enumerable.Range(1, addresses).Select(i => $"10.0.0.{i}")],
    };

    [Fact]
    public void NoNameservers_OnlyWhenNoServerWasFound_SayingWhetherTheFileWasUnreadable()
    {
        var empty = new ResolvConfFacts { Path = "/etc/resolv.conf" };
        var unreadable = new ResolvConfFacts { Path = "/etc/resolv.conf", Error = "not found" };

        Assert.Null(DnsNoNameserversRule.Check(Context, empty, servers: 1));
        var none = DnsNoNameserversRule.Check(Context, empty, servers: 0);
        var missing = DnsNoNameserversRule.Check(Context, unreadable, servers: 0);

        Assert.NotNull(none);
        Assert.Equal(FindingCodes.DnsNoNameservers, none.Code);
        Assert.Equal("/etc/resolv.conf names no name server", none.Title);
        Assert.NotNull(missing);
        Assert.Equal("/etc/resolv.conf cannot be read", missing.Title);
        Assert.Equal("not found", missing.Detail);
    }

    [Fact]
    public void Timeout_CriticalOnlyWhenNoQueryWasAnswered()
    {
        Assert.Null(DnsTimeoutRule.Check(Context, [Probe("a.", "answered", "NoError", addresses: 1)], _options));
        var some = DnsTimeoutRule.Check(Context, [Probe("a.", "answered", "NoError", addresses: 1), Probe("b.", "timed-out")], _options);
        var all = DnsTimeoutRule.Check(Context, [Probe("a.", "timed-out"), Probe("b.", "timed-out")], _options);

        Assert.NotNull(some);
        Assert.Equal(Severity.Warning, some.Severity);
        Assert.Equal("Name server 10.0.0.10 does not answer for b.", some.Title);
        Assert.Equal(new FindingSubject(SubjectKind.Server, "10.0.0.10"), some.Subject);
        Assert.NotNull(all);
        Assert.Equal(Severity.Critical, all.Severity);
        Assert.Equal("timed-out", all.Attributes["outcome"]);
    }

    [Fact]
    public void Servfail_CriticalOnlyWhenEveryQueryFailed()
    {
        Assert.Null(DnsServfailRule.Check(Context, [Probe("a.", "answered", "NXDomain")]));
        var one = DnsServfailRule.Check(Context, [Probe("a.", "answered", "ServerFailure"), Probe("b.", "answered", "NoError", addresses: 1)]);

        Assert.NotNull(one);
        Assert.Equal(FindingCodes.DnsServfail, one.Code);
        Assert.Equal(Severity.Warning, one.Severity);
        Assert.Equal("ServerFailure", one.Attributes["rcode"]);
    }

    [Fact]
    public void ClusterNameFails_OnlyForClusterDnsAnsweringWithoutAnAddress()
    {
        Assert.Null(DnsClusterNameFailsRule.Check(Context, [Probe("kubernetes.default.svc.cluster.local.", "answered", "NoError", addresses: 1)]));
        Assert.Null(DnsClusterNameFailsRule.Check(Context, [Probe("kubernetes.default.svc.cluster.local.", "answered", "ServerFailure")])); // DNS_SERVFAIL's
        Assert.Null(DnsClusterNameFailsRule.Check(Context, [Probe("kubernetes.default.svc.cluster.local.", "timed-out")])); // DNS_TIMEOUT's
        Assert.Null(DnsClusterNameFailsRule.Check(Context, [Probe("example.com.", "answered", "NXDomain", role: "upstream")]));
        var nx = DnsClusterNameFailsRule.Check(Context, [Probe("kubernetes.default.svc.cluster.local.", "answered", "NXDomain")]);
        var empty = DnsClusterNameFailsRule.Check(Context, [Probe("kubernetes.default.svc.cluster.local.", "answered", "NoError")]);

        Assert.NotNull(nx);
        Assert.Equal("Cluster DNS 10.0.0.10 cannot resolve kubernetes.default.svc.cluster.local", nx.Title);
        Assert.NotNull(empty);
        Assert.Equal(FindingCodes.DnsClusterNameFails, empty.Code);
    }

    [Fact]
    public void Slow_OnePerAnswerPastTheThreshold()
    {
        var threshold = _options.SlowThreshold.TotalMilliseconds;

        var slow = DnsSlowRule.Check(Context, [Probe("a.", "answered", "NoError", threshold), Probe("b.", "answered", "NoError", threshold + 1), Probe("c.", "timed-out", latencyMs: threshold * 3)], _options).ToList();

        var only = Assert.Single(slow);
        Assert.Equal("b.", only.Attributes["name"]);
        Assert.Equal(FindingCodes.DnsSlow, only.Code);
    }

    [Fact]
    public void SearchLimits_EachLimitPast_NamedInOneFinding()
    {
        var fine = new ResolvConfFacts { Path = "/etc/resolv.conf", Search = [.. Enumerable.Range(0, DnsCollector.MaxSearchDomains).Select(i => $"d{i}.example")], Nameservers = ["1.1.1.1", "8.8.8.8", "9.9.9.9"] };

        Assert.Null(DnsSearchLimitsRule.Check(Context, fine));
        var over = DnsSearchLimitsRule.Check(Context, fine with { Search = [.. fine.Search, "one-more.example"], Nameservers = [.. fine.Nameservers, "4.4.4.4"] });

        Assert.NotNull(over);
        Assert.Equal(FindingCodes.DnsSearchLimits, over.Code);
        Assert.Equal((DnsCollector.MaxSearchDomains + 1).ToString(CultureInfo.InvariantCulture), over.Attributes["searchDomains"]);
        Assert.Equal("4", over.Attributes["nameservers"]);
        Assert.Contains("search domains (the kubelet allows 32)", over.Detail, StringComparison.Ordinal);
        Assert.Contains("4 nameservers", over.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void NdotsAmplification_OnAKubernetesNodeOnly_CountsTheLookups()
    {
        var file = new ResolvConfFacts { Path = "/etc/resolv.conf", Search = ["corp.example", "example"] };

        Assert.Null(DnsNdotsAmplificationRule.Check(Context, file, clusterServers: 0));
        var amplified = DnsNdotsAmplificationRule.Check(Context, file, clusterServers: 1);

        Assert.NotNull(amplified);
        Assert.Equal(Severity.Info, amplified.Severity);
        Assert.Equal("5", amplified.Attributes["searchDomains"]);
        Assert.Equal("6", amplified.Attributes["lookupsPerName"]);
    }
}
