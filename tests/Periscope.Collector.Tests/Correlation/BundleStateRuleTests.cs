using Periscope.Bundle;
using Periscope.Collector.Correlation.Rules;
using Xunit;
using static Periscope.Collector.Tests.Correlation.RunNodes;

namespace Periscope.Collector.Tests.Correlation;

public sealed class BundleStateRuleTests
{
    [Fact]
    public void Evaluate_IncompleteAndRejectedBundles_AreNamedWithTheirReasons()
    {
        var nodes = new[] { Node("n1"), Incomplete("n2"), Rejected("n3", "entry facts.json: sha256 does not match the manifest") };

        var findings = new BundleStateRule().Evaluate(Context(nodes)).ToList();

        var incomplete = Assert.Single(findings, f => f.Code == "BUNDLE_INCOMPLETE");
        Assert.Equal(["n2"], incomplete.Nodes);
        Assert.Equal("run-1/n2.zip", incomplete.Evidence[0].Bundle);
        var rejected = Assert.Single(findings, f => f.Code == "BUNDLE_REJECTED");
        Assert.Equal(["n3"], rejected.Nodes);
        Assert.Contains("run-1/n3.zip: entry facts.json: sha256 does not match", rejected.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Evaluate_CollectorFailingOnEveryNode_IsClusterScopeWithItsError()
    {
        var failed = new[] { new CollectorRecord { Name = "containerd", Status = CollectorStatus.Failed, Error = "permission denied on /run/containerd/containerd.sock" } };
        var nodes = Enumerable.Range(1, 4).Select(i => Node($"n{i}", collectors: failed)).ToList();

        var finding = Assert.Single(new BundleStateRule().Evaluate(Context(nodes)));

        Assert.Equal(("COLLECTOR_FAILED", "cluster"), (finding.Code, finding.Scope));
        Assert.Contains("\"permission denied on /run/containerd/containerd.sock\" on 4", finding.Detail, StringComparison.Ordinal);
        Assert.Contains("agent's deployment", finding.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Evaluate_CollectorTimedOutOnOneNode_IsNodeScope()
    {
        var timedOut = new[] { new CollectorRecord { Name = "kubelet", Status = CollectorStatus.TimedOut, Error = "deadline 30 s passed" } };
        var nodes = new[] { Node("n1", collectors: timedOut), Node("n2"), Node("n3"), Node("n4") };

        var finding = Assert.Single(new BundleStateRule().Evaluate(Context(nodes)));

        Assert.Equal(("COLLECTOR_FAILED", "node", "The kubelet collector failed on 1 of 4 nodes"), (finding.Code, finding.Scope, finding.Title));
    }

    [Fact]
    public void Evaluate_PartialCollector_IsInformationApartFromFailures()
    {
        var partial = new[] { new CollectorRecord { Name = "kernel", Status = CollectorStatus.Partial, Error = "journal unreadable: permission denied" } };
        var failed = new[] { new CollectorRecord { Name = "kernel", Status = CollectorStatus.Failed, Error = "no kernel log source" } };
        var nodes = new[] { Node("n1", collectors: partial), Node("n2", collectors: partial), Node("n3", collectors: failed), Node("n4") };

        var findings = new BundleStateRule().Evaluate(Context(nodes)).ToList();

        var partly = Assert.Single(findings, f => f.Code == "COLLECTOR_PARTIAL");
        Assert.Equal((Severity.Info, "The kernel collector finished partially on 2 of 4 nodes"), (partly.Severity, partly.Title));
        Assert.Equal(["n1", "n2"], partly.Nodes);
        Assert.Contains("\"journal unreadable: permission denied\" on 2", partly.Detail, StringComparison.Ordinal);
        Assert.Equal(["n3"], Assert.Single(findings, f => f.Code == "COLLECTOR_FAILED").Nodes);
    }

    [Fact]
    public void Evaluate_EverythingRead_Nothing()
        => Assert.Empty(new BundleStateRule().Evaluate(Context([Node("n1"), Node("n2")])));
}
