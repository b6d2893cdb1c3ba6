using Periscope.Bundle;
using Periscope.Collector.Correlation;
using Periscope.Collector.Correlation.Rules;
using Periscope.Collector.Sources;
using Xunit;
using static Periscope.Collector.Tests.Correlation.RunNodes;

namespace Periscope.Collector.Tests.Correlation;

public sealed class CordonRuleTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 5, 12, 0, 0, TimeSpan.Zero);

    private static CorrelationContext At(CorrelationContext context, IReadOnlyDictionary<string, CordonHistory>? history = null)
        => new(context.RunId, context.Nodes, context.Previous, context.Options, context.Expected)
        {
            Now = Now,
            CordonHistory = history ?? new Dictionary<string, CordonHistory>(StringComparer.Ordinal),
        };

    [Fact]
    public void Evaluate_ManagedFieldsOlderThanTheThreshold_IsCordonedLong_AYoungerCordonIsNot()
    {
        var expected = new ExpectedNodes(ExpectedNodes.Kubernetes,
        [
            new ExpectedNode("a1", "pool-a", true, Cordoned: true) { CordonedBy = Now.AddHours(-30) },
            new ExpectedNode("a2", "pool-a", true, Cordoned: true) { CordonedBy = Now.AddHours(-2) },
            new ExpectedNode("a3", "pool-a", true),
        ]);

        var finding = Assert.Single(new CordonRule().Evaluate(At(Context([Node("a1"), Node("a2"), Node("a3")], expected: expected))));

        Assert.Equal(("NODE_CORDONED_LONG", Severity.Warning, "node"), (finding.Code, finding.Severity, finding.Scope));
        Assert.Equal(["a1"], finding.Nodes);
        Assert.Equal("1 node(s) cordoned for more than 24 h", finding.Title);
        Assert.Contains("a1: since 2026-12-04T06:00:00Z or earlier", finding.Detail, StringComparison.Ordinal);
        Assert.StartsWith("cordoned since 2026-12-04T06:00:00Z or earlier (the Node's managed fields", Assert.Single(finding.Evidence).Note, StringComparison.Ordinal);
    }

    [Fact]
    public void Evaluate_EarlierRunsThatSawItCordoned_AreEnough_AndTheEarlierBoundWins()
    {
        var expected = new ExpectedNodes(ExpectedNodes.Kubernetes,
        [
            new ExpectedNode("a1", "pool-a", true, Cordoned: true), // no managed-fields entry owns the field (e.g. set at registration)
            new ExpectedNode("a2", "pool-a", true, Cordoned: true) { CordonedBy = Now.AddHours(-1) },
        ]);
        var history = new Dictionary<string, CordonHistory>(StringComparer.Ordinal)
        {
            ["a1"] = new("a1", "run-0", Now.AddHours(-26), 4),
            ["a2"] = new("a2", "run-0", Now.AddHours(-26), 4),
        };

        var finding = Assert.Single(new CordonRule().Evaluate(At(Context([Node("a1"), Node("a2")], expected: expected), history)));

        Assert.Equal(["a1", "a2"], finding.Nodes);
        Assert.All(finding.Evidence, e => Assert.Contains("cordoned in each of 4 earlier run(s) checked back to run run-0", e.Note, StringComparison.Ordinal));
    }

    [Fact]
    public void Evaluate_NoEvidenceOfAge_QuarantinedNodes_AndUncordonedNodes_AreNotReported()
    {
        var expected = new ExpectedNodes(ExpectedNodes.Kubernetes,
        [
            new ExpectedNode("a1", "pool-a", true, Cordoned: true), // cordoned, age unknown: no guess
            new ExpectedNode("a2", "pool-a", true, Cordoned: true) { Quarantined = true, CordonedBy = Now.AddDays(-3) }, // NODE_QUARANTINED says it
            new ExpectedNode("a3", "pool-a", true) { CordonedBy = Now.AddDays(-3) }, // uncordoned since
        ]);
        var history = new Dictionary<string, CordonHistory>(StringComparer.Ordinal) { ["a3"] = new("a3", "run-0", Now.AddDays(-2), 2) };

        Assert.Empty(new CordonRule().Evaluate(At(Context([Node("a1"), Node("a2"), Node("a3")], expected: expected), history)));
    }

    [Fact]
    public void Evaluate_WithoutTheNodesList_TheBundlesSayWhichNodesAreCordoned_AndTheThresholdIsAnOption()
    {
        var cordoned = Node("a1") with { Manifest = Node("a1").Manifest! with { Node = Node("a1").Manifest!.Node with { Cordoned = true } } };
        var history = new Dictionary<string, CordonHistory>(StringComparer.Ordinal) { ["a1"] = new("a1", "run-0", Now.AddHours(-7), 1) };
        var options = new CorrelationOptions { CordonedLongAfter = TimeSpan.FromHours(6) };

        var finding = Assert.Single(new CordonRule().Evaluate(At(Context([cordoned, Node("a2")], options: options), history)));

        Assert.Equal(["a1"], finding.Nodes);
        Assert.Equal("1 node(s) cordoned for more than 6 h", finding.Title);
        Assert.Empty(new CordonRule().Evaluate(At(Context([cordoned, Node("a2")]), history))); // 7 h is under the default 24 h
    }
}
