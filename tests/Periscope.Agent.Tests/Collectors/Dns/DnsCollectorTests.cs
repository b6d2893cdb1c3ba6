using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Periscope.Agent.Collection;
using Periscope.Agent.Collectors.Dns;
using Periscope.Bundle;
using Periscope.Bundle.Facts;
using Periscope.Testing;
using Xunit;
using static Periscope.Agent.Tests.Collectors.Dns.DnsTestSupport;

namespace Periscope.Agent.Tests.Collectors.Dns;

/// <summary>The dns collector against real name servers on loopback addresses; the node root names them in its resolv.conf.</summary>
[Collection(LoopbackDnsTests.Name)]
public sealed class DnsCollectorTests(LoopbackDnsServers servers)
{
    [Fact]
    public async Task Collect_HealthyClusterDns_AnswersBothNamesWithoutFindings()
    {
        servers.Require();
        using var root = Node(resolv: $"nameserver {LoopbackDnsServers.Dnsmasq}\nsearch corp.example\n", clusterDns: LoopbackDnsServers.Dnsmasq);

        var (observations, facts) = await CollectAsync(root);

        Assert.DoesNotContain(observations, o => o.Severity > Severity.Info);
        var probes = facts.Probes.Where(p => p.Server == LoopbackDnsServers.Dnsmasq).ToList();
        Assert.Equal(2, probes.Count); // one server, both names: its cluster-dns role wins over resolv.conf
        var cluster = probes.Single(p => p.Name == "kubernetes.default.svc.cluster.local.");
        Assert.Equal(("answered", "NoError", "cluster-dns"), (cluster.Outcome, cluster.Rcode, cluster.Role));
        Assert.Equal(["10.0.0.1"], cluster.Addresses);
        Assert.Equal(["10.0.0.2"], probes.Single(p => p.Name == LoopbackDnsServers.SignedName + ".").Addresses);
        var ndots = Assert.Single(observations, o => o.Code == "DNS_NDOTS_AMPLIFICATION");
        Assert.Equal("5", ndots.Attributes["lookupsPerName"]); // 3 cluster search domains + corp.example + the name itself
    }

    [Fact]
    public async Task Collect_ServerThatNeverAnswers_IsACriticalTimeoutWithinTheDeadline()
    {
        servers.Require();
        using var root = Node(resolv: $"nameserver {LoopbackDnsServers.Silent}\n");

        var started = DateTime.UtcNow;
        var (observations, facts) = await CollectAsync(root);

        var timeout = Assert.Single(observations, o => o.Code == "DNS_TIMEOUT");
        Assert.Equal((Severity.Critical, SubjectKind.Server, LoopbackDnsServers.Silent), (timeout.Severity, timeout.Subject.Kind, timeout.Subject.Id));
        Assert.Equal("timed-out", Assert.Single(facts.Probes).Outcome);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Collect_SilentClusterDns_CostsOneQueryDeadlineNotOnePerName()
    {
        servers.Require();
        using var root = Node(resolv: $"nameserver {LoopbackDnsServers.Dnsmasq}\n", clusterDns: LoopbackDnsServers.Silent);

        var (observations, facts) = await CollectAsync(root, new DnsCollectorOptions { QueryTimeout = TimeSpan.FromSeconds(2) });

        var silent = facts.Probes.Where(p => p.Server == LoopbackDnsServers.Silent).ToList();
        Assert.Equal(2, silent.Count);
        Assert.All(silent, p => Assert.Equal("timed-out", p.Outcome));
        Assert.Equal(Severity.Critical, Assert.Single(observations, o => o.Code == "DNS_TIMEOUT").Severity);
        Assert.True(silent.Max(p => p.LatencyMs) < 3500, "the two questions went out together");
    }

    [Fact]
    public async Task Collect_ClusterDnsWhoseUpstreamNeverAnswers_TimesOutOnlyForTheExternalName()
    {
        servers.Require();
        using var root = Node(resolv: $"nameserver {LoopbackDnsServers.Dnsmasq}\n", clusterDns: LoopbackDnsServers.Dnsmasq);

        var (observations, _) = await CollectAsync(root, new DnsCollectorOptions { ExternalName = "images.example.org" });

        var timeout = Assert.Single(observations, o => o.Code == "DNS_TIMEOUT");
        Assert.Equal((Severity.Warning, "images.example.org."), (timeout.Severity, timeout.Attributes["name"]));
        Assert.DoesNotContain(observations, o => o.Code == "DNS_CLUSTER_NAME_FAILS");
    }

    [Fact]
    public async Task Collect_ServerAnsweringServfail_IsReported()
    {
        servers.Require();
        using var root = Node(resolv: $"nameserver {LoopbackDnsServers.Unbound}\n");

        var (observations, facts) = await CollectAsync(root);

        var servfail = Assert.Single(observations, o => o.Code == "DNS_SERVFAIL");
        Assert.Equal((Severity.Critical, LoopbackDnsServers.Unbound), (servfail.Severity, servfail.Subject.Id));
        Assert.Equal("ServerFailure", Assert.Single(facts.Probes).Rcode);
    }

    [Fact]
    public async Task Collect_ClusterDomainTheServerDoesNotHold_IsClusterNameFails()
    {
        servers.Require();
        using var root = Node(resolv: $"nameserver {LoopbackDnsServers.Dnsmasq}\n", clusterDns: LoopbackDnsServers.Dnsmasq, clusterDomain: "broken.local");

        var (observations, _) = await CollectAsync(root);

        var fails = Assert.Single(observations, o => o.Code == "DNS_CLUSTER_NAME_FAILS");
        Assert.Equal(("NotExistentDomain", "kubernetes.default.svc.broken.local."), (fails.Attributes["rcode"], fails.Attributes["name"]));
        Assert.Equal(Severity.Critical, fails.Severity);
    }

    [Fact]
    public async Task Collect_ServerAnsweringLate_IsSlow()
    {
        servers.Require();
        using var root = Node(resolv: $"nameserver {LoopbackDnsServers.Slow}\n");

        var (observations, facts) = await CollectAsync(root);

        var slow = Assert.Single(observations, o => o.Code == "DNS_SLOW");
        Assert.Equal(LoopbackDnsServers.Slow, slow.Subject.Id);
        Assert.True(Assert.Single(facts.Probes).LatencyMs >= LoopbackDnsServers.RelayDelay.TotalMilliseconds);
        Assert.DoesNotContain(observations, o => o.Code == "DNS_TIMEOUT");
    }
}

/// <summary>What the dns collector decides from files alone (no query is sent: offline).</summary>
public sealed class DnsFileTests
{
    [Fact]
    public async Task Collect_Offline_ReadsTheFilesAndSendsNoQuery()
    {
        using var root = Node(resolv: "nameserver 192.0.2.53\noptions ndots:2 timeout:1 attempts:3 rotate\n", clusterDns: "10.0.0.10");

        var (observations, facts) = await CollectAsync(root, offline: true);

        Assert.True(facts.Offline);
        Assert.Empty(facts.Probes);
        Assert.Equal((2, 1, 3), (facts.ResolvConf!.Ndots, facts.ResolvConf.Timeout, facts.ResolvConf.Attempts));
        Assert.Equal(["10.0.0.10"], facts.ClusterDns);
        Assert.DoesNotContain(observations, o => o.Subject.Kind == SubjectKind.Server);
    }

    [Theory]
    [InlineData("# managed by nobody\nsearch example.com\n")]
    [InlineData(null)]
    public async Task Collect_NoNameserver_IsCritical(string? resolv)
    {
        using var root = Node(resolv);

        var (observations, facts) = await CollectAsync(root);

        var none = Assert.Single(observations, o => o.Code == "DNS_NO_NAMESERVERS");
        Assert.Equal((Severity.Critical, "/etc/resolv.conf"), (none.Severity, none.Subject.Id));
        Assert.Empty(facts.Probes);
        if (resolv is null)
        {
            Assert.Equal("missing", facts.ResolvConf!.Error);
        }
    }

    [Fact]
    public async Task Collect_TooManySearchDomainsAndNameservers_IsSearchLimits()
    {
        var search = string.Join(' ', Enumerable.Range(0, 33).Select(i => $"d{i}.example"));
        using var root = Node($"nameserver 192.0.2.1\nnameserver 192.0.2.2\nnameserver 192.0.2.3\nnameserver 192.0.2.4\nsearch {search}\n");

        var (observations, _) = await CollectAsync(root, offline: true);

        var limits = Assert.Single(observations, o => o.Code == "DNS_SEARCH_LIMITS");
        Assert.Equal(("33", "4"), (limits.Attributes["searchDomains"], limits.Attributes["nameservers"]));
        Assert.Contains("only the first 3", limits.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Collect_KubeletResolvConfSetting_IsTheFileChecked()
    {
        using var root = Node("nameserver 127.0.0.53\n", clusterDns: "10.0.0.10", kubeletExtra: "resolvConf: /run/systemd/resolve/resolv.conf\n")
            .File("/run/systemd/resolve/resolv.conf", "nameserver 192.0.2.1\nnameserver 192.0.2.2\nnameserver 192.0.2.3\nnameserver 192.0.2.4\n");

        var (observations, facts) = await CollectAsync(root, offline: true);

        Assert.Equal(4, facts.ResolvedUpstream!.Nameservers.Count);
        Assert.Equal("/run/systemd/resolve/resolv.conf", Assert.Single(observations, o => o.Code == "DNS_SEARCH_LIMITS").Subject.Id);
    }

    [Fact]
    public async Task Collect_MalformedKubeletConfigAndAddress_AreRecordedNotThrown()
    {
        using var root = Node("nameserver not-an-address\n").File("/var/lib/kubelet/config.yaml", "clusterDNS: [unclosed\n");

        var (observations, facts, status) = await CollectWithStatusAsync(root);

        var probe = Assert.Single(facts.Probes);
        Assert.Equal(("failed", "not an IP address"), (probe.Outcome, probe.Error));
        Assert.Empty(facts.ClusterDns);
        Assert.Contains("kubelet config", status, StringComparison.Ordinal);
        Assert.DoesNotContain(observations, o => o.Code == "DNS_NO_NAMESERVERS");
    }

    [Fact]
    public void Parse_ResolvConf_FollowsTheCLibrary()
    {
        var facts = ResolvConf.Parse("/etc/resolv.conf", """
            ; comment
            nameserver 10.0.0.10
            search a.example b.example
            domain only.example
            options ndots:20 timeout:2
            options attempts:9 edns0
            nameserver fe80::1%eth0
            """);

        Assert.Equal(["10.0.0.10", "fe80::1%eth0"], facts.Nameservers);
        Assert.Equal(["only.example"], facts.Search); // the last search/domain line wins
        Assert.Equal((15, 2, 5), (facts.Ndots, facts.Timeout, facts.Attempts)); // capped as glibc caps them
        Assert.Equal(["ndots:20", "timeout:2", "attempts:9", "edns0"], facts.Options);
    }
}

internal static class DnsTestSupport
{
    public static async Task<(IReadOnlyList<Observation> Observations, DnsFacts Facts)> CollectAsync(NodeRoot root, DnsCollectorOptions? options = null, bool offline = false)
    {
        var (observations, facts, _) = await CollectWithStatusAsync(root, options, offline);
        return (observations, facts);
    }

    public static async Task<(IReadOnlyList<Observation> Observations, DnsFacts Facts, string Status)> CollectWithStatusAsync(NodeRoot root, DnsCollectorOptions? options = null, bool offline = false)
    {
        options ??= new DnsCollectorOptions();
        if (options.ExternalName == new DnsCollectorOptions().ExternalName)
        {
            options.ExternalName = LoopbackDnsServers.SignedName; // held by the test servers: nothing leaves this machine
        }

        var collector = new DnsCollector(Options.Create(options), NullLogger<DnsCollector>.Instance);
        var result = await CollectorHarness.RunAsync(collector, new HostRoot(root.Path), offline: offline);
        return (result.Observations, (DnsFacts)result.Facts!, $"{result.Status} {result.Error}");
    }

    public static NodeRoot Node(string? resolv, string? clusterDns = null, string clusterDomain = "cluster.local", string kubeletExtra = "")
    {
        var root = new NodeRoot().Dir("/etc").Dir("/proc");
        if (resolv is not null)
        {
            root.File("/etc/resolv.conf", resolv);
        }

        if (clusterDns is not null)
        {
            root.File("/var/lib/kubelet/config.yaml", $"kind: KubeletConfiguration\nclusterDNS:\n- {clusterDns}\nclusterDomain: {clusterDomain}\n{kubeletExtra}");
        }

        return root;
    }
}
