using Periscope.Collector.Correlation.Rules;
using Xunit;
using static Periscope.Collector.Tests.Correlation.RunNodes;

namespace Periscope.Collector.Tests.Correlation;

public sealed class VersionSkewRuleTests
{
    [Fact]
    public void Evaluate_TwoKubeletVersionsInAPool_NamesTheNodesOffTheCommonOne()
    {
        var nodes = new[]
        {
            Node("a1"), Node("a2"), Node("a3", kubelet: "v1.30.6"),
            Node("b1", pool: "pool-b", kubelet: "v1.30.6"), Node("b2", pool: "pool-b", kubelet: "v1.30.6"),
        };

        var finding = Assert.Single(new VersionSkewRule().Evaluate(Context(nodes)));

        Assert.Equal(("VERSION_SKEW", "pool", "pool-a"), (finding.Code, finding.Scope, finding.Pool));
        Assert.Equal("Pool pool-a runs 2 kubelet versions", finding.Title);
        Assert.Equal(["a3"], finding.Nodes);
        Assert.StartsWith("v1.31.2 on 2 node(s); v1.30.6 on 1 node(s)", finding.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Evaluate_TieBetweenTwoVersions_NamesEveryNode()
    {
        var nodes = new[] { Node("a1"), Node("a2", runtime: "containerd://1.7.20") };

        var finding = Assert.Single(new VersionSkewRule().Evaluate(Context(nodes)));

        Assert.Equal(["a1", "a2"], finding.Nodes);
        Assert.EndsWith("No version is on most nodes; all are listed.", finding.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Evaluate_KernelAndOsImageDrift_OneFindingPerComponent()
    {
        var nodes = new[] { Node("a1"), Node("a2", kernel: "6.8.0-1019-azure", os: "Ubuntu 22.04.5 LTS") };

        var titles = new VersionSkewRule().Evaluate(Context(nodes)).Select(f => f.Title).ToList();

        Assert.Equal(["Pool pool-a runs 2 kernel versions", "Pool pool-a runs 2 OS image versions"], titles);
    }

    [Fact]
    public void Evaluate_SameVersionsEverywhereOrOnlyAcrossPools_Nothing()
    {
        var nodes = new[] { Node("a1"), Node("a2"), Node("b1", pool: "pool-b", kubelet: "v1.30.6") };

        Assert.Empty(new VersionSkewRule().Evaluate(Context(nodes)));
    }
}
