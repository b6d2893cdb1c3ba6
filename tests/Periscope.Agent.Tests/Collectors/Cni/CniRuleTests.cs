using System.Globalization;
using Periscope.Agent.Collection;
using Periscope.Agent.Collectors.Cni;
using Periscope.Agent.Collectors.Cni.Rules;
using Periscope.Bundle;
using Periscope.Bundle.Facts;
using Xunit;

namespace Periscope.Agent.Tests.Collectors.Cni;

/// <summary>Each of the CNI collector's finding rules on its figures alone, on both sides of what it judges.</summary>
public sealed class CniRuleTests() : RuleTests("cni")
{
    private const string ConfDirectory = "/etc/cni/net.d";
    private readonly CniCollectorOptions _options = new();

    [Fact]
    public void ConfigInvalid_CriticalOnlyOnANodeWithNoValidConfigLeft()
    {
        var broken = new CniConfigFacts { File = "10-broken.conflist", Error = "not JSON" };
        var good = new CniConfigFacts { File = "20-bridge.conflist", Name = "bridge" };

        var alone = CniConfigInvalidRule.Of(Context, ConfDirectory, broken, active: null, isNode: true);
        var skipped = CniConfigInvalidRule.Of(Context, ConfDirectory, broken, good, isNode: true);
        var notANode = CniConfigInvalidRule.Of(Context, ConfDirectory, broken, active: null, isNode: false);

        Assert.Equal(FindingCodes.CniConfigInvalid, alone.Code);
        Assert.Equal(Severity.Critical, alone.Severity);
        Assert.Equal(Severity.Warning, skipped.Severity);
        Assert.Contains("the active network is 20-bridge.conflist", skipped.Detail, StringComparison.Ordinal);
        Assert.Equal(Severity.Warning, notANode.Severity);
        Assert.Equal(new FindingSubject(SubjectKind.File, "/etc/cni/net.d/10-broken.conflist"), alone.Subject);
        Assert.Equal("not JSON", alone.Attributes["error"]);
    }

    [Fact]
    public void ConfigMissing_OnlyOnAKubernetesNodeWithoutAnyConfig()
    {
        Assert.Null(CniConfigMissingRule.Check(Context, ConfDirectory, configs: 1, isNode: true));
        Assert.Null(CniConfigMissingRule.Check(Context, ConfDirectory, configs: 0, isNode: false));

        var missing = CniConfigMissingRule.Check(Context, ConfDirectory, configs: 0, isNode: true);

        Assert.NotNull(missing);
        Assert.Equal(FindingCodes.CniConfigMissing, missing.Code);
        Assert.Equal(new FindingSubject(SubjectKind.File, ConfDirectory), missing.Subject);
    }

    [Fact]
    public void PluginMissing_AbsentOrNotExecutable_OnANode()
    {
        var active = new CniConfigFacts { File = "10-azure.conflist", Name = "azure" };
        string[] bins = ["/opt/cni/bin", "/usr/lib/cni"];

        Assert.Null(CniPluginMissingRule.Check(Context, new CniPluginFacts("azure-vnet", "/opt/cni/bin/azure-vnet", true), active, bins, isNode: true));
        Assert.Null(CniPluginMissingRule.Check(Context, new CniPluginFacts("azure-vnet", null, false), active, bins, isNode: false));
        var absent = CniPluginMissingRule.Check(Context, new CniPluginFacts("azure-vnet", null, false), active, bins, isNode: true);
        var notExecutable = CniPluginMissingRule.Check(Context, new CniPluginFacts("azure-vnet", "/opt/cni/bin/azure-vnet", false), active, bins, isNode: true);

        Assert.NotNull(absent);
        Assert.Equal("CNI plugin azure-vnet is missing", absent.Title);
        Assert.Equal(new FindingSubject(SubjectKind.File, "/opt/cni/bin/azure-vnet"), absent.Subject);
        Assert.Equal("10-azure.conflist", absent.Attributes["config"]);
        Assert.NotNull(notExecutable);
        Assert.Equal("CNI plugin azure-vnet is not executable", notExecutable.Title);
    }

    [Fact]
    public void IpExhaustion_WarningPastTheShare_CriticalWhenFull()
    {
        IpamRangeFacts Range(long allocated) => new("host-local", "kubenet", "10.244.1.0/24", Usable: 100, Allocated: allocated);

        Assert.Null(CniIpExhaustionRule.Check(Context, Range(89), _options));
        Assert.Null(CniIpExhaustionRule.Check(Context, new IpamRangeFacts("host-local", "kubenet", "10.244.1.0/32", 0, 0), _options));
        var nearly = CniIpExhaustionRule.Check(Context, Range(90), _options);
        var full = CniIpExhaustionRule.Check(Context, Range(100), _options);

        Assert.NotNull(nearly);
        Assert.Equal(Severity.Warning, nearly.Severity);
        Assert.Equal(new FindingSubject(SubjectKind.Node, "node-7/10.244.1.0/24"), nearly.Subject);
        Assert.Equal("90", nearly.Attributes["allocated"]);
        Assert.NotNull(full);
        Assert.Equal(Severity.Critical, full.Severity);
        Assert.Equal("Pod range 10.244.1.0/24 is full", full.Title);
    }

    [Fact]
    public void IptablesRulesExcessive_CountsIptablesBackEnds_AndNftOnlyWithoutThem()
    {
        RuleCountFacts Count(string tool, string outcome, long total) => new(tool, outcome, new Dictionary<string, long>(), total);
        var threshold = _options.RulesThreshold;

        // nft also lists what iptables-nft programs: with an iptables count, nft is not added on top.
        Assert.Null(IptablesRulesExcessiveRule.Check(Context, [Count("iptables-save", "ok", threshold), Count("nft", "ok", threshold * 2)], _options));
        var legacyToo = IptablesRulesExcessiveRule.Check(Context, [Count("iptables-save", "ok", threshold), Count("iptables-legacy-save", "ok", 1)], _options);
        var nftOnly = IptablesRulesExcessiveRule.Check(Context, [Count("iptables-save", "missing-binary", 0), Count("nft", "ok", threshold + 1)], _options);

        Assert.NotNull(legacyToo);
        Assert.Equal(FindingCodes.IptablesRulesExcessive, legacyToo.Code);
        Assert.Equal((threshold + 1).ToString(CultureInfo.InvariantCulture), legacyToo.Attributes["rules"]);
        Assert.Equal(new FindingSubject(SubjectKind.Node, "node-7"), legacyToo.Subject);
        Assert.NotNull(nftOnly);
    }

    [Fact]
    public void MtuMismatch_NamesTheInterfaceOrTheConfig()
    {
        var tunnel = CniMtuMismatchRule.Of(Context, "flannel.1", 1500, isInterface: true, "eth0", 1500);
        var config = CniMtuMismatchRule.Of(Context, "10-calico.conflist:calico", 9000, isInterface: false, "eth0", 1500);

        Assert.Equal(FindingCodes.CniMtuMismatch, tunnel.Code);
        Assert.Equal(new FindingSubject(SubjectKind.Interface, "flannel.1"), tunnel.Subject);
        Assert.Equal(new FindingSubject(SubjectKind.File, "10-calico.conflist:calico"), config.Subject);
        Assert.Equal("9000", config.Attributes["mtu"]);
        Assert.Equal("eth0", config.Attributes["primaryInterface"]);
        Assert.Equal("1500", config.Attributes["primaryMtu"]);
    }

    [Fact]
    public void MtuMismatch_TunnelsNeedRoomForTheirHeaders_AndTheConfigIsCheckedToo()
    {
        InterfaceFacts Nic(string name, int mtu) => new() { Name = name, Mtu = mtu };
        var active = new CniConfig(new CniConfigFacts { File = "10-flannel.conflist" }, [new CniPluginConfig("flannel", null, null, null, 9000, null), new CniPluginConfig("portmap", null, null, null, null, null)]);
        IReadOnlyList<InterfaceFacts> interfaces = [Nic("eth0", 1500), Nic("flannel.1", 1451), Nic("cni0", 1500), Nic("vxlan.calico", 1450)];

        var found = CniMtuMismatchRule.Check(Context, interfaces, "eth0", active).Select(o => o.Subject.Id).ToList();

        Assert.Equal(["flannel.1", "10-flannel.conflist:flannel"], found);
        Assert.Empty(CniMtuMismatchRule.Check(Context, interfaces, primaryName: null, active));
    }

    [Fact]
    public void NicErrors_PastTheRatioWithEnoughTraffic_NeverLoopback()
    {
        InterfaceFacts Nic(string name, long packets, long errors) => new() { Name = name, RxPackets = packets, RxErrors = errors };

        Assert.Null(NicErrorsRule.Check(Context, Nic("eth0", 1_000_000, 1_000), _options)); // exactly the ratio
        Assert.Null(NicErrorsRule.Check(Context, Nic("eth0", 9_999, 9_999), _options)); // too little traffic to judge
        Assert.Null(NicErrorsRule.Check(Context, Nic("lo", 1_000_000, 500_000), _options));
        var bad = NicErrorsRule.Check(Context, Nic("eth0", 1_000_000, 1_001), _options);

        Assert.NotNull(bad);
        Assert.Equal(FindingCodes.NicErrors, bad.Code);
        Assert.Equal(new FindingSubject(SubjectKind.Interface, "eth0"), bad.Subject);
        Assert.Equal("1001", bad.Attributes["errors"]);
        Assert.Equal("1000000", bad.Attributes["packets"]);
    }
}
