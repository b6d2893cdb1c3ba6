using Periscope.Collector.Correlation;
using Periscope.Collector.Correlation.Rules;
using Periscope.Collector.Sources;
using Xunit;
using static Periscope.Collector.Tests.Correlation.RunNodes;

namespace Periscope.Collector.Tests.Correlation;

public sealed class MissingNodesRuleTests
{
    [Fact]
    public void Evaluate_NodeOfThePreviousRunAbsent_IsMissingWithItsLastBundle()
    {
        var nodes = new[] { Node("n1"), Node("n2"), Incomplete("n3") };
        var previous = new PreviousRun("run-0", ["n1", "n2", "n3", "n4"]);

        var finding = Assert.Single(new MissingNodesRule().Evaluate(Context(nodes, previous)));

        Assert.Equal(("NODE_MISSING", "node"), (finding.Code, finding.Scope));
        Assert.Equal(["n4"], finding.Nodes); // n3 sent something (incomplete): it is not missing
        Assert.Equal("run-0/n4.zip", finding.Evidence[0].Bundle);
    }

    [Fact]
    public void Evaluate_MostNodesAbsent_IsClusterScope()
    {
        var previous = new PreviousRun("run-0", Enumerable.Range(1, 10).Select(i => $"n{i}").ToList());

        var finding = Assert.Single(new MissingNodesRule().Evaluate(Context([Node("n1")], previous)));

        Assert.Equal(("cluster", 9), (finding.Scope, finding.Nodes.Count));
        Assert.Contains("trigger did not reach them", finding.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Evaluate_NoPreviousRunOrNoneMissing_Nothing()
    {
        Assert.Empty(new MissingNodesRule().Evaluate(Context([Node("n1")])));
        Assert.Empty(new MissingNodesRule().Evaluate(Context([Node("n1"), Node("n2")], new PreviousRun("run-0", ["n1"]))));
    }

    private static ExpectedNodes Listed(params ExpectedNode[] nodes) => new(ExpectedNodes.Kubernetes, nodes);

    [Fact]
    public void Evaluate_FromKubernetes_NotReadyAndReadyMissingNodesAreToldApart()
    {
        var nodes = new[] { Node("a1"), Node("a2"), Node("a3") };
        var expected = Listed(
            new ExpectedNode("a1", "pool-a", true), new ExpectedNode("a2", "pool-a", true), new ExpectedNode("a3", "pool-a", true),
            new ExpectedNode("a4", "pool-a", false, "Ready=Unknown (NodeStatusUnknown) since 2026-11-30T09:00:00Z"),
            new ExpectedNode("a5", "pool-a", true, Cordoned: true));
        var previous = new PreviousRun("run-0", ["a1", "a2", "a3", "a4"]);

        var findings = new MissingNodesRule().Evaluate(Context(nodes, previous, expected: expected)).ToList();

        Assert.Equal(2, findings.Count);
        var down = findings.Single(f => f.Nodes.SequenceEqual(["a4"]));
        Assert.Contains("not Ready", down.Title, StringComparison.Ordinal);
        Assert.Contains("Ready=Unknown (NodeStatusUnknown): 1", down.Detail, StringComparison.Ordinal);
        var evidence = Assert.Single(down.Evidence); // its bundle of the previous run
        Assert.Equal(("run-0/a4.zip", "last bundle; Kubernetes says: Ready=Unknown (NodeStatusUnknown) since 2026-11-30T09:00:00Z"), (evidence.Bundle, evidence.Note));
        var agentless = findings.Single(f => f.Nodes.SequenceEqual(["a5"]));
        Assert.Equal("node", agentless.Scope);
        Assert.Contains("Ready but sent no bundle", agentless.Title, StringComparison.Ordinal);
        Assert.Empty(agentless.Evidence); // a5 had no bundle before: nothing to point at
    }

    [Fact]
    public void Evaluate_FromKubernetes_ReadyNodesMissingAcrossOnePool_IsPoolScope()
    {
        var nodes = new[] { Node("a1"), Node("a2"), Node("a3"), Node("b1", pool: "pool-b") };
        var expected = Listed(
            new ExpectedNode("a1", "pool-a", true), new ExpectedNode("a2", "pool-a", true), new ExpectedNode("a3", "pool-a", true),
            new ExpectedNode("b1", "pool-b", true),
            new ExpectedNode("gpu1", "gpu", true), new ExpectedNode("gpu2", "gpu", true), new ExpectedNode("gpu3", "gpu", true),
            new ExpectedNode("c1", "pool-c", true), new ExpectedNode("c2", "pool-c", true), new ExpectedNode("c3", "pool-c", true));
        var dropped = new[] { "c1" }; // one of three of pool-c: not pool-wide
        var present = nodes.Concat([Node("c2", pool: "pool-c"), Node("c3", pool: "pool-c")]).ToList();

        var findings = new MissingNodesRule().Evaluate(Context(present, expected: expected)).ToList();

        var pool = findings.Single(f => f.Scope == "pool");
        Assert.Equal("gpu", pool.Pool);
        Assert.Equal(["gpu1", "gpu2", "gpu3"], pool.Nodes);
        Assert.Contains("taints it does not tolerate", pool.Detail, StringComparison.Ordinal);
        var rest = findings.Single(f => f.Scope == "node");
        Assert.Equal(dropped, rest.Nodes);
    }

    [Fact]
    public void Evaluate_FromKubernetes_MostNodesMissing_IsClusterScope_AndListsNoneTwice()
    {
        var expected = Listed(Enumerable.Range(1, 10).Select(i => new ExpectedNode($"n{i}", i <= 5 ? "p1" : "p2", true)).ToArray());

        var finding = Assert.Single(new MissingNodesRule().Evaluate(Context([Node("n1", pool: "p1")], expected: expected)));

        Assert.Equal(("cluster", 9), (finding.Scope, finding.Nodes.Count));
        Assert.Contains("DaemonSet is not running", finding.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Evaluate_FromKubernetes_TheListWinsOverThePreviousRun()
    {
        // n3 reported last time but is gone from the cluster (scaled down): not missing. n4 is new: missing.
        var previous = new PreviousRun("run-0", ["n1", "n2", "n3"]);
        var expected = Listed(new ExpectedNode("n1", Ready: true), new ExpectedNode("n2", Ready: true), new ExpectedNode("n4", Ready: true));

        var finding = Assert.Single(new MissingNodesRule().Evaluate(Context([Node("n1"), Node("n2")], previous, expected: expected)));

        Assert.Equal(["n4"], finding.Nodes);
    }

    [Fact]
    public void Evaluate_NotReadyNodeThatReported_IsNodeNotReadyWithItsAgentsView_NeverAlsoMissing()
    {
        var expected = new Periscope.Collector.Sources.ExpectedNodes(Periscope.Collector.Sources.ExpectedNodes.Kubernetes,
        [
            new Periscope.Collector.Sources.ExpectedNode("n1", "pool-a", false, "Ready=Unknown (NodeStatusUnknown) since 2026-11-30T09:00:00Z"),
            new Periscope.Collector.Sources.ExpectedNode("n2", "pool-a", false, "Ready=False (KubeletNotReady)"),
            new Periscope.Collector.Sources.ExpectedNode("n3", "pool-a", true),
        ]);
        var nodes = new[] { Node("n1", findings: [Finding("KUBELET_NOT_RUNNING", "n1", Periscope.Bundle.Severity.Critical)]), Node("n3") };

        var findings = new MissingNodesRule().Evaluate(Context(nodes, expected: expected)).ToList();

        var notReady = Assert.Single(findings, f => f.Code == "NODE_NOT_READY");
        Assert.Equal(["n1"], notReady.Nodes);
        Assert.Equal("Ready=Unknown (NodeStatusUnknown) since 2026-11-30T09:00:00Z; the agent: KUBELET_NOT_RUNNING", Assert.Single(notReady.Evidence).Note);
        Assert.Equal("run-1/n1.zip", notReady.Evidence[0].Bundle);
        var missing = Assert.Single(findings, f => f.Code == "NODE_MISSING");
        Assert.Equal(["n2"], missing.Nodes);
    }
}
