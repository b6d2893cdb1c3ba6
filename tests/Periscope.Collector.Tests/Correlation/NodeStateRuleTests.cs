using Periscope.Bundle;
using Periscope.Collector.Correlation.Rules;
using Periscope.Collector.Sources;
using Xunit;
using static Periscope.Collector.Tests.Correlation.RunNodes;

namespace Periscope.Collector.Tests.Correlation;

public sealed class NodeStateRuleTests
{
    private static readonly DateTimeOffset Since = new(2026, 12, 4, 7, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Evaluate_QuarantinedNodes_AreOneFinding_WithTheAgentsBundleBesideTheApisView()
    {
        var expected = new ExpectedNodes(ExpectedNodes.Kubernetes,
        [
            new ExpectedNode("a1", "pool-a", true, Cordoned: true) { Quarantined = true },
            new ExpectedNode("a2", "pool-a", true, Cordoned: true) { Quarantined = true },
            new ExpectedNode("b1", "pool-b", true),
        ]);

        var finding = Assert.Single(new NodeStateRule().Evaluate(Context([Node("a1"), Node("b1", pool: "pool-b")], expected: expected)));

        Assert.Equal(("NODE_QUARANTINED", Severity.Warning, "pool", "pool-a"), (finding.Code, finding.Severity, finding.Scope, finding.Pool));
        Assert.Equal(["a1", "a2"], finding.Nodes);
        Assert.Contains("PodDisruptionBudget", finding.Detail, StringComparison.Ordinal);
        var evidence = Assert.Single(finding.Evidence); // a2 sent no bundle: named, but nothing to link
        Assert.Equal(("a1", "run-1/a1.zip", "labelled upgrade-status=Quarantined, cordoned"), (evidence.Node, evidence.Bundle, evidence.Note));
    }

    [Fact]
    public void Evaluate_ProblemConditions_OneFindingPerType_CriticalForTheOnesThatMakeANodeUntrustworthy()
    {
        var expected = new ExpectedNodes(ExpectedNodes.Kubernetes,
        [
            new ExpectedNode("a1", "pool-a", true) { ProblemConditions = [new("KernelDeadlock", "DockerHung", "task docker:7 blocked", Since), new("VMEventScheduled", "VMEventScheduled", "Reboot scheduled", Since)] },
            new ExpectedNode("a2", "pool-a", true) { ProblemConditions = [new("VMEventScheduled", "VMEventScheduled", "Reboot scheduled", Since)] },
            new ExpectedNode("b1", "pool-b", true),
        ]);

        var findings = new NodeStateRule().Evaluate(Context([Node("a1"), Node("a2"), Node("b1", pool: "pool-b")], expected: expected)).ToList();

        Assert.Equal(2, findings.Count);
        var deadlock = findings.Single(f => f.Title.StartsWith("KernelDeadlock", StringComparison.Ordinal));
        Assert.Equal(("NODE_CONDITION_PROBLEM", Severity.Critical, "node"), (deadlock.Code, deadlock.Severity, deadlock.Scope));
        Assert.Contains("DockerHung: task docker:7 blocked", deadlock.Detail, StringComparison.Ordinal);
        Assert.Equal("KernelDeadlock=True since 2026-12-04T07:00:00Z, DockerHung", Assert.Single(deadlock.Evidence).Note);
        var scheduled = findings.Single(f => f.Title.StartsWith("VMEventScheduled", StringComparison.Ordinal));
        Assert.Equal((Severity.Warning, "pool"), (scheduled.Severity, scheduled.Scope));
        Assert.Equal(["a1", "a2"], scheduled.Nodes);
    }

    [Fact]
    public void Evaluate_WithoutTheNodesList_OrOnAHealthyCluster_Nothing()
    {
        Assert.Empty(new NodeStateRule().Evaluate(Context([Node("a1")], new PreviousRun("run-0", ["a1"]))));
        var healthy = new ExpectedNodes(ExpectedNodes.Kubernetes, [new ExpectedNode("a1", "pool-a", true), new ExpectedNode("a2", "pool-a", true)]);
        Assert.Empty(new NodeStateRule().Evaluate(Context([Node("a1"), Node("a2")], expected: healthy)));
    }
}
