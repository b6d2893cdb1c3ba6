using Periscope.Bundle;
using Periscope.Collector.Correlation;
using Xunit;
using static Periscope.Collector.Tests.Correlation.RunNodes;

namespace Periscope.Collector.Tests.Correlation;

public sealed class FindingScopeTests
{
    [Fact]
    public void Compute_CodeOnFourOfFiveNodes_IsClusterWideWithEvidencePerNode()
    {
        var nodes = Enumerable.Range(1, 5).Select(i => Node($"n{i}", findings: i <= 4 ? [Finding("KERNEL_OOM_KILL", $"n{i}", line: 10 + i)] : [])).ToList();

        var shared = Assert.Single(FindingSpread.Compute(Context(nodes)));

        Assert.Equal("cluster", shared.Scope);
        Assert.Equal(4, shared.Evidence.Count);
        Assert.Equal(("n1", "run-1/n1.zip", "kernel/kmsg.log", (long?)11), (shared.Evidence[0].Node, shared.Evidence[0].Bundle, shared.Evidence[0].File, shared.Evidence[0].Line));
    }

    [Fact]
    public void Compute_CodeOnTwoOfTwoNodes_IsNotClusterWideBelowThreeNodes()
    {
        var nodes = new[] { Node("n1", pool: null, findings: [Finding("X", "n1")]), Node("n2", pool: null, findings: [Finding("X", "n2")]) };

        Assert.Equal("node", Assert.Single(FindingSpread.Compute(Context(nodes))).Scope);
    }

    [Fact]
    public void Compute_CodeOnEveryNodeOfOnePool_IsPoolWideNamingThePool()
    {
        var nodes = new List<Periscope.Collector.Sources.NodeBundle>();
        nodes.AddRange(Enumerable.Range(1, 3).Select(i => Node($"gpu-{i}", pool: "gpu", findings: [Finding("NIC_ERRORS", $"gpu-{i}")])));
        nodes.AddRange(Enumerable.Range(1, 7).Select(i => Node($"sys-{i}", pool: "system")));

        var shared = Assert.Single(FindingSpread.Compute(Context(nodes)));

        Assert.Equal("pool", shared.Scope);
        Assert.Equal(["gpu"], shared.Pools);
    }

    [Fact]
    public void Compute_CodeOnOneNodeOfAPool_IsNodeLocal()
    {
        var nodes = Enumerable.Range(1, 5).Select(i => Node($"n{i}", findings: i == 3 ? [Finding("DISK_IO_ERROR", "n3", Severity.Critical)] : [])).ToList();

        Assert.Equal("node", Assert.Single(FindingSpread.Compute(Context(nodes))).Scope);
    }

    [Fact]
    public void Compute_UnusableNodes_DoNotCountAsReporting()
    {
        // Three of three readable nodes share it; two more bundles could not be read and say nothing either way.
        var nodes = new List<Periscope.Collector.Sources.NodeBundle> { Incomplete("n4"), Rejected("n5", "entry hash mismatch") };
        nodes.AddRange(Enumerable.Range(1, 3).Select(i => Node($"n{i}", findings: [Finding("X", $"n{i}")])));

        var shared = Assert.Single(FindingSpread.Compute(Context(nodes)));

        Assert.Equal(("cluster", 3), (shared.Scope, shared.ReportingNodes));
    }

    [Fact]
    public void Compute_ThresholdsAreOptions()
    {
        var nodes = Enumerable.Range(1, 10).Select(i => Node($"n{i}", pool: null, findings: i <= 5 ? [Finding("X", $"n{i}")] : [])).ToList();

        var strict = Assert.Single(FindingSpread.Compute(Context(nodes)));
        var loose = Assert.Single(FindingSpread.Compute(Context(nodes, options: new CorrelationOptions { ClusterShare = 0.5 })));

        Assert.Equal(("node", "cluster"), (strict.Scope, loose.Scope));
    }
}
