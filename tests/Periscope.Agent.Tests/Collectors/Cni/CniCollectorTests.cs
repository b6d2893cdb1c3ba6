using System.Text;
using Microsoft.Extensions.Options;
using Periscope.Agent.Collection;
using Periscope.Agent.Collectors.Cni;
using Periscope.Bundle;
using Periscope.Bundle.Facts;
using Periscope.Testing;
using Xunit;

namespace Periscope.Agent.Tests.Collectors.Cni;

/// <summary>The cni collector on node roots written for each network mode (offline: no rule-listing command runs).</summary>
public sealed class CniCollectorTests
{
    private const string Kubenet = """
        {"cniVersion":"0.3.1","name":"kubenet","plugins":[
          {"type":"bridge","bridge":"cbr0","mtu":1500,"addIf":"eth0","isGateway":true,"ipMasq":false,"hairpinMode":false,
           "ipam":{"type":"host-local","ranges":[[{"subnet":"10.244.1.0/24"}]],"routes":[{"dst":"0.0.0.0/0"}]}},
          {"type":"portmap","capabilities":{"portMappings":true},"externalSetMarkChain":"KUBE-MARK-MASQ"}]}
        """;

    [Fact]
    public async Task Collect_KubenetWith110Pods_ReadsModePluginsAndRangeUse()
    {
        using var root = KubernetesNode().File("/etc/cni/net.d/10-kubenet.conflist", Kubenet).Plugins("bridge", "host-local", "portmap");
        Allocate(root, "kubenet", Enumerable.Range(2, 110).Select(i => $"10.244.1.{i}"));
        root.File("/var/lib/cni/networks/kubenet/last_reserved_ip.0", "10.244.1.111").File("/var/lib/cni/networks/kubenet/lock", "");

        var (observations, facts) = await CollectAsync(root);

        Assert.Equal(("10-kubenet.conflist", "kubenet"), (facts.ActiveConfig, facts.NetworkMode));
        Assert.Equal(["bridge", "host-local", "portmap"], facts.Plugins.Select(p => p.Type));
        Assert.All(facts.Plugins, p => Assert.True(p.Executable));
        var range = Assert.Single(facts.Ipam);
        Assert.Equal(("host-local", "kubenet", "10.244.1.0/24", 253L, 110L), (range.Source, range.Network, range.Range, range.Usable, range.Allocated));
        Assert.DoesNotContain(observations, o => o.Severity > Severity.Info);
    }

    [Theory]
    [InlineData(5, null)]
    [InlineData(1, Severity.Warning)]
    [InlineData(0, Severity.Critical)]
    public async Task Collect_HostLocalRangeNearlyOrFullyAllocated_IsIpExhaustion(int free, Severity? expected)
    {
        // 10.0.5.0/28 within rangeStart .2 .. rangeEnd .13, gateway .1 outside it: 12 usable addresses
        using var root = KubernetesNode().Plugins("bridge", "host-local").File("/etc/cni/net.d/10-net.conflist", """
            {"cniVersion":"0.4.0","name":"pods","plugins":[{"type":"bridge","bridge":"cni0",
             "ipam":{"type":"host-local","subnet":"10.0.5.0/28","rangeStart":"10.0.5.2","rangeEnd":"10.0.5.13","gateway":"10.0.5.1"}}]}
            """);
        Allocate(root, "pods", Enumerable.Range(2, 12 - free).Select(i => $"10.0.5.{i}").Append("10.9.9.9")); // one stale file outside the range

        var (observations, facts) = await CollectAsync(root);

        Assert.Equal(12, Assert.Single(facts.Ipam).Usable);
        if (expected is null)
        {
            Assert.DoesNotContain(observations, o => o.Code == "CNI_IP_EXHAUSTION"); // 7 of 12
        }
        else
        {
            Assert.Equal(expected, Assert.Single(observations, o => o.Code == "CNI_IP_EXHAUSTION").Severity); // 11 of 12, 12 of 12
        }
    }

    [Fact]
    public async Task Collect_FullRange_IsCriticalAndNinetyPercentIsAWarning()
    {
        using var full = KubernetesNode().Plugins("bridge", "host-local").File("/etc/cni/net.d/10-net.conflist", """
            {"cniVersion":"0.4.0","name":"pods","plugins":[{"type":"bridge","ipam":{"type":"host-local","subnet":"10.0.6.0/29"}}]}
            """);
        Allocate(full, "pods", Enumerable.Range(2, 5).Select(i => $"10.0.6.{i}")); // /29: .2 .. .6 usable (.1 gateway, .7 broadcast)
        using var nearly = KubernetesNode().Plugins("bridge", "host-local").File("/etc/cni/net.d/10-net.conflist", """
            {"cniVersion":"0.4.0","name":"pods","plugins":[{"type":"bridge","ipam":{"type":"host-local","subnet":"10.0.7.0/24"}}]}
            """);
        Allocate(nearly, "pods", Enumerable.Range(2, 230).Select(i => $"10.0.7.{i}"));

        var critical = Assert.Single((await CollectAsync(full)).Observations, o => o.Code == "CNI_IP_EXHAUSTION");
        var warning = Assert.Single((await CollectAsync(nearly)).Observations, o => o.Code == "CNI_IP_EXHAUSTION");

        Assert.Equal((Severity.Critical, "5", "5"), (critical.Severity, critical.Attributes["allocated"], critical.Attributes["usable"]));
        Assert.Equal((Severity.Warning, "230", "253"), (warning.Severity, warning.Attributes["allocated"], warning.Attributes["usable"]));
    }

    [Fact]
    public async Task Collect_AzureCni_ReadsTheIpamStateFile()
    {
        using var root = KubernetesNode().Plugins("azure-vnet", "azure-vnet-ipam").File("/etc/cni/net.d/10-azure.conflist", """
            {"cniVersion":"0.3.0","name":"azure","plugins":[{"type":"azure-vnet","mode":"transparent","ipsToRouteViaHost":["169.254.20.10"],
             "ipam":{"type":"azure-vnet-ipam"}},{"type":"portmap","capabilities":{"portMappings":true},"snat":true}]}
            """).Plugins("portmap");
        var addresses = string.Join(",", Enumerable.Range(5, 30).Select(i => $"\"10.240.0.{i}\":{{\"ID\":\"\",\"Addr\":\"10.240.0.{i}\",\"InUse\":{(i < 33 ? "true" : "false")}}}"));
        var state = "{\"IPAM\":{\"AddressSpaces\":{\"local\":{\"Id\":\"local\",\"Pools\":{\"10.240.0.0/16\":{\"Id\":\"10.240.0.0/16\",\"Addresses\":{" + addresses + "}}}}}}}";
        root.File("/var/run/azure-vnet-ipam.json", state);

        var (observations, facts) = await CollectAsync(root);

        Assert.Equal("azure-cni", facts.NetworkMode);
        Assert.Equal(["azure-vnet", "azure-vnet-ipam", "portmap"], facts.Plugins.Select(p => p.Type));
        var pool = Assert.Single(facts.Ipam);
        Assert.Equal(("azure-cni", "10.240.0.0/16", 30L, 28L), (pool.Source, pool.Range, pool.Usable, pool.Allocated));
        Assert.Equal(Severity.Warning, Assert.Single(observations, o => o.Code == "CNI_IP_EXHAUSTION").Severity); // 28 of 30
    }

    [Theory]
    [InlineData("""{"cniVersion":"1.0.0","name":"azure","plugins":[{"type":"azure-vnet","mode":"transparent","executionMode":"v4swift","ipam":{"mode":"v4overlay","type":"azure-cns"}}]}""", "azure-cni-overlay", "azure-vnet")]
    [InlineData("""{"cniVersion":"0.3.1","name":"cilium","plugins":[{"type":"cilium-cni","enable-debug":false}]}""", "cilium", "cilium-cni")]
    [InlineData("""{"name":"k8s-pod-network","cniVersion":"0.3.1","plugins":[{"type":"calico","ipam":{"type":"calico-ipam"}},{"type":"bandwidth"}]}""", "calico", "calico,calico-ipam,bandwidth")]
    [InlineData("""{"name":"cbr0","cniVersion":"0.3.1","plugins":[{"type":"flannel","delegate":{"hairpinMode":true}}]}""", "flannel", "flannel")]
    [InlineData("""{"cniVersion":"0.4.0","name":"other","type":"macvlan","master":"eth0"}""", "other", "macvlan")]
    public async Task Collect_NetworkModes_AreRecognised(string config, string mode, string binaries)
    {
        var file = config.Contains("\"plugins\"", StringComparison.Ordinal) ? "10-net.conflist" : "10-net.conf"; // a single plugin is a .conf
        using var root = KubernetesNode().File($"/etc/cni/net.d/{file}", config).Plugins(binaries.Split(','));

        var (observations, facts) = await CollectAsync(root);

        Assert.Equal(mode, facts.NetworkMode);
        Assert.Equal(binaries.Split(','), facts.Plugins.Select(p => p.Type)); // azure-cns is in-process: no binary needed
        Assert.DoesNotContain(observations, o => o.Code == "CNI_PLUGIN_MISSING");
    }

    [Fact]
    public async Task Collect_InvalidFileFirst_IsSkippedForTheNextValidOne()
    {
        using var root = KubernetesNode().Plugins("bridge", "host-local")
            .File("/etc/cni/net.d/05-broken.conflist", "{\"cniVersion\":\"0.4.0\",\"name\":\"x\",\"plugins\":[{\"type\":\"bridge\"")
            .File("/etc/cni/net.d/07-noplugins.conflist", "{\"cniVersion\":\"0.4.0\",\"name\":\"x\",\"plugins\":[]}")
            .File("/etc/cni/net.d/10-kubenet.conflist", Kubenet.Replace("\"portmap\"", "\"bridge\"", StringComparison.Ordinal))
            .File("/etc/cni/net.d/README", "not a config");

        var (observations, facts) = await CollectAsync(root);

        Assert.Equal("10-kubenet.conflist", facts.ActiveConfig);
        Assert.Equal(["05-broken.conflist", "07-noplugins.conflist", "10-kubenet.conflist"], facts.Configs.Select(c => c.File));
        var invalid = observations.Where(o => o.Code == "CNI_CONFIG_INVALID").ToList();
        Assert.Equal(2, invalid.Count);
        Assert.All(invalid, o => Assert.Equal(Severity.Warning, o.Severity));
        Assert.Contains("not valid JSON", invalid[0].Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Collect_OnlyInvalidFiles_IsCritical()
    {
        using var root = KubernetesNode().File("/etc/cni/net.d/10-x.conf", "{\"cniVersion\":\"0.4.0\",\"type\":\"bridge\"}");

        var (observations, facts) = await CollectAsync(root);

        Assert.Null(facts.ActiveConfig);
        var invalid = Assert.Single(observations, o => o.Code == "CNI_CONFIG_INVALID");
        Assert.Equal((Severity.Critical, "/etc/cni/net.d/10-x.conf"), (invalid.Severity, invalid.Subject.Id));
        Assert.Equal("no network name", invalid.Attributes["error"]);
    }

    [Fact]
    public async Task Collect_NoConfigOnANode_IsMissingButElsewhereSkippedWithTheReason()
    {
        using var node = KubernetesNode().Dir("/etc/cni/net.d");
        using var workstation = new NodeRoot().Dir("/sys/class/net/lo");

        var (onNode, _) = await CollectAsync(node);
        var (elsewhere, facts) = await CollectAsync(workstation);

        Assert.Equal(Severity.Critical, Assert.Single(onNode, o => o.Code == "CNI_CONFIG_MISSING").Severity);
        Assert.Empty(elsewhere);
        Assert.Contains("not a Kubernetes node", facts.ChecksSkipped, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Collect_PluginMissingOrNotExecutable_IsPluginMissing()
    {
        using var root = KubernetesNode().File("/etc/cni/net.d/10-kubenet.conflist", Kubenet).Plugins("bridge").File("/opt/cni/bin/portmap", "#!/bin/sh\n");
        File.SetUnixFileMode(root.Real("/opt/cni/bin/portmap"), UnixFileMode.UserRead | UnixFileMode.UserWrite);

        var (observations, _) = await CollectAsync(root);

        var missing = observations.Where(o => o.Code == "CNI_PLUGIN_MISSING").OrderBy(o => o.Attributes["plugin"], StringComparer.Ordinal).ToList();
        Assert.Equal(["host-local", "portmap"], missing.Select(o => o.Attributes["plugin"]));
        Assert.Equal("CNI plugin host-local is missing", missing[0].Title);
        Assert.Equal("CNI plugin portmap is not executable", missing[1].Title);
        Assert.All(missing, o => Assert.Equal(Severity.Critical, o.Severity));
    }

    [Fact]
    public async Task Collect_InterfacesAndRoutes_GiveMtuMismatchAndNicErrors()
    {
        using var root = KubernetesNode()
            .Interface("eth0", 1500, rxPackets: 1_000_000, txPackets: 1_000_000, rxErrors: 1500, rxDropped: 1000)
            .Interface("cbr0", 1500, rxPackets: 50_000, txPackets: 50_000)
            .Interface("veth3f2a", 9000, rxPackets: 100, txPackets: 100)
            .Interface("flannel.1", 1500, rxPackets: 0, txPackets: 0)
            .Interface("eth1", 9000, rxPackets: 500, txPackets: 500, rxErrors: 400) // few packets: not judged; not a pod interface
            .File("/proc/net/route", "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n" +
                                     "eth0\t00000000\t0100000A\t0003\t0\t0\t100\t00000000\t0\t0\t0\n" +
                                     "cbr0\t0001F40A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n")
            .File("/proc/net/ipv6_route", "fd000000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001 eth0\n" +
                                          "00000000000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000002 00000000 80200001 lo\n");

        var (observations, facts) = await CollectAsync(root);

        Assert.Equal("eth0", facts.PrimaryInterface);
        Assert.Equal([("ipv4", "0.0.0.0/0", "10.0.0.1", "eth0"), ("ipv4", "10.244.1.0/24", null, "cbr0"), ("ipv6", "fd00::/64", null, "eth0")],
            facts.Routes.Select(r => (r.Family, r.Destination, r.Gateway, r.Interface)));
        var mtu = observations.Where(o => o.Code == "CNI_MTU_MISMATCH").Select(o => o.Subject.Id).Order(StringComparer.Ordinal);
        Assert.Equal(["flannel.1", "veth3f2a"], mtu); // a tunnel needs room for its header below 1500
        var errors = Assert.Single(observations, o => o.Code == "NIC_ERRORS");
        Assert.Equal(("eth0", "1500", "1000"), (errors.Subject.Id, errors.Attributes["errors"], errors.Attributes["dropped"]));
    }

    [Fact]
    public void CountRules_IptablesSaveAndNftOutput_CountPerTable()
    {
        var iptables = new RuleCounter(nft: false);
        foreach (var line in """
            # Generated by iptables-save v1.8.9
            *nat
            :PREROUTING ACCEPT [0:0]
            :KUBE-SERVICES - [0:0]
            -A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
            -A KUBE-SERVICES -d 10.0.0.1/32 -p tcp -j KUBE-SVC-NPX46M4PTMTKRN6Y
            COMMIT
            *filter
            :INPUT ACCEPT [0:0]
            -A INPUT -j KUBE-FIREWALL
            COMMIT
            """.Split('\n'))
        {
            iptables.Line(Encoding.UTF8.GetBytes(line));
        }

        var nft = new RuleCounter(nft: true);
        foreach (var line in """
            table ip filter {
            	chain INPUT {
            		type filter hook input priority 0; policy accept;
            		ip saddr 10.0.0.1 counter packets 0 bytes 0 accept
            		meta l4proto tcp tcp dport vmap {
            			22 : accept,
            			80 : drop
            		}
            		counter packets 0 bytes 0 jump KUBE-FIREWALL
            	}
            	set blocked {
            		type ipv4_addr
            		elements = { 10.0.0.9 }
            	}
            }
            table inet cilium {
            	chain out {
            		comment "managed"
            		ct state established accept
            	}
            }
            """.Split('\n'))
        {
            nft.Line(Encoding.UTF8.GetBytes(line));
        }

        Assert.Equal(new Dictionary<string, long> { ["nat"] = 2, ["filter"] = 1 }, iptables.Tables);
        Assert.Equal(new Dictionary<string, long> { ["ip filter"] = 3, ["inet cilium"] = 1 }, nft.Tables);
    }

    [Fact]
    public async Task Collect_RuleListingThatHangsOrIsMissing_IsRecordedAndTheRunGoesOn()
    {
        Requires.Tool("sleep");
        using var root = KubernetesNode().File("/etc/cni/net.d/10-kubenet.conflist", Kubenet).Plugins("bridge", "host-local", "portmap");
        var collector = new CniCollector(Options.Create(new CniCollectorOptions { CommandTimeout = TimeSpan.FromMilliseconds(500) }));
        var runner = new SubstitutingRunner(new Dictionary<string, (string, string[])>
        {
            ["iptables-save"] = ("sleep", ["60"]), // an iptables stuck on the xtables lock
            ["ip6tables-save"] = ("periscope-no-such-binary", []),
            ["nft"] = ("sh", ["-c", "echo 'table ip filter {'; echo '  chain INPUT {'; echo '    counter accept'; exit 1"]),
            ["iptables-legacy-save"] = ("periscope-no-such-binary", []),
            ["ip6tables-legacy-save"] = ("periscope-no-such-binary", []),
        });

        var started = DateTime.UtcNow;
        var result = await CollectorHarness.RunAsync(collector, new HostRoot(root.Path), commands: runner);

        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(10));
        var facts = (CniFacts)result.Facts!;
        Assert.Equal(["timed-out", "missing-binary", "failed"], facts.Rules.Select(r => r.Outcome));
        Assert.Equal(1, facts.Rules.Single(r => r.Tool == "nft").Total); // what it printed before failing is kept
        Assert.Equal(CollectorStatus.Partial, result.Status);
        Assert.Contains("iptables-save: timed-out", result.Error, StringComparison.Ordinal);
        Assert.Equal("kubenet", facts.NetworkMode); // the rest of the collection is whole
    }

    [Fact]
    public async Task Collect_RulesInTheLegacyBackEnd_AreCountedBesideTheNftFlavours()
    {
        using var root = KubernetesNode().File("/etc/cni/net.d/10-kubenet.conflist", Kubenet).Plugins("bridge", "host-local", "portmap");
        var collector = new CniCollector(Options.Create(new CniCollectorOptions { RulesThreshold = 4 }));
        var runner = new SubstitutingRunner(new Dictionary<string, (string, string[])>
        {
            // The image's iptables-save is the nft flavour: it sees the nft back end's two rules only.
            ["iptables-save"] = ("sh", ["-c", "printf '*filter\\n-A INPUT -j ACCEPT\\n-A FORWARD -j ACCEPT\\nCOMMIT\\n'"]),
            ["ip6tables-save"] = ("true", []),
            ["nft"] = ("true", []),
            // kube-proxy programmed the legacy back end.
            ["iptables-legacy-save"] = ("sh", ["-c", "printf '*nat\\n-A KUBE-SERVICES -j KUBE-SVC-1\\n-A KUBE-SERVICES -j KUBE-SVC-2\\n-A KUBE-SERVICES -j KUBE-SVC-3\\nCOMMIT\\n'"]),
            ["ip6tables-legacy-save"] = ("periscope-no-such-binary", []),
        });

        var result = await CollectorHarness.RunAsync(collector, new HostRoot(root.Path), commands: runner);

        var facts = (CniFacts)result.Facts!;
        Assert.Equal([("iptables-save", 2L), ("ip6tables-save", 0L), ("nft", 0L), ("iptables-legacy-save", 3L)], facts.Rules.Select(r => (r.Tool, r.Total)));
        var excessive = Assert.Single(result.Observations, o => o.Code == "IPTABLES_RULES_EXCESSIVE");
        Assert.Equal("5", excessive.Attributes["rules"]);
    }

    [Fact]
    public async Task Collect_IptablesSaveThatIsTheLegacyFlavour_IsNotCountedTwice()
    {
        using var root = KubernetesNode().File("/etc/cni/net.d/10-kubenet.conflist", Kubenet).Plugins("bridge", "host-local", "portmap");
        using var tools = new TempDirectory();
        var multi = tools.Combine("xtables-legacy-multi");
        await File.WriteAllTextAsync(multi, "#!/bin/sh\nprintf '*filter\\n-A INPUT -j ACCEPT\\nCOMMIT\\n'\n");
        File.SetUnixFileMode(multi, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var save = tools.Combine("iptables-save");
        File.CreateSymbolicLink(save, multi);
        var collector = new CniCollector(Options.Create(new CniCollectorOptions()));
        var runner = new SubstitutingRunner(new Dictionary<string, (string, string[])>
        {
            ["iptables-save"] = (save, []),
            ["ip6tables-save"] = ("true", []),
            ["nft"] = ("true", []),
            ["iptables-legacy-save"] = (save, []),
            ["ip6tables-legacy-save"] = ("true", []),
        });

        var result = await CollectorHarness.RunAsync(collector, new HostRoot(root.Path), commands: runner);

        var facts = (CniFacts)result.Facts!;
        Assert.Equal(["iptables-save", "ip6tables-save", "nft"], facts.Rules.Select(r => r.Tool));
        Assert.Equal(1, facts.Rules[0].Total);
    }

    /// <summary>Runs another real command in place of a named one, under the same limits.</summary>
    private sealed class SubstitutingRunner(IReadOnlyDictionary<string, (string File, string[] Arguments)> substitutes) : IProcessRunner
    {
        private readonly ProcessRunner _inner = new(TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<ProcessRunner>.Instance);

        public Task<ProcessResult> RunAsync(ProcessRequest request, CancellationToken cancellationToken)
            => _inner.RunAsync(substitutes.TryGetValue(request.FileName, out var s) ? request with { FileName = s.File, Arguments = s.Arguments } : request, cancellationToken);
    }

    private static async Task<(IReadOnlyList<Observation> Observations, CniFacts Facts)> CollectAsync(NodeRoot root)
    {
        var collector = new CniCollector(Options.Create(new CniCollectorOptions()));
        var result = await CollectorHarness.RunAsync(collector, new HostRoot(root.Path), offline: true);
        Assert.Equal(CollectorStatus.Ok, result.Status);
        return (result.Observations, (CniFacts)result.Facts!);
    }

    private static NodeRoot KubernetesNode() => new NodeRoot().File("/var/lib/kubelet/config.yaml", "kind: KubeletConfiguration\n").Dir("/proc").Dir("/sys/class/net");

    private static void Allocate(NodeRoot root, string network, IEnumerable<string> addresses)
    {
        foreach (var address in addresses)
        {
            root.File($"/var/lib/cni/networks/{network}/{address}", "0123456789abcdef\neth0");
        }
    }
}

internal static class CniNodeRootExtensions
{
    public static NodeRoot Plugins(this NodeRoot root, params string[] names)
    {
        foreach (var name in names)
        {
            root.File($"/opt/cni/bin/{name}", "#!/bin/sh\n");
            File.SetUnixFileMode(root.Real($"/opt/cni/bin/{name}"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        return root;
    }

    public static NodeRoot Interface(this NodeRoot root, string name, int mtu, long rxPackets = 0, long txPackets = 0, long rxErrors = 0, long rxDropped = 0)
    {
        var directory = $"/sys/class/net/{name}";
        root.File($"{directory}/operstate", "up\n").File($"{directory}/mtu", $"{mtu}\n");
        foreach (var (counter, value) in new[] { ("rx_packets", rxPackets), ("tx_packets", txPackets), ("rx_errors", rxErrors), ("tx_errors", 0L), ("rx_dropped", rxDropped), ("tx_dropped", 0L) })
        {
            root.File($"{directory}/statistics/{counter}", $"{value}\n");
        }

        return root;
    }
}
