using Periscope.Collector.Correlation;
using Periscope.Collector.Correlation.Rules;
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
}
