using Periscope.Bundle;
using Periscope.Bundle.Facts;
using Periscope.Collector.Correlation.Rules;
using Xunit;
using static Periscope.Collector.Tests.Correlation.RunNodes;

namespace Periscope.Collector.Tests.Correlation;

public sealed class PoolIpExhaustionRuleTests
{
    private static CniFacts Ipam(long usable, long allocated)
        => new() { ConfDirectory = "/etc/cni/net.d", Ipam = [new IpamRangeFacts("host-local", "kubenet", "10.244.1.0/24", usable, allocated)] };

    [Fact]
    public void Evaluate_ExhaustionOnEveryNodeOfAPool_IsAPoolSizingFindingWithTheSummedUse()
    {
        var nodes = new[]
        {
            Node("a1", cni: Ipam(29, 29), findings: [Finding("CNI_IP_EXHAUSTION", "a1", Severity.Critical, collector: "cni")]),
            Node("a2", cni: Ipam(29, 27), findings: [Finding("CNI_IP_EXHAUSTION", "a2", Severity.Warning, collector: "cni")]),
            Node("b1", pool: "pool-b", cni: Ipam(253, 40)),
        };

        var finding = Assert.Single(new PoolIpExhaustionRule().Evaluate(Context(nodes)));

        Assert.Equal(("POOL_IP_EXHAUSTION", Severity.Critical, "pool", "pool-a"), (finding.Code, finding.Severity, finding.Scope, finding.Pool));
        Assert.Equal(["a1", "a2"], finding.Nodes);
        Assert.Contains("use 56 of 58 pod addresses (97 %)", finding.Detail, StringComparison.Ordinal);
        Assert.Contains("subnet or per-node pod range is too small", finding.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Evaluate_ExhaustionOnOneNodeOfFive_IsLeftToThatNode()
    {
        var nodes = Enumerable.Range(1, 5).Select(i => Node($"a{i}", findings: i == 1 ? [Finding("CNI_IP_EXHAUSTION", "a1", collector: "cni")] : [])).ToList();

        Assert.Empty(new PoolIpExhaustionRule().Evaluate(Context(nodes)));
    }
}
